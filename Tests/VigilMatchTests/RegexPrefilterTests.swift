import Testing

@testable import VigilMatch

@Suite struct RegexPrefilterTests {
    func derive(_ p: String) -> RegexPrefilter { RegexPrefilter.derive(from: Normalizer.standard.normalizePattern(p)) }

    @Test func plainLiteral() {
        #expect(derive("(?i)javascript\\s*:").literals == ["javascript"])
    }

    @Test func alternationOfPrefixes() {
        let p = derive("我(?:无法|不能|不可以|不会)(?:为你|为您|向你|向您)?(?:提供|协助|帮助|帮你|帮您|回答|满足|生成|完成|参与)")
        #expect(p.literals != nil)
        #expect(p.literals?.allSatisfy { $0.hasPrefix("我") } == true)
    }

    @Test func optionalGroupsDoNotBreakTheChain() {
        let p = derive("(?:不要|别)(?:再)?(?:说|提)(?:你)?(?:是|作为)(?:一个)?(?:AI|人工智能|语言模型)")
        #expect(p.literals != nil, "got \(p)")
    }

    @Test func digitRunGate() {
        let p = derive(
            "(?:^|[^0-9A-Za-z])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?:[^0-9A-Za-z]|$)"
        )
        #expect(p.minDigitRun >= 14)
        #expect(p.literals == nil)
    }

    @Test func alphanumericRunGate() {
        let p = derive(
            "(?:^|[^A-Za-z0-9])(?:0x[a-fA-F0-9]{40}|[13][a-km-zA-HJ-NP-Z1-9]{25,34}|T[A-Za-z1-9]{33})(?:[^A-Za-z0-9]|$)"
        )
        #expect(p.minAlphanumericRun >= 26)
    }

    @Test func classOnlyPatternRunsAlways() {
        #expect(derive("[a-z]+").runsAlways)
    }

    @Test func lookaroundAndBackreferenceAreIgnoredSafely() {
        let p = derive("(?<![0-9])secret(?=:)\\1")
        #expect(p.literals == ["secret"])
    }

    /// Escapes read as one character or as something opaque, never as the letters they are
    /// written with: `[\b]` is a backspace, `\cA` a control character, `\k<name>` and `\N{…}`
    /// carry arguments.
    @Test func escapesAreNotTheirLetters() {
        for (pattern, absent) in [
            ("qz[\\b]wv", "b"), ("qz\\cAwv", "A"), ("qz\\N{U+41}wv", "U+"), ("(?<nm>qz)wv\\k<nm>", "<"),
            ("qzwv\\12345", "2345"), ("qz\\o{101}wv", "101"),
        ] {
            let literals = derive(pattern).literals ?? []
            #expect(!literals.contains { $0.contains(absent) }, "\(pattern): \(literals)")
        }
    }

    @Test func aSearchStartDependentPatternHasNoReach() {
        #expect(derive("\\Gqq[0-9]{3}").reach == nil)
        #expect(derive("[a-z]{1,3}(*SKIP)q@@").reach == nil)
        #expect(derive("[a-z]{1,3}q@@").reach == 3)
        #expect(derive("zz(*ACCEPT)qqxx").runsAlways)
    }

    @Test func maximumMatchLength() {
        #expect(derive("[一-龥]{2,8}(?:路|街|大道|巷)[0-9]{1,4}号(?:院|楼)?").maxMatchLength == 16)
        #expect(derive("abc(?=def)x?").maxMatchLength == 4)
        #expect(derive("ab+c").maxMatchLength == nil)
        #expect(derive("(a)\\1").maxMatchLength == nil)
    }

    @Test func howFarAMatchStartsBeforeItsLiterals() {
        // The literals open the pattern, or follow a bounded part, or an unbounded one.
        #expect(derive("(?:这个问题|这种内容)[^。]{0,4}我不能").maxLiteralLead == 0)
        #expect(derive("[a-z]{2,5}@@[0-9]+").maxLiteralLead == 5)
        #expect(derive("[a-z]{2,5}@@[0-9]+").maxMatchLength == nil)
        #expect(derive("[a-z]+@@").maxLiteralLead == nil)
        // Inside a repetition: the first repetition holds one, from the match's start.
        let repeated = derive("(?:[a-z0-9_]{2}@@){2,3}")
        #expect(repeated.literals == ["@@"] && repeated.maxLiteralLead == 2, "got \(repeated)")
        // A literal dropped for holding a shorter one ("xxxabcd" holds "bc" four characters in):
        // the lead grows by the difference in length, enough for wherever the shorter one sits.
        let p = derive("x{0,3}(?:abcd|bc)")
        #expect(p.literals == ["bc"], "got \(p)")
        #expect((p.maxLiteralLead ?? -1) >= 4)
        #expect(p.reach == p.maxLiteralLead)
    }

    @Test func substringsAreDropped() {
        let set = ["抱歉", "很抱歉", "非常抱歉", "对不起"].map { $0.unicodeScalars.map(\.value) }
        #expect(Set(minimal(set)) == Set(["对不起", "抱歉"].map { $0.unicodeScalars.map(\.value) }))
    }

    @Test func literalSetHoldsEachLiteralOnceAcrossGrowth() {
        var set = LiteralSet()
        let literals = (0..<3000).map { [UInt32($0 % 1000), UInt32($0 % 7)] }
        var added = 0
        for l in literals where set.insert(LiteralKey(l)) { added += 1 }
        // (n % 1000, n % 7) repeats only every 7,000: all 3,000 are distinct.
        #expect(added == 3000)
        let again = set.insert(LiteralKey([5, 5]))
        #expect(!again)
        #expect(set.contains(LiteralKey([999, 5])) && !set.contains(LiteralKey([999, 6])))
        #expect(!set.contains(LiteralKey([])))
        let addedEmpty = set.insert(LiteralKey([]))
        #expect(addedEmpty && set.contains(LiteralKey([])))
        set.removeAll()
        #expect(!set.contains(LiteralKey([5, 5])))
        let afterEmptying = set.insert(LiteralKey([5, 5]))
        #expect(afterEmptying)
    }

    /// An alternation's exact set is the union of its branches' in order, each literal once;
    /// past `maxSetSize` literals it is unknown.
    @Test func alternationUnionKeepsOrderAndGivesUpWhenTooLarge() {
        func exactSet(_ pattern: String) -> [Literal]? {
            var parser = PatternParser(Array(pattern.unicodeScalars))
            return parser.parseAlternation().info.exact
        }
        let exact = exactSet("(?:ab|cd|ab|ef|cd)")
        #expect(exact == [[0x61, 0x62], [0x63, 0x64], [0x65, 0x66]])
        let many = (0..<600).map { "w\($0)x" }
        #expect(exactSet("(?:" + many.joined(separator: "|") + ")")?.count == 600)
        let tooMany = (0..<1100).map { "w\($0)x" }
        #expect(exactSet("(?:" + tooMany.joined(separator: "|") + ")") == nil)
        #expect(exactSet("(?:" + (many + many).joined(separator: "|") + ")")?.count == 600)
    }

    @Test func aSecondSetImpliedByTheFirstIsNotKept() {
        // Every match of "eval(" holds "e" and "(" as well as "eval": gating on them adds
        // automaton hits at every letter e and saves no regex run.
        let p = derive("(?i)\\beval\\s*\\(")
        #expect(p.literals == ["eval"])
        #expect(p.secondLiterals == nil, "got \(p)")
        // Not a lone letter, so only the implication rules it out: 狱 is in every 越狱….
        let q = derive("越狱(?:模式|提示|指令|版本)")
        #expect(q.secondLiterals?.contains("狱") != true, "got \(q)")
        #expect(q.secondLiterals?.contains("越") != true, "got \(q)")
        #expect(RegexPrefilter.implied([[0x65]], by: [Array("eval".unicodeScalars.map(\.value))]))
        #expect(RegexPrefilter.implied([[0x45]], by: [Array("eval".unicodeScalars.map(\.value))]))
        #expect(!RegexPrefilter.implied([[0x78]], by: [Array("eval".unicodeScalars.map(\.value))]))
    }

    @Test func aSecondSetOfSingleLettersIsNotKept() {
        // "I" is in nearly every English text; the rarer first set decides alone.
        // Its only other necessary set is the lone "I", which would otherwise be the second.
        let p = derive("\\bI\\s+(?:cannot|will not)")
        #expect(p.literals.map(Set.init) == ["cannot", "will not"], "got \(p)")
        #expect(p.secondLiterals == nil, "got \(p)")
    }

    /// 市 is in a quarter of Chinese texts, `;` `&` `|` in many: as second sets their hits cost
    /// more than the regex runs they save. The first set gates alone.
    @Test func aCommonSecondSetIsNotKept() {
        let p = derive("[一-龥]{2,6}(?:省|自治区)[一-龥]{2,8}市[一-龥]{2,8}(?:区|县)")
        #expect(p.literals.map(Set.init) == ["省", "自治区"])
        #expect(p.secondLiterals == nil, "got \(p)")
        let q = derive("(?i)\\b(?:cmd|powershell)(?:\\.exe)?\\s*(?:&|\\||;)")
        #expect(q.literals.map(Set.init) == ["cmd", "powershell"], "got \(q)")
        #expect(q.secondLiterals == nil, "got \(q)")
    }

    @Test func aRareSecondSetIsKept() {
        let p = derive("(?i)<img\\b[^>]{0,100}\\bonerror\\s*=")
        #expect(p.literals != nil)
        #expect(p.secondLiterals != nil, "got \(p)")
        #expect(Set([p.literals, p.secondLiterals].compactMap { $0 }) == [["<img"], ["onerror"]], "got \(p)")
    }

    @Test func weakSets() {
        #expect(RegexPrefilter.isWeak(["E", "G"]))
        #expect(RegexPrefilter.isWeak(["0", "1", "9"]))
        #expect(!RegexPrefilter.isWeak(["E", "GB"]))
        #expect(!RegexPrefilter.isWeak(["@"]))
        #expect(!RegexPrefilter.isWeak(["号"]))
    }
}
