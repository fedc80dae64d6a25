import VigilDecode

/// Appends JSON to a byte array without Foundation: the findings writer runs once per record,
/// and the state file's labels and incident columns are written with it too.
public struct JSONOutput {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func raw(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Text built at run time (a literal goes to the `StaticString` form, which copies its bytes at once).
    mutating func text(_ s: String) { bytes.append(contentsOf: s.utf8) }

    /// A non-negative integer, written digit by digit (no String per record).
    mutating func number(_ n: Int) {
        guard n > 0 else {
            bytes.append(0x30)
            return
        }
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var v = n
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 {
                d[count] = UInt8(48 + v % 10)
                v /= 10
                count += 1
            }
            for k in stride(from: count - 1, through: 0, by: -1) { bytes.append(d[k]) }
        }
    }

    /// A JSON string from UTF-8 bytes (valid UTF-8 assumed). Runs that need no escape are
    /// copied whole.
    mutating func string(_ b: UnsafeBufferPointer<UInt8>) {
        bytes.append(0x22)
        var plain = 0
        for k in 0..<b.count {
            let c = b[k]
            guard c < 0x20 || c == 0x22 || c == 0x5C else { continue }
            if k > plain { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: b[plain..<k])) }
            plain = k + 1
            switch c {
            case 0x22: raw("\\\"")
            case 0x5C: raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            default:
                raw("\\u00")
                let hex: StaticString = "0123456789abcdef"
                bytes.append(hex.utf8Start[Int(c >> 4)])
                bytes.append(hex.utf8Start[Int(c & 15)])
            }
        }
        if b.count > plain { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: b[plain..<b.count])) }
        bytes.append(0x22)
    }

    public mutating func string(_ s: String) {
        var copy = s
        copy.withUTF8 { string($0) }
    }

    /// A JSON array of strings.
    public mutating func strings(_ list: [String]) {
        bytes.append(0x5B)
        for (n, s) in list.enumerated() {
            if n > 0 { bytes.append(0x2C) }
            string(s)
        }
        bytes.append(0x5D)
    }

    /// A JSON string from bytes that may not be valid UTF-8 (invalid bytes become U+FFFD).
    mutating func lossyString(_ b: UnsafeBufferPointer<UInt8>) {
        if UTF8Check.firstInvalid(b) == nil {
            string(b)
        } else {
            string(String(decoding: b, as: UTF8.self))
        }
    }
}
