/// The normalized form of one text, with a map back to the original bytes.
///
/// Owned by one scanning thread and refilled for every record.
public final class NormalizedText {
    /// The normalized text as UTF-8 (what regexes run over). Always valid UTF-8.
    public let utf8: GrowableBuffer<UInt8>
    /// The normalized text as scalars (what the literal automaton runs over).
    public let scalars: GrowableBuffer<UInt32>
    /// For each scalar, its symbol in the literal automaton whose table was given to the
    /// normalizer (0 for a scalar no term uses, and for every scalar beyond the BMP).
    public let symbols: GrowableBuffer<UInt16>
    /// Whether a scalar beyond the BMP was written (its symbol above is then only a stand-in).
    public var hasSupplementary = false
    /// For each scalar, where it starts in `utf8`.
    public let utf8Offsets: GrowableBuffer<UInt32>
    /// For each scalar, where the original character it came from starts in the original text.
    public let originalOffsets: GrowableBuffer<UInt32>
    /// Length of the longest run of ASCII digits; regexes that need a long number skip texts without one.
    public var longestDigitRun = 0
    /// Length of the longest run of ASCII letters and digits.
    public var longestAlphanumericRun = 0
    /// Offset in the original text of the first byte that was not valid UTF-8 (and became U+FFFD).
    public var firstInvalidUTF8: Int?
    /// When the normalizer was asked for it, a hash of the text's letters (ASCII letters, case
    /// folded, and every character from U+3400 up, ideographs among them) in order: texts that
    /// differ only in digits, spacing, punctuation and case hash alike. 0 when not asked for.
    public var letterHash: UInt64 = 0

    /// `capacity`: the characters the buffers hold before they grow (records' texts are
    /// usually under 2,048; rule terms, normalized one by one at load, are a few).
    public init(capacity: Int = 2048) {
        utf8 = GrowableBuffer(capacity: 2 * capacity)
        scalars = GrowableBuffer(capacity: capacity)
        symbols = GrowableBuffer(capacity: capacity)
        utf8Offsets = GrowableBuffer(capacity: capacity)
        originalOffsets = GrowableBuffer(capacity: capacity)
    }

    public var scalarCount: Int { scalars.count }

    func reset() {
        utf8.removeAll()
        scalars.removeAll()
        utf8Offsets.removeAll()
        originalOffsets.removeAll()
        symbols.removeAll()
        hasSupplementary = false
        longestDigitRun = 0
        longestAlphanumericRun = 0
        firstInvalidUTF8 = nil
        letterHash = 0
    }

    /// The index of the scalar that starts at or contains UTF-8 offset `byte` of the normalized text.
    public func scalarIndex(atUTF8Offset byte: Int) -> Int {
        var lo = 0
        var hi = scalars.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if Int(utf8Offsets[mid]) <= byte { lo = mid + 1 } else { hi = mid }
        }
        return max(0, lo - 1)
    }

    /// The original byte range that normalized scalars `range` came from.
    public func originalRange(scalars range: Range<Int>, original: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        guard !range.isEmpty, range.upperBound <= scalars.count else { return 0..<0 }
        let start = Int(originalOffsets[range.lowerBound])
        let lastStart = Int(originalOffsets[range.upperBound - 1])
        let end = min(
            original.count, lastStart + UTF8Length.ofLeadByte(lastStart < original.count ? original[lastStart] : 0))
        return start..<max(start, end)
    }
}

enum UTF8Length {
    @inline(__always)
    static func ofLeadByte(_ b: UInt8) -> Int {
        if b < 0x80 { return 1 }
        if b < 0xE0 { return 2 }
        if b < 0xF0 { return 3 }
        return 4
    }
}
