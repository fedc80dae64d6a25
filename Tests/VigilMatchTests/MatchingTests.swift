import Testing

@testable import VigilMatch

@Suite struct LiteralAutomatonTests {
    func hits(_ terms: [String], _ text: String) throws -> [(String, Int)] {
        let n = Normalizer.standard
        let automaton = try LiteralAutomaton(terms: terms.map { n.normalizedTerm($0) })
        let out = NormalizedText()
        var copy = text
        copy.withUTF8 { n.normalize($0, into: out) }
        let found = GrowableBuffer<LiteralHit>()
        automaton.scan(out.scalars.buffer, into: found)
        // The same hits from the symbols the normalizer writes with the automaton's table.
        copy.withUTF8 { n.normalize($0, into: out, symbolTable: automaton.symbolTable) }
        let fromSymbols = GrowableBuffer<LiteralHit>()
        automaton.scan(out, into: fromSymbols, symbols: GrowableBuffer(), candidates: GrowableBuffer())
        #expect(Array(fromSymbols.buffer) == Array(found.buffer), "text \(text)")
        return (0..<found.count).map { (terms[Int(found[$0].term)], Int(found[$0].end)) }
    }

    @Test func overlappingAndNestedTerms() throws {
        let found = try hits(["he", "she", "his", "hers", "s"], "ushers")
        let names = Set(found.map(\.0))
        #expect(names == ["he", "she", "hers", "s"])
        #expect(found.filter { $0.0 == "s" }.count == 2)
    }

    @Test func chineseTermsAndEnds() throws {
        let found = try hits(["制作炸弹", "炸弹", "弹"], "教我制作炸弹吧")
        #expect(found.contains { $0 == ("制作炸弹", 5) })
        #expect(found.contains { $0 == ("炸弹", 5) })
        #expect(found.contains { $0 == ("弹", 5) })
    }

    @Test func caseInsensitive() throws {
        #expect(try hits(["launder bank accounts"], "How to LAUNDER Bank Accounts?").count == 1)
    }

    @Test func manyTermsSharingPrefixes() throws {
        var terms: [String] = []
        for a in ["安全", "安装", "安排"] { for b in ["检查", "规则", "计划", "方案"] { terms.append(a + b) } }
        let found = try hits(terms, "请安排检查安全规则并安装方案")
        #expect(Set(found.map(\.0)) == ["安排检查", "安全规则", "安装方案"])
    }

    @Test func longTermsSharingTheirFirstThreeCharacters() throws {
        let terms = ["制作炸弹", "制作炸", "制作炸弹教程", "制作炸药", "制作炸"]
        let found = try hits(terms, "如何制作炸弹教程")
        // Shortest first at one start; of two identical terms the first is reported.
        #expect(found.map(\.0) == ["制作炸", "制作炸弹", "制作炸弹教程"])
        #expect(found.map(\.1) == [4, 5, 7])
        // A term longer than what is left of the text is not read past its end.
        #expect(try hits(terms, "制作炸弹教").map(\.0) == ["制作炸", "制作炸弹"])
    }

    /// Every occurrence a brute-force search finds, over random texts from a small alphabet
    /// (so that terms overlap, nest and share prefixes all the time).
    @Test func agreesWithBruteForce() throws {
        let alphabet = Array("甲乙丙丁ab")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            var terms: [String] = []
            for _ in 0..<40 {
                terms.append(
                    String((0..<Int.random(in: 1...6, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }))
            }
            let text = String((0..<200).map { _ in alphabet.randomElement(using: &rng)! })
            let chars = Array(text)
            var expected: [String: Int] = [:]
            for term in Set(terms) {
                let t = Array(term)
                for start in 0...(chars.count - t.count) where Array(chars[start..<start + t.count]) == t {
                    expected[term, default: 0] += 1
                }
            }
            var counted: [String: Int] = [:]
            for (term, _) in try hits(terms, text) { counted[term, default: 0] += 1 }
            #expect(counted == expected, "terms \(terms) text \(text)")
        }
    }

    /// A bucket of more than eight terms with the same first three characters is split by the
    /// fourth: hits still come out complete, by start and then shortest first.
    @Test func crowdedPrefixesAgreeWithBruteForce() throws {
        let alphabet = Array("甲乙ab")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            var terms = ["for", "fo"]
            for _ in 0..<30 {
                let tail = (0..<Int.random(in: 0...4, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
                terms.append("for" + String(tail))
            }
            var text = ""
            while text.count < 200 {
                text +=
                    Bool.random(using: &rng)
                    ? terms.randomElement(using: &rng)! : String(alphabet.randomElement(using: &rng)!)
            }
            let chars = Array(text)
            var expected: [(String, Int)] = []
            for start in chars.indices {
                var atStart: [(String, Int)] = []
                for term in Set(terms) {
                    let t = Array(term)
                    if start + t.count <= chars.count, Array(chars[start..<start + t.count]) == t {
                        atStart.append((term, start + t.count - 1))
                    }
                }
                expected += atStart.sorted { $0.1 < $1.1 }
            }
            let found = try hits(terms, text)
            #expect(found.map(\.0) == expected.map(\.0), "terms \(terms) text \(text)")
            #expect(found.map(\.1) == expected.map(\.1))
        }
    }

    @Test func charactersBeyondTheBMP() throws {
        // A term with such a character makes the automaton look its symbol up itself.
        #expect(try hits(["𠀀𠀁", "炸弹"], "炸弹 𠀀𠀁 😀").map(\.0) == ["炸弹", "𠀀𠀁"])
        #expect(try hits(["炸弹"], "😀炸弹😀").map(\.0) == ["炸弹"])
    }

    @Test func noTermsNoHits() throws {
        #expect(try hits(["不存在的词"], "完全无关的文本 unrelated text").isEmpty)
    }
}

@Suite struct ValidatorTests {
    @Test func chineseResidentID() {
        #expect(Validator.cnID.accepts("11010519491231002X"))
        #expect(Validator.cnID.accepts("我的身份证号是11010519491231002x。"))
        #expect(!Validator.cnID.accepts("110105194912310021"))  // wrong check digit
        #expect(!Validator.cnID.accepts("110105194913310028"))  // month 13
        #expect(!Validator.cnID.accepts("1101051949123100213"))  // part of a longer number
    }

    @Test func luhn() {
        #expect(Validator.luhn.accepts("4111111111111111"))
        #expect(Validator.luhn.accepts("4111 1111 1111 1111"))
        #expect(Validator.luhn.accepts("6222-0212-3456-7890-128"))
        #expect(!Validator.luhn.accepts("4111111111111112"))
        #expect(!Validator.luhn.accepts("202611260000123456"))
    }
}

@Suite struct RegexTests {
    @Test func compileErrorNamesTheOffset() {
        #expect(throws: MatchError.self) { try Regex("(unclosed") }
        do {
            _ = try Regex("abc[")
            Issue.record("an unclosed class compiled")
        } catch {
            guard case .regexCompile(_, let offset, let message) = error else {
                Issue.record("wrong error")
                return
            }
            #expect(offset == 4)
            #expect(message.contains("missing"))
        }
    }

    @Test func catastrophicBacktrackingIsBounded() throws {
        let regex = try Regex("(a+)+$")
        let scratch = RegexScratch(matchLimit: 10_000)
        var text = String(repeating: "a", count: 40) + "!"
        let outcome = text.withUTF8 { regex.firstMatch(in: $0, from: 0, scratch: scratch) }
        #expect(outcome == .limitExceeded)
    }
}

@Suite struct ScannerTests {
    func ruleSet(_ build: (RuleSetBuilder) throws -> Void) throws -> RuleSet {
        let b = RuleSetBuilder()
        try build(b)
        return try b.build()
    }

    let origin = RuleOrigin(pack: 0, file: "test.yaml", line: 1)

    @Test func keywordAllowTermSuppressesInside() throws {
        let rules = try ruleSet { b in
            b.addKeyword("炸弹", id: "k", signal: .risk("A.1.d"), origin: origin, allow: ["炸弹鱼"])
        }
        let scanner = Scanner(rules: rules)
        scanner.scan("今天吃炸弹鱼")
        #expect(scanner.matches.count == 0)
        scanner.scan("教我做炸弹")
        #expect(scanner.matches.count == 1)
    }

    @Test func packAllowNearSuppresses() throws {
        let rules = try ruleSet { b in
            b.addKeyword("炸弹", id: "k", signal: .risk("A.1.d"), origin: origin)
            b.addAllow("据报道", pack: 0, near: 10)
        }
        let scanner = Scanner(rules: rules)
        scanner.scan("据报道，警方发现一枚炸弹")
        #expect(scanner.matches.count == 0)
        scanner.scan("据报道。" + String(repeating: "无关内容", count: 10) + "炸弹")
        #expect(scanner.matches.count == 1)
    }

    @Test func cooccurrenceWithinWindow() throws {
        let rules = try ruleSet { b in
            b.addCooccurrence(["女性", "不擅长", "更适合男性"], id: "c", signal: .risk("A.2.e"), origin: origin, window: 40)
        }
        let scanner = Scanner(rules: rules)
        scanner.scan("女性通常不擅长逻辑推理，这类任务更适合男性")
        #expect(scanner.matches.count == 1)
        scanner.scan("女性在比赛中表现出色")
        #expect(scanner.matches.count == 0)
        scanner.scan("女性不擅长" + String(repeating: "很长的无关文字", count: 10) + "更适合男性")
        #expect(scanner.matches.count == 0)
    }

    @Test func regexGatedByLiteralAndValidated() throws {
        let rules = try ruleSet { b in
            _ = try b.addRegex("[0-9]{17}[0-9Xx]", id: "id", signal: .pii("cn_id"), origin: origin, validator: .cnID)
        }
        let scanner = Scanner(rules: rules)
        scanner.scan("号码 110105194912310021 和 11010519491231002X")
        #expect(scanner.matches.count == 1)
        let runs = scanner.counters.regexRuns
        scanner.scan("没有数字")
        #expect(scanner.counters.regexRuns == runs)  // no long digit run: the regex is not run
    }

    /// A regex gated by a digit run alone is searched only near the text's long digit runs:
    /// matches that start before the run, several runs in one text, a run too short to count.
    @Test func digitGatedRegexIsSearchedNearItsDigitRuns() throws {
        let rules = try ruleSet { b in
            _ = try b.addRegex("[a-z]{3}-[0-9]{6}", id: "tag", signal: .pii("other"), origin: origin)
        }
        #expect(rules.regexes[0].prefilter.literals == nil && rules.regexDigitRunReach[0] == 10)
        let scanner = Scanner(rules: rules)
        let filler = String(repeating: "很长的前文内容", count: 30)
        // The match starts four characters before its digits.
        scanner.scan(filler + "编号abc-123456。")
        #expect(scanner.matches.buffer.map(\.start) == [Int32(filler.unicodeScalars.count + 2)])
        // Of three runs far apart, the first has no match around it, the second is too short
        // to count, and the match is at the third (a rule without a validator reports one).
        let before = "xyz+654321" + filler + "，kfc-123，" + filler
        scanner.scan(before + "pqr-000111")
        #expect(scanner.matches.buffer.map(\.start) == [Int32(before.unicodeScalars.count)])
        // A match that starts inside a longer run of letters, right after another run.
        let lead = "1234567，" + filler + "，"
        scanner.scan(lead + "abc-1234567")
        #expect(scanner.matches.buffer.map(\.start) == [Int32(lead.unicodeScalars.count)])
        // Hand-given digits as literals are dropped beside the digit gate, and with them the
        // whole-text search they asked for.
        let handGiven = try ruleSet { b in
            _ = try b.addRegex(
                "[a-z]{3}-[0-9]{6}", id: "tag", signal: .pii("other"), origin: origin,
                literals: (0...9).map(String.init))
        }
        #expect(handGiven.regexes[0].prefilter.literals == nil && handGiven.regexDigitRunReach[0] == 10)
        let again = Scanner(rules: handGiven)
        again.scan(filler + "编号abc-123456。")
        #expect(again.matches.buffer.map(\.start) == [Int32(filler.unicodeScalars.count + 2)])
    }

    @Test func boundedRegexStillMatchesBeforeItsLiteral() throws {
        let rules = try ruleSet { b in
            _ = try b.addRegex("[一-龥]{2,8}路[0-9]{1,4}号", id: "road", signal: .pii("address"), origin: origin)
        }
        let scanner = Scanner(rules: rules)
        let filler = String(repeating: "很长的前文内容", count: 30)
        scanner.scan(filler + "家住人民路12号")
        #expect(scanner.matches.count == 1)
        scanner.scan("人民路12号和建设路3号" + filler)
        #expect(scanner.matches.count == 1)
    }

    /// A bounded card-number rule with derived literals and a validator.
    func cardRules() throws -> RuleSet {
        try ruleSet { b in
            _ = try b.addRegex(
                "(?:卡号|账号)[:：]?[0-9]{16}", id: "card", signal: .pii("bank_card"), origin: origin, validator: .luhn)
        }
    }

    @Test func aMatchIsFoundBeforeTheLastGatingLiteralAndNoneAfterIt() throws {
        let scanner = Scanner(rules: try cardRules())
        // The first number fails Luhn; the one after the second literal passes and is found.
        scanner.scan("卡号4111111111111112，另一个账号4111111111111111")
        #expect(scanner.matches.count == 1)
        #expect(
            scanner.matches.count == 1 && Int(scanner.matches[0].start) == "卡号4111111111111112，另一个".unicodeScalars.count
        )
        // A long text after the last literal holds no start to look for.
        scanner.scan("卡号4111111111111111" + String(repeating: "后文", count: 200))
        #expect(scanner.matches.count == 1)
    }

    @Test func matchesNearEveryOccurrenceOfTheLiteralAreFound() throws {
        let scanner = Scanner(rules: try cardRules())
        // Only the stretches just before each literal are searched; the gaps between hold no start.
        let gap = String(repeating: "中间的文字", count: 40)
        scanner.scan("卡号4111111111111112" + gap + "账号4111111111111111" + gap + "卡号5500000000000004")
        #expect(scanner.matches.count == 2)
        #expect(Int(scanner.matches[0].start) == ("卡号4111111111111112" + gap).unicodeScalars.count)
        // Occurrences closer than a match's length share one stretch; every match is still found.
        scanner.scan("卡号4111111111111111账号5500000000000004")
        #expect(scanner.matches.count == 2)
    }

    /// Conditional groups, `(?(DEFINE)…)`, subroutine calls and named back-references: each
    /// regex's gate and stretches must still let every match through (the analyser once read a
    /// conditional's "no" branch as outside the group, and a call as matching nothing).
    @Test func unusualGroupsNeverHideAMatch() throws {
        let cases = [
            ("(?:(q)|w)(?(1)zzabc|zzdef)", "hello wzzdef there"),
            ("(?:(k)|m)(?(?=kx)kxyy|mmtt)", "x mmmtt y"),
            ("(?(DEFINE)(?<d>uuvv))qqww(?&d)?", "x qqww y"),
            ("(?<n>aa[0-9])(?P=n)bb", "zz aa1aa1bb zz"),
            ("(ab[0-9])(?1)cc", "zz ab1ab2cc zz"),
        ]
        for (pattern, text) in cases {
            #expect(try matchCount(pattern, text) == 1, "\(pattern) on \(text)")
        }
    }

    /// Syntax whose reading decides which literals a gate requires and how far a stretch
    /// reaches: named star groups, quotes, callout strings, extended mode, escapes with
    /// arguments, class escapes and ranges, case folds beyond lowercase, and (*ACCEPT). Each
    /// regex matches its text in PCRE2, so the scanner must find it.
    @Test func unusualSyntaxNeverHidesAMatch() throws {
        let cases = [
            ("(*atomic:[a-z]{2,20})@@q", "hi abcdef@@q"),
            ("(*sr:[a-z]{2,9})##w", "x abcd##w"),
            ("\\Qxy\\E{2}zq", "a xyyzq b"),
            ("x(?C\"a:b\")yq", "zz xyq"),
            ("(?x) qq rr  # the name\n ss", "a qqrrss b"),
            ("(?x:aa bb)cc dd", "aabbcc dd"),
            ("(?'nm'ab)cd\\k'nm'", "zz abcdab"),
            ("(?<nm>ab)cd\\k<nm>\\g{1}", "zz abcdabab"),
            ("qq[a-\\x{7a}]77", "qqz77"),
            ("(?i)λόγοσ", "ΟΛΟΓΟΣ λόγος"),
            ("zz(*ACCEPT)qqxx", "a zz b"),
        ]
        for (pattern, text) in cases {
            #expect(try matchCount(pattern, text) == 1, "\(pattern) on \(text)")
        }
    }

    /// `\G` and `(*SKIP)` match differently when a search starts mid-text, so such regexes are
    /// searched from the start: what they find is what PCRE2 finds in the whole text.
    @Test func patternsThatDependOnTheSearchStartAreSearchedWhole() throws {
        let cases = [
            ("\\Gxx[0-9]{5}", "zz xx12345", 0),
            ("\\Gxx[0-9]{5}", "xx12345 zz", 1),
            ("[a-z]{1,3}(*SKIP)q@@", "xyzabq@@", 0),
            ("[a-z]{1,3}(*SKIP)q@@", "xyzq@@", 1),
        ]
        for (pattern, text, expected) in cases {
            #expect(try matchCount(pattern, text) == expected, "\(pattern) on \(text)")
        }
    }

    /// Braces after an atom are read as the linked PCRE2 reads them: `{,3}` and `{ 2 }` are
    /// repetitions from 10.43 on and literal text before. Each text is written for one reading;
    /// whichever PCRE2 runs here, the scanner finds what it finds.
    @Test func countedRepetitionsReadAsPCRE2ReadsThem() throws {
        let cases = [
            ("qq7{,3}zz@@", ["a qqzz@@ b", "a qq77zz@@ b", "a qq7{,3}zz@@ b"]),
            ("ab{ 2 }cd##", ["abbcd##", "ab{ 2 }cd##"]),
            ("xy{2 , 4}w%%", ["xyyyw%%", "xy{2 , 4}w%%"]),
            ("xy{,}w&&", ["xy{,}w&&"]),
        ]
        for (pattern, texts) in cases {
            let regex = try Regex(pattern)
            #expect(texts.contains { regex.matches($0) }, "\(pattern) matches none of its texts")
            for text in texts {
                #expect(try matchCount(pattern, text) == (regex.matches(text) ? 1 : 0), "\(pattern) on \(text)")
            }
        }
    }

    /// Both readings of braces, whichever PCRE2 this test runs with: a gate never asks for the
    /// braces' text where they repeat, nor loses it where they are text.
    @Test func eachBraceReadingGivesItsOwnGate() {
        let modern = RegexPrefilter.derive(from: "qq7{,3}zz@@", braces: .perl534)
        #expect(modern.literals?.contains { $0.contains("{") } == false, "\(modern)")
        let spaced = RegexPrefilter.derive(from: "abc{ 2 }de##", braces: .perl534)
        #expect(spaced.literals?.contains { $0.contains("{") } == false, "\(spaced)")
        #expect(spaced.maxMatchLength == 8)
        let classic = RegexPrefilter.derive(from: "qq7{,3}zz@@", braces: .classic)
        #expect(classic.maxMatchLength == 11)
        #expect(RegexPrefilter.derive(from: "abc{ 2 }de##", braces: .classic).maxMatchLength == 12)
        // `{,}` is text in both.
        #expect(RegexPrefilter.derive(from: "xy{,}w&&", braces: .perl534).maxMatchLength == 8)
    }

    /// How many matches a rule set of the one regex finds in `text`.
    func matchCount(_ pattern: String, _ text: String) throws -> Int {
        let rules = try ruleSet { b in
            _ = try b.addRegex(pattern, id: "r", signal: .attack("test"), origin: origin)
        }
        let scanner = Scanner(rules: rules)
        scanner.scan(text)
        return scanner.matches.count
    }

    @Test func aStretchReachesAsFarBackAsTheLiteralsLead() throws {
        let rules = try ruleSet { b in
            _ = try b.addRegex("[a-z]{2,5}@@[0-9]+", id: "tag", signal: .pii("other"), origin: origin)
        }
        let scanner = Scanner(rules: rules)
        // The match starts five letters before "@@" (its lead), not two: the leftmost start.
        scanner.scan("12: abcde@@12345 end")
        #expect(scanner.matches.count == 1)
        #expect(scanner.matches.count == 1 && Int(scanner.matches[0].start) == 4)
    }

    @Test func aRuleWithoutValidatorStopsAtItsFirstMatchWhateverTheStretches() throws {
        let rules = try ruleSet { b in
            _ = try b.addRegex("[一-龥]{2,8}路[0-9]{1,4}号", id: "road", signal: .pii("address"), origin: origin)
        }
        let scanner = Scanner(rules: rules)
        // Two addresses in one stretch, and a third literal far away: one match, as ever.
        scanner.scan("人民路12号建设路3号" + String(repeating: "很长的中间内容", count: 30) + "文化路8号")
        #expect(scanner.matches.count == 1)
    }

    @Test func aHandGivenLiteralMayStandBeforeTheMatch() throws {
        let rules = try ruleSet { b in
            _ = try b.addRegex("[0-9]{6}", id: "code", signal: .pii("other"), origin: origin, literals: ["验证码"])
        }
        let scanner = Scanner(rules: rules)
        // The literal is context: the match starts after it, and is still found.
        scanner.scan("您的验证码是 123456，请勿告诉他人")
        #expect(scanner.matches.count == 1)
        // Context may also come well after the match.
        scanner.scan("123456 就是您这次登录要用的验证码")
        #expect(scanner.matches.count == 1)
    }

    @Test func singleLetterLiteralsGiveWayToTheDigitRunGate() throws {
        let builder = RuleSetBuilder()
        let prefilter = try builder.addRegex(
            "(?<![A-Za-z0-9])[EG][0-9]{8}(?![0-9])", id: "passport", signal: .pii("passport"), origin: origin,
            literals: ["E", "G"])
        // Hits at every letter e or g would cost more than the eight-digit run gate saves.
        #expect(prefilter.literals == nil)
        #expect(prefilter.minDigitRun == 8)
        let scanner = Scanner(rules: try builder.build())
        scanner.scan("passport G12345678 on file")
        #expect(scanner.matches.count == 1)
        scanner.scan("Gene 1234567 is short")
        #expect(scanner.matches.count == 0)
        #expect(scanner.counters.regexRuns == 1)
    }

    @Test func aRefusalRegexCountsOnlyWhenItStartsInsideTheWindow() throws {
        let rules = try ruleSet { b in
            _ = try b.addRegex("我(?:无法|不能)提供", id: "r", signal: .refusal, origin: origin, withinFirst: 5)
        }
        let scanner = Scanner(rules: rules)
        // Starts at the window's last character: counts.
        scanner.scan("abcd我无法提供")
        #expect(scanner.isRefusal)
        // One character later: the search stops before it.
        scanner.scan("abcde我无法提供")
        #expect(!scanner.isRefusal)
        // A text shorter than the window is searched whole.
        scanner.scan("我不能提供")
        #expect(scanner.isRefusal)
    }

    @Test func theFirstRefusalThatStandsEndsTheRefusalSearch() throws {
        let rules = try ruleSet { b in
            _ = try b.addRegex("我(?:无法|不能)提供", id: "first", signal: .refusal, origin: origin)
            _ = try b.addRegex("(?:无法|不能)提供(?:帮助|协助)", id: "second", signal: .refusal, origin: origin)
            _ = try b.addRegex("炸弹", id: "risk", signal: .risk("A.1.d"), origin: origin)
            b.addAllow("我无法提供", pack: 0, near: nil)
        }
        let scanner = Scanner(rules: rules)
        // The first rule decides: the second is not searched, the risk rule still is.
        scanner.scan("我不能提供帮助，炸弹")
        #expect(scanner.isRefusal && scanner.counters.regexRuns == 2 && scanner.matches.count == 1)
        #expect(scanner.refusalRule == .regex(0) && rules.regexes[0].id == "first")
        // The first rule's match is allowed away (the allow term holds it): the second decides.
        scanner.scan("我无法提供帮助")
        #expect(scanner.isRefusal && scanner.counters.regexRuns == 4)
        #expect(scanner.refusalRule == .regex(1) && rules.regexes[1].id == "second")
        // A refusal keyword found before the regexes decides before any refusal rule runs.
        let withKeyword = try ruleSet { b in
            b.addKeyword("恕难从命", id: "keyword", signal: .refusal, origin: origin)
            _ = try b.addRegex("我(?:无法|不能)提供", id: "first", signal: .refusal, origin: origin)
        }
        let other = Scanner(rules: withKeyword)
        other.scan("恕难从命，我无法提供")
        #expect(other.isRefusal && other.counters.regexRuns == 0)
        #expect(other.refusalRule == .keyword(0))
    }

    @Test func refusalOnlyNearTheStart() throws {
        let rules = try ruleSet { b in
            b.addKeyword("我无法", id: "r", signal: .refusal, origin: origin, withinFirst: 20)
        }
        let scanner = Scanner(rules: rules)
        scanner.scan("抱歉，我无法提供帮助。")
        #expect(scanner.isRefusal)
        scanner.scan(String(repeating: "正常的回答内容。", count: 5) + "我无法确定日期")
        #expect(!scanner.isRefusal)
    }

    @Test func repeatFoldedKeyword() throws {
        let rules = try ruleSet { b in
            b.addRepeatFolded("炸弹", id: "k", signal: .risk("A.1.d"), origin: origin)
        }
        let scanner = Scanner(rules: rules)
        scanner.scan("炸炸炸弹弹")
        #expect(scanner.matches.count == 1)
    }

    @Test func topics() throws {
        let rules = try ruleSet { b in
            b.addTopic(id: "drug-x", keywords: ["药物X", "X药物"], minKeywords: 1, origin: origin)
        }
        let scanner = Scanner(rules: rules)
        scanner.scan("药物x的副作用")
        #expect(scanner.topics.count == 1)
        scanner.scan("普通药物")
        #expect(scanner.topics.count == 0)
    }
}
