/// The characters that may stand right next to a regex's gate literal in any match: the
/// character before `rm` in `[;|&]\s*rm\s+` is a space or one of `;|&`, the one after it a
/// space. A literal hit whose neighbours fall outside sets no regex off, so `rm` inside
/// "form" or "perform it" costs no PCRE2 search.
///
/// The set over-approximates, so it stays a necessary condition: ASCII is exact (with both
/// cases of every letter, as `(?i)` may be on), every other character counts as one, and
/// `edge` stands for no character at all (the start or end of the text).
public struct NeighbourClass: Sendable, Hashable {
    /// U+0000 to U+003F, one bit each.
    var low: UInt64
    /// U+0040 to U+007F.
    var high: UInt64
    /// Any character from U+0080 on.
    var other: Bool
    /// The start or end of the text.
    var edge: Bool

    /// Anything, the text's edge included: no constraint.
    public static let any = NeighbourClass(low: ~0, high: ~0, other: true, edge: true)
    static let none = NeighbourClass(low: 0, high: 0, other: false, edge: false)
    /// `\s` without UCP: ASCII white space only.
    static let space = NeighbourClass(scalars: [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20])
    /// `\h` and `\v` also match Unicode's spaces and line breaks beyond ASCII.
    static let horizontalSpace = NeighbourClass(scalars: [0x09, 0x20]).union(.nonASCII)
    static let verticalSpace = NeighbourClass(scalars: [0x0A, 0x0B, 0x0C, 0x0D]).union(.nonASCII)
    static let digit = NeighbourClass(scalars: 0x30...0x39)
    /// `\w` without UCP: ASCII letters, digits and `_`.
    static let word = NeighbourClass(scalars: Array(0x30...0x39) + Array(0x41...0x5A) + Array(0x61...0x7A) + [0x5F])
    static let nonASCII = NeighbourClass(low: 0, high: 0, other: true, edge: false)

    init(low: UInt64, high: UInt64, other: Bool, edge: Bool) {
        self.low = low
        self.high = high
        self.other = other
        self.edge = edge
    }

    init(scalars: some Sequence<UInt32>) {
        self = .none
        for v in scalars { insert(v) }
    }

    mutating func insert(_ v: UInt32) {
        switch v {
        case 0..<0x40: low |= 1 << UInt64(v)
        case 0x40..<0x80: high |= 1 << UInt64(v - 0x40)
        default: other = true
        }
    }

    /// Adds the characters from `lower` to `upper`, however many.
    mutating func insert(_ lower: UInt32, through upper: UInt32) {
        guard lower <= upper else { return }
        if lower < 0x80 { for v in lower...min(upper, 0x7F) { insert(v) } }
        if upper >= 0x80 { other = true }
    }

    func union(_ o: NeighbourClass) -> NeighbourClass {
        NeighbourClass(low: low | o.low, high: high | o.high, other: other || o.other, edge: edge || o.edge)
    }

    /// Every character not in the set (the edge is not a character, so it is never added).
    /// Characters beyond ASCII are one member here, so the complement keeps them all.
    var complement: NeighbourClass { NeighbourClass(low: ~low, high: ~high, other: true, edge: false) }

    /// `\W` and the edge: what stands before a word-character literal that `\b` opens.
    static let nonWordOrEdge: NeighbourClass = {
        var c = word.complement
        c.edge = true
        return c
    }()

    var isAny: Bool { self == .any }

    /// Every character in the set is ASCII white space (the edge aside).
    var isSpaceOnly: Bool {
        let space = NeighbourClass.space
        return low & ~space.low == 0 && high & ~space.high == 0 && !other
            && (low != 0 || high != 0)
    }

    /// With both cases of every ASCII letter. `k` and `s` and the characters beyond ASCII go
    /// together both ways: caseless PCRE2 matches them with the Kelvin sign and the long s.
    func caseClosed() -> NeighbourClass {
        let letters: UInt64 = 0x07FF_FFFE  // bits 1-26 of each half: A-Z at 0x41, a-z at 0x61
        let upper = (high >> 0) & letters
        let lower = (high >> 32) & letters
        var c = self
        c.high |= (upper | lower) | ((upper | lower) << 32)
        let k: UInt64 = 1 << 11
        let s: UInt64 = 1 << 19
        let ks = k | s | (k << 32) | (s << 32)
        if c.high & ks != 0 { c.other = true }
        if c.other { c.high |= ks }
        return c
    }

    /// Whether `scalar` (nil: the edge of the text) may stand there.
    @inline(__always)
    public func admits(_ scalar: UInt32?) -> Bool {
        guard let v = scalar else { return edge }
        if v < 0x40 { return low & (1 << UInt64(v)) != 0 }
        if v < 0x80 { return high & (1 << UInt64(v &- 0x40)) != 0 }
        return other
    }
}

/// What stands next to a candidate literal within the part of the pattern analysed so far:
/// `chars`, and when `open`, whatever the enclosing pattern puts there as well.
struct Neighbour {
    var chars: NeighbourClass
    var open: Bool

    /// Nothing known inside the part: the enclosing pattern decides.
    static let context = Neighbour(chars: .none, open: true)
    /// No constraint (a literal set that no longer stands for whole pattern parts).
    static let unconstrained = Neighbour(chars: .any, open: false)

    func union(_ o: Neighbour) -> Neighbour { Neighbour(chars: chars.union(o.chars), open: open || o.open) }

    /// This side with what the enclosing pattern puts there filled in.
    func closed(by outside: Neighbour) -> Neighbour {
        open ? Neighbour(chars: chars.union(outside.chars), open: outside.open) : self
    }

    /// The final set, at the top of the pattern: an open side may be any character or none.
    var final: NeighbourClass { open ? .any : chars }
}

/// The neighbour sets of a gate's literals (see `NeighbourClass`).
public struct LiteralNeighbours: Sendable, Hashable {
    public var before: NeighbourClass
    public var after: NeighbourClass

    /// A candidate's sides at the top of the pattern; nil when neither constrains anything.
    init?(_ candidate: GateCandidate) {
        before = candidate.before.final.caseClosed()
        after = candidate.after.final.caseClosed()
        if before.isAny && after.isAny { return nil }
    }

    /// Whether a literal found at scalars `start..<end` of `scalars` has neighbours a match allows.
    @inline(__always)
    public func admit(_ scalars: UnsafePointer<UInt32>, count: Int, start: Int, end: Int) -> Bool {
        before.admits(start > 0 ? scalars[start &- 1] : nil) && after.admits(end < count ? scalars[end] : nil)
    }
}
