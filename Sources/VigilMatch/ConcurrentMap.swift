import Dispatch

extension Array where Element: Sendable {
    /// `(0..<count).map(transform)`, with the calls spread over every core: for independent,
    /// costly pieces of start-up work (compiling and analysing regexes, reading rule packs),
    /// which a reload repeats.
    public init(count: Int, concurrentlyMapping transform: @Sendable (Int) -> Element) {
        self.init(unsafeUninitializedCapacity: count) { buffer, initialized in
            guard let base = buffer.baseAddress else {
                initialized = 0
                return
            }
            // Each call initializes its own element, so the threads never touch the same memory.
            let out = UncheckedPointer(base: base)
            DispatchQueue.concurrentPerform(iterations: count) { i in (out.base + i).initialize(to: transform(i)) }
            initialized = count
        }
    }
}

/// Where `init(count:concurrentlyMapping:)`'s calls write their elements.
private struct UncheckedPointer<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
}
