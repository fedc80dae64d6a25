#if canImport(Glibc)
    import Glibc
#endif

/// Why a line did not yield a record. `description` is what findings and logs show.
public enum DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidJSON(offset: Int, reason: String)
    case missingField(String)
    case notAString(String)
    case invalidUTF8(field: String, offset: Int)
    case lineTooLong(bytes: Int, limit: Int)
    case unknownDirection(String)

    public var description: String {
        switch self {
        case .invalidJSON(let offset, let reason): return "invalid JSON at byte \(offset + 1): \(reason)"
        case .missingField(let f): return "missing field \(f)"
        case .notAString(let f): return "field \(f) is not a string"
        case .invalidUTF8(let f, let offset): return "invalid UTF-8 in field \(f) at byte \(offset + 1)"
        case .lineTooLong(let bytes, let limit):
            return "line of \(bytes) bytes is longer than the limit of \(limit) bytes"
        case .unknownDirection(let v): return "direction '\(v)' is neither input nor output"
        }
    }

    /// A short stable label for counting errors by reason.
    public var reasonLabel: String {
        switch self {
        case .invalidJSON: return "invalid_json"
        case .missingField: return "missing_field"
        case .notAString: return "not_a_string"
        case .invalidUTF8: return "invalid_utf8"
        case .lineTooLong: return "line_too_long"
        case .unknownDirection: return "unknown_direction"
        }
    }
}

/// The input line format.
public enum RecordFormat: Sendable, Hashable {
    /// One JSON object per line, fields found through a field map.
    case jsonLines(FieldMap)
    /// The whole line is the text; every line has the given direction.
    case plain(Direction)

    /// The names operators use for the formats, in `--format` and in the daemon's config.
    public static let names = ["gateway", "openai-request", "openai-response", "openai-exchange", "plain"]

    /// The format with this name; `direction` applies to records that carry none (and to
    /// every plain line).
    public static func named(_ name: String, direction: Direction? = nil) -> RecordFormat? {
        var map: FieldMap
        switch name {
        case "gateway", "jsonl": map = .gateway
        case "openai-request": map = .openAIRequest
        case "openai-response": map = .openAIResponse
        case "openai-exchange": map = .openAIExchange
        case "plain", "text": return .plain(direction ?? .output)
        default: return nil
        }
        map.defaultDirection = direction
        return .jsonLines(map)
    }
}

/// Decodes lines into records without allocating per line. One decoder per thread; the
/// buffers it returns stay valid until the next `decode`.
public final class RecordDecoder {
    public let format: RecordFormat
    private let keys: TopLevelKeys
    private let paths: [FieldPath?]
    /// For each path, the index in `keys` of its first segment.
    private let rootSlots: [Int]
    private var found: [ValueRef]
    private var values: [ValueRef]
    private var scratch: [GrowableBytes]
    /// `format` taken apart once: matching on the enum copied the whole map (and retained its
    /// paths) for every line. `plainDirection` is nil for JSON lines, whose map is `map`.
    private let plainDirection: Direction?
    private let map: FieldMap
    /// Per slot: the index in `found` of a one-segment path's value, or -1 (no path, or a
    /// longer one, followed with `navigate`).
    private let directRoots: [Int]
    /// The slots whose paths have more than one segment.
    private let nestedSlots: [Int]

    /// Field slots, in the order of `paths`.
    enum Slot: Int, CaseIterable {
        case requestID, userID, clientIP, timestamp, direction, text, input, output, status, apiKey
        var name: String {
            ["request_id", "user_id", "client_ip", "ts", "direction", "text", "input", "output", "status", "api_key"][
                rawValue]
        }
    }

    public init(format: RecordFormat) {
        self.format = format
        let map: FieldMap
        switch format {
        case .jsonLines(let m): (map, plainDirection) = (m, nil)
        case .plain(let direction): (map, plainDirection) = (FieldMap(), direction)
        }
        paths = [
            map.requestID, map.userID, map.clientIP, map.timestamp, map.direction, map.text, map.input, map.output,
            map.status, map.apiKey,
        ]
        var keys: [[UInt8]] = []
        for path in paths {
            if let path, !keys.contains(Array(path.rootKey.utf8)) { keys.append(Array(path.rootKey.utf8)) }
        }
        self.keys = TopLevelKeys(keys)
        rootSlots = paths.map { path in path.flatMap { keys.firstIndex(of: Array($0.rootKey.utf8)) } ?? 0 }
        found = Array(repeating: .missing, count: keys.count)
        values = Array(repeating: .missing, count: Slot.allCases.count)
        scratch = Slot.allCases.map { _ in GrowableBytes() }
        self.map = map
        let (paths, rootSlots) = (self.paths, self.rootSlots)
        directRoots = paths.indices.map { paths[$0]?.segments.count == 1 ? rootSlots[$0] : -1 }
        nestedSlots = paths.indices.filter { (paths[$0]?.segments.count ?? 0) > 1 }
    }

    /// The decoded record; valid until the next call.
    public struct Record {
        public var requestID: UnsafeBufferPointer<UInt8>?
        public var userID: UnsafeBufferPointer<UInt8>?
        public var clientIP: UnsafeBufferPointer<UInt8>?
        public var timestamp: UnsafeBufferPointer<UInt8>?
        public var input: UnsafeBufferPointer<UInt8>?
        public var output: UnsafeBufferPointer<UInt8>?
        public var status: UnsafeBufferPointer<UInt8>?
        public var apiKey: UnsafeBufferPointer<UInt8>?
    }

    /// Decodes one line (without its newline).
    public func decode(_ line: UnsafeBufferPointer<UInt8>) throws(DecodeError) -> Record {
        if let direction = plainDirection { return direction == .input ? Record(input: line) : Record(output: line) }
        var scanner = JSONScanner(line)
        do {
            try scanner.readTopLevel(keys: keys, into: &found)
        } catch {
            throw .invalidJSON(offset: error.offset, reason: error.reason)
        }
        values.withUnsafeMutableBufferPointer { values in
            found.withUnsafeBufferPointer { found in
                directRoots.withUnsafeBufferPointer { roots in
                    for slot in 0..<values.count {
                        let root = roots[slot]
                        values[slot] = root >= 0 ? found[root] : .missing
                    }
                }
            }
        }
        for slot in nestedSlots {
            if let path = paths[slot] {
                values[slot] = scanner.navigate(found[rootSlots[slot]], path.segments.dropFirst())
            }
        }
        var record = Record()
        record.requestID = try optionalString(.requestID, line)
        record.userID = try optionalString(.userID, line)
        record.clientIP = try optionalString(.clientIP, line)
        record.timestamp = try optionalString(.timestamp, line)
        record.status = try optionalString(.status, line)
        record.apiKey = try optionalString(.apiKey, line)
        if map.text != nil {
            var direction = map.defaultDirection
            if let d = try optionalString(.direction, line) {
                // The two canonical spellings without building a string; others the long way.
                if Self.spells(d, "input") {
                    direction = .input
                } else if Self.spells(d, "output") {
                    direction = .output
                } else {
                    let value = String(decoding: d, as: UTF8.self)
                    guard let parsed = Direction(loose: value) else { throw .unknownDirection(value) }
                    direction = parsed
                }
            } else if map.direction != nil && direction == nil {
                throw .missingField(map.direction?.description ?? "direction")
            }
            guard let text = try optionalString(.text, line) else {
                throw .missingField(map.text?.description ?? "text")
            }
            if direction == .output { record.output = text } else { record.input = text }
        }
        if map.input != nil { record.input = try optionalString(.input, line) ?? record.input }
        if map.output != nil { record.output = try optionalString(.output, line) ?? record.output }
        if record.input == nil && record.output == nil {
            let names = [map.text, map.input, map.output].compactMap { $0?.description }.joined(separator: " or ")
            throw .missingField(names)
        }
        return record
    }

    /// A message content given as a list of parts (OpenAI's `[{"type":"text","text":"…"}]`, or
    /// plain strings): the text parts joined by newlines. Other parts (images) are skipped.
    private func contentParts(_ v: ValueRef, _ line: UnsafeBufferPointer<UInt8>, into out: GrowableBytes)
        -> UnsafeBufferPointer<UInt8>?
    {
        out.removeAll()
        let scanner = JSONScanner(line)
        var any = false
        for element in scanner.elements(of: v.span) {
            let part = element.kind == .object ? scanner.member(of: element.span, named: Array("text".utf8)) : element
            guard part.kind == .string else { continue }
            if any { out.append(0x0A) }
            any = true
            JSONUnescape.decode(UnsafeBufferPointer(rebasing: line[part.span.start..<part.span.end]), appendingTo: out)
        }
        return any ? out.buffer : nil
    }

    /// Whether `bytes` are exactly `word`.
    @inline(__always)
    private static func spells(_ bytes: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        guard bytes.count == word.utf8CodeUnitCount, let base = bytes.baseAddress else { return false }
        return memcmp(base, word.utf8Start, bytes.count) == 0
    }

    /// The string at a slot, escapes decoded; nil when the field is absent or null.
    private func optionalString(_ slot: Slot, _ line: UnsafeBufferPointer<UInt8>) throws(DecodeError)
        -> UnsafeBufferPointer<UInt8>?
    {
        let v = values[slot.rawValue]
        let isText = slot == .text || slot == .input || slot == .output
        switch v.kind {
        case .missing, .null: return nil
        case .string: break
        case .number where slot == .requestID || slot == .userID || slot == .timestamp || slot == .status:
            return UnsafeBufferPointer(rebasing: line[v.span.start..<v.span.end])
        case .array where isText:
            return contentParts(v, line, into: scratch[slot.rawValue])
        default: throw .notAString(paths[slot.rawValue]?.description ?? slot.name)
        }
        // Short fields with a bad byte are kept (written with U+FFFD): dropping the record
        // would hide its text from the rules. Texts are checked by the normalizer.
        let raw = UnsafeBufferPointer(rebasing: line[v.span.start..<v.span.end])
        if !v.hasEscapes { return raw }
        let out = scratch[slot.rawValue]
        out.removeAll()
        JSONUnescape.decode(raw, appendingTo: out)
        return out.buffer
    }
}

/// A reusable byte buffer whose storage outlives each call (the decoder hands out pointers).
final class GrowableBytes {
    private(set) var base = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    private var capacity = 256
    private(set) var count = 0

    deinit { base.deallocate() }

    var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    func removeAll() { count = 0 }

    func append(_ byte: UInt8) {
        if count == capacity { grow(to: capacity * 2) }
        base[count] = byte
        count += 1
    }

    /// Appends a run of bytes with one copy.
    func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        if count + bytes.count > capacity { grow(to: max(capacity * 2, count + bytes.count)) }
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    private func grow(to newCapacity: Int) {
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        fresh.update(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = newCapacity
    }
}

enum JSONUnescape {
    /// Decodes JSON escapes (already validated by the scanner), appending to `out`. A lone
    /// surrogate becomes U+FFFD; returns whether there was one.
    @discardableResult
    static func decode(_ raw: UnsafeBufferPointer<UInt8>, appendingTo out: GrowableBytes) -> Bool {
        guard let base = raw.baseAddress else { return false }
        var loneSurrogate = false
        var i = 0
        while i < raw.count {
            // Copy the run up to the next backslash in one go (found by memchr, many bytes a step).
            let j =
                memchr(base + i, 0x5C, raw.count - i).map {
                    base.distance(to: $0.assumingMemoryBound(to: UInt8.self))
                } ?? raw.count
            if j > i {
                out.append(UnsafeBufferPointer(rebasing: raw[i..<j]))
                i = j
                continue
            }
            guard i + 1 < raw.count else {
                out.append(raw[i])
                i += 1
                continue
            }
            let e = raw[i + 1]
            i += 2
            switch e {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var value = hex4(raw, i)
                i += 4
                if value >= 0xD800 && value <= 0xDBFF, i + 6 <= raw.count, raw[i] == 0x5C, raw[i + 1] == 0x75 {
                    let low = hex4(raw, i + 2)
                    if low >= 0xDC00 && low <= 0xDFFF {
                        value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                if value >= 0xD800 && value <= 0xDFFF {
                    value = 0xFFFD
                    loneSurrogate = true
                }
                let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
                for b in String(scalar).utf8 { out.append(b) }
            default: out.append(e)
            }
        }
        return loneSurrogate
    }

    private static func hex4(_ raw: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 where at + k < raw.count {
            let c = raw[at + k]
            let d: UInt32 = c <= 0x39 ? UInt32(c - 0x30) : (c <= 0x46 ? UInt32(c - 0x41 + 10) : UInt32(c - 0x61 + 10))
            v = v << 4 | d
        }
        return v
    }
}

/// UTF-8 validation for short fields (texts are validated by the normalizer as it reads them).
public enum UTF8Check {
    /// The offset of the first invalid byte, or nil when the bytes are valid UTF-8.
    public static func firstInvalid(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = b.baseAddress else { return nil }
        var i = 0
        while i < b.count {
            // ASCII, the common case in short fields, eight bytes at a time.
            while i + 8 <= b.count,
                UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0
            {
                i += 8
            }
            guard i < b.count else { break }
            let c = b[i]
            if c < 0x80 {
                i += 1
                continue
            }
            var need = 0
            var min: UInt32 = 0
            var v: UInt32 = 0
            if c & 0xE0 == 0xC0 {
                need = 1
                min = 0x80
                v = UInt32(c & 0x1F)
            } else if c & 0xF0 == 0xE0 {
                need = 2
                min = 0x800
                v = UInt32(c & 0x0F)
            } else if c & 0xF8 == 0xF0 {
                need = 3
                min = 0x10000
                v = UInt32(c & 0x07)
            } else {
                return i
            }
            guard i + need < b.count else { return i }
            for k in 1...need {
                guard b[i + k] & 0xC0 == 0x80 else { return i }
                v = v << 6 | UInt32(b[i + k] & 0x3F)
            }
            if v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) { return i }
            i += need + 1
        }
        return nil
    }
}
