/// A path to a value inside a JSON record: `text`, `choices[0].message.content`,
/// `messages[-1].content` (negative indexes count from the end).
public struct FieldPath: Hashable, Sendable, CustomStringConvertible {
    public enum Segment: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    public let segments: [Segment]
    public let description: String

    /// Parses a path.
    /// - Throws: `FieldPath.ParseError` naming the problem and its position.
    public init(_ text: String) throws(ParseError) {
        description = text
        var segments: [Segment] = []
        var key = ""
        var chars = Array(text)
        chars.append("\0")
        var i = 0
        func flushKey() throws(ParseError) {
            if !key.isEmpty {
                segments.append(.key(key))
                key = ""
            }
        }
        while i < chars.count - 1 {
            let c = chars[i]
            switch c {
            case ".":
                guard !key.isEmpty || (i > 0 && chars[i - 1] == "]") else {
                    throw ParseError(path: text, reason: "empty key before '.' at position \(i + 1)")
                }
                try flushKey()
                i += 1
            case "[":
                try flushKey()
                guard let close = chars[i...].firstIndex(of: "]"), let n = Int(String(chars[(i + 1)..<close])) else {
                    throw ParseError(
                        path: text, reason: "expected an integer index like [0] or [-1] at position \(i + 1)")
                }
                segments.append(.index(n))
                i = close + 1
            default:
                key.append(c)
                i += 1
            }
        }
        try flushKey()
        guard !segments.isEmpty else { throw ParseError(path: text, reason: "the path is empty") }
        guard case .key = segments[0] else { throw ParseError(path: text, reason: "a path must start with a key") }
        self.segments = segments
    }

    /// The top-level key this path starts with.
    public var rootKey: String {
        if case .key(let k) = segments[0] { return k }
        return ""
    }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "invalid field path '\(path)': \(reason)" }
    }
}

/// Which JSON fields hold what. `text` + `direction` describe a record that is either an input
/// or an output; `input` / `output` describe one that may carry both.
public struct FieldMap: Hashable, Sendable {
    public var requestID: FieldPath?
    public var userID: FieldPath?
    public var clientIP: FieldPath?
    public var timestamp: FieldPath?
    public var direction: FieldPath?
    public var text: FieldPath?
    public var input: FieldPath?
    public var output: FieldPath?
    /// The API key (or key id) the request came with; a principal like the user and the IP.
    public var apiKey: FieldPath?
    /// The outcome the gateway recorded: an HTTP status (500) or a word (`error`); optional.
    public var status: FieldPath?
    /// Direction assumed when the record has no `direction` field (or the map names none).
    public var defaultDirection: Direction?

    public init(
        requestID: FieldPath? = nil, userID: FieldPath? = nil, clientIP: FieldPath? = nil, timestamp: FieldPath? = nil,
        direction: FieldPath? = nil, text: FieldPath? = nil, input: FieldPath? = nil, output: FieldPath? = nil,
        status: FieldPath? = nil, apiKey: FieldPath? = nil, defaultDirection: Direction? = nil
    ) {
        self.requestID = requestID
        self.userID = userID
        self.clientIP = clientIP
        self.timestamp = timestamp
        self.direction = direction
        self.text = text
        self.input = input
        self.output = output
        self.status = status
        self.apiKey = apiKey
        self.defaultDirection = defaultDirection
    }

    // Preset paths are literals known to parse.
    private static func p(_ s: String) -> FieldPath { (try? FieldPath(s))! }

    /// A flat gateway log: `request_id, user_id, client_ip, direction, text, ts`.
    public static let gateway = FieldMap(
        requestID: p("request_id"), userID: p("user_id"), clientIP: p("client_ip"), timestamp: p("ts"),
        direction: p("direction"), text: p("text"), status: p("status"), apiKey: p("api_key"))

    /// An OpenAI chat-completions request body: the last message is the input.
    public static let openAIRequest = FieldMap(
        requestID: p("id"), userID: p("user"), input: p("messages[-1].content"))

    /// An OpenAI chat-completions response body: the first choice is the output.
    public static let openAIResponse = FieldMap(
        requestID: p("id"), output: p("choices[0].message.content"))

    /// A gateway record holding both bodies: `{"request_id", "request": {...}, "response": {...}}`.
    public static let openAIExchange = FieldMap(
        requestID: p("request_id"), userID: p("request.user"), timestamp: p("ts"),
        input: p("request.messages[-1].content"), output: p("response.choices[0].message.content"),
        status: p("status"))

    /// Every path the map names, top-level keys first.
    var allPaths: [FieldPath] {
        [requestID, userID, clientIP, timestamp, direction, text, input, output, status, apiKey].compactMap { $0 }
    }
}

/// Whether a text went into the model or came out of it.
public enum Direction: String, Sendable, Hashable, CaseIterable {
    case input, output

    /// Accepts the spellings gateways use.
    public init?(loose value: String) {
        switch value.lowercased() {
        case "input", "in", "request", "prompt", "req", "user": self = .input
        case "output", "out", "response", "completion", "resp", "assistant": self = .output
        default: return nil
        }
    }
}
