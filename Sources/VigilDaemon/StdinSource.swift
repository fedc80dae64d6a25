import Foundation
import VigilDecode

/// Reads standard input on its own thread and hands batches of lines to the daemon through a
/// bounded queue: when the daemon falls behind, the reader stops reading and the pipe's writer
/// (the log shipper) waits, so nothing is buffered without bound and nothing is dropped.
final class StdinSource: @unchecked Sendable {
    let name: String
    private let condition = NSCondition()
    private var queue: [LineBatch] = []
    private let capacity = 16
    private(set) var finished = false
    private var error: String?
    private var thread: Thread?
    /// Called when a batch is queued, to wake the daemon's loop.
    let notify: @Sendable () -> Void

    init(name: String, maxLineBytes: Int, notify: @escaping @Sendable () -> Void) {
        self.name = name
        self.notify = notify
        let t = Thread { [self] in
            self.run(
                LineReader(
                    fd: 0, maxLineBytes: maxLineBytes, batchBytes: 256 << 10, chunkSize: 1 << 20,
                    waitsForFullBatches: false))
        }
        t.name = "vigil-stdin"
        thread = t
    }

    func start() { thread?.start() }

    private func run(_ reader: LineReader) {
        while true {
            let batch: LineBatch?
            do { batch = try reader.nextBatch() } catch {
                condition.lock()
                self.error = "\(error)"
                finished = true
                condition.unlock()
                notify()
                return
            }
            condition.lock()
            guard let batch else {
                finished = true
                condition.unlock()
                notify()
                return
            }
            while queue.count >= capacity { condition.wait() }
            queue.append(batch)
            condition.unlock()
            notify()
        }
    }

    /// Batches read so far, oldest first; frees room for the reader.
    func take() -> (batches: [LineBatch], finished: Bool, error: String?) {
        condition.lock()
        defer { condition.unlock() }
        let out = queue
        queue.removeAll()
        condition.broadcast()
        let e = error
        error = nil
        return (out, finished && out.isEmpty, e)
    }
}
