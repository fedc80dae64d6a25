/// A pattern that opens with an optional group ending in `(*SKIP)(*F)`: the group never
/// matches, it only moves the search past spans that must not count (the refusal pack steps over
/// quoted text this way). Such a group defeats PCRE2's start-of-match optimizations, so the search
/// tries every position. Where the group cannot match (none of its `guards` occurs in the text)
/// the pattern without it finds exactly the same matches, much sooner.
struct SkipGroup {
    /// The pattern without the group (its leading flags kept).
    let rest: String
    /// One of these occurs wherever the group can match.
    let guards: [String]

    /// Splits `pattern` (already folded like text), or nil when it does not open with such a group
    /// or the group's necessary literals are unknown.
    static func split(_ pattern: String) -> SkipGroup? {
        let s = Array(pattern.unicodeScalars)
        var i = 0
        // Leading flags such as (?i) stay with the rest.
        if s.count > 3, s[0] == "(", s[1] == "?", s[2] != ":" {
            var j = 2
            while j < s.count, s[j].properties.isAlphabetic || s[j] == "-" { j += 1 }
            guard j < s.count, s[j] == ")", j > 2 else { return nil }
            i = j + 1
        }
        let flags = String(String.UnicodeScalarView(s[0..<i]))
        // The group's body is read on its own, so it must read the same without the flags.
        guard !flags.contains("x") else { return nil }
        guard s.count > i + 3, s[i] == "(", s[i + 1] == "?", s[i + 2] == ":" else { return nil }
        guard let close = closingParenthesis(s, from: i) else { return nil }
        guard close + 1 < s.count, s[close + 1] == "?" else { return nil }
        let inner = String(String.UnicodeScalarView(s[(i + 3)..<close]))
        guard let verbs = ["(*SKIP)(*F)", "(*SKIP)(*FAIL)"].first(where: inner.hasSuffix) else { return nil }
        let body = Array(inner.dropLast(verbs.count).unicodeScalars)
        var parser = PatternParser(body)
        let node = parser.parseAlternation()
        // A group that captures would renumber the rest's groups once removed; one that holds a
        // skip group of its own (or another verb that ends or moves the search) can act without
        // its guards.
        guard parser.i == body.count, !parser.endsEarly, parser.captures == 0, !parser.controlVerbs,
            let required = node.info.required,
            !required.isEmpty, !required.contains(where: \.isEmpty)
        else { return nil }
        let rest = flags + String(String.UnicodeScalarView(s[(close + 2)...]))
        return SkipGroup(rest: rest, guards: required.map(literalString))
    }

    /// The index of the parenthesis that closes the `(?:` at `open`, read as PCRE2 reads it
    /// (escapes, classes, quotes, comments, verbs' names), or nil when nothing closes it.
    private static func closingParenthesis(_ s: [Unicode.Scalar], from open: Int) -> Int? {
        var parser = PatternParser(s)
        parser.i = open + 3
        _ = parser.parseAlternation()
        guard !parser.quoting, parser.i < s.count, s[parser.i] == ")" else { return nil }
        return parser.i
    }
}
