import VigilDecode

#if canImport(Glibc)
    import Glibc
#endif

/// Complete lines read from one followed file, and where the file stands after them.
public struct LineChunk: Sendable {
    /// The file's position just after the last line of this chunk: commit it with what the
    /// lines produced.
    public var checkpoint: FileCheckpoint
    public var batch: LineBatch
    /// Byte offset in the file where each entry of `batch` starts.
    public var lineOffsets: [Int64]
    /// The file was rotated away and is now fully read: its checkpoint can be forgotten.
    public var finished: Bool
}

/// Follows the files that match a set of glob patterns, as `tail -F` does: new files are
/// picked up, a file renamed away (logrotate's default) is read to its end before its
/// successor is read from the start, and a file truncated in place (`copytruncate`) is read
/// again from the start. Positions resume from checkpoints, so a restart neither skips nor
/// repeats a line, even when a file was rotated while Vigil was down.
public final class FileFollower {
    public let source: String
    public let patterns: [String]
    public let maxLineBytes: Int
    /// Files found at the first look, without a checkpoint, start at their end (like `tail`)
    /// instead of their beginning.
    public let startAtEnd: Bool
    /// How long a file that was renamed away is still watched for late writes after its end.
    public var rotationGrace: Double = 1.0
    /// How often the patterns are expanded again to find new and rotated files (seconds).
    public var discoveryInterval: Double = 0.25

    /// Things an operator should hear about (truncation, a checkpointed file that is gone);
    /// the daemon logs and clears them.
    public var notices: [String] = []

    private struct Identity: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private final class Followed {
        var checkpoint: FileCheckpoint
        let fd: Int32
        /// Bytes read so far; `pending` holds the bytes from `checkpoint.offset` up to here,
        /// except while a too-long line is skipped.
        var readOffset: Int64
        var pending: [UInt8] = []
        /// Bytes of an over-long line skipped so far, while looking for its end.
        var skipping: Int?
        var rotatedAt: Double?

        init(checkpoint: FileCheckpoint, fd: Int32) {
            self.checkpoint = checkpoint
            self.fd = fd
            readOffset = checkpoint.offset
        }

        deinit { close(fd) }
    }

    private var followed: [Identity: Followed] = [:]
    /// Checkpoints from the store whose files have not been found yet.
    private var known: [Identity: FileCheckpoint]
    private var firstLook = true
    private var lastDiscovery = -Double.infinity
    /// The most read from one file per poll. A chunk is scanned by two threads and committed in
    /// one transaction; at 1 MiB, the ends of chunks (one thread finishing the last block, the
    /// commit) left the helper thread idle a fifth of the time on a backlog.
    static let readSize = 4 << 20
    private static let chunkRounding = 1 << 20

    public init(
        source: String, patterns: [String], startAtEnd: Bool = false, maxLineBytes: Int = 8 << 20,
        checkpoints: [FileCheckpoint] = []
    ) {
        self.source = source
        self.patterns = patterns
        self.startAtEnd = startAtEnd
        self.maxLineBytes = maxLineBytes
        var known: [Identity: FileCheckpoint] = [:]
        for c in checkpoints where c.source == source { known[Identity(device: c.device, inode: c.inode)] = c }
        self.known = known
    }

    /// The files being followed, with their current positions.
    public var checkpoints: [FileCheckpoint] { followed.values.map(\.checkpoint).sorted { $0.path < $1.path } }

    /// Bytes written to each followed file that are not processed yet.
    public func lag() -> [(path: String, bytes: Int64)] {
        followed.values.map { file in
            var st = stat()
            let size = fstat(file.fd, &st) == 0 ? Int64(st.st_size) : file.checkpoint.offset
            return (file.checkpoint.path, max(0, size - file.checkpoint.offset))
        }.sorted { $0.path < $1.path }
    }

    /// Reads what is new in every followed file, up to `budget` bytes per file, and hands each
    /// file's complete lines to `body`. Returns the number of bytes read.
    @discardableResult
    public func poll(now: Double, budget: Int = 4 << 20, _ body: (LineChunk) throws -> Void) rethrows -> Int {
        if now - lastDiscovery >= discoveryInterval {
            discover(now: now)
            lastDiscovery = now
        }
        var total = 0
        for (identity, file) in followed.sorted(by: { $0.value.checkpoint.path < $1.value.checkpoint.path }) {
            let (read, chunk) = readNew(file, budget: budget)
            total += read
            if let chunk { try body(chunk) }
            if read == 0, let rotatedAt = file.rotatedAt, now - rotatedAt >= rotationGrace {
                // Renamed away and quiet: its last line may lack a newline; it is complete now.
                try body(finish(file))
                followed[identity] = nil
            }
        }
        return total
    }

    // MARK: Discovery

    private func discover(now: Double) {
        var seen = Set<Identity>()
        for path in expand(patterns) {
            var st = stat()
            guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            let identity = Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            seen.insert(identity)
            if let file = followed[identity] {
                file.checkpoint.path = path
                file.rotatedAt = nil
                continue
            }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                notices.append("cannot open \(path): \(String(cString: strerror(errno)))")
                continue
            }
            let fingerprint = Self.fingerprint(fd)
            var offset: Int64 = 0
            if let saved = known.removeValue(forKey: identity), fingerprint.starts(with: saved.fingerprint) {
                offset = min(saved.offset, Int64(st.st_size))
            } else if firstLook && startAtEnd {
                offset = Int64(st.st_size)
            }
            let checkpoint = FileCheckpoint(
                source: source, path: path, device: identity.device, inode: identity.inode, fingerprint: fingerprint,
                offset: offset)
            followed[identity] = Followed(checkpoint: checkpoint, fd: fd)
        }
        for (identity, file) in followed where !seen.contains(identity) && file.rotatedAt == nil {
            file.rotatedAt = now
        }
        if firstLook {
            firstLook = false
            resumeRotatedWhileDown(now: now)
        }
    }

    /// Checkpointed files that no pattern matches any more were rotated while Vigil was down:
    /// find them by inode next to where they were and read what is left of them.
    private func resumeRotatedWhileDown(now: Double) {
        for (identity, saved) in known {
            let directory = Self.directory(of: saved.path)
            guard let path = Self.find(inode: identity.inode, device: identity.device, in: directory) else {
                notices.append(
                    "\(saved.path) (inode \(saved.inode)) is gone; lines after offset \(saved.offset) were not read")
                continue
            }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            let fingerprint = Self.fingerprint(fd)
            guard fingerprint.starts(with: saved.fingerprint) else {
                close(fd)
                notices.append("\(saved.path) was replaced; lines after offset \(saved.offset) were not read")
                continue
            }
            var checkpoint = saved
            checkpoint.path = path
            checkpoint.fingerprint = fingerprint
            let file = Followed(checkpoint: checkpoint, fd: fd)
            file.rotatedAt = now
            followed[identity] = file
        }
        known = [:]
    }

    // MARK: Reading

    private func readNew(_ file: Followed, budget: Int) -> (Int, LineChunk?) {
        var st = stat()
        guard fstat(file.fd, &st) == 0 else { return (0, nil) }
        let size = Int64(st.st_size)
        if size < file.readOffset || !Self.fingerprint(file.fd).starts(with: file.checkpoint.fingerprint) {
            notices.append("\(file.checkpoint.path) was truncated; reading it again from the start")
            file.checkpoint.offset = 0
            file.readOffset = 0
            file.pending.removeAll()
            file.skipping = nil
            file.checkpoint.fingerprint = []
        }
        if file.checkpoint.fingerprint.count < FileCheckpoint.fingerprintBytes {
            file.checkpoint.fingerprint = Self.fingerprint(file.fd)
        }
        guard size > file.readOffset else { return (0, nil) }
        let want = Int(min(size - file.readOffset, Int64(min(budget, Self.readSize))))
        // The unfinished line from before, then the new bytes read straight after it: the lines
        // are handed out as ranges of this one array.
        let pending = file.pending
        file.pending = []
        let scanFrom = pending.count
        var n = 0
        // Every chunk's array the same size (whole MiB): one freed by an earlier chunk then fits
        // the next, where sizes that differed by the unfinished line sent glibc to the top of the
        // heap for fresh pages, faulted in and zeroed by the kernel.
        let capacity = (scanFrom + want + Self.chunkRounding - 1) / Self.chunkRounding * Self.chunkRounding
        let data = [UInt8](unsafeUninitializedCapacity: capacity) { space, initialized in
            guard let base = space.baseAddress else { return }
            pending.withUnsafeBufferPointer { if let p = $0.baseAddress { base.initialize(from: p, count: scanFrom) } }
            n = max(0, pread(file.fd, base + scanFrom, want, off_t(file.readOffset)))
            initialized = scanFrom + n
        }
        guard n > 0 else {
            file.pending = pending
            return (0, nil)
        }
        file.readOffset += Int64(n)
        var batch = LineBatch(firstLine: 0, sequence: 0)
        var offsets: [Int64] = []
        cut(file, data, scanFrom: scanFrom, &batch, &offsets)
        guard !batch.entries.isEmpty else { return (n, nil) }
        batch.bytes = data
        return (n, LineChunk(checkpoint: file.checkpoint, batch: batch, lineOffsets: offsets, finished: false))
    }

    /// Adds an entry per complete line of `data` (whose first `scanFrom` bytes hold no newline)
    /// and keeps the unfinished rest as the file's pending bytes.
    private func cut(
        _ file: Followed, _ data: [UInt8], scanFrom: Int, _ batch: inout LineBatch, _ offsets: inout [Int64]
    ) {
        var lineStart = 0
        data.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return }
            var i = scanFrom
            while i < p.count, let found = memchr(base + i, 0x0A, p.count - i) {
                let nl = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                if let skipped = file.skipping {
                    batch.entries.append(.tooLong(bytes: skipped + nl - lineStart))
                    file.skipping = nil
                } else {
                    var end = nl
                    if end > lineStart, p[end - 1] == 0x0D { end -= 1 }
                    batch.entries.append(
                        end - lineStart > maxLineBytes
                            ? .tooLong(bytes: end - lineStart) : .line(start: lineStart, end: end))
                }
                offsets.append(file.checkpoint.offset)
                file.checkpoint.offset = file.readOffset - Int64(p.count - nl - 1)
                lineStart = nl + 1
                i = nl + 1
            }
        }
        if let skipped = file.skipping {
            file.skipping = skipped + data.count - lineStart
        } else if data.count - lineStart > maxLineBytes {
            file.skipping = data.count - lineStart
        } else {
            file.pending = Array(data[lineStart...])
        }
    }

    private func append(_ line: [UInt8], to batch: inout LineBatch) {
        var length = line.count
        if length > 0, line[length - 1] == 0x0D { length -= 1 }
        if length > maxLineBytes {
            batch.entries.append(.tooLong(bytes: length))
            return
        }
        let start = batch.bytes.count
        batch.bytes.append(contentsOf: line[0..<length])
        batch.entries.append(.line(start: start, end: start + length))
    }

    /// The last chunk of a file that was rotated away: its unterminated last line, if any.
    private func finish(_ file: Followed) -> LineChunk {
        var batch = LineBatch(firstLine: 0, sequence: 0)
        var offsets: [Int64] = []
        if let skipped = file.skipping {
            batch.entries.append(.tooLong(bytes: skipped))
            offsets.append(file.checkpoint.offset)
        } else if !file.pending.isEmpty {
            append(file.pending, to: &batch)
            offsets.append(file.checkpoint.offset)
        }
        file.checkpoint.offset = file.readOffset
        return LineChunk(checkpoint: file.checkpoint, batch: batch, lineOffsets: offsets, finished: true)
    }

    // MARK: Files

    private static func fingerprint(_ fd: Int32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: FileCheckpoint.fingerprintBytes)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(bytes[0..<n]) : []
    }

    private func expand(_ patterns: [String]) -> [String] {
        var paths: [String] = []
        for pattern in patterns {
            var g = glob_t()
            defer { globfree(&g) }
            guard glob(pattern, 0, nil, &g) == 0 else { continue }
            for i in 0..<Int(g.gl_pathc) {
                if let p = g.gl_pathv[i] { paths.append(String(cString: p)) }
            }
        }
        return paths
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The path of a regular file with this inode in `directory`, if there is one.
    static func find(inode: UInt64, device: UInt64, in directory: String) -> String? {
        guard let dir = opendir(directory) else { return nil }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            guard UInt64(entry.pointee.d_ino) == inode else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            let path = directory == "/" ? "/" + name : directory + "/" + name
            var st = stat()
            if stat(path, &st) == 0, UInt64(st.st_dev) == device, st.st_mode & S_IFMT == S_IFREG { return path }
        }
        return nil
    }
}
