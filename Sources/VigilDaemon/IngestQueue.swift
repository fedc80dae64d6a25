import Foundation
import VigilDecode

/// Lines posted to `/v1/ingest`, waiting for the daemon's loop. Bounded: when it is full the
/// API answers 429 with Retry-After instead of buffering without limit. Each request waits
/// until its lines are processed and committed, so a 200 means they are safe.
final class IngestQueue: @unchecked Sendable {
    /// What processing a posted batch amounted to.
    struct Outcome: Sendable {
        var lines = 0
        var notDecoded = 0
        var alerts = 0
        var error: String?
    }

    final class Item: @unchecked Sendable {
        let source: String
        let batch: LineBatch
        private let done = DispatchSemaphore(value: 0)
        private(set) var outcome = Outcome()

        init(source: String, batch: LineBatch) {
            self.source = source
            self.batch = batch
        }

        func finish(_ outcome: Outcome) {
            self.outcome = outcome
            done.signal()
        }

        func wait(timeout: Double) -> Bool { done.wait(timeout: .now() + timeout) == .success }
    }

    let capacity: Int
    private let lock = NSLock()
    private var items: [Item] = []

    init(capacity: Int) { self.capacity = capacity }

    /// Queues a batch; false when the queue is full.
    func offer(_ item: Item) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard items.count < capacity else { return false }
        items.append(item)
        return true
    }

    func take() -> [Item] {
        lock.lock()
        defer { lock.unlock() }
        let out = items
        items.removeAll()
        return out
    }

    var depth: Int {
        lock.lock()
        defer { lock.unlock() }
        return items.count
    }
}
