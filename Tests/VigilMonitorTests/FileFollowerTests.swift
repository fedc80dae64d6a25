import Foundation
import Testing
import VigilDecode

@testable import VigilMonitor

/// A scratch directory for one test.
struct Scratch {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func append(_ name: String, _ text: String) throws {
        let p = path(name)
        if !FileManager.default.fileExists(atPath: p) { _ = FileManager.default.createFile(atPath: p, contents: nil) }
        let h = try #require(FileHandle(forWritingAtPath: p))
        h.seekToEndOfFile()
        h.write(Data(text.utf8))
        h.closeFile()
    }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// The lines a poll hands out, as strings (`<too long: N>` for skipped ones), and the chunks.
func poll(_ f: FileFollower, at now: Double) -> ([String], [LineChunk]) {
    var lines: [String] = []
    var chunks: [LineChunk] = []
    f.poll(now: now) { chunk in
        chunks.append(chunk)
        for e in chunk.batch.entries {
            switch e {
            case .line(let s, let e): lines.append(String(decoding: chunk.batch.bytes[s..<e], as: UTF8.self))
            case .tooLong(let n): lines.append("<too long: \(n)>")
            }
        }
    }
    return (lines, chunks)
}

@Suite struct FileFollowerTests {
    @Test func handsOutCompleteLinesAndKeepsThePartialOne() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try dir.append("a.log", "one\ntwo\nthr")
        let f = FileFollower(source: "s", patterns: [dir.path("*.log")])
        let (lines, chunks) = poll(f, at: 0)
        #expect(lines == ["one", "two"])
        #expect(chunks.first?.lineOffsets == [0, 4])
        #expect(chunks.first?.checkpoint.offset == 8)
        try dir.append("a.log", "ee\r\n")
        #expect(poll(f, at: 1).0 == ["three"])
        #expect(f.checkpoints.first?.offset == 15)
    }

    @Test func skipsAnOverlongLineAndReadsTheNext() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try dir.append("a.log", String(repeating: "x", count: 3000) + "\nshort\n")
        let f = FileFollower(source: "s", patterns: [dir.path("*.log")], maxLineBytes: 1024)
        #expect(poll(f, at: 0).0 == ["<too long: 3000>", "short"])
    }

    @Test func readsARenamedFileToItsEndThenItsSuccessor() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try dir.append("a.log", "1\n")
        let f = FileFollower(source: "s", patterns: [dir.path("a.log")])
        f.discoveryInterval = 0
        f.rotationGrace = 1
        #expect(poll(f, at: 0).0 == ["1"])
        try FileManager.default.moveItem(atPath: dir.path("a.log"), toPath: dir.path("a.log.1"))
        try dir.append("a.log.1", "2\nlast-without-newline")
        try dir.append("a.log", "3\n")
        #expect(Set(poll(f, at: 1).0) == ["2", "3"])
        // After the grace period the old file's unterminated line is complete, and the file is dropped.
        let (lines, chunks) = poll(f, at: 3)
        #expect(lines == ["last-without-newline"])
        #expect(chunks.contains { $0.finished })
        #expect(f.checkpoints.map(\.path) == [dir.path("a.log")])
    }

    @Test func rereadsAFileTruncatedInPlace() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try dir.append("a.log", "first line\nsecond line\n")
        let f = FileFollower(source: "s", patterns: [dir.path("a.log")])
        #expect(poll(f, at: 0).0.count == 2)
        try Data().write(to: URL(fileURLWithPath: dir.path("a.log")))
        try dir.append("a.log", "new\n")
        #expect(poll(f, at: 1).0 == ["new"])
        #expect(f.notices.contains { $0.contains("truncated") })
    }

    @Test func resumesFromACheckpointAndDistrustsAChangedFile() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try dir.append("a.log", "one\ntwo\n")
        let first = FileFollower(source: "s", patterns: [dir.path("a.log")])
        _ = poll(first, at: 0)
        try dir.append("a.log", "three\n")
        let resumed = FileFollower(source: "s", patterns: [dir.path("a.log")], checkpoints: first.checkpoints)
        #expect(poll(resumed, at: 0).0 == ["three"])
        // A checkpoint whose fingerprint does not match the file (replaced in place) is not trusted.
        var stale = first.checkpoints[0]
        stale.fingerprint = Array("zzz".utf8)
        let distrusting = FileFollower(source: "s", patterns: [dir.path("a.log")], checkpoints: [stale])
        #expect(poll(distrusting, at: 0).0 == ["one", "two", "three"])
        // Another source's checkpoints are ignored.
        let other = FileFollower(source: "t", patterns: [dir.path("a.log")], checkpoints: first.checkpoints)
        #expect(poll(other, at: 0).0.count == 3)
    }

    @Test func startAtEndSkipsWhatWasThereAtStartOnly() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try dir.append("a.log", "old\n")
        let f = FileFollower(source: "s", patterns: [dir.path("*.log")], startAtEnd: true)
        f.discoveryInterval = 0
        #expect(poll(f, at: 0).0.isEmpty)
        try dir.append("a.log", "new\n")
        try dir.append("b.log", "from a new file\n")
        #expect(Set(poll(f, at: 1).0) == ["new", "from a new file"])
    }
}
