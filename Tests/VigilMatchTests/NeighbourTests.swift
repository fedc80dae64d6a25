import Testing

@testable import VigilMatch

/// What a regex allows next to its gate literals (`NeighbourClass`) and what must follow them
/// (`LiteralFollower`): a hit without either must not run the regex, and no match may ever
/// be lost for it.
@Suite struct NeighbourTests {
    func derive(_ p: String) -> RegexPrefilter { RegexPrefilter.derive(from: Normalizer.standard.normalizePattern(p)) }

    func scalar(_ c: Character) -> UInt32? { c.unicodeScalars.first?.value }

    let origin = RuleOrigin(pack: 0, file: "test.yaml", line: 1)

    /// `pattern` with its derived gate, a scanner over it, and one that runs it on every text;
    /// nil when PCRE2 rejects the pattern.
    func gatedAndUngated(_ pattern: String) throws -> (RegexPrefilter, gated: Scanner, ungated: Scanner)? {
        let gated = RuleSetBuilder()
        let ungated = RuleSetBuilder()
        let fuzz = RuleOrigin(pack: 0, file: "fuzz.yaml", line: 1)
        guard let p = try? gated.addRegex(pattern, id: "g", signal: .attack("xss"), origin: fuzz) else { return nil }
        _ = try ungated.addRegex(pattern, id: "u", signal: .attack("xss"), origin: fuzz, literals: [])
        return (p, Scanner(rules: try gated.build()), Scanner(rules: try ungated.build()))
    }

    /// A scanner over the regexes `add` puts in a fresh rule set.
    func makeScanner(_ add: (RuleSetBuilder) throws -> Void) throws -> Scanner {
        let b = RuleSetBuilder()
        try add(b)
        return Scanner(rules: try b.build())
    }

    @Test func aCommandWordNeedsItsSeparatorBeforeAndSpaceAfter() throws {
        let p = derive(#"[;|&]\s*(?:cat|ncat)\s+-"#)
        #expect(p.literals == ["cat"])
        let n = try #require(p.literalNeighbours)
        // Space or a separator before, or the `n` of `ncat`, which holds `cat`.
        for c: Character in [" ", ";", "|", "&", "\t", "n"] { #expect(n.before.admits(scalar(c)), "\(c)") }
        for c: Character in ["o", "c", "中", "1"] { #expect(!n.before.admits(scalar(c)), "\(c)") }
        #expect(!n.before.admits(nil))  // a separator must stand before it: never the text's start
        #expect(n.after.admits(scalar(" ")) && !n.after.admits(scalar("e")) && !n.after.admits(nil))
    }

    @Test func wordBoundaryAsksForANonWordCharacterOrTheEdge() throws {
        let p = derive(#"\brm\s+[a-z]"#)
        #expect(p.literals == ["rm"])
        let n = try #require(p.literalNeighbours)
        #expect(n.before.admits(nil) && n.before.admits(scalar(" ")) && n.before.admits(scalar("中")))
        #expect(!n.before.admits(scalar("o")) && !n.before.admits(scalar("_")) && !n.before.admits(scalar("7")))
    }

    @Test func caselessLettersAdmitBothCases() throws {
        let n = try #require(derive(#"(?i)\s+hello\s*[a-c]+"#).literalNeighbours)
        #expect(n.after.admits(scalar("B")) && n.after.admits(scalar("b")) && n.after.admits(scalar(" ")))
        #expect(!n.after.admits(scalar("d")) && !n.after.admits(scalar("D")))
    }

    @Test func theKelvinSignAndTheLongSStandForKAndS() {
        let kelvin = NeighbourClass(scalars: [0x212A]).caseClosed()
        #expect(kelvin.admits(scalar("k")) && kelvin.admits(scalar("K")) && !kelvin.admits(scalar("x")))
        let s = NeighbourClass(scalars: [0x73]).caseClosed()
        #expect(s.admits(0x017F) && s.admits(scalar("S")))
    }

    @Test func aLiteralAtThePatternsEdgeHasAnyNeighbour() {
        let p = derive(#"eval\("#)
        #expect(p.literalNeighbours == nil)
    }

    @Test func aHouseNumberEndsInADigitBeforeIts号() throws {
        let p = derive("[一-龥]{2,8}(?:路|街)[0-9]{1,4}号")
        let n = try #require(p.literalNeighbours)
        #expect(p.literals == ["号"])
        #expect(n.before.admits(scalar("1")) && !n.before.admits(scalar("上")) && !n.before.admits(nil))
        #expect(n.after.isAny)
    }

    @Test func aProvinceNeedsACityTwoToEightCharactersLater() throws {
        let p = derive("[一-龥]{2,6}(?:省|自治区)[一-龥]{2,8}市[一-龥]{2,8}(?:区|县)")
        #expect(Set(p.literals ?? []) == ["省", "自治区"])
        let f = try #require(p.literalFollower)
        #expect(f.literals == [[0x5E02]] && f.gap == 2...8)  // 市
    }

    @Test func aFollowerNeedsBoundedPartsBetween() {
        #expect(derive("(?:省|自治区)[一-龥]+市").literalFollower == nil)
        #expect(derive("(?:省|自治区)(?:[一-龥]{2,8}|x)市").literalFollower?.gap == 1...8)
    }

    @Test func aLiteralKeptForALongerOneLooksFurtherForTheFollower() throws {
        // `ab` stands for `abcd` too, whose 市 comes up to two characters later than `ab`'s.
        let p = derive("(?:ab|abcd)[^q]{0,2}市")
        #expect(p.literals == ["ab"] && p.literalFollower?.gap == 0...4)
        let scanner = try makeScanner { b in
            _ = try b.addRegex("(?:ab|abcd)[^q]{0,2}市", id: "r", signal: .attack("xss"), origin: origin)
        }
        scanner.scan("abcdxx市")
        #expect(scanner.matches.count == 1)
    }

    @Test func whiteSpaceRunsBetweenAFollowerAreSteppedOver() throws {
        let p = derive(#"'\s*and\s*'[^']*'\s*=\s*'"#)
        #expect(p.literals == ["and"])
        let f = try #require(p.literalFollower)
        #expect(f.literals == [[0x27]] && f.gap == 0...0 && f.spaced)
        // `\s+` counts toward the least distance only; the most counts other characters.
        let chain = try #require(derive(#"[;|&]\s*(?:cat|wget)\s+x?[-/$]"#).literalFollower)
        #expect(chain.spaced && chain.gap == 1...1)
        // A part that may hold other characters still leaves no follower.
        #expect(derive(#"and[\s,]*'"#).literalFollower == nil)
    }

    @Test func aHitWhoseFollowerIsPastOtherCharactersRunsNoRegex() throws {
        let scanner = try makeScanner { b in
            _ = try b.addRegex(#"(?i)'\s*and\s*'[^']*'\s*=\s*'"#, id: "blind", signal: .attack("sqli"), origin: origin)
        }
        scanner.scan("salt and pepper, then 'quoted' words")
        #expect(scanner.counters.regexRuns == 0)
        // However much white space stands between, the quote is found and the regex runs.
        let spaces = String(repeating: " ", count: 40)
        for text in ["x' and '1'='1", "x'\n\tAND   \n'1' = '1", "x'and\(spaces)'1'='1"] {
            let before = scanner.counters.regexRuns
            scanner.scan(text)
            #expect(scanner.counters.regexRuns == before + 1 && scanner.matches.count == 1, "\(text)")
        }
    }

    /// Patterns whose follower stands past a run of white space of any length (`\s*`, `[ \t]+`,
    /// with bounded parts beside it), scanned gated and ungated over texts that put white space,
    /// other characters or nothing between the two literals: the matches must be the same. A
    /// spaced check that counts a space, or steps one character too few, loses matches here.
    @Test func spacedFollowersLoseNoMatch() throws {
        var rng = SplitMix(seed: 0x5BAC_ED0F)
        let spaces = [#"\s"#, "[ \t]", " ", #"[\s]"#, #"[\n ]"#]
        let bounded = ["", "", "x?", "[a-c]{0,2}", "-", "(?:ab|c)", #"\b"#]
        let fillers = [" ", "  ", "\t", "\n", " \n\t ", "x", "a", "-", "ab", "c", "中", "'"]
        var spaced = 0
        var matched = 0
        for _ in 0..<200 {
            let strong = ["省", "ncat", "bash", "and"][rng.below(4)]
            let weak = ["'", "市", "-", "ab", "id"][rng.below(5)]
            var gap = ""
            for _ in 0..<(1 + rng.below(3)) {
                gap +=
                    rng.below(2) == 0
                    ? spaces[rng.below(spaces.count)] + ["*", "+"][rng.below(2)]
                    : bounded[rng.below(bounded.count)]
            }
            var pattern = strong + gap + weak + ["", "[^']*", "x"][rng.below(3)]
            if rng.below(3) == 0 { pattern = "(?i)" + pattern }
            guard let (p, a, b) = try gatedAndUngated(pattern) else { continue }
            if p.literalFollower?.spaced == true { spaced += 1 }
            for _ in 0..<30 {
                let between = (0..<rng.below(7)).map { _ in fillers[rng.below(fillers.count)] }.joined()
                let text =
                    fillers[rng.below(fillers.count)] + strong + between + weak + "x"
                    + fillers[rng.below(fillers.count)]
                a.scan(text)
                b.scan(text)
                let gatedMatches = (0..<a.matches.count).map { [a.matches[$0].start, a.matches[$0].end] }
                let ungatedMatches = (0..<b.matches.count).map { [b.matches[$0].start, b.matches[$0].end] }
                #expect(gatedMatches == ungatedMatches, "\(pattern) on \(text.debugDescription)")
                if !ungatedMatches.isEmpty { matched += 1 }
            }
        }
        #expect(spaced > 60, "spaced \(spaced)")
        #expect(matched > 500, "matched \(matched)")
    }

    @Test func aProvinceWithoutACityRunsNoRegex() throws {
        let scanner = try makeScanner { b in
            _ = try b.addRegex(
                "[一-龥]{2,6}(?:省|自治区)[一-龥]{2,8}市[一-龥]{2,8}(?:区|县)", id: "address", signal: .pii("address"),
                origin: origin)
        }
        scanner.scan("这个省的人口很多，人们也很友好，城市也多")  // 市 comes 16 characters after 省
        #expect(scanner.counters.regexRuns == 0)
        scanner.scan("家住广东省深圳市南山区")
        #expect(scanner.counters.regexRuns == 1 && scanner.matches.count == 1)
    }

    /// `(*UCP)` makes `\d`, `\s`, `\w` and `\b` follow Unicode: U+2028 is a space then, and
    /// Arabic-Indic digits are digits. No gate may ask for ASCII ones.
    @Test func unicodeClassesAskForNoASCII() throws {
        #expect(derive(#"(*UCP)\bcode\s+red"#).literalNeighbours == nil)
        #expect(derive(#"(*UCP)\d{5}x"#).minDigitRun == 0)
        let scanner = try makeScanner { b in
            _ = try b.addRegex(#"(*UCP)\bcode\s+red"#, id: "space", signal: .attack("xss"), origin: origin)
            _ = try b.addRegex(#"(*UCP)\d{5}x"#, id: "digits", signal: .attack("xss"), origin: origin)
            _ = try b.addRegex(#"(*UCP)x[[:digit:]]{5}"#, id: "posix", signal: .attack("xss"), origin: origin)
        }
        scanner.scan("alert: code\u{2028}red now")
        #expect(scanner.matches.count == 1)
        scanner.scan("号码٣٣٣٣٣x和x٣٣٣٣٣")
        #expect(scanner.matches.count == 2)
    }

    @Test func handGivenLiteralsCarryNoNeighbours() throws {
        let b = RuleSetBuilder()
        let p = try b.addRegex(
            #"[;|]\s*rm\s+-"#, id: "r", signal: .attack("command_injection"), origin: origin, literals: ["rm"])
        #expect(p.literalNeighbours == nil)
    }

    @Test func aHitInsideAWordRunsNoRegex() throws {
        let scanner = try makeScanner { b in
            _ = try b.addRegex(#"[;|]\s*rm\s+-rf"#, id: "rm", signal: .attack("command_injection"), origin: origin)
        }
        scanner.scan("please perform the task; the form is ready")
        #expect(scanner.counters.regexRuns == 0 && scanner.matches.count == 0)
        scanner.scan("ls; rm -rf /tmp")
        #expect(scanner.counters.regexRuns == 1 && scanner.matches.count == 1)
    }

    /// Random patterns built from the constructs the neighbour analysis reads (classes, `\s`,
    /// `\b`, alternations of words that hold each other, optional and repeated parts, `(?i)`),
    /// each scanned gated and ungated over random texts made of the same pieces: the matches
    /// must be the same. A wrong neighbour set loses matches here.
    @Test func gatedAndUngatedRegexesFindTheSameMatches() throws {
        var rng = SplitMix(seed: 0x5EED_1234)
        let words = ["nc", "ncat", "cat", "sh", "bash", "rm", "id", "ab", "abc", "bc", "省", "市", "路", "号", "k"]
        let singles = ["a", "b", "c", ";", "|", " ", "-", "'", "_", "1", "中"]
        let classes = [
            "[;|&]", #"\s"#, #"\w"#, #"\W"#, #"\d"#, #"\D"#, "[^a-c]", "[a-c]", "[一-龥]", ".", #"\S"#, "[a-c;]",
        ]
        func word() -> String { words[rng.below(words.count)] }
        func atom(_ depth: Int) -> String {
            switch rng.below(10) {
            case 0, 1: return word()
            case 2: return singles[rng.below(singles.count)]
            case 3: return classes[rng.below(classes.count)]
            case 4: return #"\b"#
            case 5 where depth < 2:
                let n = 2 + rng.below(3)
                return "(?:" + (0..<n).map { _ in sequence(depth + 1) }.joined(separator: "|") + ")"
            case 6 where depth < 2: return "(?:" + sequence(depth + 1) + ")"
            case 7: return "(?:" + (0..<(2 + rng.below(3))).map { _ in word() }.joined(separator: "|") + ")"
            default: return word()
            }
        }
        func quantified(_ depth: Int) -> String {
            let a = atom(depth)
            guard a != #"\b"# else { return a }
            switch rng.below(8) {
            case 0: return a + "?"
            case 1: return a + "*"
            case 2: return a + "+"
            case 3: return a + "{1,3}"
            case 4: return a + "{2}"
            default: return a
            }
        }
        func sequence(_ depth: Int) -> String { (0..<(1 + rng.below(4))).map { _ in quantified(depth) }.joined() }
        let pieces = words + singles + ["X", "AB", "NC", "\n", "o", "路", "  "]
        var constrained = 0
        var followed = 0
        var matchedTexts = 0
        for round in 0..<300 {
            var pattern = sequence(0)
            var shape: (String, String)? = nil
            // A literal, a bounded stretch and another literal: the shape a follower is read from.
            if rng.below(3) == 0 {
                let bounds = ["{1,3}", "{2}", "?", "{0,4}", ""][rng.below(5)]
                let strong = ["省", "路", "号", "ncat", "bash"][rng.below(5)]
                let weak = ["ab", "id", "k", "sh", "市", "cat"][rng.below(6)]
                pattern = strong + classes[rng.below(classes.count)] + bounds + weak + sequence(1)
                shape = (strong, weak)
            }
            if rng.below(4) == 0 { pattern = "(?i)" + pattern }
            if rng.below(5) == 0 { pattern += "|" + sequence(0) }
            // PCRE2 rejects some (a repeated \b): not the analysis's concern.
            guard let (p, a, b) = try gatedAndUngated(pattern) else { continue }
            if p.literalNeighbours != nil || p.secondNeighbours != nil { constrained += 1 }
            if p.literalFollower != nil { followed += 1 }
            for _ in 0..<40 {
                var text = (0..<(2 + rng.below(12))).map { _ in pieces[rng.below(pieces.count)] }.joined()
                // Half the texts of a shaped pattern hold its two literals a few characters apart.
                if let (strong, weak) = shape, rng.below(2) == 0 {
                    let between = (0..<rng.below(6)).map { _ in singles[rng.below(singles.count)] }.joined()
                    text = pieces[rng.below(pieces.count)] + strong + between + weak + text
                }
                a.scan(text)
                b.scan(text)
                let found = (0..<a.matches.count).map { [a.matches[$0].start, a.matches[$0].end] }
                let expected = (0..<b.matches.count).map { [b.matches[$0].start, b.matches[$0].end] }
                if !expected.isEmpty { matchedTexts += 1 }
                #expect(found == expected, "round \(round): /\(pattern)/ on \(text.debugDescription)")
            }
        }
        // The test means something only if the analysis constrained many patterns that matched.
        #expect(constrained > 60, "constrained \(constrained)")
        #expect(followed > 20, "followed \(followed)")
        #expect(matchedTexts > 1000, "matched \(matchedTexts)")
    }
}

/// A small seeded generator, so a failure repeats.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
