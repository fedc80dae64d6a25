/// Appends JSON to a byte array without Foundation: the findings writer runs once per record.
struct JSONOutput {
    var bytes: [UInt8] = []

    mutating func raw(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    mutating func number(_ n: Int) { raw(String(n)) }

    /// A JSON string from UTF-8 bytes (valid UTF-8 assumed).
    mutating func string(_ b: UnsafeBufferPointer<UInt8>) {
        bytes.append(0x22)
        for c in b {
            switch c {
            case 0x22: raw("\\\"")
            case 0x5C: raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(hex[Int(c >> 4)])
                bytes.append(hex[Int(c & 15)])
            default: bytes.append(c)
            }
        }
        bytes.append(0x22)
    }

    mutating func string(_ s: String) {
        var copy = s
        copy.withUTF8 { string($0) }
    }

    /// A JSON string from bytes that may not be valid UTF-8 (invalid bytes become U+FFFD).
    mutating func lossyString(_ b: UnsafeBufferPointer<UInt8>) {
        string(String(decoding: b, as: UTF8.self))
    }
}
