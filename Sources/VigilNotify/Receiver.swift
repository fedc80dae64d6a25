/// Where alerts go: one on-call destination, as configured.
public struct Receiver: Sendable, Equatable {
    /// The payload format and signing scheme a receiver expects.
    public enum Kind: String, Sendable, CaseIterable {
        /// Vigil's own JSON, signed with HMAC-SHA256 over `timestamp.body` (docs/WEBHOOKS.md).
        case webhook
    }

    public var name: String
    public var kind: Kind
    public var url: String
    /// Signing secret; deliveries are unsigned without one.
    public var secret: String?
    /// Seconds to wait for an answer before the attempt counts as failed (and is retried).
    public var timeout: Double
    /// Extra HTTP headers (e.g. an `Authorization` the receiver needs).
    public var headers: [String: String]

    public init(
        name: String, kind: Kind = .webhook, url: String, secret: String? = nil, timeout: Double = 5,
        headers: [String: String] = [:]
    ) {
        self.name = name
        self.kind = kind
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.headers = headers
    }
}
