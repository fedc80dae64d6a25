import Testing
import VigilScan

/// Personal data shown in excerpts and alert payloads: letters and digits beyond the first two
/// and the last two become `*`; with four or fewer, everything does.
@Suite struct MaskingTests {
    private func mask(_ text: String) -> String {
        Array(text.utf8).withUnsafeBufferPointer { Masking.mask($0) }
    }

    /// The rule, over characters, as an analyst reads it.
    private func expected(_ text: String) -> String {
        let chars = Array(text)
        let positions = chars.indices.filter { chars[$0].isLetter || chars[$0].isNumber }
        guard positions.count > 4 else { return String(repeating: "*", count: chars.count) }
        var result = chars
        for p in positions.dropFirst(2).dropLast(2) { result[p] = "*" }
        return String(result)
    }

    @Test func examples() {
        #expect(mask("13812345678") == "13*******78")
        #expect(mask("john.doe@example.com") == "jo**.***@*******.*om")
        #expect(mask("a@b.c") == "*****")
        #expect(mask("张三丰的身份证") == "张三***份证")
    }

    @Test func asciiAndOtherTextFollowOneRule() {
        let pieces = ["a", "Z", "7", "-", ".", "@", " ", "\r\n", "\t", "é", "张", "，", "1"]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            var text = ""
            for _ in 0..<Int.random(in: 0...20, using: &rng) { text += pieces.randomElement(using: &rng)! }
            #expect(mask(text) == expected(text), "\(text.debugDescription)")
        }
    }
}
