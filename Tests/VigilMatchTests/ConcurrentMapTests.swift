import Testing

@testable import VigilMatch

@Suite struct ConcurrentMapTests {
    /// Every element is its index's, in order, whichever thread made it; none for a count of 0.
    @Test func elementsComeBackInOrder() {
        let squares = [Int](count: 10_000) { $0 * $0 }
        #expect(squares == (0..<10_000).map { $0 * $0 })
        let strings = [String](count: 257) { "rule \($0)" }
        #expect(strings == (0..<257).map { "rule \($0)" })
        #expect([Int](count: 0) { $0 }.isEmpty)
    }
}
