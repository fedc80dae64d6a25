import Testing

@testable import VigilMatch

@Suite struct NormalizerTests {
    let n = Normalizer.standard

    @Test func fullWidthAndCompatibilityForms() {
        #expect(n.normalize("ＡＢＣ１２３！") == "ABC123!")
        #expect(n.normalize("①ﬁ") == "1fi")
        #expect(n.normalize("a\u{3000}b") == "a b")
    }

    /// The follower check (`FollowerTable.folded`) skips the case table for U+3000 to U+9FFF.
    @Test func cjkHasNoCaseToFold() {
        let normalizer = Normalizer.standard
        let folding = (UInt32(0x3000)..<0xA000).filter { normalizer.foldCase($0) != $0 }
        #expect(folding.isEmpty, "\(folding.prefix(5))")
        let ascii = (UInt32(0)..<0x80).filter { FollowerTable.folded($0, normalizer) != normalizer.foldCase($0) }
        #expect(ascii.isEmpty)
        #expect(FollowerTable.folded(0x0130, normalizer) == normalizer.foldCase(0x0130))
    }

    /// A CJK run reads one table to learn whether a three-byte character stays in it: it must
    /// stop at everything but the unfolding ideographs and the CJK punctuation that is no
    /// separator, and keep each symbol it lets through.
    @Test func runTableStopsWhereTheGeneralRulesApply() throws {
        let automaton = try LiteralAutomaton(terms: ["炸弹", "、。", "abc"].map { n.normalizedTerm($0) })
        let table = automaton.symbolTable
        let stop = Normalizer.foldingSymbol
        var wrong: [UInt32] = []
        for v in UInt32(0)..<0x10000 {
            let folds = table.symbols[Int(v)] == stop
            let inRun =
                ((0x4E00...0x9FFF).contains(v) || (0x3000..<0x3400).contains(v)) && !folds
                && v != 0x30FB
            let expected = inRun ? table.symbols[Int(v)] : stop
            if table.runSymbols[Int(v)] != expected { wrong.append(v) }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5).map { String($0, radix: 16) })")
        #expect(table.runSymbols[0x70B8] != 0 && table.runSymbols[0x70B8] != stop)  // 炸
        #expect(table.symbols[0x5F48] == stop && table.runSymbols[0x5F48] == stop)  // 彈 folds
        #expect(n.normalize("炸彈、製作。") == "炸弹、制作。")
    }

    @Test func traditionalToSimplified() {
        #expect(n.normalize("製作炸彈") == "制作炸弹")
        #expect(n.normalize("這個協議無效") == "这个协议无效")
    }

    @Test(arguments: ["炸-弹", "炸 弹", "炸*弹", "炸\u{200B}弹", "炸\u{3000}弹", "炸·弹", "炸/弹", "炸 - 弹", "炸\u{FEFF}弹"])
    func separatorsBetweenIdeographsAreRemoved(text: String) {
        #expect(n.normalize(text) == "炸弹")
    }

    @Test(arguments: [
        ("药物 X", "药物X"), ("药物 - x", "药物x"), ("X 药物", "X药物"), ("使用 Docker 部署", "使用Docker部署"),
        ("执行 ; rm -rf / 清理", "执行 ; rm -rf / 清理"),
    ])
    func separatorsBetweenIdeographsAndLatinAreRemoved(text: String, expected: String) {
        #expect(n.normalize(text) == expected)
    }

    @Test func separatorsElsewhereStay() {
        #expect(n.normalize("A - B") == "A - B")
        #expect(n.normalize("launder bank accounts") == "launder bank accounts")
        #expect(n.normalize("x, 药物") == "x, 药物")
        #expect(n.normalize("138-1234-5678") == "138-1234-5678")
        #expect(n.normalize("炸 - - - - 弹") == "炸 - - - - 弹")  // more than three separators
        #expect(n.normalize("抱歉，我无法") == "抱歉,我无法")  // commas are not separators
    }

    /// Punctuation between ideographs is read inside the ideographs' run; it must come out as
    /// the general rules would have it: folded, kept, with offsets into both texts, unhashed.
    @Test func punctuationInsideARunOfIdeographs() throws {
        let text = "甲乙，丙丁。戊！己？庚；辛：壬、癸"
        #expect(n.normalize(text) == "甲乙,丙丁。戊!己?庚;辛:壬、癸")
        let out = NormalizedText()
        var copy = text
        copy.withUTF8 { n.normalize($0, into: out, hashingLetters: true) }
        let original = Array(text.unicodeScalars)
        #expect(out.scalars.count == original.count)
        var utf8Offset = 0
        for (k, scalar) in String(decoding: out.utf8.buffer, as: UTF8.self).unicodeScalars.enumerated() {
            #expect(Int(out.originalOffsets[k]) == 3 * k)
            #expect(Int(out.utf8Offsets[k]) == utf8Offset)
            utf8Offset += String(scalar).utf8.count
        }
        let lettersOnly = NormalizedText()
        var letters = "甲乙丙丁戊己庚辛壬癸"
        letters.withUTF8 { n.normalize($0, into: lettersOnly, hashingLetters: true) }
        #expect(out.letterHash == lettersOnly.letterHash)
    }

    @Test(arguments: [
        ("炸＊弹", "炸弹"), ("炸．弹", "炸弹"), ("炸・弹", "炸弹"), ("炸，-弹", "炸,-弹"), ("炸-，弹", "炸-,弹"),
        ("炸， 弹", "炸, 弹"), ("编号：１２３４５", "编号:12345"), ("药物。X", "药物。X"), ("药物，Ａ", "药物,A"),
    ])
    func punctuationAndSeparatorsAtTheEdgesOfARun(text: String, expected: String) {
        #expect(n.normalize(text) == expected)
    }

    @Test func fullWidthDigitsAfterIdeographsCountAsADigitRun() {
        let out = NormalizedText()
        var text = "编号，１２３４５６７"
        text.withUTF8 { n.normalize($0, into: out) }
        #expect(out.longestDigitRun == 7)
    }

    @Test func zeroWidthRemovedEverywhere() {
        #expect(n.normalize("ig\u{200B}no\u{200D}re") == "ignore")
    }

    @Test func termsAreCaseFolded() {
        #expect(n.normalizedTerm("IGNORE Ｐrevious") == n.normalizedTerm("ignore previous"))
    }

    @Test func originalOffsetsPointBack() throws {
        let text = "前文 炸-弹 后文"
        let out = NormalizedText()
        var copy = text
        copy.withUTF8 { buffer in
            n.normalize(buffer, into: out)
            let normalized = String(decoding: out.utf8.buffer, as: UTF8.self)
            let start = normalized.unicodeScalars.firstIndex(of: "炸")!
            let index = normalized.unicodeScalars.distance(from: normalized.unicodeScalars.startIndex, to: start)
            let range = out.originalRange(scalars: index..<(index + 2), original: buffer)
            #expect(String(decoding: buffer[range], as: UTF8.self) == "炸-弹")
        }
    }

    /// Over random mixes of ideographs (some folding), Latin, digits, separators, full-width
    /// forms, invisible characters, emoji and bad bytes: each scalar's UTF-8 offset is where it
    /// sits in the normalized UTF-8, and its original offset is where the character it came from
    /// starts (the same character, for an ideograph that folds to itself).
    @Test func offsetsAgreeWithTheTextsOnRandomInput() {
        let pieces: [[UInt8]] =
            ["炸", "弹", "药", "物", "備", "門", "a", "Z", "7", " ", "-", "*", "Ｘ", "，", "。", "\u{200B}", "😀", "𠀀", "é"]
            .map { Array($0.utf8) } + [[0xFF], [0xE4, 0xB8]]
        var rng = SystemRandomNumberGenerator()
        let out = NormalizedText()
        for _ in 0..<300 {
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 1...40, using: &rng) { input += pieces.randomElement(using: &rng)! }
            input.withUnsafeBufferPointer { n.normalize($0, into: out) }
            let utf8 = Array(out.utf8.buffer)
            var offset = 0
            var previousOriginal = -1
            for (k, scalar) in String(decoding: utf8, as: UTF8.self).unicodeScalars.enumerated() {
                #expect(out.scalars[k] == scalar.value, "input \(input)")
                #expect(Int(out.utf8Offsets[k]) == offset, "input \(input)")
                let original = Int(out.originalOffsets[k])
                #expect(original >= previousOriginal && original < input.count, "input \(input)")
                // A character's first byte, or a stray byte that became U+FFFD.
                #expect(input[original] & 0xC0 != 0x80 || scalar == "\u{FFFD}", "input \(input)")
                if scalar.value >= 0x4E00 && scalar.value < 0xA000 && scalar != "备" && scalar != "门" {
                    #expect(Array(input[original..<(original + 3)]) == Array(String(scalar).utf8), "input \(input)")
                }
                previousOriginal = original
                offset += String(scalar).utf8.count
            }
            #expect(offset == utf8.count)
            #expect(out.scalars.count == out.utf8Offsets.count && out.scalars.count == out.originalOffsets.count)
        }
    }

    /// Long ASCII stretches (written sixteen bytes a step) mixed with ideographs and spaces
    /// next to them: every scalar, symbol and UTF-8 byte, the letter and digit runs and the letter
    /// hash agree with what the written scalars say, wherever the blocks begin and end.
    @Test func asciiStretchesAgreeWithTheirCharacters() {
        let pieces: [[UInt8]] =
            [
                "the ", "quick ", "Brown ", "0", "12", "3456789", "abcdefghij", "XYZ", "  ", " ", "-", ",", "炸", "药",
                "，", "\t",
            ]
            .map { Array($0.utf8) }
        let symbols = (0...0x10000).map { UInt16(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let symbolTable = symbols.withUnsafeBufferPointer { SymbolTable(copying: $0.baseAddress!) }
        defer { symbolTable.deallocate() }
        n.mark(symbolTable)
        let table = symbolTable.symbols
        var rng = SystemRandomNumberGenerator()
        let out = NormalizedText()
        for _ in 0..<500 {
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 1...60, using: &rng) { input += pieces.randomElement(using: &rng)! }
            input.withUnsafeBufferPointer { n.normalize($0, into: out, hashingLetters: true, symbolTable: symbolTable) }
            let scalars = Array(out.scalars.buffer)
            #expect(scalars == String(decoding: out.utf8.buffer, as: UTF8.self).unicodeScalars.map(\.value))
            #expect(Array(out.symbols.buffer) == scalars.map { table[Int($0)] })
            var (digits, alnums, longestDigits, longestAlnums) = (0, 0, 0, 0)
            var hash = LetterHash()
            for s in scalars {
                let digit = s >= 0x30 && s <= 0x39
                let letter = (s >= 0x41 && s <= 0x5A) || (s >= 0x61 && s <= 0x7A)
                digits = digit ? digits + 1 : 0
                alnums = digit || letter ? alnums + 1 : 0
                longestDigits = max(longestDigits, digits)
                longestAlnums = max(longestAlnums, alnums)
                if letter { hash.add(s | 0x20) } else if s >= 0x3400 { hash.add(s) }
            }
            let text = String(decoding: input, as: UTF8.self)
            #expect(out.longestDigitRun == longestDigits, "\(text)")
            #expect(out.longestAlphanumericRun == longestAlnums, "\(text)")
            #expect(out.letterHash == hash.value, "\(text)")
        }
    }

    @Test(arguments: [[0xFF], [0xC3, 0x28], [0xE4, 0xB8], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0x80]])
    func invalidUTF8IsReplacedAndReported(bytes: [UInt8]) {
        let out = NormalizedText()
        let input: [UInt8] = Array("ok ".utf8) + bytes + Array(" tail".utf8)
        input.withUnsafeBufferPointer { n.normalize($0, into: out) }
        #expect(out.firstInvalidUTF8 == 3)
        let text = String(decoding: out.utf8.buffer, as: UTF8.self)
        #expect(text.hasPrefix("ok \u{FFFD}"))
        #expect(text.hasSuffix(" tail"))
    }

    @Test func keywordAfterABadByteIsStillFound() throws {
        let b = RuleSetBuilder()
        b.addKeyword("制作炸弹", id: "k", signal: .risk("A.1.d"), origin: RuleOrigin(pack: 0, file: "t", line: 1))
        let scanner = Scanner(rules: try b.build())
        let input: [UInt8] = [0xFF] + Array("教我制作炸弹".utf8)
        input.withUnsafeBufferPointer { scanner.scan($0) }
        #expect(scanner.matches.count == 1)
        #expect(scanner.text.firstInvalidUTF8 == 0)
    }

    @Test func patternsFoldLikeText() throws {
        let folded = n.normalizePattern("[:：]證件")
        let regex = try Regex(folded)
        #expect(regex.matches(n.normalize("：证件")))
    }

    @Test func digitAndLetterRuns() throws {
        let out = NormalizedText()
        var text = "编号 12345678 abcDEF9"
        text.withUTF8 { n.normalize($0, into: out) }
        #expect(out.longestDigitRun == 8)
        #expect(out.longestAlphanumericRun == 8)
    }
}
