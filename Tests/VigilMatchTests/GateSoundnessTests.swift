import Testing

@testable import VigilMatch

/// Patterns that an earlier reading of PCRE2's syntax got wrong, each with a text PCRE2 matches:
/// the gated rule must find what the rule without any gate finds. Wrapped as `(?:P|(*F)\R)`, a
/// pattern matches the same texts but gets no gate at all (digit and letter runs included).
@Suite struct GateSoundnessTests {
    let origin = RuleOrigin(pack: 0, file: "test.yaml", line: 1)

    /// `verbs`: start-of-pattern verbs, which must stay in front of the wrapper.
    func found(_ pattern: String, in text: String, verbs: String = "") throws -> (gated: Int, ungated: Int) {
        let gated = RuleSetBuilder()
        _ = try gated.addRegex(verbs + pattern, id: "g", signal: .attack("xss"), origin: origin)
        let ungated = RuleSetBuilder()
        _ = try ungated.addRegex(
            "\(verbs)(?:\(pattern)|(*F)\\R)", id: "u", signal: .attack("xss"), origin: origin, literals: [])
        let a = Scanner(rules: try gated.build())
        let b = Scanner(rules: try ungated.build())
        a.scan(text)
        b.scan(text)
        return (a.matches.count, b.matches.count)
    }

    @Test(arguments: [
        // Follower literals that normalization changes (ſ and µ fold to s and μ in the text).
        (#"(?i)secret.\x{17f}"#, "secret-s"),
        (#"(?i)secret.\x{b5}"#, "secret-μ"),
        // \C is one byte: two of them may be one character.
        (#"secret\C\C-"#, "secreté-"),
        // A condition without a "no" branch may match nothing.
        (#"(y)?z(?(1)abcdef)"#, "z"),
        (#"(?:(q)|w)secret(?(1)=value)"#, "wsecret"),
        // A quantifier after a comment or a lone \E repeats the atom before it.
        (#"foo(?#c)?bar"#, "fobar"),
        (#"secret(?#c){0}-x"#, "secre-x"),
        (#"abc\E+de"#, "abcccde"),
        // PCRE2's word-boundary classes match no character.
        (#"secret[[:>:]]..z"#, "secret-.z"),
        // `[:` opens a POSIX class only when `:]` comes before any `]`.
        (#"[[:a]-:]xyz]secret"#, "a-:]xyz]secret"),
        // A skip group that captures would renumber the rest's groups.
        (#"(?:(x)y(*SKIP)(*F))?(secret)(?(1)b|)z"#, "secretz"),
        // \c] in a class is a control character, not the class's end.
        (#"[\c]]secret"#, "\u{1D}secret"),
        (#"secret[\c]]x"#, "secret\u{1D}x"),
        // \N{3} is \N three times.
        (#"\N{3}secret"#, "abcsecret"),
        (#"secret\N{3,5}=v"#, "secretabcde=v"),
        // A condition may be a named lookaround holding groups.
        (#"qq(?(*pla:(a))ab|cd)"#, "qqcd"),
        // \N takes an argument only in braces: `\N<` is \N and a "<".
        (#"(?:secret\N<)?ab"#, "ab"),
        (#"(?:secret\N')?ab"#, "ab"),
    ])
    func aMisreadPatternStillMatches(pattern: String, text: String) throws {
        let (gated, ungated) = try found(pattern, in: text)
        #expect(ungated >= 1, "PCRE2 should match /\(pattern)/ on \(text.debugDescription)")
        #expect(gated == ungated, "/\(pattern)/ on \(text.debugDescription)")
    }

    /// A skip group holding a skip group of its own can act without its guards: the pattern
    /// without it would match where PCRE2 does not.
    @Test func aSkipGroupWithinASkipGroupStaysInPlace() throws {
        let (gated, ungated) = try found(#"(?:(?:ab(*SKIP)(*F))?secret(*SKIP)(*F))?ab"#, in: "ab")
        #expect(ungated == 0 && gated == 0)
    }

    /// `literals: []` runs a rule on every text: no digit or letter-run gate is derived for it
    /// either, so an operator can take a rule out of the analysis altogether.
    @Test func emptyLiteralsRunTheRuleOnEveryText() throws {
        let b = RuleSetBuilder()
        let p = try b.addRegex("[0-9]{17}x", id: "r", signal: .pii("cn_id"), origin: origin, literals: [])
        #expect(p.runsAlways)
        let scanner = Scanner(rules: try b.build())
        scanner.scan("没有数字")
        #expect(scanner.counters.regexRuns == 1)
    }

    /// Under `(*CR)` an `(?x)` comment ends at a carriage return, not at a line feed.
    @Test func aCommentUnderAnotherNewlineConvention() throws {
        let (gated, ungated) = try found("(?x)xyzzy#\r-?\nqwert", in: "xyzzy-qwert", verbs: "(*CR)")
        #expect(ungated == 1 && gated == 1)
    }
}
