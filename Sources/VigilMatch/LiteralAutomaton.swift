/// A literal found in a text: which term, and where it ends (index of its last scalar).
public struct LiteralHit: Sendable, Hashable, BitwiseCopyable {
    public var term: Int32
    public var end: Int32
}

/// One Aho-Corasick automaton holding every literal of a rule set: keywords, allow terms,
/// co-occurrence and topic terms, and the prefilter literals of regexes.
///
/// It runs over normalized scalars, not bytes: each scalar maps to a small symbol id (case
/// folded; 0 for a scalar that occurs in no term, which sends the automaton back to the root at
/// once). That keeps a Chinese text at one step per character instead of three, and lets the
/// root be a dense table over the ~5,000 symbols of a 20,000-term library. Other transitions
/// live in one open-addressing hash table; failure links handle the rest.
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
    private let fail: UnsafeMutablePointer<UInt32>
    private let termAt: UnsafeMutablePointer<Int32>
    private let dictLink: UnsafeMutablePointer<UInt32>
    private let reportable: UnsafeMutablePointer<UInt8>
    private let table: UnsafeMutablePointer<UInt64>
    private let tableMask: Int
    private let tableShift: UInt64

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

        // Children lists for the breadth-first pass.
        var children = [[(UInt16, UInt32)]](repeating: [], count: states)
        for (key, next) in goto { children[Int(key >> 16)].append((UInt16(key & 0xFFFF), next)) }

        fail = .allocate(capacity: states)
        fail.initialize(repeating: 0, count: states)
        dictLink = .allocate(capacity: states)
        dictLink.initialize(repeating: 0, count: states)
        termAt = .allocate(capacity: states)
        reportable = .allocate(capacity: states)
        reportable.initialize(repeating: 0, count: states)
        rootNext = .allocate(capacity: symbolCount + 1)
        rootNext.initialize(repeating: 0, count: symbolCount + 1)
        for (i, t) in termAtState.enumerated() { termAt[i] = t }

        var queue: [UInt32] = []
        queue.reserveCapacity(states)
        for (symbol, next) in children[0] {
            rootNext[Int(symbol)] = next
            queue.append(next)
        }
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            for (symbol, next) in children[Int(state)] {
                var f = fail[Int(state)]
                while f != 0, goto[UInt64(f) << 16 | UInt64(symbol)] == nil { f = fail[Int(f)] }
                let target = f == 0 ? rootNext[Int(symbol)] : goto[UInt64(f) << 16 | UInt64(symbol)] ?? 0
                fail[Int(next)] = target == next ? 0 : target
                let ft = fail[Int(next)]
                dictLink[Int(next)] = termAt[Int(ft)] >= 0 ? ft : dictLink[Int(ft)]
                queue.append(next)
            }
        }
        for s in 0..<states where termAt[s] >= 0 || dictLink[s] != 0 { reportable[s] = 1 }

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
    }

    deinit {
        symbolsBMP.deallocate()
        rootNext.deallocate()
        fail.deallocate()
        termAt.deallocate()
        dictLink.deallocate()
        reportable.deallocate()
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
    /// them to `hits` in order of their end position.
    public func scan(_ scalars: UnsafeBufferPointer<UInt32>, into hits: GrowableBuffer<LiteralHit>) {
        guard let text = scalars.baseAddress else { return }
        var state: UInt32 = 0
        for i in 0..<scalars.count {
            let c = symbol(text[i])
            if c == 0 {
                state = 0
                continue
            }
            while true {
                if state == 0 {
                    state = rootNext[c]
                    break
                }
                let t = next(state, c)
                if t != 0 {
                    state = t
                    break
                }
                state = fail[Int(state)]
            }
            if reportable[Int(state)] != 0 {
                var o = state
                if termAt[Int(o)] < 0 { o = dictLink[Int(o)] }
                while o != 0 {
                    hits.append(LiteralHit(term: termAt[Int(o)], end: Int32(i)))
                    o = dictLink[Int(o)]
                }
            }
        }
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
