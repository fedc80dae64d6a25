#if canImport(Glibc)
    import Glibc
#endif

/// A run of complete lines read from one source, ready to be decoded by one worker.
public struct LineBatch: Sendable {
    /// One entry per line, in order.
    public enum Entry: Sendable {
        /// The line's bytes are `bytes[start..<end]` (newline and a trailing CR removed).
        case line(start: Int, end: Int)
        /// The line was longer than the limit; it was skipped without being buffered.
        case tooLong(bytes: Int)
    }

    /// Line number (1-based) of the first entry.
    public var firstLine: Int
    public var bytes: [UInt8] = []
    public var entries: [Entry] = []
    /// Position of this batch in its source, for putting results back in order.
    public var sequence: Int

    public init(firstLine: Int, sequence: Int) {
        self.firstLine = firstLine
        self.sequence = sequence
    }

    /// Cuts a buffer that holds whole lines (an HTTP body): every line, the last one even
    /// without a newline; lines longer than `maxLineBytes` become `.tooLong`.
    public init(splitting bytes: [UInt8], maxLineBytes: Int) {
        self.init(firstLine: 1, sequence: 0)
        self.bytes = bytes
        var start = 0
        while start < bytes.count {
            var end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            let next = end + 1
            if end > start, bytes[end - 1] == 0x0D { end -= 1 }
            entries.append(end - start > maxLineBytes ? .tooLong(bytes: end - start) : .line(start: start, end: end))
            start = next
        }
    }
}

/// Reads a file descriptor in large chunks and cuts it into batches of lines. A line longer
/// than `maxLineBytes` is reported as `.tooLong` and skipped in pieces, so a 100 MB line costs
/// no more memory than a short one.
public final class LineReader {
    public let maxLineBytes: Int
    public let batchBytes: Int
    private let fd: Int32
    private let chunkSize: Int
    private var buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var start = 0
    private var end = 0
    private var eof = false
    private var nextLine = 1
    private var sequence = 0
    /// Bytes read so far (for progress).
    public private(set) var bytesRead = 0

    /// When false, `nextBatch` returns the lines it has as soon as a read would have to wait,
    /// instead of filling the batch: for a pipe that a log shipper writes slowly.
    public let waitsForFullBatches: Bool

    public init(
        fd: Int32, maxLineBytes: Int = 8 << 20, batchBytes: Int = 1 << 20, chunkSize: Int = 4 << 20,
        waitsForFullBatches: Bool = true
    ) {
        self.fd = fd
        self.waitsForFullBatches = waitsForFullBatches
        self.maxLineBytes = maxLineBytes
        self.batchBytes = batchBytes
        self.chunkSize = chunkSize
        capacity = maxLineBytes + chunkSize + 1
        buffer = .allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    public struct ReadError: Error, Sendable, CustomStringConvertible {
        public let errno: Int32
        public var description: String { "read failed: \(String(cString: strerror(errno)))" }
    }

    /// Reads more bytes after `end`; returns false at end of input.
    private func fill() throws(ReadError) -> Bool {
        // The unfinished line goes back to the front once a chunk has been read past, not only
        // when the buffer runs out: reads then land in the same few hundred KiB, which stay in
        // the L2 cache, instead of walking through all 8 MiB.
        if start > 0 && (start >= chunkSize || capacity - end < chunkSize) {
            let pending = end - start
            if pending > 0 { memmove(buffer, buffer + start, pending) }
            start = 0
            end = pending
        }
        let room = min(chunkSize, capacity - end)
        while true {
            let n = read(fd, buffer + end, room)
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError(errno: errno)
            }
            if n == 0 {
                eof = true
                return false
            }
            end += n
            bytesRead += n
            return true
        }
    }

    /// The next batch, or nil at end of input.
    public func nextBatch() throws(ReadError) -> LineBatch? {
        var batch = LineBatch(firstLine: nextLine, sequence: sequence)
        batch.bytes.reserveCapacity(batchBytes + 4096)
        // Its lines are copied as they come, so the buffer may be refilled or reused at any time.
        while batch.bytes.count < batchBytes,
            let next = try takeLine(mayDiscard: true, mayFill: waitsForFullBatches || batch.entries.isEmpty)
        {
            switch next {
            case .line(let from, let to): append(from, to, to: &batch)
            case .skipped(let entry): batch.entries.append(entry)
            }
        }
        guard !batch.entries.isEmpty else { return nil }
        sequence += 1
        return batch
    }

    /// The lines that sit whole in the read buffer, handed to `body` where they are instead of
    /// copied into a batch: `bytes` is the buffer, each entry's offsets index it, and `firstLine`
    /// is the first entry's line number. Valid only during the call. Returns false at end of
    /// input (without calling `body`). For a reader that scans as it reads, on one thread: the
    /// lines are read once from the buffer the kernel filled, not once more from a copy.
    public func withNextLines(
        _ body: (_ bytes: UnsafeBufferPointer<UInt8>, _ entries: [LineBatch.Entry], _ firstLine: Int) throws -> Void
    ) throws -> Bool {
        var entries = borrowed
        entries.removeAll(keepingCapacity: true)
        borrowed = []
        defer { borrowed = entries }
        let first = nextLine
        // The buffer is refilled or reused only before the first line: the entries index it.
        while let next = try takeLine(mayDiscard: entries.isEmpty, mayFill: entries.isEmpty) {
            switch next {
            case .line(let from, let to): entries.append(entry(from, to))
            case .skipped(let entry): entries.append(entry)
            }
        }
        guard !entries.isEmpty else { return false }
        try body(UnsafeBufferPointer(start: buffer, count: end), entries, first)
        return true
    }

    /// What `takeLine` found.
    private enum Next {
        /// A line in `buffer[from..<to]`, its newline left out (and a CR before it not yet).
        case line(from: Int, to: Int)
        /// An over-long line, read past and counted.
        case skipped(LineBatch.Entry)
    }

    /// The next line, reading more input as allowed: `mayDiscard` lets it skip an over-long
    /// line, and `mayFill` lets it read, either of which may move or reuse what the buffer
    /// holds. Nil when no line can be had on those terms, or at end of input; the last line is
    /// handed out even without a newline.
    @inline(__always)
    private func takeLine(mayDiscard: Bool, mayFill: Bool) throws(ReadError) -> Next? {
        while true {
            let pending = end - start
            if pending > 0, let newline = memchr(buffer + start, 0x0A, pending) {
                let position = UnsafeMutablePointer<UInt8>(newline.assumingMemoryBound(to: UInt8.self)) - buffer
                let from = start
                start = position + 1
                return .line(from: from, to: position)
            }
            if pending > maxLineBytes {
                guard mayDiscard else { return nil }
                return .skipped(try skipLongLine(alreadySeen: pending))
            }
            guard mayFill else { return nil }
            if !(eof ? false : try fill()) {
                guard end > start else { return nil }
                let from = start
                start = end
                return .line(from: from, to: end)
            }
        }
    }

    /// Entries kept between calls of `withNextLines`, so that it does not allocate each time.
    private var borrowed: [LineBatch.Entry] = []

    /// The entry for the line in `buffer[from..<to]` (its CR dropped); counts the line.
    private func entry(_ from: Int, _ to: Int) -> LineBatch.Entry {
        var stop = to
        if stop > from, buffer[stop - 1] == 0x0D { stop -= 1 }
        nextLine += 1
        return stop - from > maxLineBytes ? .tooLong(bytes: stop - from) : .line(start: from, end: stop)
    }

    /// Copies the line in `buffer[from..<to]` into `batch` (its CR dropped); counts the line.
    private func append(_ from: Int, _ to: Int, to batch: inout LineBatch) {
        switch entry(from, to) {
        case .line(let start, let end):
            let offset = batch.bytes.count
            batch.bytes.append(contentsOf: UnsafeBufferPointer(start: buffer + start, count: end - start))
            batch.entries.append(.line(start: offset, end: offset + end - start))
        case let tooLong:
            batch.entries.append(tooLong)
        }
    }

    /// Discards the rest of an over-long line; its entry, with every byte of it counted.
    private func skipLongLine(alreadySeen: Int) throws(ReadError) -> LineBatch.Entry {
        var seen = alreadySeen
        start = 0
        end = 0
        while true {
            guard try fill() else { break }
            if let newline = memchr(buffer, 0x0A, end) {
                let position = UnsafeMutablePointer<UInt8>(newline.assumingMemoryBound(to: UInt8.self)) - buffer
                seen += position
                start = position + 1
                nextLine += 1
                return .tooLong(bytes: seen)
            }
            seen += end
            start = 0
            end = 0
        }
        nextLine += 1
        return .tooLong(bytes: seen)
    }
}
