/// Counts of events in the last `length` seconds, kept in `buckets` time slices: an event older
/// than the window drops out one slice at a time, so memory is fixed whatever the rate.
public struct SlidingWindow: Sendable {
    public let length: Double
    private let slice: Double
    private var totals: [Int]
    private var hits: [Int]
    private var sliceIndex: [Int]
    /// The newest slice an event went into, and the counts of the window ending with it: a
    /// count taken within that slice (nearly every one) reads these instead of every bucket.
    private var newest = Int.min
    private var newestCounts = (total: 0, hits: 0)

    public init(length: Double, buckets: Int = 60) {
        self.length = length
        slice = length / Double(buckets)
        totals = Array(repeating: 0, count: buckets)
        hits = Array(repeating: 0, count: buckets)
        sliceIndex = Array(repeating: Int.min, count: buckets)
    }

    /// Records one event at time `at`; `hit` marks it as one of those the rate is about.
    public mutating func add(at: Double, hit: Bool) {
        let i = Int((at / slice).rounded(.down))
        let b = ((i % totals.count) + totals.count) % totals.count
        if sliceIndex[b] != i {
            sliceIndex[b] = i
            totals[b] = 0
            hits[b] = 0
        }
        totals[b] += 1
        if hit { hits[b] += 1 }
        if i == newest {
            newestCounts.total += 1
            if hit { newestCounts.hits += 1 }
        } else {
            // A new slice: counted afresh, once per slice. (An event in an older slice, from a
            // clock set back, is counted afresh each time.)
            newest = max(newest, i)
            newestCounts = sum(through: newest)
        }
    }

    /// Events and hits within the window ending at `now`.
    public func counts(now: Double) -> (total: Int, hits: Int) {
        let current = Int((now / slice).rounded(.down))
        return current == newest ? newestCounts : sum(through: current)
    }

    private func sum(through current: Int) -> (total: Int, hits: Int) {
        var total = 0
        var hit = 0
        for b in totals.indices where sliceIndex[b] > current - totals.count && sliceIndex[b] <= current {
            total += totals[b]
            hit += hits[b]
        }
        return (total, hit)
    }
}
