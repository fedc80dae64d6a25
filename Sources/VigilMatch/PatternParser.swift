import CPCRE2

/// A recursive-descent reader for the PCRE2 syntax rules use. Unknown constructs become
/// `.opaque`, which weakens the prefilter but never makes it wrong: every literal the tree
/// requires must be one the pattern requires.
struct PatternParser {
    let s: [Unicode.Scalar]
    var i = 0
    /// Whether `(?x)` is on here: white space and `#` comments outside classes are not literals.
    var extended = false
    /// Inside `\Q…\E`: every character is a literal.
    var quoting = false
    /// The pattern holds `\G` or `(*SKIP)`, whose matches depend on where a search starts: it
    /// must be searched from the start of the text, never in stretches.
    var dependsOnSearchStart = false
    /// The pattern holds `(*ACCEPT)`, which ends a match early: what follows it is not required.
    var endsEarly = false
    /// The pattern opens with `(*UCP)`: `\d`, `\s`, `\w`, `\b` and POSIX classes follow Unicode
    /// properties (U+2028 is a space, `٣` a digit), so they are read as any character.
    var unicodeClasses = false
    /// The pattern names a newline convention (`(*CR)`, `(*ANY)`…): where an `(?x)` comment ends
    /// is then not modelled, and one there makes the reading unsure.
    var newlineConvention = false
    /// Something was read that the analysis cannot be sure of: the pattern gets no gate.
    var unsure = false
    /// Capturing groups read so far (numbered or named).
    var captures = 0
    /// The pattern holds `(*SKIP)`, `(*PRUNE)`, `(*COMMIT)` or `(*THEN)`, which end or move a
    /// search when backtracked into.
    var controlVerbs = false
    /// The atom just read was a `(?#…)` comment, which a quantifier after it does not repeat.
    var readComment = false
    /// How counted repetitions read (see `Braces`).
    let braces: Braces

    /// Which braces after an atom are a counted repetition. PCRE2 10.43 follows Perl 5.34:
    /// `{,n}` means `{0,n}`, and spaces or tabs may stand inside the braces (`{ 2 , 5 }`).
    /// Before, both were literal text. A pattern read the other way would have its gate
    /// require text that PCRE2 does not, so the parser reads braces as the linked library does.
    enum Braces: Sendable {
        case classic
        case perl534
    }

    /// The reading of the PCRE2 this process runs with.
    static let linkedBraces: Braces = {
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = buffer.withUnsafeMutableBytes { pcre2_config_8(UInt32(PCRE2_CONFIG_VERSION), $0.baseAddress) }
        // "10.42 2022-12-11": the major and minor numbers.
        let version = String(
            decoding: buffer.prefix(max(0, Int(length))).prefix { $0 != 0 && $0 != 0x20 }, as: UTF8.self)
        let parts = version.split(separator: ".").compactMap { Int($0) }
        guard parts.count >= 2 else { return .classic }
        return (parts[0], parts[1]) >= (10, 43) ? .perl534 : .classic
    }()

    init(_ scalars: [Unicode.Scalar], braces: Braces = PatternParser.linkedBraces) {
        s = scalars
        self.braces = braces
    }

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
        while let c = peek() {
            if quoting {
                i += 1
                guard c == "\\", peek() == "E" else {
                    parts.append(.literal(c))
                    continue
                }
                // A quantifier after `\E` repeats the last quoted character, not the quote.
                i += 1
                quoting = false
                skipIgnored()
                if let last = parts.popLast() { parts.append(parseQuantifier(last)) }
                continue
            }
            skipIgnored()
            guard let c = peek(), c != "|", c != ")" else { break }
            if c == "\\", peek(1) == "Q" || peek(1) == "E" {
                let opens = peek(1) == "Q"
                quoting = opens
                i += 2
                // A lone \E is ignored: a quantifier after it repeats the atom before it.
                if !opens {
                    skipIgnored()
                    if let last = parts.popLast() { parts.append(parseQuantifier(last)) }
                }
                continue
            }
            readComment = false
            var atom = parseAtom()
            if readComment {
                // So is a (?#…) comment.
                skipIgnored()
                if let last = parts.popLast() {
                    parts.append(parseQuantifier(last))
                } else {
                    _ = parseQuantifier(.zeroWidth)
                }
                continue
            }
            skipIgnored()
            atom = parseQuantifier(atom)
            parts.append(atom)
        }
        return .concat(parts)
    }

    /// In extended mode, steps over white space and `#` comments, which PCRE2 ignores there.
    mutating func skipIgnored() {
        guard extended else { return }
        while let c = peek() {
            if c == "#" {
                if newlineConvention { unsure = true }
                while let x = peek(), x != "\n" { i += 1 }
            } else if !Self.isPatternWhiteSpace(c) {
                return
            }
            i += 1
        }
    }

    /// PCRE2's white space in extended mode (Unicode's Pattern_White_Space).
    static func isPatternWhiteSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x20, 0x85, 0x200E, 0x200F, 0x2028, 0x2029: return true
        default: return false
        }
    }

    mutating func parseQuantifier(_ atom: PatternNode) -> PatternNode {
        guard let c = peek() else { return atom }
        var min = 0
        var max: Int? = nil
        switch c {
        case "*": i += 1
        case "+":
            i += 1
            min = 1
        case "?":
            i += 1
            max = 1
        case "{":
            guard let counted = countedRepetition(from: i + 1) else { return atom }
            (min, max, i) = counted
        default: return atom
        }
        if let m = peek(), m == "?" || m == "+" { i += 1 }
        skipIgnored()
        return parseQuantifier(.repeated(atom, min: min, max: max))
    }

    /// The bounds of the counted repetition whose `{` stands just before `start`, and the index
    /// after its `}`; nil when the braces are literal text (see `Braces`). A bound too large to
    /// read counts as none: a lower bound of 0 and no upper bound ask for less, never more.
    func countedRepetition(from start: Int) -> (min: Int, max: Int?, end: Int)? {
        var j = start
        let spaced = braces == .perl534
        func blanks() {
            while spaced, j < s.count, s[j] == " " || s[j] == "\t" { j += 1 }
        }
        func digits() -> String {
            var number = ""
            while j < s.count, ("0"..."9").contains(s[j]) {
                number.unicodeScalars.append(s[j])
                j += 1
            }
            return number
        }
        blanks()
        let first = digits()
        blanks()
        guard j < s.count else { return nil }
        if s[j] == "}" {
            guard !first.isEmpty else { return nil }
            let count = Int(first) ?? 0
            return (count, Int(first), j + 1)
        }
        guard s[j] == "," else { return nil }
        j += 1
        blanks()
        let second = digits()
        blanks()
        guard j < s.count, s[j] == "}" else { return nil }
        // `{,n}` is a repetition from 10.43 on; `{,}` never is.
        guard !first.isEmpty || (spaced && !second.isEmpty) else { return nil }
        return (Int(first) ?? 0, second.isEmpty ? nil : Int(second), j + 1)
    }

    mutating func parseAtom() -> PatternNode {
        let c = s[i]
        i += 1
        switch c {
        case "(": return parseGroup()
        case "[":
            // PCRE2's word-boundary classes `[[:<:]]` and `[[:>:]]` match no character.
            for form in ["[:<:]]", "[:>:]]"] where Array(s[i..<min(s.count, i + 6)]) == Array(form.unicodeScalars) {
                i += 6
                return .zeroWidth
            }
            return parseClass()
        case ".": return .characterClass(nil, digitsOnly: false, alnumOnly: false)
        case "^", "$": return .zeroWidth
        case "\\": return parseEscape()
        default: return .literal(c)
        }
    }

    mutating func parseGroup() -> PatternNode {
        if peek() == "*" { return parseStarGroup() }
        var zeroWidth = false
        var extendedInside = extended
        if peek() != "?" { captures += 1 }
        if peek() == "?" {
            i += 1
            switch peek() {
            case "#":
                while let c = peek(), c != ")" { i += 1 }
                i += 1
                readComment = true
                return .zeroWidth
            case "=", "!", "*":  // (?*…) looks ahead without being atomic
                i += 1
                zeroWidth = true
            case "<" where peek(1) == "=" || peek(1) == "!" || peek(1) == "*":
                i += 2
                zeroWidth = true
            case "P" where peek(1) == "=" || peek(1) == ">":
                // (?P=name) matches what the group matched, (?P>name) runs its pattern: either
                // may consume anything.
                skipGroup()
                return .opaque
            case "'":  // (?'name'…)
                i += 1
                while let c = peek(), c != "'" { i += 1 }
                i += 1
                captures += 1
            case "<", "P":  // (?<name>…), (?P<name>…)
                while let c = peek(), c != ">" { i += 1 }
                i += 1
                captures += 1
            case "&", "R", "+":
                skipGroup()  // a subroutine call: (?&name), (?R), (?+1)
                return .opaque
            case let c? where ("0"..."9").contains(c) || (c == "-" && peek(1).map { ("0"..."9").contains($0) } == true):
                skipGroup()  // a subroutine call: (?1), (?-1)
                return .opaque
            case "(":
                return parseConditional()
            case "C":
                skipCallout()
                return .zeroWidth
            case ":", ">", "|":
                i += 1
            default:
                // Inline flags: (?x) sets them for the rest of the group, (?x:…) is a group.
                var on = true
                while let c = peek(), c != ")", c != ":" {
                    switch c {
                    case "-": on = false
                    case "^": extendedInside = false
                    case "x": extendedInside = on
                    default: break
                    }
                    i += 1
                }
                if peek() == ")" {
                    i += 1
                    extended = extendedInside
                    return .zeroWidth
                }
                i += 1
            }
        }
        let inner = parseGroupBody(extended: extendedInside)
        return zeroWidth ? .zeroWidth : inner
    }

    /// The alternation up to the group's closing parenthesis, read under `extended`; flags set
    /// inside end with the group.
    mutating func parseGroupBody(extended inside: Bool) -> PatternNode {
        let outside = extended
        extended = inside
        let inner = parseAlternation()
        if peek() == ")" { i += 1 }
        extended = outside
        return inner
    }

    /// `(*…)`, its "(" read: a verb such as `(*SKIP)` or `(*MARK:name)` (upper case, matching
    /// nothing), or a group by alphabetic name such as `(*atomic:…)` or `(*pla:…)`.
    mutating func parseStarGroup() -> PatternNode {
        i += 1
        var name = ""
        while let c = peek(), c != ")", c != ":" {
            name.unicodeScalars.append(c)
            i += 1
        }
        let isGroup =
            peek() == ":" && !name.isEmpty && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || $0 == "_" }
        if isGroup {
            i += 1
            switch name {
            case "atomic", "sr", "script_run", "asr", "atomic_script_run":
                return parseGroupBody(extended: extended)
            case "pla", "positive_lookahead", "nla", "negative_lookahead", "plb", "positive_lookbehind", "nlb",
                "negative_lookbehind", "napla", "non_atomic_positive_lookahead", "naplb",
                "non_atomic_positive_lookbehind":
                _ = parseGroupBody(extended: extended)
                return .zeroWidth
            default:
                skipGroup()
                return .opaque
            }
        }
        switch name {
        case "SKIP":
            dependsOnSearchStart = true
            controlVerbs = true
        case "PRUNE", "COMMIT", "THEN": controlVerbs = true
        case "ACCEPT": endsEarly = true
        case "UCP": unicodeClasses = true
        case "CR", "LF", "CRLF", "ANYCRLF", "ANY", "NUL": newlineConvention = true
        default: break
        }
        while let c = peek(), c != ")" { i += 1 }  // a verb's argument
        i += 1
        return .zeroWidth
    }

    /// `(?C…)`, its "(?" read: a callout, numbered or with a string that may hold any character
    /// (its delimiter doubled stands for itself).
    mutating func skipCallout() {
        i += 1
        if let open = peek(), "`'\"^%#${".unicodeScalars.contains(open) {
            let close: Unicode.Scalar = open == "{" ? "}" : open
            i += 1
            while let c = peek() {
                i += 1
                if c == close {
                    guard peek() == close else { break }
                    i += 1
                }
            }
        }
        while let c = peek(), c != ")" { i += 1 }
        i += 1
    }

    /// Skips to the end of the group whose opening has been read, nested groups included.
    mutating func skipGroup() {
        var depth = 1
        while let c = peek() {
            i += 1
            if c == "\\" {
                i += 1
            } else if c == "(" {
                depth += 1
            } else if c == ")" {
                depth -= 1
                if depth == 0 { return }
            }
        }
    }

    /// `(?(condition)yes|no)`, its `(?(` read: it matches as one of its two branches, so it is
    /// read as their alternation. `(?(DEFINE)…)` only defines groups and matches nothing.
    mutating func parseConditional() -> PatternNode {
        i += 1
        let define = Array(s[i..<min(s.count, i + 7)]) == Array("DEFINE)".unicodeScalars)
        if peek() == "?" || peek() == "*" {
            _ = parseGroup()  // an assertion, (?(?=…)…) or (?(*pla:…)…): its "(" is read
        } else {
            while let c = peek(), c != ")" { i += 1 }
            i += 1
        }
        let branches = parseGroupBody(extended: extended)
        if define { return .zeroWidth }
        // Without a "no" branch the condition may fail and match nothing.
        if case .alternation = branches { return branches }
        return .alternation([branches, .concat([])])
    }

    mutating func parseEscape() -> PatternNode {
        guard let c = peek() else { return .opaque }
        i += 1
        switch c {
        case "d" where !unicodeClasses: return .characterClass(Set(0x30...0x39), digitsOnly: true, alnumOnly: true)
        case "d": return .characterClass(nil, digitsOnly: false, alnumOnly: false)
        case "G":
            dependsOnSearchStart = true
            return .zeroWidth
        case "b": return unicodeClasses ? .zeroWidth : .boundary
        case "B", "A", "z", "Z", "K": return .zeroWidth
        case "R", "X": return .opaque  // may consume several characters
        case "C":  // one byte of UTF-8: two of them may be one character
            return .repeated(.characterClass(nil, digitsOnly: false, alnumOnly: false), min: 0, max: 1)
        case "D", "w", "W", "s", "S", "h", "H", "v", "V":
            return .characterClass(
                nil, digitsOnly: false, alnumOnly: false, neighbours: unicodeClasses ? .any : Self.escapeClass(c))
        case "p", "P":
            if peek() == "{" {
                while let x = peek(), x != "}" { i += 1 }
                i += 1
            } else {
                i += 1
            }
            return .characterClass(nil, digitsOnly: false, alnumOnly: false)
        case "x":
            if let v = readHexEscape(), let scalar = Unicode.Scalar(v) { return .literal(scalar) }
            return .opaque
        case "g", "k":  // a back-reference by number or name, or a call: \g{-1} \g<n> \k'n' \g2
            skipEscapeArgument(orNumber: true)
            return .opaque
        case "N" where peek() == "{" && peek(1) != "U":
            // \N{3}, \N{2,4}: any character but a newline, repeated; the quantifier reads the braces.
            return .characterClass(nil, digitsOnly: false, alnumOnly: false)
        case "o", "N":  // \o{101}; \N{U+41}, or \N alone: any character but a newline
            // Only braces hold their argument: `\N<` is \N and a "<".
            if peek() == "{" { skipEscapeArgument(orNumber: false) }
            return .characterClass(nil, digitsOnly: false, alnumOnly: false)
        case "c":  // \cA: a control character named by the next one
            i += 1
            return .opaque
        default:
            if let v = Self.controlEscapes[c], let scalar = Unicode.Scalar(v) { return .literal(scalar) }
            if ("0"..."9").contains(c) {  // a back-reference or an octal character: all its digits
                while let d = peek(), ("0"..."9").contains(d) { i += 1 }
                return .opaque
            }
            if c.properties.isAlphabetic && c.isASCII { return .opaque }  // other escapes we do not model
            return .literal(c)
        }
    }

    /// Whether the `[:` before `start` opens a POSIX class: PCRE2 takes it for one only when `:]`
    /// comes before any `]`.
    func posixClassCloses(from start: Int) -> Bool {
        var j = start + 1
        while j + 1 < s.count, s[j] != "]" {
            if s[j] == ":" && s[j + 1] == "]" { return true }
            j += 1
        }
        return false
    }

    /// The characters a class escape such as `\s` or `\W` matches (without UCP, as rules are
    /// compiled), `.any` for one not modelled.
    static func escapeClass(_ e: Unicode.Scalar) -> NeighbourClass {
        switch e {
        case "d": return .digit
        case "D": return NeighbourClass.digit.complement
        case "w": return .word
        case "W": return NeighbourClass.word.complement
        case "s": return .space
        case "S": return NeighbourClass.space.complement
        case "h": return .horizontalSpace
        case "H": return NeighbourClass(scalars: [0x09, 0x20]).complement
        case "v": return .verticalSpace
        case "V": return NeighbourClass(scalars: [0x0A, 0x0B, 0x0C, 0x0D]).complement
        default: return .any
        }
    }

    /// Skips what follows `\g`, `\k`, `\o` or `\N`: a name or number in braces, angle brackets or
    /// quotes, or (`orNumber`) a signed number.
    mutating func skipEscapeArgument(orNumber: Bool) {
        let closing: [Unicode.Scalar: Unicode.Scalar] = ["{": "}", "<": ">", "'": "'"]
        if let open = peek(), let close = closing[open] {
            i += 1
            while let c = peek(), c != close { i += 1 }
            i += 1
            return
        }
        guard orNumber else { return }
        if peek() == "-" || peek() == "+" { i += 1 }
        while let d = peek(), ("0"..."9").contains(d) { i += 1 }
    }

    /// Escapes that stand for one control character, in and outside classes (`\b` only in one).
    static let controlEscapes: [Unicode.Scalar: UInt32] = [
        "n": 0x0A, "t": 0x09, "r": 0x0D, "a": 0x07, "e": 0x1B, "f": 0x0C,
    ]

    /// Reads the digits of `\x{HHHH}` or `\xHH` (the `\x` already consumed).
    mutating func readHexEscape() -> UInt32? {
        var hex = ""
        if peek() == "{" {
            i += 1
            while let x = peek(), x != "}" {
                hex.unicodeScalars.append(x)
                i += 1
            }
            i += 1
        } else {
            for _ in 0..<2 where peek().map({ $0.properties.isASCIIHexDigit }) == true {
                hex.unicodeScalars.append(s[i])
                i += 1
            }
        }
        return UInt32(hex, radix: 16)
    }

    /// The one character an escape inside a class stands for, its backslash and letter read;
    /// nil when it stands for a set or for something not modelled.
    mutating func classEscapeValue(_ e: Unicode.Scalar) -> UInt32? {
        if e == "x" { return readHexEscape() }
        if e == "b" { return 0x08 }
        if let v = Self.controlEscapes[e] { return v }
        return e.isASCII && (e.properties.isAlphabetic || ("0"..."9").contains(e)) ? nil : e.value
    }

    mutating func parseClass() -> PatternNode {
        var set = Set<UInt32>()
        var enumerable = true
        // The same members as a neighbour class, ranges of any size included; `modelled` is false
        // once a member is one the class cannot hold (`\p{…}`, most POSIX names).
        var chars = NeighbourClass.none
        var modelled = true
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
                case "d" where unicodeClasses:
                    enumerable = false
                    modelled = false
                    value = nil
                case "d":
                    set.formUnion(0x30...0x39)
                    chars = chars.union(.digit)
                    value = nil
                case "w", "W", "s", "S", "D", "h", "H", "v", "V", "p", "P":
                    if e == "p" || e == "P", peek() == "{" {
                        while let x = peek(), x != "}" { i += 1 }
                        i += 1
                    }
                    let escaped = unicodeClasses ? .any : Self.escapeClass(e)
                    if escaped.isAny { modelled = false } else { chars = chars.union(escaped) }
                    enumerable = false
                    value = nil
                case "Q":
                    // Quoted members are literals, the last one able to start a range.
                    while let x = peek(), !(x == "\\" && peek(1) == "E") {
                        set.insert(x.value)
                        chars.insert(x.value)
                        previous = x.value
                        i += 1
                    }
                    i += 2
                    continue
                case "E": continue
                case "c":  // \c] is a control character: the next character is its name
                    i += 1
                    enumerable = false
                    modelled = false
                    value = nil
                default:
                    value = classEscapeValue(e)
                    if value == nil {
                        enumerable = false
                        modelled = false
                    }
                }
            } else if c == "[", peek() == ":", posixClassCloses(from: i + 1) {
                var name = ""
                i += 1
                while let x = peek(), x != ":" {
                    name.unicodeScalars.append(x)
                    i += 1
                }
                i += 2
                if name == "digit" && !unicodeClasses {
                    set.formUnion(0x30...0x39)
                    chars = chars.union(.digit)
                } else {
                    enumerable = false
                    modelled = false
                }
                value = nil
            } else if c == "-", let low = previous, let high = peek(), high != "]" {
                i += 1
                var upper: UInt32? = high.value
                if high == "\\", let e = peek() {
                    i += 1
                    upper = classEscapeValue(e)
                }
                if let upper, upper >= low, upper - low <= UInt32(RegexPrefilter.maxSetSize) {
                    set.formUnion(low...upper)
                } else {
                    enumerable = false
                }
                if let upper { chars.insert(low, through: upper) } else { modelled = false }
                previous = nil
                continue
            }
            if let v = value {
                set.insert(v)
                chars.insert(v)
                previous = v
            } else {
                previous = nil
            }
        }
        if peek() == "]" { i += 1 }
        if !modelled { chars = .any }
        if negated {
            return .characterClass(
                nil, digitsOnly: false, alnumOnly: false, neighbours: modelled ? chars.complement : .any)
        }
        let digitsOnly = enumerable && !set.isEmpty && set.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        let alnumOnly =
            enumerable && !set.isEmpty
            && set.allSatisfy { v in
                (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v)
            }
        if !enumerable || set.count > RegexPrefilter.maxSetSize {
            return .characterClass(nil, digitsOnly: digitsOnly, alnumOnly: alnumOnly, neighbours: chars)
        }
        return .characterClass(set, digitsOnly: digitsOnly, alnumOnly: alnumOnly)
    }
}
