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
    /// The record's request id (see `RequestID` for why not a string); empty when it has none.
    /// Not an optional: Swift copied an optional id through the runtime's generic value
    /// witnesses, about 130 instructions a copy, several times per text on the loop thread.
    public var requestKey = RequestID()
    /// The request id, nil when the record has none (or an empty one).
    public var requestID: String? {
        get { requestKey.isEmpty ? nil : requestKey.description }
        set { requestKey = newValue.map(RequestID.init) ?? RequestID() }
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

    /// Whether any risk was found (without copying the list out).
    public var hasRisks: Bool { rare.map { !$0.risks.isEmpty } ?? false }

    /// Whether any risk or attack was found (personal data aside).
    public var hasRisksOrAttacks: Bool {
        guard let rare else { return false }
        return !rare.risks.isEmpty || !rare.attacks.isEmpty
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
    /// `body` takes each text's findings over (they are not copied for it to keep).
    public func inspect(line: UnsafeBufferPointer<UInt8>, _ body: (consuming TextFindings) -> Void) -> DecodeError? {
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
        scanner.scan(text, refusalCheck: direction == .output, hashingLetters: direction == .input)
        var f = TextFindings(direction: direction)
        if let id = record.requestID { f.requestKey = RequestID(id) }
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
            f.promptHash = scanner.text.letterHash
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
}
