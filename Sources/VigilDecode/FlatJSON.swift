/// Reads the two flat JSON shapes the state file stores (an alert's labels, an incident's
/// risks) with the line decoder's validating scanner and unescaping, not Foundation: the
/// incident desk reads them for every alert and incident it takes in.
public enum FlatJSON {
    /// The members of a JSON object whose values are all strings; nil for any other JSON, or
    /// text that is not JSON. Of repeated names the last counts.
    public static func stringMembers(_ text: String) -> [String: String]? {
        read(text, open: 0x7B) { (scanner, line) throws(JSONError) in
            var members: [String: String] = [:]
            try scanner.readList(close: 0x7D, inside: "an object") { s throws(JSONError) in
                let name = try s.decoded(s.readMemberName(), line)
                s.skipWhitespace()
                members[name] = try s.readDecodedString(line)
            }
            return members
        }
    }

    /// The elements of a JSON array of strings; nil for any other JSON, or text that is not JSON.
    public static func strings(_ text: String) -> [String]? {
        read(text, open: 0x5B) { (scanner, line) throws(JSONError) in
            var elements: [String] = []
            try scanner.readList(close: 0x5D, inside: "an array") { s throws(JSONError) in
                elements.append(try s.readDecodedString(line))
            }
            return elements
        }
    }

    /// `body` run on `text` when it opens with `open`; nil when it does not, when `body`
    /// throws, or when anything but whitespace follows.
    private static func read<T>(
        _ text: String, open: UInt8, _ body: (inout JSONScanner, UnsafeBufferPointer<UInt8>) throws(JSONError) -> T
    ) -> T? {
        var copy = text
        return copy.withUTF8 { line -> T? in
            var scanner = JSONScanner(line)
            scanner.skipWhitespace()
            guard scanner.i < scanner.n, scanner.p[scanner.i] == open else { return nil }
            do {
                let value = try body(&scanner, line)
                scanner.skipWhitespace()
                return scanner.i == scanner.n ? value : nil
            } catch {
                return nil
            }
        }
    }
}

extension JSONScanner {
    /// Reads a string at the cursor, escapes decoded.
    fileprivate mutating func readDecodedString(_ line: UnsafeBufferPointer<UInt8>) throws(JSONError) -> String {
        guard i < n, p[i] == 0x22 else { throw fail("expected a string") }
        return try decoded(readString(), line)
    }

    /// A string `readString` found, escapes decoded. A lone surrogate, which the line decoder
    /// reads as U+FFFD, makes the stored value unreadable here, as it is to Foundation.
    fileprivate func decoded(_ string: (Span, Bool), _ line: UnsafeBufferPointer<UInt8>) throws(JSONError) -> String {
        let (span, escapes) = string
        let raw = UnsafeBufferPointer(rebasing: line[span.start..<span.end])
        guard escapes else { return String(decoding: raw, as: UTF8.self) }
        let out = GrowableBytes()
        guard !JSONUnescape.decode(raw, appendingTo: out) else { throw fail("lone surrogate") }
        return String(decoding: out.buffer, as: UTF8.self)
    }
}
