/// What must be present in a text before a regex is worth running (the Suricata `content` +
/// `pcre` idea, derived automatically): a set of literals of which one must occur, and/or a
/// run of at least `minDigitRun` ASCII digits. Both are necessary conditions of a match, so a
/// regex whose prefilter fails on a text cannot match it.
public struct RegexPrefilter: Sendable, Hashable {
    /// One of these must occur (case-insensitively, after normalization); nil = no literal gate.
    public var literals: [String]?
    /// A second, independent set of which one must occur too; nil = none.
    public var secondLiterals: [String]?
    /// A run of at least this many digits must occur; 0 = no digit gate.
    public var minDigitRun: Int
    /// A run of at least this many ASCII letters and digits must occur; 0 = no such gate.
    public var minAlphanumericRun: Int
    /// The longest possible match in characters (nil = unbounded): a match holding a literal
    /// that first occurs at position p cannot start before p - maxMatchLength.
    public var maxMatchLength: Int? = nil
    /// How far, in characters, a match can start before the occurrence of one of `literals`
    /// that it holds (nil = unknown): tighter than `maxMatchLength` when the literals sit early
    /// in the pattern (`(?:这个|这种)…` has 0, `[一-龥]{2,6}省…` has 6).
    public var maxLiteralLead: Int? = nil
    /// What a match allows right before and after an occurrence of `literals` (nil: anything):
    /// an occurrence with other neighbours does not open the gate.
    public var literalNeighbours: LiteralNeighbours? = nil
    /// The same for `secondLiterals`.
    public var secondNeighbours: LiteralNeighbours? = nil
    /// Literals a match holds a bounded distance after its occurrence of `literals` (nil: none
    /// known): an occurrence without one does not open the gate.
    public var literalFollower: LiteralFollower? = nil

    public init(literals: [String]?, secondLiterals: [String]? = nil, minDigitRun: Int, minAlphanumericRun: Int = 0) {
        self.literals = literals
        self.secondLiterals = secondLiterals
        self.minDigitRun = minDigitRun
        self.minAlphanumericRun = minAlphanumericRun
    }

    /// How far a match can start before the occurrence of `literals` it holds, at most: the
    /// literals' lead where known, else the longest match (nil = unbounded).
    public var reach: Int? { maxLiteralLead ?? maxMatchLength }

    /// Gives up the literal gates, and what was known of their literals' surroundings.
    mutating func dropLiterals() {
        literals = nil
        literalNeighbours = nil
        literalFollower = nil
        dropSecondLiterals()
    }

    /// Gives up the second literal set, and its literals' neighbours.
    mutating func dropSecondLiterals() {
        secondLiterals = nil
        secondNeighbours = nil
    }

    /// True when nothing gates the regex: it runs on every text.
    public var runsAlways: Bool { literals == nil && minDigitRun == 0 && minAlphanumericRun == 0 }

    /// Whether the class-run gates let a text with these longest runs through.
    @inline(__always)
    public func admits(digitRun: Int, alphanumericRun: Int) -> Bool {
        digitRun >= minDigitRun && alphanumericRun >= minAlphanumericRun
    }

    /// Literal sets scoring below this are not worth gating on (see `score`).
    static let minimumScore = 0.4
    /// Second sets scoring below this are not kept: a lone punctuation mark (`;`, `|`), a common
    /// ideograph (`市`, `我`) or a two- or three-letter word (`or`, `to`) is in so many texts that
    /// its automaton hits cost more than the regex runs it saves. On the benchmark (100,000
    /// lines), keeping only second sets from 2 on cut literal hits from 815,000 to 272,000 for
    /// 193,000 regex runs instead of 122,000, and one core ran 3.6% faster.
    static let minimumSecondScore = 2.0
    /// Digit gates shorter than this are not worth using.
    static let minimumDigitRun = 4
    /// Letter-and-digit gates shorter than this are not worth using (English words are that long).
    static let minimumAlphanumericRun = 5
    static let maxSetSize = 1024
    /// A run of exact parts stops growing past this many literals once it scores `strongScore`.
    static let productWorthGrowing = 64
    static let strongScore = 3.0

    /// Analyzes a (normalized) PCRE2 pattern. Constructs the analyzer does not understand make
    /// it give up on the affected part only, never produce a gate the pattern does not imply.
    public static func derive(from pattern: String) -> RegexPrefilter {
        derive(from: pattern, braces: PatternParser.linkedBraces)
    }

    /// `derive(from:)` with braces read as a given PCRE2 version reads them.
    static func derive(from pattern: String, braces: PatternParser.Braces) -> RegexPrefilter {
        var parser = PatternParser(Array(pattern.unicodeScalars), braces: braces)
        let node = parser.parseAlternation()
        // After (*ACCEPT) nothing is required, wherever it stands: no gate. Nor when the reading
        // is unsure (an (?x) comment under another newline convention).
        if parser.endsEarly || parser.unsure { return RegexPrefilter(literals: nil, minDigitRun: 0) }
        let info = node.info
        // Every candidate set is a necessary condition, so the two strongest can both be required.
        func text(_ set: [Literal]) -> [String] { set.map(literalString) }
        let candidates = info.candidatesAreMinimal ? info.candidates : info.candidates.map { $0.minimized() }
        // Of sets that score alike (a run's literals and the same alternation seen as a part),
        // the one that knows what follows it.
        func ahead(_ a: (candidate: GateCandidate, score: Double), _ b: (candidate: GateCandidate, score: Double))
            -> Bool
        {
            if a.score != b.score { return a.score > b.score }
            return a.candidate.follower != nil && b.candidate.follower == nil
        }
        let usable = candidates.map { (candidate: $0, score: score($0.literals)) }
            .filter { $0.score >= minimumScore }.sorted(by: ahead)
        var literals: [String]? = nil
        var second: [String]? = nil
        var lead: Int? = nil
        var neighbours: LiteralNeighbours? = nil
        var secondNeighbours: LiteralNeighbours? = nil
        var follower: LiteralFollower? = nil
        if let firstCandidate = usable.first?.candidate {
            let first = firstCandidate.literals
            literals = text(first)
            lead = firstCandidate.lead
            neighbours = LiteralNeighbours(firstCandidate)
            follower = firstCandidate.follower
            // Every literal of a set is looked for in every text, so a second set must earn its
            // hits: not implied by the first (as "e" is by "eval"), without a lone letter or
            // digit, and rare enough (`minimumSecondScore`). The first set implies itself.
            if let otherCandidate = usable.dropFirst().first(where: {
                $0.score >= minimumSecondScore
                    && !$0.candidate.literals.contains { $0.count == 1 && isAlphanumeric($0[0]) }
                    && !implied($0.candidate.literals, by: first)
            })?.candidate {
                second = text(otherCandidate.literals)
                secondNeighbours = LiteralNeighbours(otherCandidate)
            }
        }
        let run = info.digitRun >= minimumDigitRun ? info.digitRun : 0
        let alnum = info.alnumRun >= minimumAlphanumericRun ? info.alnumRun : 0
        var prefilter = RegexPrefilter(
            literals: literals, secondLiterals: second, minDigitRun: run, minAlphanumericRun: alnum)
        prefilter.literalNeighbours = neighbours
        prefilter.secondNeighbours = secondNeighbours
        prefilter.literalFollower = follower
        // Where a search starts changes what \G and (*SKIP) match: such a pattern is searched from
        // the start of the text, never in stretches.
        if !parser.dependsOnSearchStart {
            prefilter.maxMatchLength = info.maxLength
            prefilter.maxLiteralLead = lead
        }
        return prefilter
    }

    /// Whether every literal of `first` contains one of `second` (ASCII case ignored), so that
    /// `second` gates nothing `first` does not.
    static func implied(_ second: [Literal], by first: [Literal]) -> Bool {
        func folded(_ literal: Literal) -> Literal { literal.map { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 } }
        let needles = second.map(folded)
        return first.allSatisfy { literal in
            let haystack = folded(literal)
            return needles.contains { contains(haystack, $0) }
        }
    }

    /// Whether a literal set holds only single ASCII letters or digits: such a set fires in
    /// nearly every text, so a digit or letter-run gate decides its regex more cheaply.
    public static func isWeak(_ literals: [String]) -> Bool {
        literals.allSatisfy { literal in
            let scalars = literal.unicodeScalars
            guard scalars.count == 1, let v = scalars.first?.value else { return false }
            return isAlphanumeric(v)
        }
    }

    static func isAlphanumeric(_ v: UInt32) -> Bool { (v | 0x20) &- 0x61 < 26 || v &- 0x30 < 10 }

    /// How selective a literal set is: the weight of its weakest literal, less a little for
    /// every doubling of the set. Rare ideographs and rare punctuation weigh most; the most
    /// common Chinese characters, digits, spaces and everyday punctuation weigh little, and
    /// letters count for little until a literal is a real word.
    static func score(_ set: [Literal]) -> Double {
        guard !set.isEmpty, !set.contains(where: { $0.isEmpty }) else { return -1 }
        var weakest = Double.infinity
        for literal in set {
            var weight = 0.0
            var ideographs = 0
            for v in literal {
                switch v {
                case 0x30...0x39: weight += 0.3
                case 0x41...0x5A, 0x61...0x7A: weight += 0.5
                case 0x40, 0x3C, 0x3E, 0x7B, 0x7D, 0x24, 0x60, 0x7C, 0x5C, 0x3D: weight += 1.2
                case 0x3B, 0x26, 0x23, 0x25, 0x21, 0x3F, 0x5B, 0x5D, 0x2A, 0x2B, 0x7E, 0x5E, 0x5F: weight += 0.8
                case 0...0x7F: weight += 0.3
                default:
                    if Normalizer.isIdeograph(v) {
                        ideographs += 1
                        weight += isCommonIdeograph(v) ? 0.45 : 1.5
                    } else {
                        weight += 1.0
                    }
                }
            }
            // A literal of digits alone gates nothing the digit-run gate does not.
            if literal.allSatisfy({ $0 &- 0x30 < 10 }) { return -1 }
            // Two common characters together are far rarer than either alone.
            if ideographs > 1 { weight += 0.4 * Double(ideographs - 1) }
            // So is an ideograph right next to a Latin letter (京A) or a digit (路12): the
            // script changes rarely in running text.
            for (a, b) in zip(literal, literal.dropFirst()) {
                let (x, y) = Normalizer.isIdeograph(a) ? (a, b) : (b, a)
                guard Normalizer.isIdeograph(x), y < 0x80 else { continue }
                if (y | 0x20) &- 0x61 < 26 { weight += 0.6 } else if y &- 0x30 < 10 { weight += 0.3 }
            }
            weakest = min(weakest, weight)
        }
        return weakest - 0.1 * log2(Double(set.count))
    }

    /// Whether `v` is one of `commonIdeographs`, by a bitmap over the main ideograph block:
    /// the analysis scores sets of hundreds of literals, and a `Set` lookup hashed each one.
    static func isCommonIdeograph(_ v: UInt32) -> Bool {
        let i = Int(v) - 0x4E00
        guard i >= 0, i < 0x5200 else { return false }
        return commonIdeographBits[i >> 6] & (1 << UInt64(i & 63)) != 0
    }

    private static let commonIdeographBits: [UInt64] = {
        var bits = [UInt64](repeating: 0, count: 0x5200 / 64)
        for v in commonIdeographs {
            let i = Int(v) - 0x4E00
            if i >= 0, i < 0x5200 { bits[i >> 6] |= 1 << UInt64(i & 63) }
        }
        return bits
    }()

    /// The most frequent Chinese characters: a literal made of these alone occurs in most texts.
    static let commonIdeographs: Set<UInt32> = Set(
        "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黑断线送千形标规越器造"
            .unicodeScalars.map(\.value))
}

private func log2(_ x: Double) -> Double {
    var v = x
    var r = 0.0
    while v >= 2 {
        v /= 2
        r += 1
    }
    return r + (v - 1)
}

/// A literal as normalized scalar values (cheaper to combine and compare than `String`).
typealias Literal = [UInt32]

/// A literal as text.
func literalString(_ literal: Literal) -> String {
    // Encoded into bytes first: appending to a `UnicodeScalarView` scalar by scalar cost more
    // than the rest of turning a gate's literal sets (up to a thousand literals) into text.
    var bytes: [UInt8] = []
    bytes.reserveCapacity(literal.count * 3)
    for v in literal {
        guard let scalar = Unicode.Scalar(v) else { continue }
        UTF8.encode(scalar) { bytes.append($0) }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// What the analysis knows about one part of a pattern.
struct PatternInfo {
    /// Every string the part can match, when that set is finite and small.
    var exact: [Literal]?
    /// Sets of literals, each such that every match contains one of its literals.
    var candidates: [GateCandidate]
    /// The most selective candidate; nil = none known.
    var required: [Literal]? {
        var chosen: [Literal]? = nil
        for c in candidates { chosen = best(chosen, c.literals) }
        return chosen
    }
    /// The part matches only digits.
    var digitsOnly: Bool
    /// The shortest match, in characters.
    var minLength: Int
    /// A run of digits every match contains.
    var digitRun: Int
    /// The part matches only ASCII letters and digits.
    var alnumOnly: Bool = false
    /// A run of ASCII letters and digits every match contains.
    var alnumRun: Int = 0
    /// The longest match, in characters; nil when unbounded.
    var maxLength: Int? = 0
    /// Every candidate set is already `minimal` (sets run to a thousand literals: minimizing
    /// one again is most of the analysis's time).
    var candidatesAreMinimal = false
    /// The characters a non-empty match can start and end with.
    var first: NeighbourClass = .any
    var last: NeighbourClass = .any
    /// The part matches only ASCII white space (what `\s` matches without UCP), so however long
    /// its match, a follower check can step over it (see `LiteralFollower.spaced`).
    var spaceOnly = false

    static let opaque = PatternInfo(
        exact: nil, candidates: [], digitsOnly: false, minLength: 0, digitRun: 0, maxLength: nil)
    static let empty = PatternInfo(
        exact: [[]], candidates: [], digitsOnly: true, minLength: 0, digitRun: 0, alnumOnly: true, first: .none,
        last: .none, spaceOnly: true)
}

/// A set of literals of which every match holds one, and how far into a match (in characters,
/// nil = unknown) the occurrence it holds can start, at the latest.
struct GateCandidate {
    var literals: [Literal]
    var lead: Int?
    /// What may stand right before and right after the literal in a match.
    var before: Neighbour
    var after: Neighbour
    /// Literals a match holds a bounded distance after this one (see `LiteralFollower`); nil
    /// when none is known. Only for literals that end where a run of exact parts ends.
    var follower: LiteralFollower? = nil

    /// The set without literals that contain another (`minimal`), its lead moved back by what
    /// that can cost: a literal dropped for one inside it holds that one up to its length less
    /// one further on.
    func minimized() -> GateCandidate {
        let kept = minimal(literals)
        guard kept.count != literals.count else {
            var same = self
            same.literals = kept
            return same
        }
        // Closures, not key paths: `map(\.count)` went through the runtime's key path getter.
        let longest = literals.reduce(0) { Swift.max($0, $1.count) }
        let shortest = kept.reduce(Int.max) { Swift.min($0, $1.count) }
        var result = GateCandidate(
            literals: kept, lead: lead.map { $0 + Swift.max(0, longest - shortest) }, before: .unconstrained,
            after: .unconstrained)
        // A literal kept for a longer one it stands inside has that one's characters around it
        // too (`nc` inside `ncat`: an `a` after it), and that one's follower further on, by as
        // much as the longer one goes on past it. Worked out for sets of moderate size only.
        if literals.count * kept.count <= 8192
            && (!before.chars.isAny || !after.chars.isAny || follower != nil)
        {
            var keptKeys = LiteralSet(capacity: kept.count)
            for k in kept { keptKeys.insert(LiteralKey(k)) }
            var inside = (before: NeighbourClass.none, after: NeighbourClass.none)
            var further = 0
            for dropped in literals where !keptKeys.contains(LiteralKey(dropped)) {
                for k in kept where k.count <= dropped.count {
                    for o in 0...(dropped.count - k.count) where dropped[o..<(o + k.count)].elementsEqual(k) {
                        if o > 0 { inside.before.insert(dropped[o - 1]) }
                        if o + k.count < dropped.count { inside.after.insert(dropped[o + k.count]) }
                        further = Swift.max(further, dropped.count - o - k.count)
                    }
                }
            }
            result.before = Neighbour(chars: before.chars.union(inside.before), open: before.open)
            result.after = Neighbour(chars: after.chars.union(inside.after), open: after.open)
            if let f = follower, f.gap.upperBound + further <= LiteralFollower.maxGap,
                f.gap.upperBound + further - f.gap.lowerBound <= LiteralFollower.maxSpread
            {
                result.follower = LiteralFollower(
                    literals: f.literals, gap: f.gap.lowerBound...(f.gap.upperBound + further), spaced: f.spaced)
            }
        }
        return result
    }

    /// Whether every literal starts (`atEnd` false) or ends with a word character (`\w`), or
    /// none does; nil when they differ, or for `k` and `s`, which caseless PCRE2 also matches
    /// with non-ASCII letters. What `\b` next to the literal asks of its neighbour.
    func wordEdge(atEnd: Bool) -> Bool? {
        var result: Bool? = nil
        for literal in literals {
            guard let v = atEnd ? literal.last : literal.first else { return nil }
            if (v | 0x20) == 0x6B || (v | 0x20) == 0x73 { return nil }
            let isWord = NeighbourClass.word.admits(v)
            if let r = result, r != isWord { return nil }
            result = isWord
        }
        return result
    }
}

indirect enum PatternNode {
    case literal(Unicode.Scalar)
    /// One character of `set` (nil: too many to list, within `neighbours`).
    case characterClass(Set<UInt32>?, digitsOnly: Bool, alnumOnly: Bool, neighbours: NeighbourClass = .any)
    case zeroWidth
    case opaque
    case concat([PatternNode])
    case alternation([PatternNode])
    case repeated(PatternNode, min: Int, max: Int?)
    /// `\b`: matches nothing, but a word character stands on one side of it only.
    case boundary

    var info: PatternInfo {
        switch self {
        case .literal(let s):
            let digit = s.value >= 0x30 && s.value <= 0x39
            let alnum = s.isASCII && (s.properties.isAlphabetic || digit)
            let chars = NeighbourClass(scalars: [s.value])
            return PatternInfo(
                exact: [[s.value]],
                candidates: [GateCandidate(literals: [[s.value]], lead: 0, before: .context, after: .context)],
                digitsOnly: digit, minLength: 1,
                digitRun: digit ? 1 : 0, alnumOnly: alnum, alnumRun: alnum ? 1 : 0, maxLength: 1, first: chars,
                last: chars, spaceOnly: chars.isSpaceOnly)
        case .characterClass(let set, let digitsOnly, let alnumOnly, let neighbours):
            let strings = set.map { $0.sorted().map { [$0] } }
            let chars = set.map { NeighbourClass(scalars: $0) } ?? neighbours
            return PatternInfo(
                exact: strings,
                candidates: strings.map { [GateCandidate(literals: $0, lead: 0, before: .context, after: .context)] }
                    ?? [],
                digitsOnly: digitsOnly, minLength: 1,
                digitRun: digitsOnly ? 1 : 0, alnumOnly: alnumOnly, alnumRun: alnumOnly ? 1 : 0, maxLength: 1,
                first: chars, last: chars, spaceOnly: chars.isSpaceOnly)
        case .zeroWidth, .boundary:
            return .empty
        case .opaque:
            return .opaque
        case .alternation(let branches):
            let infos = branches.map(\.info)
            var exact = LiteralUnion()
            var strongest = LiteralUnion()
            var smallest = LiteralUnion()
            // A branch's match starts where the alternation's does.
            var strongestLead: Int? = 0
            var smallestLead: Int? = 0
            var strongestSides = (
                before: Neighbour(chars: .none, open: false), after: Neighbour(chars: .none, open: false)
            )
            var smallestSides = strongestSides
            for i in infos {
                exact.add(i.exact)
                let own = i.exact?.contains([]) == false ? i.exact : nil
                let all =
                    (i.candidates
                    + (own.map { [GateCandidate(literals: $0, lead: 0, before: .context, after: .context)] } ?? []))
                    .map { ($0, RegexPrefilter.score($0.literals)) }
                let best = all.max { $0.1 < $1.1 }?.0
                strongest.add(best?.literals)
                strongestLead = later(strongestLead, best?.lead)
                if let best {
                    strongestSides = (strongestSides.before.union(best.before), strongestSides.after.union(best.after))
                }
                let acceptable = all.filter { $0.1 >= RegexPrefilter.minimumScore }
                let small = (acceptable.min { $0.0.literals.count < $1.0.literals.count } ?? all.first)?.0
                smallest.add(small?.literals)
                smallestLead = later(smallestLead, small?.lead)
                if let small {
                    smallestSides = (smallestSides.before.union(small.before), smallestSides.after.union(small.after))
                }
            }
            let options = [
                (strongest.literals, strongestLead, strongestSides), (smallest.literals, smallestLead, smallestSides),
            ]
            .compactMap { set, lead, sides in
                set.map { GateCandidate(literals: $0, lead: lead, before: sides.before, after: sides.after) }
            }
            .filter { !$0.literals.isEmpty }.map { $0.minimized() }
            var info = PatternInfo(
                exact: exact.literals, candidates: options,
                digitsOnly: infos.allSatisfy(\.digitsOnly),
                minLength: infos.map(\.minLength).min() ?? 0, digitRun: infos.map(\.digitRun).min() ?? 0,
                alnumOnly: infos.allSatisfy(\.alnumOnly), alnumRun: infos.map(\.alnumRun).min() ?? 0,
                maxLength: infos.contains { $0.maxLength == nil } ? nil : infos.compactMap(\.maxLength).max() ?? 0,
                first: infos.reduce(.none) { $0.union($1.first) }, last: infos.reduce(.none) { $0.union($1.last) },
                spaceOnly: infos.allSatisfy(\.spaceOnly))
            info.candidatesAreMinimal = true
            return info
        case .repeated(let node, let min, let max):
            let i = node.info
            var exact: [Literal]? = nil
            if let e = i.exact, let max, max <= 8, !overflows(e, powers: min...max) {
                var all = LiteralUnion()
                var power: [Literal]? = [[]]
                for k in 0...max {
                    if k >= min { all.add(power) }
                    if k < max { power = product(power, e) }
                }
                exact = all.literals
            }
            // The first repetition starts the match and holds what every repetition holds; the
            // first `min` together spell one of `power`'s strings, from the start.
            var candidates: [GateCandidate] = []
            if min >= 1 {
                // A literal in a later repetition may have the one before it, or after it, alongside.
                let again = max != 1
                candidates = i.candidates.map { c in
                    var c = c
                    if again {
                        c.before = c.before.closed(by: Neighbour(chars: i.last, open: true))
                        c.after = c.after.closed(by: Neighbour(chars: i.first, open: true))
                    }
                    return c
                }
                if let p = power(i.exact, min) {
                    let after = max == min ? Neighbour.context : Neighbour(chars: i.first, open: true)
                    candidates.append(GateCandidate(literals: p, lead: 0, before: .context, after: after))
                }
            }
            let repeats = max != 0
            return PatternInfo(
                exact: exact, candidates: candidates, digitsOnly: i.digitsOnly,
                minLength: i.minLength * min,
                digitRun: i.digitsOnly ? i.minLength * min : (min >= 1 ? i.digitRun : 0),
                alnumOnly: i.alnumOnly, alnumRun: i.alnumOnly ? i.minLength * min : (min >= 1 ? i.alnumRun : 0),
                maxLength: i.maxLength == 0 ? 0 : (max.flatMap { m in i.maxLength.map { $0 * m } }),
                first: repeats ? i.first : .none, last: repeats ? i.last : .none, spaceOnly: i.spaceOnly)
        case .concat(let parts):
            // The run of exact parts; while it spans every part so far, it is the exact set too.
            var whole = true
            var candidates: [(candidate: GateCandidate, isMinimal: Bool)] = []
            var run: [Literal]? = [[]]
            // The longest stretch of the match before the run of exact parts starts.
            var runLead: Int? = 0
            var digitRun = 0
            var currentDigits = 0
            var minLength = 0
            var digitsOnly = true
            var alnumRun = 0
            var currentAlnum = 0
            var alnumOnly = true
            var maxLength: Int? = 0
            let infos = parts.map(\.info)
            // What stands next to parts `start` and on (step 1) or `start` and back (step -1): the
            // parts up to the first that cannot be empty, or `\b` when the literal's own edge
            // says which kind of character is on its other side.
            func side(from start: Int, step: Int, wordEdge: Bool?) -> Neighbour {
                var chars = NeighbourClass.none
                var m = start
                while m >= 0 && m < parts.count {
                    if case .boundary = parts[m], let isWord = wordEdge {
                        return Neighbour(chars: chars.union(isWord ? .nonWordOrEdge : .word), open: false)
                    }
                    chars = chars.union(step < 0 ? infos[m].last : infos[m].first)
                    if infos[m].minLength >= 1 { return Neighbour(chars: chars, open: false) }
                    m += step
                }
                return Neighbour(chars: chars, open: true)
            }
            // The literals of the run of exact parts `runStart..<end`, with what stands around them.
            var runStart = 0
            // Only a `\b` asks which kind of character a literal starts or ends with.
            let hasBoundary = parts.contains { if case .boundary = $0 { true } else { false } }
            func edge(_ c: GateCandidate, atEnd: Bool) -> Bool? { hasBoundary ? c.wordEdge(atEnd: atEnd) : nil }
            func runCandidate(_ literals: [Literal], lead: Int?, to end: Int) -> GateCandidate {
                var c = GateCandidate(literals: literals, lead: lead, before: .context, after: .context)
                // Parts that match only the empty string (`\b`, `^`) at the run's ends stand
                // outside its literals: the walk reads them.
                var first = runStart
                while first < end && infos[first].maxLength == 0 { first += 1 }
                var last = end - 1
                while last >= first && infos[last].maxLength == 0 { last -= 1 }
                c.before = side(from: first - 1, step: -1, wordEdge: edge(c, atEnd: false))
                c.after = side(from: last + 1, step: 1, wordEdge: edge(c, atEnd: true))
                c.follower = follower(after: last)
                return c
            }
            // The first small exact part after part `last` that every match holds, and how many
            // characters the parts between take. A run of white space of any length (`\s*`,
            // `\s+`) between them is stepped over, not counted (`LiteralFollower.spaced`).
            func follower(after last: Int) -> LiteralFollower? {
                var low = 0
                var high = 0
                var spaced = false
                for m in (last + 1)..<Swift.max(last + 1, parts.count) {
                    let i = infos[m]
                    if let e = i.exact, e.count <= LiteralFollower.maxLiterals, !e.contains(where: \.isEmpty) {
                        // Spaced, the least distance counts the runs' characters and the most
                        // does not: the lower bound is weakened to fit under the upper.
                        return LiteralFollower(literals: e, gap: Swift.min(low, high)...high, spaced: spaced)
                    }
                    if i.maxLength == nil && i.spaceOnly {
                        spaced = true
                        low += i.minLength
                        continue
                    }
                    guard let longest = i.maxLength else { return nil }
                    low += i.minLength
                    high += longest
                    if high > LiteralFollower.maxGap || high - Swift.min(low, high) > LiteralFollower.maxSpread {
                        return nil
                    }
                }
                return nil
            }
            for (index, i) in infos.enumerated() {
                // The longest stretch of the match before this part.
                let before = maxLength
                maxLength = maxLength.flatMap { total in i.maxLength.map { total + $0 } }
                for c in i.candidates {
                    let total: Int? = if let before, let lead = c.lead { before + lead } else { nil }
                    var placed = c
                    placed.lead = total
                    if c.before.open {
                        placed.before = c.before.closed(
                            by: side(from: index - 1, step: -1, wordEdge: edge(c, atEnd: false)))
                    }
                    if c.after.open {
                        placed.after = c.after.closed(
                            by: side(from: index + 1, step: 1, wordEdge: edge(c, atEnd: true)))
                    }
                    candidates.append((placed, i.candidatesAreMinimal))
                }
                if let e = i.exact {
                    if let extended = strongEnough(run, e) ? nil : product(run, e) {
                        run = extended
                    } else {
                        whole = false
                        if let r = run { candidates.append((runCandidate(r, lead: runLead, to: index), false)) }
                        run = e
                        runLead = before
                        runStart = index
                    }
                } else {
                    whole = false
                    if let r = run { candidates.append((runCandidate(r, lead: runLead, to: index), false)) }
                    run = [[]]
                    runLead = maxLength
                    runStart = index + 1
                }
                if i.digitsOnly {
                    currentDigits += i.minLength
                } else {
                    currentDigits = 0
                }
                digitRun = Swift.max(digitRun, currentDigits, i.digitRun)
                currentAlnum = i.alnumOnly ? currentAlnum + i.minLength : 0
                alnumRun = Swift.max(alnumRun, currentAlnum, i.alnumRun)
                alnumOnly = alnumOnly && i.alnumOnly
                minLength += i.minLength
                digitsOnly = digitsOnly && i.digitsOnly
            }
            let exact = whole ? run : nil
            if let r = run { candidates.append((runCandidate(r, lead: runLead, to: parts.count), false)) }
            // Keep the strongest few, so an enclosing alternation has choices.
            let kept = candidates.filter { !$0.candidate.literals.isEmpty && !$0.candidate.literals.contains([]) }
                .map { $0.isMinimal ? $0.candidate : $0.candidate.minimized() }
                .map { ($0, RegexPrefilter.score($0.literals)) }.sorted { $0.1 > $1.1 }.prefix(8)
            var info = PatternInfo(
                exact: exact, candidates: kept.map(\.0), digitsOnly: digitsOnly,
                minLength: minLength, digitRun: digitRun,
                alnumOnly: alnumOnly, alnumRun: alnumRun, maxLength: maxLength,
                first: side(from: 0, step: 1, wordEdge: nil).chars,
                last: side(from: parts.count - 1, step: -1, wordEdge: nil).chars,
                spaceOnly: infos.allSatisfy(\.spaceOnly))
            info.candidatesAreMinimal = true
            return info
        }
    }
}

/// The later of two leads (nil, unknown, when either is).
func later(_ a: Int?, _ b: Int?) -> Int? {
    guard let a, let b else { return nil }
    return Swift.max(a, b)
}

/// Drops every literal that contains another literal of the set: a text holding the longer
/// one holds the shorter, so the gate stays a necessary condition and gets stronger.
/// (Only for required sets; exact sets must stay exact.)
func minimal(_ set: [Literal]) -> [Literal] {
    let sorted = set.sorted { $0.count < $1.count }
    var kept: [Literal] = []
    // Kept literals of the length at hand, which can only be contained by being equal.
    var sameLength = LiteralSet(capacity: set.count)
    // Shorter kept literals by their first scalar, so a literal is compared only with those
    // that start somewhere in it (sets run to a thousand literals).
    var shorter: [UInt32: [Int]] = [:]
    var indexed = 0
    for s in sorted {
        if let last = kept.last, last.count < s.count {
            if last.isEmpty { break }  // the empty literal is in every literal
            for k in indexed..<kept.count { shorter[kept[k][0], default: []].append(k) }
            indexed = kept.count
            sameLength.removeAll()
        }
        let key = LiteralKey(s)
        guard !sameLength.contains(key), !contains(s, anyOf: shorter, in: kept) else { continue }
        kept.append(s)
        sameLength.insert(key)
    }
    return kept
}

/// Whether `haystack` contains one of `literals`, indexed by first scalar.
private func contains(_ haystack: Literal, anyOf index: [UInt32: [Int]], in literals: [Literal]) -> Bool {
    guard !index.isEmpty else { return false }
    for start in haystack.indices {
        guard let candidates = index[haystack[start]] else { continue }
        for k in candidates {
            let needle = literals[k]
            guard needle.count <= haystack.count - start else { continue }
            var j = 1
            while j < needle.count && haystack[start + j] == needle[j] { j += 1 }
            if j == needle.count { return true }
        }
    }
    return false
}

/// Whether `needle` occurs in `haystack`.
func contains(_ haystack: Literal, _ needle: Literal) -> Bool {
    if needle.isEmpty { return true }
    if needle.count > haystack.count { return false }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        var k = 1
        while k < needle.count && haystack[start + k] == needle[k] { k += 1 }
        if k == needle.count { return true }
    }
    return false
}

/// The union of the sets added one after another, in order and without duplicates, kept with
/// the keys of what it holds: a union of two sets at a time hashed the whole of the first
/// again for every branch of an alternation (sixty in some refusal rules).
private struct LiteralUnion {
    /// nil once a set added was nil or the union outgrew `maxSetSize`.
    private(set) var literals: [Literal]? = []
    private var seen = LiteralSet()

    mutating func add(_ set: [Literal]?) {
        guard literals != nil, let set else {
            literals = nil
            return
        }
        for s in set where seen.insert(LiteralKey(s)) { literals?.append(s) }
        if let count = literals?.count, count > RegexPrefilter.maxSetSize {
            literals = nil
            seen = LiteralSet()
        }
    }
}

/// Every literal of `a` followed by one of `b`. Both sets hold no duplicates, so when the
/// literals of either all have one length, no two concatenations are equal.
private func product(_ a: [Literal]?, _ b: [Literal]?) -> [Literal]? {
    guard let a, let b, a.count * b.count <= RegexPrefilter.maxSetSize else { return nil }
    var result: [Literal] = []
    result.reserveCapacity(a.count * b.count)
    if uniformLength(a) || uniformLength(b) {
        for x in a { for y in b { result.append(x + y) } }
        return result
    }
    var seen = LiteralSet(capacity: a.count * b.count)
    for x in a {
        for y in b {
            let joined = LiteralKey(x + y)
            if seen.insert(joined) { result.append(joined.literal) }
        }
    }
    return result
}

/// Whether the powers of `set` in `range`, taken together, are sure to hold more than
/// `maxSetSize` literals, so that building them would end in nil: when the literals all have
/// one length, no two concatenations are equal, and the powers' sizes are exact (`[0-9]{5}`
/// built sets of 10, 100 and 1,000 literals before giving up).
private func overflows(_ set: [Literal], powers range: ClosedRange<Int>) -> Bool {
    guard set.count > 1, let length = set.first?.count, length > 0, uniformLength(set) else { return false }
    var total = 0
    var size = 1
    for k in 0...range.upperBound {
        if k > 0 { size *= set.count }
        if size > RegexPrefilter.maxSetSize { return true }
        if k >= range.lowerBound { total += size }
    }
    return total > RegexPrefilter.maxSetSize
}

/// Whether a run of exact parts is selective enough already that growing it by `next` is not
/// worth it: products of alternations run to a thousand literals, and building, minimizing and
/// scoring them was most of start-up, for gates no rarer in practice.
private func strongEnough(_ run: [Literal]?, _ next: [Literal]) -> Bool {
    guard let run, run.count * next.count > RegexPrefilter.productWorthGrowing else { return false }
    return RegexPrefilter.score(run) >= RegexPrefilter.strongScore
}

private func uniformLength(_ set: [Literal]) -> Bool {
    guard let first = set.first?.count else { return true }
    return set.allSatisfy { $0.count == first }
}

private func power(_ a: [Literal]?, _ n: Int) -> [Literal]? {
    guard n <= 8, let a, !overflows(a, powers: n...n) else { return nil }
    var result: [Literal]? = [[]]
    for _ in 0..<n { result = product(result, a) }
    return result
}

private func best(_ a: [Literal]?, _ b: [Literal]?) -> [Literal]? {
    guard let b, RegexPrefilter.score(b) > -1 else { return a }
    guard let a else { return b }
    return RegexPrefilter.score(b) > RegexPrefilter.score(a) ? b : a
}
