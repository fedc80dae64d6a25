/// A record's request id as the daemon passes it between stages: held inline, with no heap
/// allocation, when it is ASCII of at most 40 bytes (UUIDs are 36), else as a string.
///
/// A text's findings are made on a scanning thread and dropped on the loop thread; a heap
/// string per text cost an allocation there, a free from the other thread here, and reference
/// counting at every hand-off in between. Equal ids compare equal whatever their form.
public struct RequestID: Hashable, Sendable, CustomStringConvertible {
    private var words: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
    /// Bytes held in `words` (0 when `long` holds the id).
    private var count: UInt8 = 0
    /// A class reference rather than a `String?`: copying or dropping an id is then one retain
    /// or release of a reference that is nearly always nil (callgrind on the daemon: about 100
    /// instructions a line fewer than with the string held directly).
    private var long: Long?

    private final class Long: Sendable {
        let text: String
        init(_ text: String) { self.text = text }
    }

    private static let inlineCapacity = 40

    /// The empty id, which stands for none.
    public init() {}

    /// An id from its bytes (invalid UTF-8 is repaired, as `String(decoding:)` does).
    public init(_ bytes: UnsafeBufferPointer<UInt8>) {
        var ascii: UInt8 = 0
        for b in bytes { ascii |= b }
        guard bytes.count <= Self.inlineCapacity, ascii < 0x80 else {
            long = Long(String(decoding: bytes, as: UTF8.self))
            return
        }
        // An empty id is inline too, whether or not its buffer has an address.
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        count = UInt8(bytes.count)
        withUnsafeMutableBytes(of: &words) { $0.baseAddress?.copyMemory(from: source, byteCount: bytes.count) }
    }

    public init(_ string: String) {
        var copy = string
        self = copy.withUTF8 { RequestID($0) }
    }

    public var isEmpty: Bool { count == 0 && (long?.text.isEmpty ?? true) }

    public var description: String {
        if let long { return long.text }
        return withUnsafeBytes(of: words) { String(decoding: $0.prefix(Int(count)), as: UTF8.self) }
    }

    public static func == (a: RequestID, b: RequestID) -> Bool {
        a.count == b.count && a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2
            && a.words.3 == b.words.3 && a.words.4 == b.words.4 && a.long?.text == b.long?.text
    }

    public func hash(into hasher: inout Hasher) {
        if let long {
            hasher.combine(long.text)
            return
        }
        hasher.combine(count)
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
        hasher.combine(words.4)
    }
}
