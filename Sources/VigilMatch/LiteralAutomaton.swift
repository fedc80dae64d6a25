/// A literal found in a text: which term, and where it ends (index of its last scalar).
public struct LiteralHit: Sendable, Hashable, BitwiseCopyable {
    public var term: Int32
    public var end: Int32
}

/// One Aho-Corasick automaton holding every literal of a rule set: keywords, allow terms,
/// co-occurrence and topic terms, and the prefilter literals of regexes.
///
/// It runs over normalized scalars, not bytes: each scalar maps to a small symbol id (case
/// folded; 0 for a scalar that occurs in no term). That keeps a Chinese text at one step per
/// character instead of three.
///
/// With 20,000 terms nearly every Chinese character starts some term, so a classic
/// Aho-Corasick walk sits in shallow states and pays a hash probe and failure links on almost
/// every character. Instead the scan asks, per position, whether the symbols there can begin a
/// term: a flag for one-symbol terms, a bitmap of the bigrams of two-symbol terms, and a bitmap
/// of the first three symbols of longer terms (the bench's compound keywords begin with common
/// words, so bigrams alone pass too often). Only positions that pass walk the trie, whose goto
/// table is one open-addressing hash table with a dense row for the root.
public final class LiteralAutomaton: @unchecked Sendable {
    /// Number of terms the automaton was built from (term ids are `0..<termCount`).
    public let termCount: Int
    /// Length of each term in scalars.
    public let termLengths: [Int32]
    /// Number of distinct symbols (characters) across all terms.
    public let symbolCount: Int
    /// Number of automaton states.
    public let stateCount: Int

    private let symbolsBMP: UnsafeMutablePointer<UInt16>
    private let symbolsSupplementary: [UInt32: UInt16]
    private let normalizer: Normalizer
    private let rootNext: UnsafeMutablePointer<UInt32>
    private let termAt: UnsafeMutablePointer<Int32>
    private let table: UnsafeMutablePointer<UInt64>
    private let tableMask: Int
    private let tableShift: UInt64
    /// Bit per hashed (first, second) symbol pair of a two-symbol term.
    private let bigrams: UnsafeMutablePointer<UInt64>
    /// Bit per hashed first three symbols of a longer term.
    private let trigrams: UnsafeMutablePointer<UInt64>
    private static let bigramBits = 16
    private static let trigramBits = 20
    /// Per symbol: 1 when a one-symbol term consists of it.
    /// Per symbol, what terms it starts: `startsSingle` (a one-symbol term), `startsPair`
    /// (a two-symbol term), `startsLonger` (a term of three or more). Most characters start no
    /// pair, so the bigram test is skipped for them.
    private let starts: UnsafeMutablePointer<UInt8>
    private static let startsSingle: UInt8 = 1
    private static let startsPair: UInt8 = 2
    private static let startsLonger: UInt8 = 4

    /// Builds the automaton. `terms` must already be normalized and case folded
    /// (`Normalizer.normalizedTerm`); empty terms are ignored.
    public init(terms: [[UInt32]], normalizer: Normalizer = .standard) throws(MatchError) {
        self.normalizer = normalizer
        termCount = terms.count
        termLengths = terms.map { Int32($0.count) }

        // Symbols: one per distinct scalar across the terms.
        var symbolOf: [UInt32: UInt16] = [:]
        for term in terms {
            for s in term where symbolOf[s] == nil {
                guard symbolOf.count < Int(UInt16.max) - 1 else {
                    throw MatchError.tooManyCharacters(symbolOf.count)
                }
                symbolOf[s] = UInt16(symbolOf.count + 1)
            }
        }
        symbolCount = symbolOf.count
        symbolsBMP = .allocate(capacity: 0x10000)
        symbolsBMP.initialize(repeating: 0, count: 0x10000)
        var supplementary: [UInt32: UInt16] = [:]
        for (scalar, symbol) in symbolOf {
            if scalar < 0x10000 { symbolsBMP[Int(scalar)] = symbol } else { supplementary[scalar] = symbol }
        }
        // Upper-case (and other case) variants map to the symbol of their lowercase.
        for u in 0..<UInt32(0x10000) where symbolsBMP[Int(u)] == 0 {
            let lower = normalizer.lowercase(u)
            if lower != u, let symbol = symbolOf[lower] { symbolsBMP[Int(u)] = symbol }
        }
        symbolsSupplementary = supplementary

        // Trie.
        var goto: [UInt64: UInt32] = [:]
        var termAtState: [Int32] = [-1]
        for (index, term) in terms.enumerated() where !term.isEmpty {
            var state: UInt32 = 0
            for s in term {
                let key = UInt64(state) << 16 | UInt64(symbolOf[s] ?? 0)
                if let next = goto[key] {
                    state = next
                } else {
                    let next = UInt32(termAtState.count)
                    termAtState.append(-1)
                    goto[key] = next
                    state = next
                }
            }
            if termAtState[Int(state)] < 0 { termAtState[Int(state)] = Int32(index) }
        }
        let states = termAtState.count
        stateCount = states

        termAt = .allocate(capacity: states)
        for (i, t) in termAtState.enumerated() { termAt[i] = t }
        rootNext = .allocate(capacity: symbolCount + 1)
        rootNext.initialize(repeating: 0, count: symbolCount + 1)
        for (key, next) in goto where key >> 16 == 0 { rootNext[Int(key & 0xFFFF)] = next }

        // Goto table without the root's transitions, open addressing, load factor <= 0.5.
        let nonRoot = goto.filter { $0.key >> 16 != 0 }
        var bits = 4
        while (1 << bits) < nonRoot.count * 2 { bits += 1 }
        tableMask = (1 << bits) - 1
        tableShift = UInt64(64 - bits)
        table = .allocate(capacity: 1 << bits)
        table.initialize(repeating: 0, count: 1 << bits)
        for (key, next) in nonRoot {
            var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> tableShift)
            while table[slot] != 0 { slot = (slot + 1) & tableMask }
            table[slot] = key << 24 | UInt64(next)
        }
        guard states < (1 << 24) else { throw MatchError.automatonTooLarge(states) }

        bigrams = .allocate(capacity: (1 << Self.bigramBits) / 64)
        bigrams.initialize(repeating: 0, count: (1 << Self.bigramBits) / 64)
        trigrams = .allocate(capacity: (1 << Self.trigramBits) / 64)
        trigrams.initialize(repeating: 0, count: (1 << Self.trigramBits) / 64)
        starts = .allocate(capacity: symbolCount + 1)
        starts.initialize(repeating: 0, count: symbolCount + 1)
        for term in terms where !term.isEmpty {
            let first = Int(symbolOf[term[0]] ?? 0)
            let second = term.count > 1 ? Int(symbolOf[term[1]] ?? 0) : 0
            switch term.count {
            case 1:
                starts[first] |= Self.startsSingle
            case 2:
                starts[first] |= Self.startsPair
                let bit = Self.bigramHash(first, second)
                bigrams[bit >> 6] |= 1 << UInt64(bit & 63)
            default:
                starts[first] |= Self.startsLonger
                let (word, mask) = Self.trigramSlot(first, second, Int(symbolOf[term[2]] ?? 0))
                trigrams[word] |= mask
            }
        }
    }

    @inline(__always)
    private static func bigramHash(_ a: Int, _ b: Int) -> Int {
        ((a &* 0x9E37_79B1) ^ (b &* 0x85EB_CA77)) & ((1 << bigramBits) - 1)
    }

    /// A blocked two-bit Bloom filter: one word per trigram, two bits in it. One load per
    /// test, and about a sixth of the false positives of one bit.
    @inline(__always)
    private static func trigramSlot(_ a: Int, _ b: Int, _ c: Int) -> (Int, UInt64) {
        let h =
            UInt64(truncatingIfNeeded: a &* 0x9E37_79B1 ^ b &* 0x85EB_CA77 ^ c &* 0xC2B2_AE3D) &* 0x9E37_79B9_7F4A_7C15
        let word = Int(truncatingIfNeeded: h >> (64 - UInt64(trigramBits - 6)))
        return (word, 1 << (h & 63) | 1 << ((h >> 6) & 63))
    }

    deinit {
        bigrams.deallocate()
        trigrams.deallocate()
        starts.deallocate()
        symbolsBMP.deallocate()
        rootNext.deallocate()
        termAt.deallocate()
        table.deallocate()
    }

    @inline(__always)
    private func symbol(_ scalar: UInt32) -> Int {
        if scalar < 0x10000 { return Int(symbolsBMP[Int(scalar)]) }
        return Int(symbolsSupplementary[normalizer.lowercase(scalar)] ?? 0)
    }

    @inline(__always)
    private func next(_ state: UInt32, _ symbol: Int) -> UInt32 {
        let key = UInt64(state) << 16 | UInt64(symbol)
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> tableShift)
        while true {
            let entry = table[slot]
            if entry == 0 { return 0 }
            if entry >> 24 == key { return UInt32(truncatingIfNeeded: entry & 0xFF_FFFF) }
            slot = (slot + 1) & tableMask
        }
    }

    /// Finds every occurrence of every term in `scalars`, overlapping ones included, and appends
    /// them to `hits` in order of their start position.
    public func scan(_ scalars: UnsafeBufferPointer<UInt32>, into hits: GrowableBuffer<LiteralHit>) {
        guard let text = scalars.baseAddress, scalars.count > 0 else { return }
        let n = scalars.count
        var next = symbol(text[0])
        var after = n > 1 ? symbol(text[1]) : 0
        for i in 0..<n {
            let c = next
            next = after
            after = i + 2 < n ? symbol(text[i + 2]) : 0
            if c == 0 { continue }
            let flags = starts[c]
            if flags == 0 { continue }
            if flags & Self.startsSingle != 0 { emitTerm(at: rootNext[c], end: i, hits: hits) }
            if next == 0 { continue }
            var candidate = false
            if flags & Self.startsPair != 0 {
                let pair = Self.bigramHash(c, next)
                candidate = bigrams[pair >> 6] & (1 << UInt64(pair & 63)) != 0
            }
            if !candidate && after != 0 && flags & Self.startsLonger != 0 {
                let (word, mask) = Self.trigramSlot(c, next, after)
                candidate = trigrams[word] & mask == mask
            }
            if !candidate { continue }
            // A term may begin here: walk the trie.
            var state = rootNext[c]
            var j = i + 1
            var d = next
            while true {
                state = self.next(state, d)
                if state == 0 { break }
                if termAt[Int(state)] >= 0 { hits.append(LiteralHit(term: termAt[Int(state)], end: Int32(j))) }
                j += 1
                if j >= n { break }
                d = symbol(text[j])
                if d == 0 { break }
            }
        }
    }

    @inline(__always)
    private func emitTerm(at state: UInt32, end: Int, hits: GrowableBuffer<LiteralHit>) {
        if termAt[Int(state)] >= 0 { hits.append(LiteralHit(term: termAt[Int(state)], end: Int32(end))) }
    }
}

/// Errors building matchers.
public enum MatchError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooManyCharacters(Int)
    case automatonTooLarge(Int)
    case regexCompile(pattern: String, offset: Int, message: String)

    public var description: String {
        switch self {
        case .tooManyCharacters(let n): return "the terms use more than \(n) distinct characters"
        case .automatonTooLarge(let n): return "the literal automaton would need \(n) states (limit 16,777,215)"
        case .regexCompile(_, let offset, let message): return "\(message) at offset \(offset)"
        }
    }
}
