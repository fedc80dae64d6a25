import CVigilSIMD

/// A span of bytes inside the current line.
public struct Span: Sendable, Hashable, BitwiseCopyable {
    public var start: Int
    public var end: Int
    public static let none = Span(start: -1, end: -1)
    public var isNone: Bool { start < 0 }
}

/// The kind of a JSON value found at a path.
public enum ValueKind: UInt8, Sendable, BitwiseCopyable {
    case missing, string, number, bool, null, object, array
}

/// Where a value sits in the line. For strings, the span excludes the quotes.
public struct ValueRef: Sendable, BitwiseCopyable {
    public var kind: ValueKind
    public var span: Span
    public var hasEscapes: Bool
    public static let missing = ValueRef(kind: .missing, span: .none, hasEscapes: false)
}

/// Why a line is not valid JSON, with the byte where the reader gave up.
public struct JSONError: Error, Sendable, Equatable {
    public var offset: Int
    public var reason: String
}

/// A validating JSON reader over one line that never builds a tree: it walks the bytes once,
/// records where the wanted top-level members are, and skips everything else.
struct JSONScanner {
    let p: UnsafePointer<UInt8>
    let n: Int
    var i = 0
    static let maxDepth = 64

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        p = bytes.baseAddress ?? EmptySubject.pointer
        n = bytes.count
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while i < n {
            let c = p[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
        }
    }

    func fail(_ reason: String) -> JSONError { JSONError(offset: i, reason: reason) }

    /// Reads a string starting at the opening quote; returns its inner span.
    @inline(__always)
    mutating func readString() throws(JSONError) -> (Span, Bool) {
        i += 1  // opening quote
        let start = i
        var escapes = false
        while true {
            // Straight to the next quote, backslash or control character, sixteen bytes a step
            // (and back here after an escape).
            i += vigil_json_plain_run(p + i, n - i)
            guard i < n else { break }
            let c = p[i]
            if c == 0x22 {
                let span = Span(start: start, end: i)
                i += 1
                return (span, escapes)
            }
            if c == 0x5C {
                escapes = true
                guard i + 1 < n else { break }
                let e = p[i + 1]
                switch e {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: i += 2
                case 0x75:
                    guard i + 5 < n, (2...5).allSatisfy({ Self.isHex(p[i + $0]) }) else {
                        throw fail("invalid \\u escape")
                    }
                    i += 6
                default: throw fail("invalid escape \\\(Character(Unicode.Scalar(e)))")
                }
                continue
            }
            // Neither quote nor backslash: a control character.
            throw fail("control character inside a string")
        }
        throw JSONError(offset: n, reason: "unterminated string")
    }

    static func isHex(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }

    /// Reads any value at the cursor and returns where it is.
    mutating func readValue(depth: Int) throws(JSONError) -> ValueRef {
        skipWhitespace()
        guard i < n else { throw fail("unexpected end of line, expected a value") }
        let start = i
        switch p[i] {
        case 0x22:
            let (span, escapes) = try readString()
            return ValueRef(kind: .string, span: span, hasEscapes: escapes)
        case 0x7B:
            try skipContainer(close: 0x7D, depth: depth)
            return ValueRef(kind: .object, span: Span(start: start, end: i), hasEscapes: false)
        case 0x5B:
            try skipContainer(close: 0x5D, depth: depth)
            return ValueRef(kind: .array, span: Span(start: start, end: i), hasEscapes: false)
        case 0x74:
            try expectWord("true")
            return ValueRef(kind: .bool, span: Span(start: start, end: i), hasEscapes: false)
        case 0x66:
            try expectWord("false")
            return ValueRef(kind: .bool, span: Span(start: start, end: i), hasEscapes: false)
        case 0x6E:
            try expectWord("null")
            return ValueRef(kind: .null, span: Span(start: start, end: i), hasEscapes: false)
        case 0x2D, 0x30...0x39:
            try readNumber()
            return ValueRef(kind: .number, span: Span(start: start, end: i), hasEscapes: false)
        default:
            throw fail("unexpected character '\(Character(Unicode.Scalar(p[i])))', expected a value")
        }
    }

    mutating func expectWord(_ word: StaticString) throws(JSONError) {
        let w = word.utf8Start
        for k in 0..<word.utf8CodeUnitCount {
            guard i + k < n, p[i + k] == w[k] else { throw fail("invalid literal") }
        }
        i += word.utf8CodeUnitCount
    }

    mutating func readNumber() throws(JSONError) {
        if p[i] == 0x2D { i += 1 }
        guard i < n, p[i] >= 0x30, p[i] <= 0x39 else { throw fail("invalid number") }
        if p[i] == 0x30 { i += 1 } else { while i < n, p[i] >= 0x30, p[i] <= 0x39 { i += 1 } }
        if i < n, p[i] == 0x2E {
            i += 1
            guard i < n, p[i] >= 0x30, p[i] <= 0x39 else { throw fail("invalid number") }
            while i < n, p[i] >= 0x30, p[i] <= 0x39 { i += 1 }
        }
        if i < n, p[i] == 0x65 || p[i] == 0x45 {
            i += 1
            if i < n, p[i] == 0x2B || p[i] == 0x2D { i += 1 }
            guard i < n, p[i] >= 0x30, p[i] <= 0x39 else { throw fail("invalid number") }
            while i < n, p[i] >= 0x30, p[i] <= 0x39 { i += 1 }
        }
    }

    mutating func skipContainer(close: UInt8, depth: Int) throws(JSONError) {
        guard depth < Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
        try readList(close: close, inside: close == 0x7D ? "an object" : "an array") { s throws(JSONError) in
            if close == 0x7D { _ = try s.readMemberName() }
            _ = try s.readValue(depth: depth + 1)
        }
    }

    /// Reads the list that opens at the cursor (`{` or `[`, already checked): items separated
    /// by commas, each read by `item` with the whitespace around it skipped, up to `close`.
    /// `inside` names the list in the error for a line that ends within it.
    @inline(__always)
    mutating func readList(
        close: UInt8, inside: String, _ item: (inout JSONScanner) throws(JSONError) -> Void
    ) throws(JSONError) {
        i += 1
        skipWhitespace()
        if i < n, p[i] == close {
            i += 1
            return
        }
        while true {
            skipWhitespace()
            try item(&self)
            skipWhitespace()
            guard i < n else { throw fail("unexpected end of line inside \(inside)") }
            if p[i] == 0x2C {
                i += 1
                continue
            }
            if p[i] == close {
                i += 1
                return
            }
            throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))'")
        }
    }

    /// Reads a member name and the colon after it; returns the name as `readString` does.
    @inline(__always)
    mutating func readMemberName() throws(JSONError) -> (Span, Bool) {
        guard i < n, p[i] == 0x22 else { throw fail("expected a member name") }
        let name = try readString()
        skipWhitespace()
        guard i < n, p[i] == 0x3A else { throw fail("expected ':' after a member name") }
        i += 1
        return name
    }

    /// Reads the whole line as one object, recording the value of each wanted top-level key.
    /// `keys` knows which names are wanted and remembers, by position, which key the previous
    /// line's members had: log lines repeat their shape, so a member is usually matched by one
    /// comparison, and a name of a length no key has by none.
    mutating func readTopLevel(keys: TopLevelKeys, into found: inout [ValueRef]) throws(JSONError) {
        // Through buffers: writing the array in place checked its uniqueness at every member.
        try found.withUnsafeMutableBufferPointer { found throws(JSONError) in
            found.update(repeating: .missing)
            skipWhitespace()
            guard i < n, p[i] == 0x7B else { throw fail("a record must be a JSON object") }
            var member = 0
            try readList(close: 0x7D, inside: "the record") { s throws(JSONError) in
                let (keySpan, _) = try s.readMemberName()
                let value = try s.readValue(depth: 1)
                if let slot = keys.slot(of: s.p + keySpan.start, keySpan.end - keySpan.start, member: member),
                    found[slot].kind == .missing
                {
                    found[slot] = value
                }
                member &+= 1
            }
        }
        skipWhitespace()
        guard i == n else { throw fail("unexpected data after the record") }
    }

    /// Whether `length` bytes at `a` equal `b` (of that length): words where they fit, the
    /// last one overlapping, so no byte beyond either is read.
    @inline(__always)
    static func memoryEqual(_ a: UnsafePointer<UInt8>, _ b: [UInt8], _ length: Int) -> Bool {
        b.withUnsafeBufferPointer { b in
            guard let q = b.baseAddress else { return length == 0 }
            let x = UnsafeRawPointer(a)
            let y = UnsafeRawPointer(q)
            if length >= 8 {
                var k = 0
                while k &+ 8 < length {
                    if x.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                        != y.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                    {
                        return false
                    }
                    k &+= 8
                }
                return x.loadUnaligned(fromByteOffset: length &- 8, as: UInt64.self)
                    == y.loadUnaligned(fromByteOffset: length &- 8, as: UInt64.self)
            }
            if length >= 4 {
                return x.loadUnaligned(as: UInt32.self) == y.loadUnaligned(as: UInt32.self)
                    && x.loadUnaligned(fromByteOffset: length &- 4, as: UInt32.self)
                        == y.loadUnaligned(fromByteOffset: length &- 4, as: UInt32.self)
            }
            for k in 0..<length where a[k] != q[k] { return false }
            return true
        }
    }

    /// Follows `segments` (after the first) into a value already known to be valid.
    func navigate(_ start: ValueRef, _ segments: ArraySlice<FieldPath.Segment>) -> ValueRef {
        var current = start
        for segment in segments {
            switch segment {
            case .key(let key):
                guard current.kind == .object else { return .missing }
                current = member(of: current.span, named: Array(key.utf8))
            case .index(let index):
                guard current.kind == .array else { return .missing }
                current = element(of: current.span, at: index)
            }
            if current.kind == .missing { return .missing }
        }
        return current
    }

    func member(of span: Span, named key: [UInt8]) -> ValueRef {
        var s = JSONScanner(UnsafeBufferPointer(start: p, count: span.end))
        s.i = span.start + 1
        s.skipWhitespace()
        if s.i < s.n, s.p[s.i] == 0x7D { return .missing }
        while s.i < s.n {
            s.skipWhitespace()
            guard let (keySpan, _) = try? s.readString() else { return .missing }
            s.skipWhitespace()
            s.i += 1  // ':'
            guard let value = try? s.readValue(depth: 1) else { return .missing }
            if keySpan.end - keySpan.start == key.count, Self.memoryEqual(p + keySpan.start, key, key.count) {
                return value
            }
            s.skipWhitespace()
            guard s.i < s.n, s.p[s.i] == 0x2C else { return .missing }
            s.i += 1
        }
        return .missing
    }

    /// Every element of an array already known to be valid.
    func elements(of span: Span) -> [ValueRef] {
        var s = JSONScanner(UnsafeBufferPointer(start: p, count: span.end))
        s.i = span.start + 1
        s.skipWhitespace()
        var result: [ValueRef] = []
        if s.i < s.n, s.p[s.i] == 0x5D { return result }
        while s.i < s.n {
            guard let value = try? s.readValue(depth: 1) else { break }
            result.append(value)
            s.skipWhitespace()
            guard s.i < s.n, s.p[s.i] == 0x2C else { break }
            s.i += 1
        }
        return result
    }

    private func element(of span: Span, at index: Int) -> ValueRef {
        var s = JSONScanner(UnsafeBufferPointer(start: p, count: span.end))
        s.i = span.start + 1
        s.skipWhitespace()
        if s.i < s.n, s.p[s.i] == 0x5D { return .missing }
        var elements: [ValueRef] = []
        while s.i < s.n {
            guard let value = try? s.readValue(depth: 1) else { return .missing }
            if index >= 0 && elements.count == index { return value }
            elements.append(value)
            s.skipWhitespace()
            guard s.i < s.n, s.p[s.i] == 0x2C else { break }
            s.i += 1
        }
        if index < 0, elements.count + index >= 0 { return elements[elements.count + index] }
        return .missing
    }
}

/// The top-level member names a decoder wants, and a guess per member position of which one it
/// is (the key the member at that position had last time). Its decoder's, on its thread.
final class TopLevelKeys {
    private let names: [[UInt8]]
    /// Bit `n` set when some name is `n` bytes long (names of 64 bytes or more set bit 63).
    private let lengths: UInt64
    /// Per member position, the slot it matched last time plus one; 0 when unknown.
    private var guesses = [Int8](repeating: 0, count: 64)

    init(_ names: [[UInt8]]) {
        self.names = names
        lengths = names.reduce(0) { $0 | 1 << UInt64(min($1.count, 63)) }
    }

    /// The slot of the name of `length` bytes at `name`, the `member`th of its object.
    @inline(__always)
    func slot(of name: UnsafePointer<UInt8>, _ length: Int, member: Int) -> Int? {
        guard lengths & 1 << UInt64(min(length, 63)) != 0 else { return nil }
        if member < guesses.count {
            let guess = Int(guesses[member]) &- 1
            if guess >= 0, names[guess].count == length, JSONScanner.memoryEqual(name, names[guess], length) {
                return guess
            }
        }
        for slot in 0..<names.count
        where names[slot].count == length && JSONScanner.memoryEqual(name, names[slot], length) {
            if member < guesses.count { guesses[member] = Int8(slot &+ 1) }
            return slot
        }
        return nil
    }
}

/// A one-byte buffer to point at when a line is empty (a pointer must not be nil).
enum EmptySubject {
    nonisolated(unsafe) static let pointer: UnsafePointer<UInt8> = {
        let q = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        q.initialize(to: 0)
        return UnsafePointer(q)
    }()
}
