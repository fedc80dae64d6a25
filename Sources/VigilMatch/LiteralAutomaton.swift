/// A literal found in a text: which term, and where it ends (index of its last scalar).
public struct LiteralHit: Sendable, Hashable, BitwiseCopyable {
    public var term: Int32
    public var end: Int32
}

/// One multi-literal matcher holding every literal of a rule set: keywords, allow terms,
/// co-occurrence and topic terms, and the prefilter literals of regexes.
///
/// It runs over normalized scalars, not bytes: each scalar maps to a small symbol id (case
/// folded; 0 for a scalar that occurs in no term). That keeps a Chinese text at one step per
/// character instead of three.
///
/// With 20,000 terms nearly every Chinese character starts some term, so an Aho-Corasick walk
/// sits in shallow states and pays a table probe and failure links on almost every character.
/// Instead the scan asks, per position, whether the symbols there can begin a term: a flag for
/// one-symbol terms, then a bitmap of the first two symbols of every longer term, then a bitmap
/// of the pairs that are two-symbol terms and a Bloom filter of the three-symbol terms and of the
/// first four symbols of longer ones (most of a text's trigrams that begin a longer term go on
/// differently). A position that passes looks its pair, its three symbols or its four up in an
/// exact table; the longer terms that share four first symbols sit together in one bucket and
/// are compared symbol by symbol. That costs two
/// memory reads per candidate, where a trie walk through a hashed goto table of 100,000 states
/// missed the cache at every step.
///
/// The two-symbol bitmap comes first because it is small and decisive: in Chinese text three
/// characters in four start some term of a 20,000-keyword library, but only one in nine starts
/// a term's first two characters, so the larger Bloom filter is read at few positions. That
/// first test (with the one-symbol flag) is made for every position in a pass without branches
/// that lists the positions passing it; the rest runs over that list. A branch per position
/// was mispredicted often enough to cost more than the test itself.
public final class LiteralAutomaton: @unchecked Sendable {
    /// Number of terms the matcher was built from (term ids are `0..<termCount`).
    public let termCount: Int
    /// Length of each term in scalars.
    public let termLengths: [Int32]
    /// Number of distinct symbols (characters) across all terms.
    public let symbolCount: Int
    /// Number of buckets of terms of three or more symbols: one per three-symbol term, and one
    /// per distinct first four symbols of longer terms.
    public let bucketCount: Int

    private let symbolsBMP: UnsafeMutablePointer<UInt16>
    /// `symbolsBMP` marked for the normalizer, to write a text's symbols as it goes
    /// (`Normalizer.normalize(_:into:hashingLetters:symbolTable:)`).
    public let symbolTable: SymbolTable
    private let symbolsSupplementary: [UInt32: UInt16]
    private let normalizer: Normalizer
    /// Per symbol, the one-symbol term that consists of it (-1 for none).
    private let singleTerm: UnsafeMutablePointer<Int32>
    /// Exact table of two-symbol terms: `first << 16 | second` in the high 32 bits, term id + 1
    /// in the low 32 bits; 0 is an empty slot.
    private let pairs: UnsafeMutablePointer<UInt64>
    private let pairMask: Int
    /// Exact table of buckets, two words per slot: the key `a | b << 16 | c << 32` of a
    /// three-symbol term or `longerKey` of a longer term's first four symbols, plus one (0 is an
    /// empty slot), then `bucket start << 16 | bucket size` in `tails`.
    private let prefixes: UnsafeMutablePointer<UInt64>
    private let prefixMask: Int
    /// Buckets, one after another: per term its id, its length, then its symbols after the third.
    private let tails: UnsafeMutablePointer<UInt16>
    /// Bit per hashed (first, second) symbol pair of a two-symbol term.
    private let bigrams: UnsafeMutablePointer<UInt64>
    /// A Bloom filter of the three-symbol terms and the first four symbols of longer ones
    /// (`trigramSlot`, `quadgramSlot`).
    private let trigrams: UnsafeMutablePointer<UInt64>
    /// Bit per hashed first two symbols of any term of two or more symbols.
    private let leadingPairs: UnsafeMutablePointer<UInt64>
    private static let bigramBits = 16
    private static let trigramBits = 20
    private static let leadingPairBits = 18
    /// Per symbol, what terms it starts: `startsSingle` (a one-symbol term), `startsPair`
    /// (a two-symbol term), `startsLonger` (a term of three or more). Most characters start no
    /// pair, so the bigram test is skipped for them.
    private let starts: UnsafeMutablePointer<UInt8>
    private static let startsSingle: UInt8 = 1
    private static let startsPair: UInt8 = 2
    private static let startsLonger: UInt8 = 4

    /// Builds the matcher. `terms` must already be normalized and case folded
    /// (`Normalizer.normalizedTerm`); empty terms are ignored, and of identical terms the first
    /// one is reported.
    public init(terms: [[UInt32]], normalizer: Normalizer = .standard) throws(MatchError) {
        self.normalizer = normalizer
        termCount = terms.count
        termLengths = terms.map { Int32($0.count) }

        // Symbols: one per distinct scalar across the terms, numbered in order of first use.
        // BMP scalars are numbered in the final table itself (a dictionary lookup per scalar
        // of 20,000 terms was a sixth of building the automaton).
        // One entry more than the BMP, always 0: the normalizer reads it for scalars beyond.
        let bmp = UnsafeMutablePointer<UInt16>.allocate(capacity: 0x10001)
        bmp.initialize(repeating: 0, count: 0x10001)
        var supplementary: [UInt32: UInt16] = [:]
        var count = 0
        for term in terms {
            for s in term {
                let known = s < 0x10000 ? bmp[Int(s)] != 0 : supplementary[s] != nil
                if known { continue }
                guard count < Int(UInt16.max) - 1 else {
                    bmp.deallocate()
                    throw MatchError.tooManyCharacters(count)
                }
                count += 1
                if s < 0x10000 { bmp[Int(s)] = UInt16(count) } else { supplementary[s] = UInt16(count) }
            }
        }
        symbolCount = count
        func symbolOf(_ s: UInt32) -> UInt16 { s < 0x10000 ? bmp[Int(s)] : supplementary[s] ?? 0 }
        // Upper-case (and other case) variants map to the symbol of their lowercase; found
        // first and written after, so a variant never maps through another variant.
        var variants: [(Int, UInt16)] = []
        for u in 0..<UInt32(0x10000) where bmp[Int(u)] == 0 {
            let lower = normalizer.foldCase(u)
            if lower != u {
                let symbol = symbolOf(lower)
                if symbol != 0 { variants.append((Int(u), symbol)) }
            }
        }
        for (u, symbol) in variants { bmp[u] = symbol }
        symbolsBMP = bmp
        symbolsSupplementary = supplementary
        symbolTable = SymbolTable(copying: bmp)
        normalizer.mark(symbolTable)

        singleTerm = .allocate(capacity: symbolCount + 1)
        singleTerm.initialize(repeating: -1, count: symbolCount + 1)
        starts = .allocate(capacity: symbolCount + 1)
        starts.initialize(repeating: 0, count: symbolCount + 1)
        bigrams = .allocate(capacity: (1 << Self.bigramBits) / 64)
        bigrams.initialize(repeating: 0, count: (1 << Self.bigramBits) / 64)
        trigrams = .allocate(capacity: (1 << Self.trigramBits) / 64)
        trigrams.initialize(repeating: 0, count: (1 << Self.trigramBits) / 64)
        leadingPairs = .allocate(capacity: (1 << Self.leadingPairBits) / 64)
        leadingPairs.initialize(repeating: 0, count: (1 << Self.leadingPairBits) / 64)

        var pairTerm: [UInt64: Int32] = [:]
        var buckets: [UInt64: [Int32]] = [:]
        var bucketOrder: [UInt64] = []
        var seenLonger: Set<[UInt32]> = []
        seenLonger.reserveCapacity(terms.count)
        for (index, term) in terms.enumerated() where !term.isEmpty {
            let symbols = term.map { Int(symbolOf($0)) }
            let first = symbols[0]
            if symbols.count >= 2 {
                let bit = Self.leadingPairHash(first, symbols[1])
                leadingPairs[bit >> 6] |= 1 << UInt64(bit & 63)
            }
            switch symbols.count {
            case 1:
                starts[first] |= Self.startsSingle
                if singleTerm[first] < 0 { singleTerm[first] = Int32(index) }
            case 2:
                starts[first] |= Self.startsPair
                let bit = Self.bigramHash(first, symbols[1])
                bigrams[bit >> 6] |= 1 << UInt64(bit & 63)
                let key = UInt64(first) << 16 | UInt64(symbols[1])
                if pairTerm[key] == nil { pairTerm[key] = Int32(index) }
            default:
                starts[first] |= Self.startsLonger
                // A three-symbol term is known by its trigram, a longer one by its first four
                // symbols: most texts' trigrams that begin a longer term go on differently.
                let (word, mask) =
                    symbols.count == 3
                    ? Self.trigramSlot(first, symbols[1], symbols[2])
                    : Self.quadgramSlot(first, symbols[1], symbols[2], symbols[3])
                trigrams[word] |= mask
                guard seenLonger.insert(term).inserted else { continue }
                // Buckets by the same keys: the three-symbol term alone, longer terms by their
                // first four symbols, so a position compares only terms that the filter let by.
                let three = Self.prefixKey(first, symbols[1], symbols[2])
                let key = symbols.count == 3 ? three : Self.longerKey(three, symbols[3])
                if buckets[key] == nil { bucketOrder.append(key) }
                buckets[key, default: []].append(Int32(index))
            }
        }

        var pairBits = 4
        while (1 << pairBits) < pairTerm.count * 2 { pairBits += 1 }
        pairMask = (1 << pairBits) - 1
        pairs = .allocate(capacity: 1 << pairBits)
        pairs.initialize(repeating: 0, count: 1 << pairBits)
        for (key, term) in pairTerm {
            var slot = Self.slot(key, pairMask)
            while pairs[slot] != 0 { slot = (slot + 1) & pairMask }
            pairs[slot] = key << 32 | UInt64(term + 1)
        }

        // Buckets hold their terms shortest first, so hits at one position come out in order of end.
        var tailPool: [UInt16] = []
        var bucketSpan: [UInt64: UInt64] = [:]
        for key in bucketOrder {
            guard let members = buckets[key] else { continue }
            let sorted = members.sorted { (terms[Int($0)].count, $0) < (terms[Int($1)].count, $1) }
            let start = tailPool.count
            for t in sorted {
                let term = terms[Int(t)]
                guard term.count <= Int(UInt16.max) else { throw MatchError.termTooLong(term.count) }
                tailPool.append(UInt16(truncatingIfNeeded: t >> 16))
                tailPool.append(UInt16(truncatingIfNeeded: t))
                tailPool.append(UInt16(term.count))
                for s in term.dropFirst(3) { tailPool.append(symbolOf(s)) }
            }
            guard sorted.count <= 0xFFFF else { throw MatchError.tooManyTerms(sorted.count) }
            bucketSpan[key] = UInt64(start) << 16 | UInt64(sorted.count)
        }
        bucketCount = bucketOrder.count
        tails = .allocate(capacity: max(1, tailPool.count))
        tails.initialize(from: tailPool, count: tailPool.count)

        var prefixBits = 4
        while (1 << prefixBits) < bucketCount * 2 { prefixBits += 1 }
        prefixMask = (1 << prefixBits) - 1
        prefixes = .allocate(capacity: 2 << prefixBits)
        prefixes.initialize(repeating: 0, count: 2 << prefixBits)
        for (key, span) in bucketSpan {
            var slot = Self.slot(key, prefixMask)
            while prefixes[2 * slot] != 0 { slot = (slot + 1) & prefixMask }
            prefixes[2 * slot] = key &+ 1
            prefixes[2 * slot + 1] = span
        }
    }

    /// Three symbols packed as the passes load them, the first in the low 16 bits.
    @inline(__always)
    private static func prefixKey(_ a: Int, _ b: Int, _ c: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: a) | UInt64(truncatingIfNeeded: b) << 16 | UInt64(truncatingIfNeeded: c) << 32
    }

    /// The key of the bucket of terms that begin with a three-symbol key's symbols and then `d`
    /// (never 0, so it cannot equal a three-symbol key, whose top 16 bits are clear).
    @inline(__always)
    private static func longerKey(_ key: UInt64, _ d: Int) -> UInt64 {
        key | UInt64(truncatingIfNeeded: d) << 48
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    @inline(__always)
    private static func bigramHash(_ a: Int, _ b: Int) -> Int {
        bigramHash(pair: UInt64(truncatingIfNeeded: a) | UInt64(truncatingIfNeeded: b) << 16)
    }

    /// The bigram filter's hash of two symbols as one word (the first in the low half).
    @inline(__always)
    private static func bigramHash(pair: UInt64) -> Int {
        Int(truncatingIfNeeded: (pair &* 0xFF51_AFD7_ED55_8CCD) >> (64 - UInt64(bigramBits)))
    }

    @inline(__always)
    private static func leadingPairHash(_ a: Int, _ b: Int) -> Int {
        leadingPairHash(pair: UInt32(truncatingIfNeeded: b) << 16 | UInt32(truncatingIfNeeded: a))
    }

    /// The hash of two symbols read as one little-endian word (the first in the low half):
    /// the first pass then loads a position's pair at once.
    @inline(__always)
    private static func leadingPairHash(pair: UInt32) -> Int {
        let h = UInt64(pair) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: h >> (64 - UInt64(leadingPairBits)))
    }

    /// The Bloom filter's slot (`gramSlot`) for a three-symbol term.
    @inline(__always)
    private static func trigramSlot(_ a: Int, _ b: Int, _ c: Int) -> (Int, UInt64) {
        gramSlot(prefixKey(a, b, c), trigramMultiplier)
    }

    /// `trigramSlot` for the first four symbols of a term of four or more, with another
    /// multiplier so that the two kinds of key fall apart in the one filter.
    @inline(__always)
    private static func quadgramSlot(_ a: Int, _ b: Int, _ c: Int, _ d: Int) -> (Int, UInt64) {
        gramSlot(longerKey(prefixKey(a, b, c), d), quadgramMultiplier)
    }

    private static let trigramMultiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
    private static let quadgramMultiplier: UInt64 = 0xC2B2_AE3D_27D4_EB4F

    /// A blocked two-bit Bloom filter (one word per key, two bits in it: one load per test, and
    /// about a sixth of the false positives of one bit): the word and bits for symbols packed
    /// in one word, the first in the low 16 bits. One multiply, whose high bits depend on every
    /// symbol; the filter pass loads a candidate's four symbols as that word.
    @inline(__always)
    private static func gramSlot(_ key: UInt64, _ multiplier: UInt64) -> (Int, UInt64) {
        let h = key &* multiplier
        let word = Int(truncatingIfNeeded: h >> (64 - UInt64(trigramBits - 6)))
        return (word, 1 << ((h >> 38) & 63) | 1 << ((h >> 44) & 63))
    }

    /// 1 when the terms of three or more symbols may hold one that starts with the four symbols
    /// packed in `w` (the first in the low 16 bits): the three-symbol term of its first three,
    /// or a longer one beginning with all four (the fourth is 0 at the end); else 0. Both
    /// filters are read and their bits combined, for the filter pass: `||` between two tests
    /// compiles to a branch, mispredicted at one candidate in several.
    @inline(__always)
    private func mayStartLonger(_ w: UInt64) -> UInt64 {
        filterBit(w & 0xFFFF_FFFF_FFFF, Self.trigramMultiplier) | filterBit(w, Self.quadgramMultiplier)
    }

    /// `inFilter` as 1 or 0.
    @inline(__always)
    private func filterBit(_ key: UInt64, _ multiplier: UInt64) -> UInt64 {
        let (word, mask) = Self.gramSlot(key, multiplier)
        return ~trigrams[word] & mask == 0 ? 1 : 0
    }

    /// Whether the Bloom filter may hold `key` (`gramSlot` with `multiplier`).
    @inline(__always)
    private func inFilter(_ key: UInt64, _ multiplier: UInt64) -> Bool {
        let (word, mask) = Self.gramSlot(key, multiplier)
        return trigrams[word] & mask == mask
    }

    deinit {
        bigrams.deallocate()
        trigrams.deallocate()
        leadingPairs.deallocate()
        starts.deallocate()
        symbolsBMP.deallocate()
        symbolTable.deallocate()
        singleTerm.deallocate()
        pairs.deallocate()
        prefixes.deallocate()
        tails.deallocate()
    }

    @inline(never)
    private func supplementarySymbol(_ scalar: UInt32) -> Int {
        Int(symbolsSupplementary[normalizer.foldCase(scalar)] ?? 0)
    }

    /// Finds every occurrence of every term in `scalars`, overlapping ones included, and appends
    /// them to `hits` in order of their start position (and of their end within one start).
    public func scan(_ scalars: UnsafeBufferPointer<UInt32>, into hits: GrowableBuffer<LiteralHit>) {
        scan(
            scalars, into: hits, symbols: GrowableBuffer<UInt16>(capacity: scalars.count + 2),
            candidates: GrowableBuffer<Int32>(capacity: scalars.count))
    }

    /// Finds every term in a normalized text whose symbols the normalizer wrote with this
    /// automaton's `symbolTable`, as `scan` does. `symbols` is a buffer for the rare text with
    /// a character beyond the BMP whose symbol is in a dictionary the normalizer does not read.
    public func scan(
        _ text: NormalizedText, into hits: GrowableBuffer<LiteralHit>, symbols: GrowableBuffer<UInt16>,
        candidates: GrowableBuffer<Int32>
    ) {
        if text.hasSupplementary && !symbolsSupplementary.isEmpty {
            scan(text.scalars.buffer, into: hits, symbols: symbols, candidates: candidates)
            return
        }
        let n = text.symbols.count
        guard n > 0 else { return }
        text.symbols.reserve(3)
        text.symbols.base[n] = 0
        text.symbols.base[n &+ 1] = 0
        text.symbols.base[n &+ 2] = 0
        findAll(text.symbols.base, n, into: hits, candidates: candidates)
    }

    /// `scan` with buffers for the text's symbols and candidate positions, kept by the caller
    /// between texts.
    public func scan(
        _ scalars: UnsafeBufferPointer<UInt32>, into hits: GrowableBuffer<LiteralHit>, symbols: GrowableBuffer<UInt16>,
        candidates: GrowableBuffer<Int32>
    ) {
        guard let text = scalars.baseAddress, scalars.count > 0 else { return }
        let n = scalars.count
        // The symbols first, in one tight pass, with three zeros after the last: the passes below
        // then read three symbols at every position without bounds or table lookups.
        symbols.removeAll()
        symbols.reserve(n + 3)
        let sym = symbols.base
        let table = symbolsBMP
        for i in 0..<n {
            let scalar = text[i]
            sym[i] = scalar < 0x10000 ? table[Int(scalar)] : UInt16(truncatingIfNeeded: supplementarySymbol(scalar))
        }
        sym[n] = 0
        sym[n &+ 1] = 0
        sym[n &+ 2] = 0
        findAll(sym, n, into: hits, candidates: candidates)
    }

    /// The passes after the symbols: `sym` holds `n` symbols and three zeros after them.
    @inline(__always)
    private func findAll(
        _ sym: UnsafeMutablePointer<UInt16>, _ n: Int, into hits: GrowableBuffer<LiteralHit>,
        candidates: GrowableBuffer<Int32>
    ) {
        // Without a branch per position, the positions where some term may start: a
        // one-symbol term, or a longer term's first two symbols. Most positions are decided by
        // these two table reads, and deciding them without branches lets the reads of many
        // positions overlap instead of waiting behind mispredicted jumps.
        candidates.removeAll()
        candidates.reserve(n)
        let cand = candidates.base
        let kept = filterPass(sym, cand, firstPass(sym, n, into: cand))
        let raw = UnsafeRawPointer(sym)
        for j in 0..<kept {
            let i = Int(cand[j])
            // The four symbols from `i`, the first in the low 16 bits: the filters' keys.
            let w = raw.loadUnaligned(fromByteOffset: i &* 2, as: UInt64.self)
            let c = Int(truncatingIfNeeded: w & 0xFFFF)
            if c == 0 { continue }
            let flags = starts[c]
            if flags == 0 { continue }
            if flags & Self.startsSingle != 0 {
                let t = singleTerm[c]
                if t >= 0 { hits.append(LiteralHit(term: t, end: Int32(truncatingIfNeeded: i))) }
            }
            let next = Int(truncatingIfNeeded: (w >> 16) & 0xFFFF)
            if next == 0 { continue }
            let lead = Self.leadingPairHash(pair: UInt32(truncatingIfNeeded: w))
            if leadingPairs[lead >> 6] & (1 << UInt64(lead & 63)) == 0 { continue }
            if flags & Self.startsPair != 0 {
                let pair = Self.bigramHash(pair: w & 0xFFFF_FFFF)
                if bigrams[pair >> 6] & (1 << UInt64(pair & 63)) != 0 { findPair(c, next, end: i + 1, hits: hits) }
            }
            if (w >> 32) & 0xFFFF != 0 && flags & Self.startsLonger != 0 { findLonger(sym, n, at: i, w, hits: hits) }
        }
    }

    /// The second pass, also without branches: keeps the candidates that may start a term by
    /// their symbol's flags, the bigram filter and the Bloom filter (`mayStartLonger`). The Bloom filter
    /// (128 KiB) is read from the L2 cache; with no branch between them, the reads of many
    /// candidates overlap instead of each waiting behind the last. A superset of what the
    /// exact tests after it report; compacts `cand` in place and returns how many are left.
    @inline(__always)
    private func filterPass(_ sym: UnsafeMutablePointer<UInt16>, _ cand: UnsafeMutablePointer<Int32>, _ k: Int) -> Int {
        var kept = 0
        let raw = UnsafeRawPointer(sym)
        for j in 0..<k {
            let i = Int(cand[j])
            let w = raw.loadUnaligned(fromByteOffset: i &* 2, as: UInt64.self)
            let flags = UInt64(starts[Int(truncatingIfNeeded: w & 0xFFFF)])
            let pair = Self.bigramHash(pair: w & 0xFFFF_FFFF)
            let pairBit = (bigrams[pair >> 6] >> UInt64(pair & 63)) & (flags >> 1)
            let longerBit = mayStartLonger(w) & (flags >> 2)
            cand[kept] = Int32(truncatingIfNeeded: i)
            kept &+= Int(truncatingIfNeeded: (flags | pairBit | longerBit) & 1)
        }
        return kept
    }

    /// The first pass: every position that may start a one-symbol term or, by the leading
    /// pair bitmap, a longer one.
    @inline(__always)
    private func firstPass(_ sym: UnsafeMutablePointer<UInt16>, _ n: Int, into cand: UnsafeMutablePointer<Int32>)
        -> Int
    {
        var k = 0
        let raw = UnsafeRawPointer(sym)
        for i in 0..<n {
            let pair = raw.loadUnaligned(fromByteOffset: i &* 2, as: UInt32.self)
            let c = Int(truncatingIfNeeded: pair & 0xFFFF)
            let lead = Self.leadingPairHash(pair: pair)
            let pairBit = (leadingPairs[lead >> 6] >> UInt64(lead & 63)) & 1
            let single = UInt64(starts[c] & Self.startsSingle)
            cand[k] = Int32(truncatingIfNeeded: i)
            k &+= Int(truncatingIfNeeded: pairBit | single)
        }
        return k
    }

    @inline(__always)
    private func findPair(_ a: Int, _ b: Int, end: Int, hits: GrowableBuffer<LiteralHit>) {
        let key = UInt64(truncatingIfNeeded: a) << 16 | UInt64(truncatingIfNeeded: b)
        var slot = Self.slot(key, pairMask)
        while true {
            let entry = pairs[slot]
            if entry == 0 { return }
            if entry >> 32 == key {
                hits.append(LiteralHit(term: Int32(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1, end: Int32(end)))
                return
            }
            slot = (slot + 1) & pairMask
        }
    }

    /// The terms of three or more symbols at `i`, whose first four symbols `w` holds (the
    /// first in the low 16 bits): the three-symbol term and the bucket of the longer ones that
    /// begin with all four, each where the Bloom filter lets it by. `w`'s low 48 bits are the
    /// three-symbol key (`prefixKey`), and `w` is the four-symbol one (`longerKey`).
    private func findLonger(
        _ sym: UnsafeMutablePointer<UInt16>, _ n: Int, at i: Int, _ w: UInt64, hits: GrowableBuffer<LiteralHit>
    ) {
        let three = w & 0xFFFF_FFFF_FFFF
        if inFilter(three, Self.trigramMultiplier), let span = bucket(three) {
            compare(sym, n, at: i, span, hits: hits)
        }
        guard w >> 48 != 0 else { return }
        if inFilter(w, Self.quadgramMultiplier), let span = bucket(w) { compare(sym, n, at: i, span, hits: hits) }
    }

    /// The span of the bucket with this key, if there is one.
    @inline(__always)
    private func bucket(_ key: UInt64) -> UInt64? {
        var slot = Self.slot(key, prefixMask)
        while true {
            let entry = prefixes[2 * slot]
            if entry == 0 { return nil }
            if entry == key &+ 1 { return prefixes[2 * slot + 1] }
            slot = (slot + 1) & prefixMask
        }
    }

    /// Compares the terms of one bucket with the text at `i`.
    @inline(__always)
    private func compare(
        _ sym: UnsafeMutablePointer<UInt16>, _ n: Int, at i: Int, _ span: UInt64, hits: GrowableBuffer<LiteralHit>
    ) {
        var p = Int(truncatingIfNeeded: span >> 16)
        var remaining = Int(truncatingIfNeeded: span & 0xFFFF)
        while remaining > 0 {
            remaining &-= 1
            let term = Int32(truncatingIfNeeded: UInt32(tails[p]) << 16 | UInt32(tails[p &+ 1]))
            let length = Int(tails[p &+ 2])
            p &+= 3
            let rest = p
            p &+= length &- 3
            guard i &+ length <= n else { continue }
            var k = 3
            while k < length, sym[i &+ k] == tails[rest &+ k &- 3] { k &+= 1 }
            if k == length { hits.append(LiteralHit(term: term, end: Int32(truncatingIfNeeded: i &+ length &- 1))) }
        }
    }
}

/// Errors building matchers.
public enum MatchError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooManyCharacters(Int)
    case tooManyTerms(Int)
    case termTooLong(Int)
    case regexCompile(pattern: String, offset: Int, message: String)

    public var description: String {
        switch self {
        case .tooManyCharacters(let n): return "the terms use more than \(n) distinct characters"
        case .tooManyTerms(let n): return "\(n) literal terms share their first three characters (limit 65,535)"
        case .termTooLong(let n): return "a literal term of \(n) characters is too long (limit 65,535)"
        case .regexCompile(_, let offset, let message): return "\(message) at offset \(offset)"
        }
    }
}
