import Foundation
import VigilDecode
import VigilRules

/// Runs a scan over one input with `jobs` worker threads and writes the output in input order.
///
/// The reader (the calling thread) cuts the input into batches of lines; workers decode and
/// scan them; a writer puts the results back in order. Queues are bounded, so memory stays
/// flat however large the input.
public final class ParallelScan: @unchecked Sendable {
    public let library: RuleLibrary
    public let options: ScanOptions
    public let jobs: Int
    private let lock = NSCondition()
    private var pending: [LineBatch] = []
    private var finishedReading = false
    private var results: [Int: [UInt8]] = [:]
    private var summaries: [ScanSummary] = []
    private var batchesRead = 0
    private let maxQueued: Int

    public init(library: RuleLibrary, options: ScanOptions, jobs: Int) {
        self.library = library
        self.options = options
        self.jobs = max(1, jobs)
        maxQueued = self.jobs * 2
    }

    /// Scans everything `reader` yields, handing output to `write` in order.
    /// - Parameter progress: called by the writer after each batch with the input bytes done so far.
    public func run(
        reader: LineReader, write: @escaping @Sendable ([UInt8]) -> Void, progress: (@Sendable (Int) -> Void)? = nil
    ) throws -> ScanSummary {
        if jobs == 1 { return try runInline(reader: reader, write: write, progress: progress) }
        let maxLine = reader.maxLineBytes
        var workers: [Thread] = []
        let done = DispatchGroup()
        for _ in 0..<jobs {
            done.enter()
            let thread = Thread { [self] in
                let engine = ScanEngine(library: library, options: options)
                engine.maxLineBytes = maxLine
                while let batch = take() {
                    let output = engine.process(batch)
                    lock.lock()
                    results[batch.sequence] = output
                    lock.broadcast()
                    lock.unlock()
                }
                lock.lock()
                summaries.append(engine.summary)
                lock.unlock()
                done.leave()
            }
            thread.stackSize = 8 << 20
            workers.append(thread)
            thread.start()
        }
        done.enter()
        let writer = Thread { [self] in
            var next = 0
            while true {
                lock.lock()
                while results[next] == nil && !(finishedReading && next >= batchesRead) { lock.wait() }
                guard let output = results.removeValue(forKey: next) else {
                    lock.unlock()
                    break
                }
                lock.broadcast()
                lock.unlock()
                write(output)
                next += 1
                progress?(next)
            }
            done.leave()
        }
        writer.start()
        var readError: Error? = nil
        do {
            while let batch = try reader.nextBatch() {
                lock.lock()
                while pending.count >= maxQueued || results.count >= maxQueued * 2 { lock.wait() }
                pending.append(batch)
                batchesRead += 1
                lock.broadcast()
                lock.unlock()
            }
        } catch {
            readError = error
        }
        lock.lock()
        finishedReading = true
        lock.broadcast()
        lock.unlock()
        done.wait()
        if let readError { throw readError }
        var summary = ScanSummary()
        for s in summaries { summary.merge(s) }
        return summary
    }

    private func take() -> LineBatch? {
        lock.lock()
        defer { lock.unlock() }
        while pending.isEmpty && !finishedReading { lock.wait() }
        if pending.isEmpty { return nil }
        let batch = pending.removeFirst()
        lock.broadcast()
        return batch
    }

    private func runInline(
        reader: LineReader, write: @Sendable ([UInt8]) -> Void, progress: (@Sendable (Int) -> Void)?
    ) throws -> ScanSummary {
        let engine = ScanEngine(library: library, options: options)
        engine.maxLineBytes = reader.maxLineBytes
        var count = 0
        // Scanned where the reader read them: one thread, so nothing needs a copy of its own.
        while try reader.withNextLines({ bytes, entries, first in
            write(engine.process(bytes, entries, firstLine: first))
        }) {
            count += 1
            progress?(count)
        }
        return engine.summary
    }
}
