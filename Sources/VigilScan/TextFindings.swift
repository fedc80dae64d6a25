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
    /// The record's request id (see `RequestID` for why not a string).
    public var requestKey: RequestID?
    public var requestID: String? {
        get { requestKey?.description }
        set { requestKey = newValue.map(RequestID.init) }
    }
    public var userID: String?
    public var clientIP: String?
    /// For outputs: whether the text reads as a refusal.
    public var refusal: Bool?
    /// For inputs: a hash of the text's letters and ideographs, case folded, so that prompts
    /// differing only in digits, spacing or punctuation hash alike (repeated-prompt tracking).
    public var promptHash: UInt64 = 0

    /// Most texts find nothing and carry no key or status: those fields share one box, absent
    /// until one is set, so handing a text's findings from stage to stage copies two references,
    /// not eight. The box is copied before a write when another value shares it.
    private var rare: Rare?

    private final class Rare: @unchecked Sendable {
        var apiKey: String?
        var status: String?
        var risks: [Hit] = []
        var attacks: [Hit] = []
        var pii: [Hit] = []
        var topics: [String] = []
        var invalidUTF8: DecodeError?

        func copy() -> Rare {
            let c = Rare()
            (c.apiKey, c.status, c.invalidUTF8) = (apiKey, status, invalidUTF8)
            (c.risks, c.attacks, c.pii, c.topics) = (risks, attacks, pii, topics)
            return c
        }
    }

    /// Changes the box, creating it or unsharing it first; nothing is created for `unset`.
    private mutating func change(unset: Bool, _ body: (Rare) -> Void) {
        if rare == nil {
            if unset { return }
            rare = Rare()
        } else if !isKnownUniquelyReferenced(&rare) {
            rare = rare?.copy()
        }
        if let box = rare { body(box) }
    }

    /// The API key (or key id) the request came with, when the format has one.
    public var apiKey: String? {
        get { rare?.apiKey }
        set { change(unset: newValue == nil) { $0.apiKey = newValue } }
    }
    /// The record's status as the gateway wrote it (`500`, `error`), when the format has one.
    public var status: String? {
        get { rare?.status }
        set { change(unset: newValue == nil) { $0.status = newValue } }
    }
    public var risks: [Hit] {
        get { rare?.risks ?? [] }
        set { change(unset: newValue.isEmpty) { $0.risks = newValue } }
    }
    public var attacks: [Hit] {
        get { rare?.attacks ?? [] }
        set { change(unset: newValue.isEmpty) { $0.attacks = newValue } }
    }
    public var pii: [Hit] {
        get { rare?.pii ?? [] }
        set { change(unset: newValue.isEmpty) { $0.pii = newValue } }
    }
    public var topics: [String] {
        get { rare?.topics ?? [] }
        set { change(unset: newValue.isEmpty) { $0.topics = newValue } }
    }
    /// A byte that was not UTF-8 (the text was still scanned, with U+FFFD there).
    public var invalidUTF8: DecodeError? {
        get { rare?.invalidUTF8 }
        set { change(unset: newValue == nil) { $0.invalidUTF8 = newValue } }
    }

    public init(direction: Direction) { self.direction = direction }

    /// Whether any risk, attack or personal data was found.
    public var hasFindings: Bool {
        guard let rare else { return false }
        return !rare.risks.isEmpty || !rare.attacks.isEmpty || !rare.pii.isEmpty
    }

    public static func == (a: TextFindings, b: TextFindings) -> Bool {
        a.direction == b.direction && a.requestKey == b.requestKey && a.userID == b.userID
            && a.clientIP == b.clientIP && a.refusal == b.refusal && a.promptHash == b.promptHash
            && a.apiKey == b.apiKey && a.status == b.status && a.risks == b.risks && a.attacks == b.attacks
            && a.pii == b.pii && a.topics == b.topics && a.invalidUTF8 == b.invalidUTF8
    }
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
        f.requestKey = record.requestID.map { RequestID($0) }
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

    /// FNV-1a over the letters in four interleaved lanes: the letters are first gathered into a
    /// small buffer without branching on each character, then hashed four at a time, so the
    /// multiplications do not wait on one another; a final mix spreads every lane over all bits.
    static func promptHash(_ scalars: UnsafeBufferPointer<UInt32>) -> UInt64 {
        let prime: UInt64 = 0x100_0000_01b3
        var h0: UInt64 = 0xcbf2_9ce4_8422_2325
        var (h1, h2, h3) = (h0 ^ 1, h0 ^ 2, h0 ^ 3)
        var letters = 0
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 68) { buffer in
            guard let gathered = buffer.baseAddress else { return }
            var held = 0
            var i = 0
            while i < scalars.count {
                let end = min(scalars.count, i + 64)
                while i < end {
                    let s = scalars[i]
                    let lower = s | 0x20
                    gathered[held] = s < 0x80 ? lower : s
                    held &+= (s >= 0x3400 || lower &- 0x61 < 26) ? 1 : 0
                    i &+= 1
                }
                var j = 0
                while j + 4 <= held {
                    h0 = (h0 ^ UInt64(gathered[j])) &* prime
                    h1 = (h1 ^ UInt64(gathered[j + 1])) &* prime
                    h2 = (h2 ^ UInt64(gathered[j + 2])) &* prime
                    h3 = (h3 ^ UInt64(gathered[j + 3])) &* prime
                    j += 4
                }
                letters += j
                // Up to three letters wait for the next round (or the end).
                for k in j..<held { gathered[k - j] = gathered[k] }
                held -= j
            }
            if held > 0 { h0 = (h0 ^ UInt64(gathered[0])) &* prime }
            if held > 1 { h1 = (h1 ^ UInt64(gathered[1])) &* prime }
            if held > 2 { h2 = (h2 ^ UInt64(gathered[2])) &* prime }
            letters += held
        }
        var h = ((h0 ^ (h1 << 1 | h1 >> 63)) &* prime) ^ (h2 << 2 | h2 >> 62) ^ (h3 << 3 | h3 >> 61)
        h ^= UInt64(letters)
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        return h ^ (h >> 33)
    }
}
