import VigilDecode
import VigilMatch

/// What detection found in one text of one record, as plain values: what the daemon's
/// trackers and alert rules consume. Excerpts are the original text with personal data masked.
public struct TextFindings: Sendable, Equatable {
    /// One rule that matched: the risk id, attack kind or PII kind it signals, and where.
    public struct Hit: Sendable, Equatable {
        public var signal: String
        public var rule: String
        public var excerpt: String

        public init(signal: String, rule: String, excerpt: String) {
            self.signal = signal
            self.rule = rule
            self.excerpt = excerpt
        }
    }

    public var direction: Direction
    public var requestID: String?
    public var userID: String?
    public var clientIP: String?
    /// The API key (or key id) the request came with, when the format has one.
    public var apiKey: String?
    /// The record's status as the gateway wrote it (`500`, `error`), when the format has one.
    public var status: String?
    public var risks: [Hit] = []
    public var attacks: [Hit] = []
    public var pii: [Hit] = []
    public var topics: [String] = []
    /// For outputs: whether the text reads as a refusal.
    public var refusal: Bool?
    /// A byte that was not UTF-8 (the text was still scanned, with U+FFFD there).
    public var invalidUTF8: DecodeError?
    /// For inputs: a hash of the text's letters and ideographs, case folded, so that prompts
    /// differing only in digits, spacing or punctuation hash alike (repeated-prompt tracking).
    public var promptHash: UInt64 = 0

    public init(direction: Direction) { self.direction = direction }

    /// Whether any risk, attack or personal data was found.
    public var hasFindings: Bool { !risks.isEmpty || !attacks.isEmpty || !pii.isEmpty }
}

extension ScanEngine {
    /// Decodes and scans one line, handing each of its texts (input first) to `body`.
    /// Returns why the line could not be decoded, or nil. Counts into `summary` like `process`.
    public func inspect(line: UnsafeBufferPointer<UInt8>, _ body: (TextFindings) -> Void) -> DecodeError? {
        summary.lines += 1
        summary.bytes += line.count + 1
        if line.isEmpty || (line.count < 4 && line.allSatisfy({ $0 == 0x20 || $0 == 0x09 })) { return nil }
        let record: RecordDecoder.Record
        do {
            record = try decoder.decode(line)
        } catch {
            summary.decodeErrors[error.reasonLabel, default: 0] += 1
            return error
        }
        if let input = record.input { body(findings(input, direction: .input, record: record, line: line)) }
        if let output = record.output { body(findings(output, direction: .output, record: record, line: line)) }
        return nil
    }

    /// Counts a line that was too long to be read (`LineBatch.Entry.tooLong`).
    public func countTooLong(bytes: Int) -> DecodeError {
        summary.lines += 1
        summary.bytes += bytes + 1
        let error = DecodeError.lineTooLong(bytes: bytes, limit: maxLineBytes)
        summary.decodeErrors[error.reasonLabel, default: 0] += 1
        return error
    }

    func findings(
        _ text: UnsafeBufferPointer<UInt8>, direction: Direction, record: RecordDecoder.Record,
        line: UnsafeBufferPointer<UInt8>
    ) -> TextFindings {
        scanner.scan(text, refusalCheck: direction == .output)
        var f = TextFindings(direction: direction)
        f.requestID = record.requestID.map { String(decoding: $0, as: UTF8.self) }
        f.userID = record.userID.map { String(decoding: $0, as: UTF8.self) }
        f.clientIP = record.clientIP.map { String(decoding: $0, as: UTF8.self) }
        f.apiKey = record.apiKey.map { String(decoding: $0, as: UTF8.self) }
        f.status = record.status.map { String(decoding: $0, as: UTF8.self) }
        if let offset = scanner.text.firstInvalidUTF8 {
            let error = DecodeError.invalidUTF8(
                field: fieldName(direction), offset: lineOffset(of: text, in: line).map { $0 + offset } ?? offset)
            summary.decodeErrors[error.reasonLabel, default: 0] += 1
            f.invalidUTF8 = error
        }
        if direction == .input {
            summary.inputs += 1
            f.promptHash = Self.promptHash(scanner.text.scalars.buffer)
        } else {
            summary.outputs += 1
        }
        if scanner.matches.count > 0 {
            let c = collect(text)
            func hit(_ signal: String, _ rule: String, _ m: Match, masked: Bool) -> TextFindings.Hit {
                let bytes = excerpt(text, m, masked: masked, hiding: c.piiRanges)
                return TextFindings.Hit(signal: signal, rule: rule, excerpt: String(decoding: bytes, as: UTF8.self))
            }
            f.risks = c.risks.map { hit($0.id, $0.rule, $0.match, masked: false) }
            for e in c.evidence {
                if e.masked {
                    f.pii.append(hit(e.kind, e.rule, e.match, masked: true))
                } else {
                    f.attacks.append(hit(e.kind, e.rule, e.match, masked: false))
                }
            }
        }
        for t in 0..<scanner.topics.count {
            let id = library.ruleSet.topics[Int(scanner.topics[t])].id
            f.topics.append(id)
            summary.topics[id, default: 0] += 1
        }
        if direction == .output {
            f.refusal = scanner.isRefusal
            if scanner.isRefusal { summary.refusals += 1 }
        }
        return f
    }

    /// FNV-1a over the letters, two scalars (21 bits each) to a multiplication, which halves the
    /// chain of dependent multiplications; a final mix spreads every letter over the high bits.
    static func promptHash(_ scalars: UnsafeBufferPointer<UInt32>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var held: UInt64 = 0
        var holding = false
        for s in scalars {
            let lower = s | 0x20
            guard s >= 0x3400 || (lower >= 0x61 && lower <= 0x7A) else { continue }
            let v = UInt64(s < 0x80 ? lower : s)
            if holding {
                h = (h ^ (held << 21 | v)) &* 0x100_0000_01b3
            } else {
                held = v
            }
            holding.toggle()
        }
        if holding { h = (h ^ held) &* 0x100_0000_01b3 }
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        return h ^ (h >> 33)
    }
}
