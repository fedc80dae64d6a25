import CVigilSIMD
import VigilDecode

/// Appends JSON to a byte buffer without Foundation: the findings writer runs once per record,
/// and the state file's labels and incident columns are written with it too.
///
/// It owns its buffer and cannot be copied: `Array.append(contentsOf:)` cost about 90
/// instructions per call, several calls per record, where a copy into owned memory of a
/// literal's known length is a few moves.
public struct JSONOutput: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int

    public init(capacity: Int = 256) {
        self.capacity = max(16, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// What was written so far.
    public var bytes: [UInt8] { [UInt8](UnsafeBufferPointer(start: base, count: count)) }

    /// What was written so far, as text.
    public var text: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    private mutating func grow(to needed: Int) {
        var size = capacity * 2
        while size < needed { size *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        bigger.initialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = size
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count &+= 1
    }

    @inline(__always)
    mutating func append(_ start: UnsafePointer<UInt8>, _ n: Int) {
        if capacity &- count < n { grow(to: count + n) }
        (base + count).update(from: start, count: n)
        count &+= n
    }

    @inline(__always)
    mutating func append(_ b: UnsafeBufferPointer<UInt8>) {
        if let start = b.baseAddress { append(start, b.count) }
    }

    @inline(__always)
    public mutating func raw(_ s: StaticString) { append(s.utf8Start, s.utf8CodeUnitCount) }

    /// Text built at run time (a literal goes to the `StaticString` form, which copies its bytes at once).
    mutating func text(_ s: String) {
        var copy = s
        copy.withUTF8 { append($0) }
    }

    /// A non-negative integer, written digit by digit (no String per record).
    mutating func number(_ n: Int) {
        guard n > 0 else {
            append(0x30)
            return
        }
        var digits = 0
        var v = n
        while v > 0 {
            digits &+= 1
            v /= 10
        }
        if capacity &- count < digits { grow(to: count + digits) }
        v = n
        var k = count &+ digits
        while v > 0 {
            k &-= 1
            base[k] = UInt8(truncatingIfNeeded: 48 &+ v % 10)
            v /= 10
        }
        count &+= digits
    }

    /// A JSON string from UTF-8 bytes (valid UTF-8 assumed). Runs that need no escape are
    /// found sixteen bytes at a time and copied whole.
    mutating func string(_ b: UnsafeBufferPointer<UInt8>) {
        append(0x22)
        guard let p = b.baseAddress else {
            append(0x22)
            return
        }
        var k = 0
        while k < b.count {
            let plain = vigil_json_plain_run(p + k, b.count - k)
            if plain > 0 { append(p + k, plain) }
            k += plain
            guard k < b.count else { break }
            let c = p[k]
            k += 1
            switch c {
            case 0x22: raw("\\\"")
            case 0x5C: raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            default:
                raw("\\u00")
                let hex: StaticString = "0123456789abcdef"
                append(hex.utf8Start[Int(c >> 4)])
                append(hex.utf8Start[Int(c & 15)])
            }
        }
        append(0x22)
    }

    public mutating func string(_ s: String) {
        var copy = s
        copy.withUTF8 { string($0) }
    }

    /// A JSON array of strings.
    public mutating func strings(_ list: [String]) {
        append(0x5B)
        for (n, s) in list.enumerated() {
            if n > 0 { append(0x2C) }
            string(s)
        }
        append(0x5D)
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
