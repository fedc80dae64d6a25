import Foundation
import VigilDecode
import VigilScan

/// A batch scanned in blocks of lines by whichever threads call `scanBlock`: each claims the
/// next block until none is left, so the loop thread and the helper share the work whatever
/// else either had to do. Blocks finish in any order; `results(_:)` hands them out in order,
/// waiting for a block another thread is still scanning.
final class ScanJob: @unchecked Sendable {
    /// What one block of lines produced: the findings of every text and the lines not decoded.
    typealias Block = (texts: [Daemon.Inspected], errors: [(Int, DecodeError)])

    let batch: LineBatch
    let blocks: Int
    /// The engine the loop thread scans this batch's lines with (the source's own).
    let engine: ScanEngine
    /// Small enough that the thread left waiting for a chunk's last block waits little.
    static let linesPerBlock = 64
    private let condition = NSCondition()
    private var next = 0
    private var finished: [Bool]
    private var found: [Block]

    init(_ batch: LineBatch, engine: ScanEngine) {
        self.batch = batch
        self.engine = engine
        blocks = (batch.entries.count + Self.linesPerBlock - 1) / Self.linesPerBlock
        finished = Array(repeating: false, count: blocks)
        found = Array(repeating: ([], []), count: blocks)
    }

    /// Claims the next block and scans it with `engine`; false when every block was claimed.
    /// `copy` receives the engine's counters before the block is marked finished.
    @discardableResult
    func scanBlock(with engine: ScanEngine, copy: SummaryCopy? = nil) -> Bool {
        let block = condition.withLock {
            defer { next += 1 }
            return next
        }
        guard block < blocks else { return false }
        let start = block * Self.linesPerBlock
        let range = start..<min(batch.entries.count, start + Self.linesPerBlock)
        let result = Daemon.scan(range, of: batch, with: engine)
        copy?.store(engine.summary)
        condition.withLock {
            found[block] = result
            finished[block] = true
            condition.broadcast()
        }
        return true
    }

    /// Scans blocks until none is left to claim.
    func work(with engine: ScanEngine, copy: SummaryCopy? = nil) {
        while scanBlock(with: engine, copy: copy) {}
    }

    /// Block `block`'s results (handed out once), scanning other blocks on this thread while it
    /// is not ready: this job's unclaimed ones first, then `alongside`'s.
    func results(_ block: Int, alongside: ScanJob? = nil) -> Block {
        while !condition.withLock({ finished[block] }) {
            if scanBlock(with: engine) { continue }
            if let other = alongside, other.scanBlock(with: other.engine) { continue }
            condition.withLock {
                while !finished[block] { condition.wait() }
            }
        }
        return condition.withLock {
            defer { found[block] = ([], []) }
            return found[block]
        }
    }
}

/// The helper thread's view of its engine's counters: the engine counts as it scans, and the
/// loop thread reads this copy, taken after each block, rather than the live one.
final class SummaryCopy: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = ScanSummary()

    var summary: ScanSummary { lock.withLock { stored } }

    func store(_ summary: ScanSummary) { lock.withLock { stored = summary } }
}

/// The helper: one engine per source, and one long-lived thread that scans jobs' blocks in the
/// order the jobs were handed to it.
final class HelperThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [@Sendable () -> Void] = []

    init() {
        let t = Thread { [self] in
            while true {
                let job = condition.withLock {
                    while queue.isEmpty { condition.wait() }
                    return queue.removeFirst()
                }
                job()
            }
        }
        t.name = "vigil-scan-helper"
        t.start()
    }

    /// Has the helper scan `job`'s unclaimed blocks with `engine`, once it is done with the
    /// jobs handed to it before; `copy` receives the engine's counters after each block.
    func help(with job: ScanJob, engine: ScanEngine, copy: SummaryCopy) {
        let box = EngineBox(engine)
        condition.withLock {
            queue.append {
                job.work(with: box.engine, copy: copy)
            }
            condition.signal()
        }
    }
}

/// An engine handed to the helper thread.
private final class EngineBox: @unchecked Sendable {
    let engine: ScanEngine
    init(_ engine: ScanEngine) { self.engine = engine }
}
