/// What a rule's hit means. Values are the public ids: a risk id (`A.2.e`), an attack kind
/// (`xss`), a PII kind (`cn_id`).
public enum Signal: Hashable, Sendable {
    case risk(String)
    case attack(String)
    case pii(String)
    case refusal

    /// The public id: the risk id, the attack or PII kind, or `refusal`.
    public var value: String {
        switch self {
        case .risk(let v), .attack(let v), .pii(let v): return v
        case .refusal: return "refusal"
        }
    }
}

/// Where a rule came from, for error messages and `rules test`.
public struct RuleOrigin: Hashable, Sendable {
    public var pack: Int
    public var file: String
    public var line: Int
    public init(pack: Int, file: String, line: Int) {
        self.pack = pack
        self.file = file
        self.line = line
    }
}

/// A literal rule: its hit anywhere in the text is a finding.
public struct KeywordRule: Sendable {
    public var id: String
    public var signal: Signal
    public var origin: RuleOrigin
    /// Terms that suppress this keyword when a hit lies inside one of them.
    var allowTerms: [Int32]
    /// Only hits starting before this scalar count (refusal phrases near the start).
    public var withinFirst: Int?
}

/// A regex rule, gated by its prefilter and checked by its validator.
public struct RegexRule: Sendable {
    public var id: String
    public var signal: Signal
    public var origin: RuleOrigin
    public var regex: Regex
    public var validator: Validator?
    public var prefilter: RegexPrefilter
    public var withinFirst: Int?
}

/// All terms must occur within `window` scalars.
public struct CooccurrenceRule: Sendable {
    public var id: String
    public var signal: Signal
    public var origin: RuleOrigin
    var terms: [Int32]
    public var window: Int
}

/// A pack-wide suppression.
struct AllowRule: Sendable {
    var term: Int32
    var pack: Int
    var near: Int?
    /// Signal values (risk ids, attack or PII kinds) it suppresses; nil = every hit of the pack.
    var only: Set<String>?
}

/// A hot topic: a record is on it when `minKeywords` distinct topic keywords occur.
public struct TopicRule: Sendable {
    public var id: String
    public var origin: RuleOrigin
    var keywords: [Int32]
    public var minKeywords: Int
}

/// How a term is used; one term (one normalized spelling) may serve several rules.
enum TermUse: Sendable {
    case keyword(Int32)
    case allow(Int32)
    case cooccurrence(rule: Int32, slot: Int32)
    case topic(Int32)
    case regexLiteral(Int32)
    case regexSecondLiteral(Int32)
    /// A literal without which regex r's skip group cannot match (see `SkipGroup`).
    case skipGuard(Int32)
}

/// Everything the scanner needs, compiled: immutable, shared by all scanning threads.
public final class RuleSet: Sendable {
    public let keywords: [KeywordRule]
    public let regexes: [RegexRule]
    public let cooccurrences: [CooccurrenceRule]
    public let topics: [TopicRule]
    let allows: [AllowRule]
    /// The uses of term t are `uses[useStart[t]..<useStart[t + 1]]`.
    let useStart: [Int32]
    let uses: [TermUse]
    /// Per regex: its class-run gates, kept apart so the hot path reads plain integers.
    let regexDigitGate: [Int32]
    let regexAlphanumericGate: [Int32]
    let regexNeedsSecond: [Bool]
    /// Per regex: what may stand next to its first and second gate literals (nil: anything).
    let regexNeighbours: [LiteralNeighbours?]
    let regexSecondNeighbours: [LiteralNeighbours?]
    /// Per regex: literals a match holds a bounded distance after its first gate literal, case
    /// folded (nil: none known).
    let regexFollowers: [LiteralFollower?]
    /// Refusal regexes only matter for outputs; inputs skip them.
    let regexIsRefusal: [Bool]
    /// Per regex: whether every match holds one of its gating literals (they were derived
    /// from the pattern), so that no match starts after the last of them.
    let regexLiteralsInMatch: [Bool]
    /// How far, in characters, a match starts before the occurrence of the literals that let
    /// the regex run which it holds, at most (-1 when unbounded): the reach of the stretches
    /// searched around them (see `Scanner.runRegexes`). The literals' lead in the pattern where
    /// the analysis knows it, else the longest match.
    let regexReach: [Int32]
    /// Per regex with a skip group, its reach without the group (-1 when unbounded or without a
    /// group): a text with none of the group's guards is searched with the regex without it.
    let regexReachWithoutSkip: [Int32]
    let regexObjects: [Regex]
    /// Per regex that opens with a skip group, the regex without it, for texts where none of
    /// the group's guard literals occurs.
    let regexesWithoutSkip: [Regex?]
    let regexValidators: [Validator?]
    let termLengths: [Int32]
    /// Regexes without a literal gate, checked on every text (their digit gate still applies).
    let ungatedRegexes: [Int32]
    /// Per regex gated by a run of digits alone, with a bounded longest match and no skip
    /// group: that longest match, in characters (-1 for every other regex). Every match holds
    /// the run within its length, so only the stretches near the text's long digit runs are
    /// searched (see `Scanner.runRegexes`).
    let regexDigitRunReach: [Int32]
    /// Packs that have at least one pack-wide allow rule.
    let packsWithAllows: Set<Int>
    public let automaton: LiteralAutomaton
    /// Keywords that also match with repeated characters folded (炸炸炸弹 → 炸弹), and the
    /// automaton over their folded terms; nil when no rule asks for it.
    public let repeatFolded: [KeywordRule]
    let repeatAutomaton: LiteralAutomaton?
    public let normalizer: Normalizer

    init(builder: RuleSetBuilder) throws(MatchError) {
        keywords = builder.keywords
        regexes = builder.regexes
        cooccurrences = builder.cooccurrences
        topics = builder.topics
        allows = builder.allows
        var starts: [Int32] = [0]
        var flat: [TermUse] = []
        for list in builder.termUses {
            flat.append(contentsOf: list)
            starts.append(Int32(flat.count))
        }
        useStart = starts
        uses = flat
        regexDigitGate = builder.regexes.map { Int32($0.prefilter.minDigitRun) }
        regexAlphanumericGate = builder.regexes.map { Int32($0.prefilter.minAlphanumericRun) }
        regexNeedsSecond = builder.regexes.map { $0.prefilter.secondLiterals != nil }
        regexNeighbours = builder.regexes.map(\.prefilter.literalNeighbours)
        regexSecondNeighbours = builder.regexes.map(\.prefilter.secondNeighbours)
        let folding = builder.normalizer
        regexFollowers = builder.regexes.map { rule in
            rule.prefilter.literalFollower.map { f in
                LiteralFollower(literals: f.literals.map { $0.map(folding.foldCase) }, gap: f.gap, spaced: f.spaced)
            }
        }
        regexIsRefusal = builder.regexes.map { $0.signal == .refusal }
        regexReach = builder.regexes.map { Int32($0.prefilter.reach ?? -1) }
        regexLiteralsInMatch = builder.regexLiteralsDerived
        regexObjects = builder.regexes.map(\.regex)
        regexesWithoutSkip = builder.regexesWithoutSkip
        regexReachWithoutSkip = builder.reachesWithoutSkip.map { Int32($0 ?? -1) }
        regexValidators = builder.regexes.map(\.validator)
        normalizer = builder.normalizer
        automaton = try LiteralAutomaton(terms: builder.terms, normalizer: builder.normalizer)
        termLengths = automaton.termLengths
        repeatFolded = builder.repeatFolded
        repeatAutomaton =
            builder.repeatFoldedTerms.isEmpty
            ? nil : try LiteralAutomaton(terms: builder.repeatFoldedTerms, normalizer: builder.normalizer)
        let compiled = builder.regexes
        ungatedRegexes = compiled.indices.filter { compiled[$0].prefilter.literals == nil }.map { Int32($0) }
        regexDigitRunReach = compiled.indices.map { i in
            let p = compiled[i].prefilter
            guard p.literals == nil, p.minDigitRun >= RegexPrefilter.minimumDigitRun, let longest = p.maxMatchLength,
                builder.regexesWithoutSkip[i] == nil
            else { return -1 }
            return Int32(clamping: longest)
        }
        packsWithAllows = Set(builder.allows.map(\.pack).filter { $0 >= 0 })
    }

    /// Number of distinct literal terms in the automaton.
    public var termCount: Int { automaton.termCount }
}

/// Collects rules and interns their terms, then compiles a `RuleSet`.
public final class RuleSetBuilder {
    let normalizer: Normalizer
    var keywords: [KeywordRule] = []
    var regexes: [RegexRule] = []
    /// Per regex: whether its gating literals were derived from the pattern (so every match
    /// holds one), not given by hand (which may be context outside the match).
    var regexLiteralsDerived: [Bool] = []
    var regexesWithoutSkip: [Regex?] = []
    /// Per regex, the reach of its pattern without the skip group (nil without one, or when
    /// unbounded).
    var reachesWithoutSkip: [Int?] = []
    var cooccurrences: [CooccurrenceRule] = []
    var topics: [TopicRule] = []
    var allows: [AllowRule] = []
    var terms: [[UInt32]] = []
    var termUses: [[TermUse]] = []
    private var termIndex: [[UInt32]: Int32] = [:]
    private let termScratch = NormalizedText(capacity: 256)
    private var keywordAllowTerms = Set<Int32>()
    var repeatFolded: [KeywordRule] = []
    var repeatFoldedTerms: [[UInt32]] = []

    public init(normalizer: Normalizer = .standard) { self.normalizer = normalizer }

    /// A pattern folded like text, compiled and analysed, ahead of `addRegex`.
    struct Compiled: Sendable {
        var folded: String
        var regex: Result<Regex, MatchError>
        var prefilter: RegexPrefilter
        /// The pattern's opening skip group, when it has one, and the pattern without it.
        var skip: SkipGroup?
        var withoutSkip: Regex?
        /// The analysis of the pattern without the group.
        var restPrefilter: RegexPrefilter?

        init(folded: String) {
            self.folded = folded
            regex = Result { () throws(MatchError) in try Regex(folded) }
            guard let skip = SkipGroup.split(folded) else {
                prefilter = RegexPrefilter.derive(from: folded)
                return
            }
            // The group never matches (it ends in (*F)), so every match of the pattern is one of
            // the rest, from the same start: the rest's gate is the pattern's, and one analysis
            // serves both. The whole, holding (*SKIP), is searched from the start of the text.
            let alone = RegexPrefilter.derive(from: skip.rest)
            prefilter = alone
            prefilter.maxMatchLength = nil
            prefilter.maxLiteralLead = nil
            self.skip = skip
            withoutSkip = try? Regex(skip.rest)
            restPrefilter = alone
        }
    }

    /// What `precompile` did, by pattern as written.
    private var compiled: [String: Compiled] = [:]

    /// Compiles and analyses `patterns` on every core, so that `addRegex` finds them done: the
    /// analysis and PCRE2's JIT are about half of start-up, and each pattern's are its own.
    public func precompile(_ patterns: [String]) {
        let distinct = Array(Set(patterns))
        // Folded here, one at a time: the normalizer writes into buffers of its own.
        let folded = distinct.map { normalizer.normalizePattern($0) }
        let results = [Compiled](count: folded.count) { Compiled(folded: folded[$0]) }
        for (pattern, result) in zip(distinct, results) { compiled[pattern] = result }
    }

    /// Whether each literal's term is its own characters, case folded.
    private func termsAreVerbatim(_ literals: [String]) -> Bool {
        literals.allSatisfy { literal in
            normalizer.normalizedTerm(literal, scratch: termScratch)
                == literal.unicodeScalars.map { normalizer.foldCase($0.value) }
        }
    }

    /// Makes room for about `count` terms: growing the term index twenty thousand keywords at a
    /// time rehashed every term at each doubling.
    public func reserveTerms(_ count: Int) {
        termIndex.reserveCapacity(count)
        terms.reserveCapacity(count)
        termUses.reserveCapacity(count)
    }

    /// The term id for `text` (normalized and case folded), or nil when it normalizes to nothing.
    func intern(_ text: String) -> Int32? {
        let scalars = normalizer.normalizedTerm(text, scratch: termScratch)
        guard !scalars.isEmpty else { return nil }
        if let id = termIndex[scalars] { return id }
        let id = Int32(terms.count)
        terms.append(scalars)
        termUses.append([])
        termIndex[scalars] = id
        return id
    }

    /// Adds a keyword rule. Returns false when the term normalizes to nothing.
    @discardableResult
    public func addKeyword(
        _ term: String, id: String, signal: Signal, origin: RuleOrigin, allow: [String] = [], withinFirst: Int? = nil
    ) -> Bool {
        guard let t = intern(term) else { return false }
        let allowTerms = allow.compactMap { intern($0) }
        for a in allowTerms where !keywordAllowTerms.contains(a) {
            // Keyword-level allow terms belong to no pack, so they suppress only their keyword.
            keywordAllowTerms.insert(a)
            termUses[Int(a)].append(.allow(Int32(allows.count)))
            allows.append(AllowRule(term: a, pack: -1, near: nil))
        }
        let index = Int32(keywords.count)
        keywords.append(
            KeywordRule(id: id, signal: signal, origin: origin, allowTerms: allowTerms, withinFirst: withinFirst))
        termUses[Int(t)].append(.keyword(index))
        return true
    }

    /// Adds a regex rule; the pattern is folded like text, and its prefilter derived unless given.
    /// - Throws: `MatchError.regexCompile` when PCRE2 rejects the pattern.
    public func addRegex(
        _ pattern: String, id: String, signal: Signal, origin: RuleOrigin, validator: Validator? = nil,
        literals: [String]? = nil, withinFirst: Int? = nil
    ) throws(MatchError) -> RegexPrefilter {
        let done = compiled[pattern] ?? Compiled(folded: normalizer.normalizePattern(pattern))
        let regex = try done.regex.get()
        var prefilter = done.prefilter
        let derivedLongest = prefilter.maxMatchLength
        if let literals {
            prefilter.dropLiterals()
            prefilter.literals = literals.isEmpty ? nil : literals
            // `literals: []` asks for the rule to run on every text: no derived gate either.
            if literals.isEmpty {
                prefilter.minDigitRun = 0
                prefilter.minAlphanumericRun = 0
            }
            // A hand-given literal may be context outside the match: search the whole text.
            prefilter.maxMatchLength = nil
            prefilter.maxLiteralLead = nil
        }
        if let lits = prefilter.literals, RegexPrefilter.isWeak(lits),
            prefilter.minDigitRun > 0 || prefilter.minAlphanumericRun > 0
        {
            prefilter.dropLiterals()
            // Hand-given literals dropped here gate nothing any more, so the pattern's own
            // longest match bounds where its matches start again (`['0', …, '9']` beside a
            // digit run had made a number rule search every such text whole).
            if literals != nil { prefilter.maxMatchLength = derivedLongest }
        }
        var literalTerms: [Int32] = []
        if let lits = prefilter.literals {
            literalTerms = lits.compactMap { intern($0) }
            if literalTerms.count != lits.count { prefilter.dropLiterals() }
        }
        var secondTerms: [Int32] = []
        if let lits = prefilter.secondLiterals {
            secondTerms = lits.compactMap { intern($0) }
            if secondTerms.count != lits.count { prefilter.dropSecondLiterals() }
        }
        // Neighbours are those of the literal as written: a term that normalizes to other
        // characters (a separator dropped at its edge) would be found with other neighbours.
        if prefilter.literalNeighbours != nil, !(prefilter.literals.map(termsAreVerbatim) ?? false) {
            prefilter.literalNeighbours = nil
        }
        if prefilter.secondNeighbours != nil, !(prefilter.secondLiterals.map(termsAreVerbatim) ?? false) {
            prefilter.secondNeighbours = nil
        }
        // A follower is compared with the text case folded, as written: one that normalization
        // changes (ſ, µ) would be looked for in a form the text never holds.
        if let f = prefilter.literalFollower, !termsAreVerbatim(f.literals.map(literalString)) {
            prefilter.literalFollower = nil
        }
        let index = Int32(regexes.count)
        var withoutSkip: Regex? = nil
        var reachWithoutSkip: Int? = nil
        if let skip = done.skip, let rest = done.withoutSkip, let alone = done.restPrefilter {
            let guardTerms = skip.guards.compactMap { intern($0) }
            if guardTerms.count == skip.guards.count {
                withoutSkip = rest
                // The rest's analysis knows how far a match starts before the gate's literals if
                // they are its own; its longest match bounds that whatever they are.
                reachWithoutSkip = alone.literals == prefilter.literals ? alone.reach : alone.maxMatchLength
                for t in Set(guardTerms) { termUses[Int(t)].append(.skipGuard(index)) }
            }
        }
        regexesWithoutSkip.append(withoutSkip)
        reachesWithoutSkip.append(reachWithoutSkip)
        regexLiteralsDerived.append(literals == nil)
        regexes.append(
            RegexRule(
                id: id, signal: signal, origin: origin, regex: regex, validator: validator, prefilter: prefilter,
                withinFirst: withinFirst))
        if prefilter.literals != nil {
            for t in Set(literalTerms) { termUses[Int(t)].append(.regexLiteral(index)) }
        }
        if prefilter.secondLiterals != nil {
            for t in Set(secondTerms) { termUses[Int(t)].append(.regexSecondLiteral(index)) }
        }
        return prefilter
    }

    /// Adds a keyword that also matches when the text repeats its characters (炸炸弹弹).
    public func addRepeatFolded(_ term: String, id: String, signal: Signal, origin: RuleOrigin) {
        let folded = RepeatFolding.fold(normalizer.normalizedTerm(term))
        guard !folded.isEmpty else { return }
        repeatFolded.append(KeywordRule(id: id, signal: signal, origin: origin, allowTerms: [], withinFirst: nil))
        repeatFoldedTerms.append(folded)
    }

    /// Adds a co-occurrence rule; at most 64 terms are used.
    public func addCooccurrence(_ terms: [String], id: String, signal: Signal, origin: RuleOrigin, window: Int) {
        let ids = Array(Set(terms.prefix(64).compactMap { intern($0) })).sorted()
        let index = Int32(cooccurrences.count)
        cooccurrences.append(CooccurrenceRule(id: id, signal: signal, origin: origin, terms: ids, window: window))
        for (slot, t) in ids.enumerated() { termUses[Int(t)].append(.cooccurrence(rule: index, slot: Int32(slot))) }
    }

    public func addAllow(_ term: String, pack: Int, near: Int?, only: [String]? = nil) {
        guard let t = intern(term) else { return }
        let index = Int32(allows.count)
        allows.append(AllowRule(term: t, pack: pack, near: near, only: only.map(Set.init)))
        termUses[Int(t)].append(.allow(index))
    }

    public func addTopic(id: String, keywords: [String], minKeywords: Int, origin: RuleOrigin) {
        let ids = Array(Set(keywords.compactMap { intern($0) })).sorted()
        let index = Int32(topics.count)
        topics.append(TopicRule(id: id, origin: origin, keywords: ids, minKeywords: max(1, minKeywords)))
        for t in ids { termUses[Int(t)].append(.topic(index)) }
    }

    public func build() throws(MatchError) -> RuleSet { try RuleSet(builder: self) }
}

/// Collapses runs of the same character to one.
enum RepeatFolding {
    static func fold(_ scalars: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        for s in scalars where result.last != s { result.append(s) }
        return result
    }
}
