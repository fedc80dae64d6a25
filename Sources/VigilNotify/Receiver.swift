/// Where alerts go: one on-call destination, as configured.
public struct Receiver: Sendable, Equatable {
    /// The payload format and signing scheme a receiver expects (docs/WEBHOOKS.md).
    public enum Kind: String, Sendable, CaseIterable {
        /// Vigil's own JSON, signed with HMAC-SHA256 over `timestamp.body`.
        case webhook
        /// The payload Prometheus Alertmanager sends to webhook receivers (version 4).
        case alertmanager
        /// DingTalk group robot: markdown message; signed in the URL (timestamp + sign).
        case dingtalk
        /// Feishu / Lark group robot: text message; signed in the body (timestamp + sign).
        case feishu
        /// WeCom (企业微信) group robot: markdown message; not signed.
        case wecom

        /// Group robots answer HTTP 200 even when they reject a message, and allow about 20
        /// messages a minute.
        public var isRobot: Bool { self == .dingtalk || self == .feishu || self == .wecom }
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
    /// Labels whose values put alerts into one notification; empty: one alert per notification
    /// (the generic webhook), unless a burst is folded into a digest.
    public var groupBy: [String]
    /// How long the first alert of a new group waits for others to join it (seconds).
    public var groupWait: Double
    /// Messages a minute at most (0: no limit); alerts beyond it wait and go out as one digest.
    public var maxPerMinute: Int
    /// Text of one alert in a robot message (`{{summary}}`, `{{labels.user_id}}`, … see
    /// `MessageTemplate`); nil: the built-in one.
    public var template: String?

    public init(
        name: String, kind: Kind = .webhook, url: String, secret: String? = nil, timeout: Double = 5,
        headers: [String: String] = [:], groupBy: [String]? = nil, groupWait: Double? = nil,
        maxPerMinute: Int? = nil, template: String? = nil
    ) {
        self.name = name
        self.kind = kind
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.headers = headers
        self.groupBy = []
        self.groupWait = 0
        self.maxPerMinute = 0
        self.template = template
        applyKindDefaults(groupBy: groupBy, groupWait: groupWait, maxPerMinute: maxPerMinute)
    }

    /// Defaults that depend on the kind, applied again after the kind is known.
    public mutating func applyKindDefaults(groupBy: [String]?, groupWait: Double?, maxPerMinute: Int?) {
        self.groupBy = groupBy ?? (kind == .webhook ? [] : ["rule", "signal"])
        self.groupWait = groupWait ?? (kind == .webhook ? 0 : 5)
        self.maxPerMinute = maxPerMinute ?? (kind.isRobot ? 20 : 0)
    }
}
