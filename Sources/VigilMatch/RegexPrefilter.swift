/// What must be present in a text before a regex is worth running (the Suricata `content` +
/// `pcre` idea, derived automatically): a set of literals of which one must occur, and/or a
/// run of at least `minDigitRun` ASCII digits. Both are necessary conditions of a match, so a
/// regex whose prefilter fails on a text cannot match it.
public struct RegexPrefilter: Sendable, Hashable {
    /// One of these must occur (case-insensitively, after normalization); nil = no literal gate.
    public var literals: [String]?
    /// A run of at least this many digits must occur; 0 = no digit gate.
    public var minDigitRun: Int

    public init(literals: [String]?, minDigitRun: Int) {
        self.literals = literals
        self.minDigitRun = minDigitRun
    }

    /// True when nothing gates the regex: it runs on every text.
    public var runsAlways: Bool { literals == nil && minDigitRun == 0 }

    /// Literal sets scoring below this are not worth gating on (see `score`).
    static let minimumScore = 0.75
    /// Digit gates shorter than this are not worth using.
    static let minimumDigitRun = 4
    static let maxSetSize = 64

    /// Analyzes a (normalized) PCRE2 pattern. Constructs the analyzer does not understand make
    /// it give up on the affected part only, never produce a gate the pattern does not imply.
    public static func derive(from pattern: String) -> RegexPrefilter {
        var parser = PatternParser(Array(pattern.unicodeScalars))
        let node = parser.parseAlternation()
        let info = node.info
        var literals: [String]? = nil
        if let set = info.required, score(set) >= minimumScore { literals = set }
        let run = info.digitRun >= minimumDigitRun ? info.digitRun : 0
        return RegexPrefilter(literals: literals, minDigitRun: run)
    }

    /// How selective a literal set is: the weight of its weakest literal, less a little for
    /// every doubling of the set. Ideographs and letters weigh more than digits and common
    /// punctuation, which occur everywhere.
    static func score(_ set: [String]) -> Double {
        guard !set.isEmpty, !set.contains(where: \.isEmpty) else { return -1 }
        var weakest = Double.infinity
        for literal in set {
            var weight = 0.0
            for s in literal.unicodeScalars {
                switch s.value {
                case 0x30...0x39: weight += 0.5
                case 0x41...0x5A, 0x61...0x7A: weight += 1.0
                case 0x20, 0x2C, 0x2E, 0x2D, 0x3A, 0x2F, 0x28, 0x29, 0x27, 0x22: weight += 0.4
                case 0...0x7F: weight += 0.8
                default: weight += Normalizer.isIdeograph(s.value) ? 1.5 : 1.0
                }
            }
            weakest = min(weakest, weight)
        }
        return weakest - 0.25 * log2(Double(set.count))
    }
}

private func log2(_ x: Double) -> Double {
    var v = x
    var r = 0.0
    while v >= 2 { v /= 2; r += 1 }
    return r + (v - 1)
}

/// What the analysis knows about one part of a pattern.
struct PatternInfo {
    /// Every string the part can match, when that set is finite and small.
    var exact: [String]?
    /// A set of literals one of which every match contains; nil = none known.
    var required: [String]?
    /// The part matches only digits.
    var digitsOnly: Bool
    /// The shortest match, in characters.
    var minLength: Int
    /// A run of digits every match contains.
    var digitRun: Int

    static let opaque = PatternInfo(exact: nil, required: nil, digitsOnly: false, minLength: 0, digitRun: 0)
    static let empty = PatternInfo(exact: [""], required: nil, digitsOnly: true, minLength: 0, digitRun: 0)
}

indirect enum PatternNode {
    case literal(Unicode.Scalar)
    case characterClass(Set<UInt32>?, digitsOnly: Bool)
    case zeroWidth
    case opaque
    case concat([PatternNode])
    case alternation([PatternNode])
    case repeated(PatternNode, min: Int, max: Int?)

    var info: PatternInfo {
        switch self {
        case .literal(let s):
            let digit = s.value >= 0x30 && s.value <= 0x39
            return PatternInfo(exact: [String(s)], required: [String(s)], digitsOnly: digit, minLength: 1, digitRun: digit ? 1 : 0)
        case .characterClass(let set, let digitsOnly):
            let strings = set.map { $0.sorted().compactMap { Unicode.Scalar($0).map { String($0) } } }
            return PatternInfo(exact: strings, required: strings, digitsOnly: digitsOnly, minLength: 1, digitRun: digitsOnly ? 1 : 0)
        case .zeroWidth:
            return .empty
        case .opaque:
            return .opaque
        case .alternation(let branches):
            let infos = branches.map(\.info)
            var exact: [String]? = []
            var required: [String]? = []
            for i in infos {
                exact = union(exact, i.exact)
                required = union(required, i.required ?? (i.exact?.contains("") == false ? i.exact : nil))
            }
            return PatternInfo(
                exact: exact, required: required, digitsOnly: infos.allSatisfy(\.digitsOnly),
                minLength: infos.map(\.minLength).min() ?? 0, digitRun: infos.map(\.digitRun).min() ?? 0)
        case .repeated(let node, let min, let max):
            let i = node.info
            var exact: [String]? = nil
            if let e = i.exact, let max, max <= 8 {
                var all: [String]? = []
                var power: [String]? = [""]
                for k in 0...max {
                    if k >= min { all = union(all, power) }
                    power = product(power, e)
                }
                exact = all
            }
            var required: [String]? = nil
            if min >= 1 {
                required = best(i.required, power(i.exact, min))
            }
            return PatternInfo(
                exact: exact, required: required, digitsOnly: i.digitsOnly, minLength: i.minLength * min,
                digitRun: i.digitsOnly ? i.minLength * min : (min >= 1 ? i.digitRun : 0))
        case .concat(let parts):
            var exact: [String]? = [""]
            var candidates: [[String]] = []
            var run: [String]? = [""]
            var digitRun = 0
            var currentDigits = 0
            var minLength = 0
            var digitsOnly = true
            for part in parts {
                let i = part.info
                exact = product(exact, i.exact)
                if let r = i.required { candidates.append(r) }
                if let e = i.exact {
                    if let extended = product(run, e) {
                        run = extended
                    } else {
                        if let r = run { candidates.append(r) }
                        run = e
                    }
                } else {
                    if let r = run { candidates.append(r) }
                    run = [""]
                }
                if i.digitsOnly {
                    currentDigits += i.minLength
                } else {
                    currentDigits = 0
                }
                digitRun = Swift.max(digitRun, currentDigits, i.digitRun)
                minLength += i.minLength
                digitsOnly = digitsOnly && i.digitsOnly
            }
            if let r = run { candidates.append(r) }
            var chosen: [String]? = nil
            for c in candidates { chosen = best(chosen, c) }
            return PatternInfo(exact: exact, required: chosen, digitsOnly: digitsOnly, minLength: minLength, digitRun: digitRun)
        }
    }
}

private func union(_ a: [String]?, _ b: [String]?) -> [String]? {
    guard let a, let b else { return nil }
    var seen = Set(a)
    var result = a
    for s in b where seen.insert(s).inserted { result.append(s) }
    return result.count <= RegexPrefilter.maxSetSize ? result : nil
}

private func product(_ a: [String]?, _ b: [String]?) -> [String]? {
    guard let a, let b, a.count * b.count <= RegexPrefilter.maxSetSize else { return nil }
    var result: [String] = []
    var seen = Set<String>()
    for x in a { for y in b where seen.insert(x + y).inserted { result.append(x + y) } }
    return result
}

private func power(_ a: [String]?, _ n: Int) -> [String]? {
    guard n <= 8 else { return nil }
    var result: [String]? = [""]
    for _ in 0..<n { result = product(result, a) }
    return result
}

private func best(_ a: [String]?, _ b: [String]?) -> [String]? {
    guard let b, RegexPrefilter.score(b) > -1 else { return a }
    guard let a else { return b }
    return RegexPrefilter.score(b) > RegexPrefilter.score(a) ? b : a
}

/// A recursive-descent reader for the PCRE2 syntax rules use. Unknown constructs become
/// `.opaque`, which weakens the prefilter but never makes it wrong.
struct PatternParser {
    let s: [Unicode.Scalar]
    var i = 0

    init(_ scalars: [Unicode.Scalar]) { s = scalars }

    private var atEnd: Bool { i >= s.count }
    private func peek(_ offset: Int = 0) -> Unicode.Scalar? { i + offset < s.count ? s[i + offset] : nil }

    mutating func parseAlternation() -> PatternNode {
        var branches = [parseConcat()]
        while peek() == "|" {
            i += 1
            branches.append(parseConcat())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    mutating func parseConcat() -> PatternNode {
        var parts: [PatternNode] = []
        while let c = peek(), c != "|", c != ")" {
            var atom = parseAtom()
            atom = parseQuantifier(atom)
            parts.append(atom)
        }
        return .concat(parts)
    }

    mutating func parseQuantifier(_ atom: PatternNode) -> PatternNode {
        guard let c = peek() else { return atom }
        var min = 0
        var max: Int? = nil
        switch c {
        case "*": i += 1
        case "+": i += 1; min = 1
        case "?": i += 1; max = 1
        case "{":
            var j = i + 1
            var first = ""
            while j < s.count, ("0"..."9").contains(s[j]) { first.unicodeScalars.append(s[j]); j += 1 }
            guard !first.isEmpty, j < s.count else { return atom }
            if s[j] == "}" {
                min = Int(first) ?? 0
                max = min
                i = j + 1
            } else if s[j] == "," {
                j += 1
                var second = ""
                while j < s.count, ("0"..."9").contains(s[j]) { second.unicodeScalars.append(s[j]); j += 1 }
                guard j < s.count, s[j] == "}" else { return atom }
                min = Int(first) ?? 0
                max = second.isEmpty ? nil : Int(second)
                i = j + 1
            } else {
                return atom
            }
        default: return atom
        }
        if let m = peek(), m == "?" || m == "+" { i += 1 }
        return parseQuantifier(.repeated(atom, min: min, max: max))
    }

    mutating func parseAtom() -> PatternNode {
        let c = s[i]
        i += 1
        switch c {
        case "(": return parseGroup()
        case "[": return parseClass()
        case ".": return .characterClass(nil, digitsOnly: false)
        case "^", "$": return .zeroWidth
        case "\\": return parseEscape()
        default: return .literal(c)
        }
    }

    mutating func parseGroup() -> PatternNode {
        var capture = true
        var zeroWidth = false
        if peek() == "*" {  // (*VERB)
            while let c = peek(), c != ")" { i += 1 }
            i += 1
            return .zeroWidth
        }
        if peek() == "?" {
            i += 1
            capture = false
            switch peek() {
            case "#":
                while let c = peek(), c != ")" { i += 1 }
                i += 1
                return .zeroWidth
            case "=", "!":
                i += 1
                zeroWidth = true
            case "<" where peek(1) == "=" || peek(1) == "!":
                i += 2
                zeroWidth = true
            case "<", "P", "'":
                while let c = peek(), c != ">", c != "'" { i += 1 }
                if peek() == "'" { i += 1 }
                if peek() == ">" { i += 1 }
            case ":", ">", "|":
                i += 1
            default:
                // Inline flags: (?i) sets them for the rest; (?i:...) is a group.
                while let c = peek(), c != ")", c != ":" { i += 1 }
                if peek() == ")" {
                    i += 1
                    return .zeroWidth
                }
                i += 1
            }
        }
        _ = capture
        let inner = parseAlternation()
        if peek() == ")" { i += 1 }
        return zeroWidth ? .zeroWidth : inner
    }

    mutating func parseEscape() -> PatternNode {
        guard let c = peek() else { return .opaque }
        i += 1
        switch c {
        case "d": return .characterClass(Set(0x30...0x39), digitsOnly: true)
        case "b", "B", "A", "z", "Z", "G", "K": return .zeroWidth
        case "D", "w", "W", "s", "S", "h", "H", "v", "V", "N", "R", "X", "C":
            return .characterClass(nil, digitsOnly: false)
        case "p", "P":
            if peek() == "{" { while let x = peek(), x != "}" { i += 1 }; i += 1 } else { i += 1 }
            return .characterClass(nil, digitsOnly: false)
        case "n": return .literal("\n")
        case "t": return .literal("\t")
        case "r": return .literal("\r")
        case "x":
            var hex = ""
            if peek() == "{" {
                i += 1
                while let x = peek(), x != "}" { hex.unicodeScalars.append(x); i += 1 }
                i += 1
            } else {
                for _ in 0..<2 where peek().map({ $0.properties.isASCIIHexDigit }) == true {
                    hex.unicodeScalars.append(s[i])
                    i += 1
                }
            }
            if let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) { return .literal(scalar) }
            return .opaque
        case "Q":
            var parts: [PatternNode] = []
            while i < s.count, !(s[i] == "\\" && peek(1) == "E") { parts.append(.literal(s[i])); i += 1 }
            if i < s.count { i += 2 }
            return .concat(parts)
        default:
            if ("0"..."9").contains(c) || c == "g" || c == "k" { return .opaque }  // back-reference
            if c.properties.isAlphabetic && c.isASCII { return .opaque }  // other escapes we do not model
            return .literal(c)
        }
    }

    mutating func parseClass() -> PatternNode {
        var set = Set<UInt32>()
        var enumerable = true
        var negated = false
        if peek() == "^" {
            negated = true
            i += 1
        }
        var first = true
        var previous: UInt32? = nil
        while let c = peek(), c != "]" || first {
            first = false
            i += 1
            var value: UInt32? = c.value
            if c == "\\", let e = peek() {
                i += 1
                switch e {
                case "d": set.formUnion(0x30...0x39); value = nil
                case "w", "W", "s", "S", "D", "h", "H", "v", "V", "p", "P":
                    if (e == "p" || e == "P"), peek() == "{" { while let x = peek(), x != "}" { i += 1 }; i += 1 }
                    enumerable = false
                    value = nil
                case "n": value = 10
                case "t": value = 9
                case "r": value = 13
                case "x":
                    var hex = ""
                    if peek() == "{" {
                        i += 1
                        while let x = peek(), x != "}" { hex.unicodeScalars.append(x); i += 1 }
                        i += 1
                    } else {
                        for _ in 0..<2 where peek().map({ $0.properties.isASCIIHexDigit }) == true {
                            hex.unicodeScalars.append(s[i])
                            i += 1
                        }
                    }
                    value = UInt32(hex, radix: 16)
                    if value == nil { enumerable = false }
                default: value = e.value
                }
            } else if c == "[", peek() == ":" {
                var name = ""
                i += 1
                while let x = peek(), x != ":" { name.unicodeScalars.append(x); i += 1 }
                i += 2
                if name == "digit" { set.formUnion(0x30...0x39) } else { enumerable = false }
                value = nil
            } else if c == "-", let low = previous, let high = peek(), high != "]" {
                i += 1
                var upper = high.value
                if high == "\\", let e = peek() {
                    i += 1
                    upper = e.value
                }
                if upper >= low, upper - low <= UInt32(RegexPrefilter.maxSetSize) {
                    set.formUnion(low...upper)
                } else {
                    enumerable = false
                }
                previous = nil
                continue
            }
            if let v = value {
                set.insert(v)
                previous = v
            } else {
                previous = nil
            }
        }
        if peek() == "]" { i += 1 }
        if negated { return .characterClass(nil, digitsOnly: false) }
        let digitsOnly = enumerable && !set.isEmpty && set.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        if !enumerable || set.count > RegexPrefilter.maxSetSize { return .characterClass(nil, digitsOnly: digitsOnly) }
        return .characterClass(set, digitsOnly: digitsOnly)
    }
}
