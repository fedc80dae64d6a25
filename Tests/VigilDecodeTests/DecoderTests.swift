import Foundation
import Testing

@testable import VigilDecode

@Suite struct RecordDecoderTests {
    func decode(
        _ line: String, _ format: RecordFormat = .jsonLines(.gateway), with shared: RecordDecoder? = nil
    ) throws(DecodeError) -> [String: String] {
        let decoder = shared ?? RecordDecoder(format: format)
        var copy = line
        var result: [String: String] = [:]
        var failure: DecodeError? = nil
        copy.withUTF8 { buffer in
            do throws(DecodeError) {
                let r = try decoder.decode(buffer)
                func put(_ k: String, _ v: UnsafeBufferPointer<UInt8>?) {
                    if let v { result[k] = String(decoding: v, as: UTF8.self) }
                }
                put("request_id", r.requestID)
                put("user_id", r.userID)
                put("input", r.input)
                put("output", r.output)
            } catch { failure = error }
        }
        if let failure { throw failure }
        return result
    }

    @Test func gatewayRecord() throws {
        let r = try decode(
            #"{"ts":"t","request_id":"r1","user_id":"u1","client_ip":"1.2.3.4","model":"m","direction":"output","text":"你好"}"#
        )
        #expect(r == ["request_id": "r1", "user_id": "u1", "output": "你好"])
    }

    @Test func membersAreFoundWhateverOrderTheLinesBefore() throws {
        // One decoder remembers which key each position held: lines that change their order,
        // add members, or carry a name as long as a wanted one must still decode exactly.
        let d = RecordDecoder(format: .jsonLines(.gateway))
        let lines = [
            #"{"request_id":"r1","user_id":"u1","direction":"input","text":"a"}"#,
            #"{"session_id":"s","request_id":"r3","direction":"input","text":"c"}"#,
            #"{"text":"b","direction":"output","user_id":"u2","request_id":"r2"}"#,
            #"{"request_id":"r4","request_id":"r5","direction":"input","text":"d","user_idx":"x"}"#,
            #"{"direction":"input","text":"e"}"#,
            #"{"request_id":"r1","user_id":"u1","direction":"input","text":"a"}"#,
        ]
        let expected: [[String: String]] = [
            ["request_id": "r1", "user_id": "u1", "input": "a"], ["request_id": "r3", "input": "c"],
            ["request_id": "r2", "user_id": "u2", "output": "b"], ["request_id": "r4", "input": "d"], ["input": "e"],
            ["request_id": "r1", "user_id": "u1", "input": "a"],
        ]
        for (line, want) in zip(lines, expected) { #expect(try decode(line, with: d) == want, "\(line)") }
    }

    @Test func directionSpellings() throws {
        for (spelling, side) in [
            ("input", "input"), ("output", "output"), ("Input", "input"), ("OUTPUT", "output"), ("request", "input"),
            ("completion", "output"), ("in", "input"), ("assistant", "output"),
        ] {
            #expect(try decode(#"{"direction":"\#(spelling)","text":"x"}"#)[side] == "x", "\(spelling)")
        }
        #expect(throws: DecodeError.self) { try decode(#"{"direction":"inputs","text":"x"}"#) }
    }

    @Test func escapesAreDecoded() throws {
        let r = try decode(#"{"request_id":"r","direction":"input","text":"a\"b\\c\n\u4f60\ud83d\ude00"}"#)
        #expect(r["input"] == "a\"b\\c\n你😀")
    }

    /// Strings are scanned eight bytes at a time and the scan resumes after each escape: quotes,
    /// escapes and control characters at every offset of a word decode as Foundation reads them.
    @Test func escapesAndControlsAtEveryOffset() throws {
        var rng = SystemRandomNumberGenerator()
        let pieces = ["a", "é", "你", "\\\"", "\\\\", "\\n", "\\u4f60", "\\t", "xyzxyzxy", " ", "\\/"]
        for _ in 0..<400 {
            let inner = (0..<Int.random(in: 0...24, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }
                .joined()
            let field = #"{"note":""# + inner + #"","direction":"input","text":""# + inner + #"x"}"#
            let expected = try #require(
                try JSONSerialization.jsonObject(with: Data(field.utf8)) as? [String: String])["text"]
            #expect(try decode(field)["input"] == expected, "\(field)")
            // A raw control character anywhere in the string is refused.
            let bad = #"{"direction":"input","text":""# + inner + "\u{01}" + inner + #""}"#
            #expect(throws: DecodeError.self, "\(bad)") { try decode(bad) }
        }
    }

    @Test func skippedValuesOfEveryKind() throws {
        let r = try decode(#"{"a":[1,-2.5e3,{"b":[true,false,null]}],"direction":"in","text":"x","z":{}}"#)
        #expect(r["input"] == "x")
    }

    @Test(arguments: [
        (#"{"direction":"input","text":"x""#, "invalid_json"),
        (#"{"direction":"input","text":"x"}}"#, "invalid_json"),
        (#"{'direction': 'input', 'text': 'x'}"#, "invalid_json"),
        (#"{"direction":"input","text":"x","y":}"#, "invalid_json"),
        (#"{"direction":"input","text":"a"b"}"#, "invalid_json"),
        (#"{"direction":"input"}"#, "missing_field"),
        (#"{"direction":"sideways","text":"x"}"#, "unknown_direction"),
        (#"{"direction":"input","text":5}"#, "not_a_string"),
        (#"[1,2]"#, "invalid_json"),
    ])
    func badLinesAreNamed(line: String, reason: String) {
        do {
            _ = try decode(line)
            Issue.record("decoded \(line)")
        } catch {
            #expect(error.reasonLabel == reason)
        }
    }

    @Test func errorNamesTheByte() {
        do {
            _ = try decode(#"{"direction":"input","text":"x",}"#)
        } catch {
            #expect(error.description.hasPrefix("invalid JSON at byte 33"))
        }
    }

    @Test func openAIPresetsAndNegativeIndexes() throws {
        let request =
            #"{"id":"q1","user":"u9","messages":[{"role":"system","content":"s"},{"role":"user","content":"最后一句"}]}"#
        #expect(
            try decode(request, .jsonLines(.openAIRequest)) == ["request_id": "q1", "user_id": "u9", "input": "最后一句"])
        let response = #"{"id":"q1","choices":[{"index":0,"message":{"role":"assistant","content":"回答"}}]}"#
        #expect(try decode(response, .jsonLines(.openAIResponse)) == ["request_id": "q1", "output": "回答"])
        let exchange =
            #"{"request_id":"x","request":{"messages":[{"content":"问"}]},"response":{"choices":[{"message":{"content":"答"}}]}}"#
        #expect(try decode(exchange, .jsonLines(.openAIExchange)) == ["request_id": "x", "input": "问", "output": "答"])
    }

    @Test func fieldPaths() throws {
        #expect(try FieldPath("messages[-1].content").segments == [.key("messages"), .index(-1), .key("content")])
        #expect(try FieldPath("a.b[2][0].c").segments == [.key("a"), .key("b"), .index(2), .index(0), .key("c")])
        #expect(throws: FieldPath.ParseError.self) { try FieldPath("a[x]") }
        #expect(throws: FieldPath.ParseError.self) { try FieldPath("[0].a") }
        #expect(throws: FieldPath.ParseError.self) { try FieldPath("") }
    }

    @Test func plainLines() throws {
        #expect(try decode("just text", .plain(.output)) == ["output": "just text"])
    }

    @Test func badByteInAShortFieldKeepsTheRecord() {
        let decoder = RecordDecoder(format: .jsonLines(.gateway))
        var bytes = Array(#"{"request_id":"r"#.utf8)
        bytes += [0xFF]
        bytes += Array(#"","direction":"input","text":"x"}"#.utf8)
        bytes.withUnsafeBufferPointer { b in
            let record = try? decoder.decode(b)
            #expect(record?.input.map { String(decoding: $0, as: UTF8.self) } == "x")
        }
    }

    @Test func contentAsAListOfParts() throws {
        let request =
            #"{"id":"q","messages":[{"role":"user","content":[{"type":"text","text":"第一段"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"第二\n段"}]}]}"#
        #expect(try decode(request, .jsonLines(.openAIRequest))["input"] == "第一段\n第二\n段")
    }
}

@Suite struct LineReaderTests {
    func read(_ data: [UInt8], maxLine: Int = 1024, batch: Int = 64) throws -> [LineBatch.Entry] {
        let fd = try pipeReader(data)
        let reader = LineReader(fd: fd, maxLineBytes: maxLine, batchBytes: batch, chunkSize: 512)
        var entries: [LineBatch.Entry] = []
        while let b = try reader.nextBatch() { entries += b.entries }
        close(fd)
        return entries
    }

    @Test func linesCRLFAndFinalLineWithoutNewline() throws {
        let entries = try read(Array("a\r\nbb\n\nccc".utf8))
        let lengths = entries.map { e -> Int in if case .line(let s, let e) = e { return e - s } else { return -1 } }
        #expect(lengths == [1, 2, 0, 3])
    }

    /// Lines are found in the read buffer and copied into batches a run at a time: every line's
    /// bytes come out as written, across refills, CRs, empty lines and over-long lines, found
    /// whole in the buffer or not.
    @Test func everyLineComesOutWhole() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let (data, expected) = randomLines(lastNewline: true, &rng)
            let fds = try pipeReader(data)
            let reader = LineReader(
                fd: fds, maxLineBytes: 1024, batchBytes: Int.random(in: 64...4096, using: &rng),
                chunkSize: 512)
            var lines: [[UInt8]?] = []
            while let b = try reader.nextBatch() {
                for e in b.entries {
                    switch e {
                    case .line(let start, let end): lines.append(Array(b.bytes[start..<end]))
                    case .tooLong: lines.append(nil)
                    }
                }
            }
            close(fds)
            #expect(lines == expected)
        }
    }

    /// The lines handed over in place (`withNextLines`, as `vigil scan --jobs 1` reads) are the
    /// lines written, numbered as read, across refills, CRs, empty and over-long lines, and a
    /// last line without a newline.
    @Test func linesInPlaceComeOutWholeAndNumbered() throws {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<20 {
            let (data, expected) = randomLines(lastNewline: round % 2 == 0, &rng)
            let fd = try pipeReader(data)
            let reader = LineReader(fd: fd, maxLineBytes: 1024, chunkSize: Int.random(in: 256...2048, using: &rng))
            var lines: [[UInt8]?] = []
            var numbersFollow = true
            while try reader.withNextLines({ bytes, entries, first in
                numbersFollow = numbersFollow && first == lines.count + 1
                for e in entries {
                    switch e {
                    case .line(let start, let end): lines.append(Array(bytes[start..<end]))
                    case .tooLong: lines.append(nil)
                    }
                }
            }) {}
            close(fd)
            #expect(numbersFollow)
            #expect(lines == expected)
        }
    }

    /// 300 lines of printable ASCII, some over the 1,024-byte limit, ended by LF or CRLF (the
    /// last one by neither unless `lastNewline`, and then not empty); and each line as a reader
    /// should give it (nil: too long).
    func randomLines(lastNewline: Bool, _ rng: inout SystemRandomNumberGenerator) -> ([UInt8], [[UInt8]?]) {
        var expected: [[UInt8]?] = []
        var data: [UInt8] = []
        for n in 0..<300 {
            // A last line without a newline is at least one byte: an empty one is no line at all.
            let shortest = n == 299 && !lastNewline ? 1 : 0
            let length = Int.random(in: shortest...(n % 37 == 0 ? 3000 : 200), using: &rng)
            let line = (0..<length).map { _ in UInt8.random(in: 0x20...0x7E, using: &rng) }
            data += line
            if n < 299 || lastNewline { data += Bool.random(using: &rng) ? [0x0D, 0x0A] : [0x0A] }
            expected.append(length > 1024 ? nil : line)
        }
        return (data, expected)
    }

    /// A pipe with `data` written into it by another thread; returns the read end.
    func pipeReader(_ data: [UInt8]) throws -> Int32 {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let writeEnd = fds[1]
        let writer = Thread {
            data.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = write(writeEnd, raw.baseAddress! + off, min(4096, raw.count - off))
                    if n <= 0 { break }
                    off += n
                }
            }
            close(writeEnd)
        }
        writer.start()
        return fds[0]
    }

    @Test func overlongLineIsSkippedAndCounted() throws {
        let long = [UInt8](repeating: 0x61, count: 5000)
        let entries = try read(Array("x\n".utf8) + long + Array("\ny\n".utf8), maxLine: 1024)
        #expect(entries.count == 3)
        if case .tooLong(let bytes) = entries[1] { #expect(bytes == 5000) } else { Issue.record("not tooLong") }
        if case .line(let s, let e) = entries[2] { #expect(e - s == 1) } else { Issue.record("lost the next line") }
    }
}

@Suite struct StatusFieldTests {
    @Test func statusAsNumberOrWord() throws {
        let decoder = RecordDecoder(format: .jsonLines(.gateway))
        for (line, expected) in [
            (#"{"request_id":"a","direction":"output","text":"t","status":503}"#, "503"),
            (#"{"request_id":"a","direction":"output","text":"t","status":"error"}"#, "error"),
            (#"{"request_id":"a","direction":"output","text":"t"}"#, nil),
        ] {
            var copy = line
            let status = try copy.withUTF8 { bytes in
                try decoder.decode(bytes).status.map { String(decoding: $0, as: UTF8.self) }
            }
            #expect(status == expected)
        }
    }
}

/// Short fields are checked eight ASCII bytes at a time, then byte by byte from the first that
/// is not ASCII: the answer is the standard library's, and the offset is where validity ends.
@Suite struct UTF8CheckTests {
    @Test func agreesWithTheStandardLibrary() {
        var rng = SystemRandomNumberGenerator()
        let pieces: [[UInt8]] = [
            Array("abcdefgh".utf8), Array("x".utf8), Array("é".utf8), Array("你".utf8), Array("😀".utf8), [0xFF],
            [0xC0, 0x80],
            [0xE4, 0xBD], [0xED, 0xA0, 0x80], [0x80],
        ]
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...12, using: &rng)).flatMap { _ in pieces.randomElement(using: &rng)! }
            let found = bytes.withUnsafeBufferPointer { UTF8Check.firstInvalid($0) }
            let valid = String(validating: bytes, as: UTF8.self) != nil
            #expect((found == nil) == valid, "\(bytes)")
            if let k = found {
                #expect(String(validating: bytes[..<k], as: UTF8.self) != nil, "\(bytes) at \(k)")
            }
        }
    }
}
