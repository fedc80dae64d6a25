import VigilDecode
import VigilMatch
import VigilRules

/// Options shared by every worker of a scan.
public struct ScanOptions: Sendable {
    public var format: RecordFormat
    /// Characters of context shown on each side of a hit in an excerpt.
    public var excerptContext: Int
    public var matchLimit: UInt32
    public var style: OutputStyle
    /// Time every regex (for `--profile-rules`).
    public var profileRules = false

    /// How findings are written.
    public enum OutputStyle: String, Sendable, CaseIterable {
        /// One JSON object per record and direction (docs/FINDINGS.md).
        case jsonl
        /// One line per finding, for people.
        case text
        /// Nothing; only the summary.
        case none
    }

    public init(
        format: RecordFormat = .jsonLines(.gateway), style: OutputStyle = .jsonl, excerptContext: Int = 12,
        matchLimit: UInt32 = 200_000
    ) {
        self.format = format
        self.style = style
        self.excerptContext = excerptContext
        self.matchLimit = matchLimit
    }
}

/// Decodes, scans and writes findings for batches of lines. One engine per thread.
public final class ScanEngine {
    public let library: RuleLibrary
    public let options: ScanOptions
    let decoder: RecordDecoder
    let scanner: Scanner
    public internal(set) var summary = ScanSummary()

    public init(library: RuleLibrary, options: ScanOptions) {
        self.library = library
        self.options = options
        decoder = RecordDecoder(format: options.format)
        scanner = Scanner(rules: library.ruleSet, matchLimit: options.matchLimit)
        scanner.profiling = options.profileRules
    }

    /// Processes a batch and returns its JSON Lines output (one object per record and direction).
    public func process(_ batch: LineBatch) -> [UInt8] {
        batch.bytes.withUnsafeBufferPointer { process($0, batch.entries, firstLine: batch.firstLine) }
    }

    /// `process(_:)` for lines whose entries index `bytes` (see `LineReader.withNextLines`).
    public func process(_ bytes: UnsafeBufferPointer<UInt8>, _ entries: [LineBatch.Entry], firstLine: Int) -> [UInt8] {
        var out = JSONOutput(capacity: entries.count * 160)
        var number = firstLine
        for entry in entries {
            switch entry {
            case .line(let start, let end):
                summary.bytes += end - start + 1
                process(line: UnsafeBufferPointer(rebasing: bytes[start..<end]), number: number, into: &out)
            case .tooLong(let bytes):
                summary.bytes += bytes + 1
                error(.lineTooLong(bytes: bytes, limit: maxLineBytes), line: number, into: &out)
            }
            summary.lines += 1
            number += 1
        }
        summary.regexRuns = scanner.counters.regexRuns
        summary.runsPerRegex = scanner.counters.runsPerRegex
        summary.literalHits = scanner.counters.literalHits
        summary.nanosPerRegex = scanner.counters.nanosPerRegex
        summary.regexLimitHits = scanner.counters.regexLimitHits
        return options.style == .none ? [] : out.bytes
    }

    /// The line limit the reader applies; only used for the error text.
    public var maxLineBytes = 8 << 20

    func process(line: UnsafeBufferPointer<UInt8>, number: Int, into out: inout JSONOutput) {
        // A blank line counts as a line but is no record.
        if line.isEmpty || (line.count < 4 && line.allSatisfy({ $0 == 0x20 || $0 == 0x09 })) { return }
        let record: RecordDecoder.Record
        do {
            record = try decoder.decode(line)
        } catch {
            self.error(error, line: number, into: &out)
            return
        }
        if let input = record.input {
            scanText(input, direction: .input, record: record, line: number, lineBytes: line, into: &out)
        }
        if let output = record.output {
            scanText(output, direction: .output, record: record, line: number, lineBytes: line, into: &out)
        }
    }

    /// The name of the field a text came from, for messages.
    func fieldName(_ direction: Direction) -> String {
        guard case .jsonLines(let map) = options.format else { return "line" }
        if let path = direction == .input ? map.input : map.output { return path.description }
        return map.text?.description ?? direction.rawValue
    }

    /// Where `text` starts inside the line, when it is a slice of it (no escapes were decoded).
    func lineOffset(of text: UnsafeBufferPointer<UInt8>, in line: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let t = text.baseAddress, let l = line.baseAddress, t >= l, t < l + line.count else { return nil }
        return t - l
    }

    func error(_ e: DecodeError, line: Int, into out: inout JSONOutput) {
        summary.decodeErrors[e.reasonLabel, default: 0] += 1
        if options.style == .text {
            out.text("line \(line)  not decoded: \(e.description)\n")
            return
        }
        out.raw("{\"line\":")
        out.number(line)
        out.raw(",\"error\":")
        out.string(e.description)
        out.raw("}\n")
    }

    func scanText(
        _ text: UnsafeBufferPointer<UInt8>, direction: Direction, record: RecordDecoder.Record, line: Int,
        lineBytes: UnsafeBufferPointer<UInt8>, into out: inout JSONOutput
    ) {
        scanner.scan(text, refusalCheck: direction == .output)
        // A bad byte is reported, but the text is still scanned (as U+FFFD there): one invalid
        // byte must not hide a text from the rules.
        var invalid: DecodeError? = nil
        if let offset = scanner.text.firstInvalidUTF8 {
            let error = DecodeError.invalidUTF8(
                field: fieldName(direction), offset: lineOffset(of: text, in: lineBytes).map { $0 + offset } ?? offset)
            invalid = error
            summary.decodeErrors[error.reasonLabel, default: 0] += 1
            if options.style != .jsonl {
                out.text("line \(line)  warning: \(error.description); scanned with U+FFFD in its place\n")
            }
        }
        if direction == .input { summary.inputs += 1 } else { summary.outputs += 1 }
        if options.style != .jsonl {
            writeText(text, direction: direction, record: record, line: line, into: &out)
            return
        }
        out.raw("{\"line\":")
        out.number(line)
        out.raw(",\"request_id\":")
        if let id = record.requestID { out.lossyString(id) } else { out.raw("null") }
        if direction == .input { out.raw(",\"direction\":\"input\"") } else { out.raw(",\"direction\":\"output\"") }
        if scanner.matches.count == 0 {
            out.raw(",\"risks\":[],\"attacks\":[],\"pii\":[]")
        } else {
            writeMatches(text, into: &out)
        }
        out.raw(",\"topics\":[")
        for t in 0..<scanner.topics.count {
            if t > 0 { out.raw(",") }
            let id = library.ruleSet.topics[Int(scanner.topics[t])].id
            out.string(id)
            summary.topics[id, default: 0] += 1
        }
        out.raw("]")
        if direction == .output {
            if scanner.isRefusal { out.raw(",\"refusal\":true") } else { out.raw(",\"refusal\":false") }
            if scanner.isRefusal { summary.refusals += 1 }
        }
        if let invalid {
            out.raw(",\"error\":")
            out.string(invalid.description + "; scanned with U+FFFD in its place")
        }
        out.raw("}\n")
    }

    /// What one text's matches amount to, deduplicated by rule.
    struct Collected {
        /// Original byte ranges of personal data, masked wherever an excerpt shows them.
        var piiRanges: [Range<Int>] = []
        var risks: [(id: String, rule: String, match: Match)] = []
        var attacks: [String] = []
        var pii: [String] = []
        var evidence: [(kind: String, rule: String, match: Match, masked: Bool)] = []
        var isEmpty: Bool { risks.isEmpty && attacks.isEmpty && pii.isEmpty }
    }

    func collect(_ text: UnsafeBufferPointer<UInt8>) -> Collected {
        var c = Collected()
        var seenRules = Set<String>()
        for i in 0..<scanner.matches.count {
            let m = scanner.matches[i]
            let rule = library.id(of: m.rule)
            guard seenRules.insert(rule).inserted else { continue }
            switch library.signal(of: m.rule) {
            case .risk(let id):
                c.risks.append((id, rule, m))
            case .attack(let kind):
                if !c.attacks.contains(kind) { c.attacks.append(kind) }
                c.evidence.append((kind, rule, m, false))
            case .pii(let kind):
                if !c.pii.contains(kind) { c.pii.append(kind) }
                c.evidence.append((kind, rule, m, true))
                c.piiRanges.append(scanner.text.originalRange(scalars: Int(m.start)..<Int(m.end), original: text))
            case .refusal:
                break
            }
        }
        var risksSeen = Set<String>()
        for r in c.risks where risksSeen.insert(r.id).inserted { summary.risks[r.id, default: 0] += 1 }
        for a in c.attacks { summary.attacks[a, default: 0] += 1 }
        for p in c.pii { summary.pii[p, default: 0] += 1 }
        if !c.isEmpty { summary.textsWithFindings += 1 }
        return c
    }

    /// Writes `risks`, `attacks`, `pii` and `evidence` for a text with matches.
    func writeMatches(_ text: UnsafeBufferPointer<UInt8>, into out: inout JSONOutput) {
        let c = collect(text)
        out.raw(",\"risks\":[")
        for (n, entry) in c.risks.enumerated() {
            if n > 0 { out.raw(",") }
            out.raw("{\"id\":")
            writeHit(entry.id, entry.rule, entry.match, masked: false, text, c.piiRanges, into: &out)
        }
        out.raw("],\"attacks\":")
        out.strings(c.attacks)
        out.raw(",\"pii\":")
        out.strings(c.pii)
        if !c.evidence.isEmpty {
            out.raw(",\"evidence\":[")
            for (n, e) in c.evidence.enumerated() {
                if n > 0 { out.raw(",") }
                out.raw("{\"kind\":")
                writeHit(e.kind, e.rule, e.match, masked: e.masked, text, c.piiRanges, into: &out)
            }
            out.raw("]")
        }
    }

    /// The rest of a hit object after its first key: `value, "rule": …, "excerpt": …}`.
    private func writeHit(
        _ value: String, _ rule: String, _ match: Match, masked: Bool, _ text: UnsafeBufferPointer<UInt8>,
        _ pii: [Range<Int>], into out: inout JSONOutput
    ) {
        out.string(value)
        out.raw(",\"rule\":")
        out.string(rule)
        out.raw(",\"excerpt\":")
        writeExcerpt(text, match, masked: masked, hiding: pii, into: &out)
        out.raw("}")
    }

    /// One human-readable line per finding, for `--output text`.
    func writeText(
        _ text: UnsafeBufferPointer<UInt8>, direction: Direction, record: RecordDecoder.Record, line: Int,
        into out: inout JSONOutput
    ) {
        let c = scanner.matches.count > 0 ? collect(text) : Collected()
        var topics: [String] = []
        for t in 0..<scanner.topics.count {
            let id = library.ruleSet.topics[Int(scanner.topics[t])].id
            topics.append(id)
            summary.topics[id, default: 0] += 1
        }
        if direction == .output && scanner.isRefusal { summary.refusals += 1 }
        guard !c.isEmpty || !topics.isEmpty else { return }
        var prefix = "line \(line) \(direction.rawValue)"
        if let id = record.requestID { prefix += " " + String(decoding: id, as: UTF8.self) }
        if direction == .output { prefix += scanner.isRefusal ? " (refused)" : " (answered)" }
        for r in c.risks {
            out.text(prefix + "  risk \(r.id)  \(r.rule)  ")
            writeExcerpt(text, r.match, masked: false, hiding: c.piiRanges, into: &out)
            out.raw("\n")
        }
        for e in c.evidence {
            out.text(prefix + "  \(e.masked ? "pii" : "attack") \(e.kind)  \(e.rule)  ")
            writeExcerpt(text, e.match, masked: e.masked, hiding: c.piiRanges, into: &out)
            out.raw("\n")
        }
        if !topics.isEmpty { out.text(prefix + "  topic " + topics.joined(separator: ", ") + "\n") }
    }

    /// The original text of a match, with some context unless it is personal data (then masked).
    /// Personal data found in the same text, and any long run of digits in the context, is
    /// masked wherever it falls inside an excerpt.
    func writeExcerpt(
        _ text: UnsafeBufferPointer<UInt8>, _ m: Match, masked: Bool, hiding pii: [Range<Int>],
        into out: inout JSONOutput
    ) {
        let bytes = excerpt(text, m, masked: masked, hiding: pii)
        // Output is always valid UTF-8: a text with a bad byte is copied with U+FFFD.
        bytes.withUnsafeBufferPointer { excerpt in
            if scanner.text.firstInvalidUTF8 != nil { out.lossyString(excerpt) } else { out.string(excerpt) }
        }
    }

    /// The bytes of an excerpt (see `writeExcerpt`); may hold invalid UTF-8 when the text did.
    func excerpt(_ text: UnsafeBufferPointer<UInt8>, _ m: Match, masked: Bool, hiding pii: [Range<Int>]) -> [UInt8] {
        let range = scanner.text.originalRange(scalars: Int(m.start)..<Int(m.end), original: text)
        if masked { return Array(Masking.mask(UnsafeBufferPointer(rebasing: text[range])).utf8) }
        var lower = range.lowerBound
        var upper = range.upperBound
        for _ in 0..<options.excerptContext where lower > 0 {
            lower -= 1
            while lower > 0, text[lower] & 0xC0 == 0x80 { lower -= 1 }
        }
        for _ in 0..<options.excerptContext where upper < text.count {
            upper += 1
            while upper < text.count, text[upper] & 0xC0 == 0x80 { upper += 1 }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(upper - lower)
        var i = lower
        while i < upper {
            if let r = pii.first(where: { $0.contains(i) }) {
                let end = min(r.upperBound, upper)
                bytes.append(contentsOf: Masking.mask(UnsafeBufferPointer(rebasing: text[i..<end])).utf8)
                i = end
                continue
            }
            bytes.append(text[i])
            i += 1
        }
        Masking.maskDigitRuns(&bytes)
        return bytes
    }
}

/// Masks personal data for display: letters and digits beyond the first two and last two
/// become `*`, so an analyst can tell values apart without seeing them.
public enum Masking {
    public static func mask(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        // Most personal data is ASCII (numbers, e-mail addresses): masked byte by byte, where a
        // byte is a character (but for CR LF, one character) and only ASCII letters and digits
        // are letters or numbers.
        if bytes.allSatisfy({ $0 < 0x80 && $0 != 0x0D }) { return maskASCII(bytes) }
        let chars = Array(String(decoding: bytes, as: UTF8.self))
        let positions = chars.indices.filter { chars[$0].isLetter || chars[$0].isNumber }
        guard positions.count > 4 else { return String(repeating: "*", count: chars.count) }
        var result = chars
        for p in positions.dropFirst(2).dropLast(2) { result[p] = "*" }
        return String(result)
    }

    private static func maskASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let alphanumerics = bytes.reduce(0) { $0 + (isAlphanumeric($1) ? 1 : 0) }
        guard alphanumerics > 4 else { return String(repeating: "*", count: bytes.count) }
        var result = Array(bytes)
        var seen = 0
        for i in result.indices where isAlphanumeric(result[i]) {
            seen += 1
            if seen > 2 && seen <= alphanumerics - 2 { result[i] = 0x2A }
        }
        return String(decoding: result, as: UTF8.self)
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 || b &- 0x30 < 10 }

    /// Masks the middle of every run of seven or more ASCII digits (a number that may be an ID,
    /// card or phone number cut by the excerpt's edge), keeping two digits at each end.
    public static func maskDigitRuns(_ bytes: inout [UInt8]) {
        var i = 0
        while i < bytes.count {
            guard bytes[i] >= 0x30, bytes[i] <= 0x39 else {
                i += 1
                continue
            }
            var j = i
            while j < bytes.count, bytes[j] >= 0x30, bytes[j] <= 0x39 { j += 1 }
            if j - i >= 7 { for k in (i + 2)..<(j - 2) { bytes[k] = 0x2A } }
            i = j
        }
    }
}
