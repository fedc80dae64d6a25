/// Literals of which every match holds one a bounded distance after its gate literal: in
/// `[一-龥]{2,6}(?:省|自治区)[一-龥]{2,8}市…`, a `市` two to eight characters after the `省`. A
/// hit without one opens no gate, so a text that only mentions a province runs no search.
public struct LiteralFollower: Sendable, Hashable {
    /// The literals, one of which follows (case folded once the rule set holds them).
    public var literals: [[UInt32]]
    /// How many characters stand between the end of the gate literal and the follower.
    public var gap: ClosedRange<Int>
    /// Runs of white space of any length may stand between as well (`'\s*and\s*'`): the gap's
    /// upper bound counts only the other characters, which a check tells apart by stepping over
    /// the text's white space. Without it, every `\s+` between would leave the rule no follower.
    public var spaced = false

    public init(literals: [[UInt32]], gap: ClosedRange<Int>, spaced: Bool = false) {
        self.literals = literals
        self.gap = gap
        self.spaced = spaced
    }

    /// Larger sets and wider gaps cost more to check than the searches they spare.
    static let maxLiterals = 16
    static let maxGap = 32
    static let maxSpread = 16
    /// A spaced check that has read this many characters without deciding lets the hit through.
    static let maxSpacedSteps = 128
}

/// The rule set's followers laid out for the scanner's hot path: plain integers in buffers it
/// owns, so checking a literal hit reads no array and counts no references.
final class FollowerTable {
    /// Per regex, the index of its entry, or -1 when it has no follower.
    private let byRegex: UnsafeMutableBufferPointer<Int32>
    /// Per follower: its gap, where its literals are in `literals`, and whether it is spaced.
    private let entries: UnsafeMutableBufferPointer<Entry>
    private typealias Entry = (low: Int32, high: Int32, first: Int32, count: Int32, spaced: Bool)
    /// Per literal, where its scalars (case folded) are in `scalars`.
    private let literals: UnsafeMutableBufferPointer<(start: Int32, length: Int32)>
    private let scalars: UnsafeMutableBufferPointer<UInt32>

    init(_ followers: [LiteralFollower?]) {
        var index: [Int32] = []
        var entryList: [Entry] = []
        var literalList: [(start: Int32, length: Int32)] = []
        var scalarList: [UInt32] = []
        for follower in followers {
            guard let f = follower else {
                index.append(-1)
                continue
            }
            index.append(Int32(entryList.count))
            entryList.append(
                (
                    Int32(f.gap.lowerBound), Int32(f.gap.upperBound), Int32(literalList.count), Int32(f.literals.count),
                    f.spaced
                ))
            for literal in f.literals {
                literalList.append((Int32(scalarList.count), Int32(literal.count)))
                scalarList.append(contentsOf: literal)
            }
        }
        byRegex = Scanner.copy(index)
        entries = Scanner.copy(entryList)
        literals = Scanner.copy(literalList)
        scalars = Scanner.copy(scalarList)
    }

    deinit {
        byRegex.baseAddress?.deallocate()
        entries.baseAddress?.deallocate()
        literals.baseAddress?.deallocate()
        scalars.baseAddress?.deallocate()
    }

    /// `normalizer.foldCase(v)`, without its 256 KiB table for ASCII and for CJK from U+3000 to
    /// U+9FFF, which has no case (`NormalizerTests` checks it): the text after a gate literal is
    /// mostly ideographs, and each read of that table missed the cache.
    @inline(__always)
    static func folded(_ v: UInt32, _ normalizer: Normalizer) -> UInt32 {
        if v < 0x80 { return v &- 0x41 < 26 ? v | 0x20 : v }
        if v &- 0x3000 < 0x7000 { return v }
        return normalizer.foldCase(v)
    }

    /// Whether a hit of regex `r`'s gate literal ending before `end` has one of its follower's
    /// literals the follower's gap after it (true when the regex has no follower).
    @inline(__always)
    func admits(regex r: Int, _ text: UnsafePointer<UInt32>, count: Int, end: Int, normalizer: Normalizer) -> Bool {
        let e = Int(byRegex[r])
        if e < 0 { return true }
        let entry = entries[e]
        if entry.spaced { return admitsSpaced(entry, text, count: count, end: end, normalizer: normalizer) }
        for g in Int(entry.low)...Int(entry.high) {
            if follows(entry, text, count: count, at: end &+ g, normalizer: normalizer) { return true }
        }
        return false
    }

    /// `admits` for a spaced follower: every place from the gap's least distance on, as long
    /// as no more than its upper bound of characters other than white space stand between.
    private func admitsSpaced(
        _ entry: Entry, _ text: UnsafePointer<UInt32>, count: Int, end: Int, normalizer: Normalizer
    ) -> Bool {
        let low = end &+ Int(entry.low)
        let stop = min(count, end &+ LiteralFollower.maxSpacedSteps)
        // The white space the analysis stepped over (`NeighbourClass.isSpaceOnly`): `\s` without UCP.
        let space = NeighbourClass.space
        var others = 0
        var start = end
        while true {
            if start >= low && follows(entry, text, count: count, at: start, normalizer: normalizer) { return true }
            if start >= stop { return start < count }
            if !space.admits(text[start]) {
                others &+= 1
                if others > Int(entry.high) { return false }
            }
            start &+= 1
        }
    }

    /// Whether one of `entry`'s literals starts at `start`.
    @inline(__always)
    private func follows(
        _ entry: Entry, _ text: UnsafePointer<UInt32>, count: Int, at start: Int, normalizer: Normalizer
    ) -> Bool {
        for l in Int(entry.first)..<Int(entry.first &+ entry.count) {
            let literal = literals[l]
            let length = Int(literal.length)
            guard start &+ length <= count else { continue }
            var k = 0
            while k < length, Self.folded(text[start &+ k], normalizer) == scalars[Int(literal.start) &+ k] {
                k &+= 1
            }
            if k == length { return true }
        }
        return false
    }
}
