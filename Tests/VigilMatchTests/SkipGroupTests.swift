import Testing

@testable import VigilMatch

@Suite struct SkipGroupTests {
    let quoted = #"(?:(?:"[^"\n]{0,200}"|“[^”\n]{0,200}”)(*SKIP)(*F))?"#

    @Test func splitsTheGroupFromTheRest() throws {
        let skip = try #require(SkipGroup.split(quoted + "(?:我无法|我不能)提供"))
        #expect(skip.rest == "(?:我无法|我不能)提供")
        #expect(Set(skip.guards) == ["\"", "“"] || Set(skip.guards) == ["\"", "”"], "got \(skip.guards)")
    }

    @Test func keepsLeadingFlags() throws {
        let skip = try #require(SkipGroup.split("(?i)" + quoted + #"\bI cannot\b"#))
        #expect(skip.rest == #"(?i)\bI cannot\b"#)
    }

    @Test func leavesOtherPatternsAlone() {
        #expect(SkipGroup.split("(?:我无法|我不能)提供") == nil)
        // Not optional, or not ending in the verbs: not a skip group.
        #expect(SkipGroup.split(#"(?:"[^"]{0,9}"(*SKIP)(*F))abc"#) == nil)
        #expect(SkipGroup.split(#"(?:"[^"]{0,9}")?abc"#) == nil)
        // A parenthesis inside a class or escaped does not end the group early.
        let skip = SkipGroup.split(#"(?:(?:\([^)]{0,9}\)|"[)"]{0,9}")(*SKIP)(*F))?abc"#)
        #expect(skip?.rest == "abc")
    }

    /// The group ends where PCRE2 ends it: a parenthesis quoted, in a comment, in a POSIX class
    /// or in a verb's name does not close it, and one the group itself holds does not either.
    @Test func theGroupEndsWherePCRE2EndsIt() {
        let cases = [
            #"(?:\Q)\E"[^"]{0,9}"(*SKIP)(*F))?abc"#,
            #"(?:(?#(x)"[^"]{0,9}"(*SKIP)(*F))?abc"#,
            #"(?:"[[:alpha:])]{0,9}"(*SKIP)(*F))?abc"#,
            #"(?:(*MARK:x)"[^"]{0,9}"(*SKIP)(*F))?abc"#,
        ]
        for pattern in cases {
            #expect(SkipGroup.split(pattern)?.rest == "abc", "\(pattern)")
        }
        // A quote left open runs to the end: nothing closes the group.
        #expect(SkipGroup.split(#"(?:\Q"(*SKIP)(*F))?abc"#) == nil)
    }

    /// Where no quote occurs, the stretches searched around a regex's literal are sized for the
    /// pattern without the group: still long enough for a match that starts far before it.
    @Test func aMatchFarBeforeItsOnlyLiteralIsFound() throws {
        let b = RuleSetBuilder()
        _ = try b.addRegex(
            quoted + "[a-z]{3,40}xyz", id: "r", signal: .attack("test"), origin: RuleOrigin(pack: 0, file: "t", line: 1)
        )
        let scanner = Scanner(rules: try b.build())
        for text in ["abcdefghijklmnopqrstuvwxyz", "\"quoted\" abcdefghijklmnopqrstuvwxyz"] {
            scanner.scan(text)
            let starts = (0..<scanner.matches.count).map { Int(scanner.matches[$0].start) }
            #expect(starts == [text.count - 26], "\(text)")
        }
    }

    @Test func quotedRefusalsStillDoNotCount() throws {
        let b = RuleSetBuilder()
        _ = try b.addRegex(
            quoted + "我(?:无法|不能)提供", id: "r", signal: .refusal, origin: RuleOrigin(pack: 0, file: "t", line: 1))
        let scanner = Scanner(rules: try b.build())
        // No quote anywhere: the pattern without the group decides.
        scanner.scan("抱歉，我无法提供这类内容。")
        #expect(scanner.isRefusal)
        // Quoted: the whole pattern steps over it.
        scanner.scan("他说“我无法提供”是一句常见的客套话。")
        #expect(!scanner.isRefusal)
        scanner.scan("The phrase \"我无法提供\" is common.")
        #expect(!scanner.isRefusal)
        // A quote elsewhere, and a refusal outside it.
        scanner.scan("“你好”。我不能提供这个。")
        #expect(scanner.isRefusal)
    }
}
