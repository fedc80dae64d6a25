import Foundation
import VigilDecode
import VigilIncidents
import VigilMonitor
import VigilNotify
import VigilRules
import VigilTaxonomy
import Yams

/// The daemon's configuration (`/etc/vigil/vigil.yaml`); `systemd/vigil.yaml` describes every key.
public struct DaemonConfig: Sendable {
    /// Where the state file (`vigil.db`) lives.
    public var stateDirectory = "/var/lib/vigil"
    /// Rule directories, read in order (default: the bundled rules).
    public var ruleDirectories: [String] = []
    public var maxLineBytes = 8 << 20
    public var sources: [SourceConfig] = []
    public var receivers: [Receiver] = []
    /// Alert rules switched off by name.
    public var disabledAlerts: Set<String> = []
    /// Severity and incident subtype (hence class) set per alert rule, over the built-in ones.
    public var alertPolicies: [String: AlertPolicy] = [:]
    /// How new alerts are printed on standard output: text, json or none.
    public var printAlerts = "text"
    /// Longest wait between retries of a delivery (seconds).
    public var maxBackoff: Double = 300
    /// How often followed files are read when they were idle (seconds).
    public var pollInterval: Double = 0.05
    /// The HTTP API (ingest, health, metrics); off unless `http.listen` is set.
    public var http: HTTPConfig?
    /// Pairing of inputs and outputs by request id.
    public var correlationTTL: Double = 300
    public var correlationCapacity = 100_000
    /// The trackers, with their defaults (systemd/vigil.yaml describes each setting).
    public var refusal = RefusalTracker()
    public var principals = PrincipalTracker()
    public var traffic = TrafficTracker()
    public var errors = ErrorRateTracker()
    /// The incident desk: services, grouping, grading rules, report rule, response plans.
    public var incidents = DeskPolicy()
    /// Whether alerts open incidents at all (`incidents.enabled`).
    public var incidentsEnabled = true
    /// How often each hot topic's refusal rate is kept for the review report (seconds).
    public var refusalSampleInterval: Double = 600
    /// While the line loop has a backlog, the desk takes its rounds at most this often
    /// (seconds), so that reading and scanning keep the machine; 0: it never holds back
    /// (`incidents.backlog_delay`).
    public var incidentBacklogDelay: Double = 10

    public init() {}

    /// Where the HTTP API listens and who may post.
    public struct HTTPConfig: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port: UInt16 = 9464
        /// Bearer token required by `/v1/ingest` (and the other `/v1/` endpoints); nil = none.
        public var token: String?
        public var maxBodyBytes = 16 << 20
        /// Posted batches waiting at most; more are answered 429.
        public var queueCapacity = 16
    }

    /// One place lines come from.
    public struct SourceConfig: Sendable, Equatable {
        public enum Kind: String, Sendable { case file, stdin, http }
        public var name: String
        public var kind: Kind
        /// Glob patterns (files only).
        public var paths: [String] = []
        public var format: RecordFormat
        /// Files found at start-up without a checkpoint start at their end instead of their beginning.
        public var startAtEnd = false
    }

    public var statePath: String { (stateDirectory as NSString).appendingPathComponent("vigil.db") }
}

/// A configuration problem, with where it is and how to fix it.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// Reads the YAML configuration, collecting every problem rather than stopping at the first.
public struct ConfigLoader {
    public init() {}

    public func load(path: String) throws(ConfigErrors) -> DaemonConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigErrors([ConfigError(file: path, line: 0, message: "cannot read: \(error.localizedDescription)")]
            )
        }
        return try parse(text, file: path)
    }

    public func parse(_ text: String, file: String) throws(ConfigErrors) -> DaemonConfig {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let error as YamlError {
            throw ConfigErrors([
                ConfigError(
                    file: file, line: PackLoader.line(of: error),
                    message: "invalid YAML: \(PackLoader.problem(of: error))")
            ])
        } catch {
            throw ConfigErrors([ConfigError(file: file, line: 0, message: "invalid YAML: \(error)")])
        }
        var reader = Reader(file: file, directory: (file as NSString).deletingLastPathComponent)
        let config = reader.read(root)
        if !reader.errors.isEmpty { throw ConfigErrors(reader.errors) }
        return config
    }
}

/// Every problem found in a configuration file.
public struct ConfigErrors: Error, CustomStringConvertible, Sendable {
    public var errors: [ConfigError]
    init(_ errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

struct Reader {
    let file: String
    let directory: String
    var errors: [ConfigError] = []

    mutating func error(_ node: Node?, _ message: String) {
        errors.append(ConfigError(file: file, line: node?.mark?.line ?? 0, message: message))
    }

    /// Paths in the file are relative to the file's directory.
    func resolve(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
        // Absolute and without "..", so logs and checkpoints name files the same way from any cwd.
        return URL(fileURLWithPath: joined).standardizedFileURL.path
    }

    mutating func mapping(_ node: Node?, _ what: String, allowed: Set<String>) -> [(String, Node, Node)] {
        guard let node else { return [] }
        guard let m = node.mapping else {
            error(node, "\(what) must be a mapping of keys to values")
            return []
        }
        var out: [(String, Node, Node)] = []
        for (k, v) in m {
            guard let key = k.string else { continue }
            if !allowed.contains(key) {
                error(k, "unknown key '\(key)' in \(what) (known: \(allowed.sorted().joined(separator: ", ")))")
                continue
            }
            out.append((key, k, v))
        }
        return out
    }

    mutating func string(_ node: Node, _ key: String) -> String? {
        guard let s = node.scalar?.string, !s.isEmpty else {
            error(node, "\(key) must be a non-empty string")
            return nil
        }
        return s
    }

    /// A secret kept out of the configuration: `*_file` names a file (first line, trimmed),
    /// `*_env` an environment variable.
    mutating func secret(_ node: Node, _ key: String) -> String? {
        guard let s = string(node, key) else { return nil }
        if key.hasSuffix("_env") {
            guard let value = ProcessInfo.processInfo.environment[s] else {
                error(node, "\(key) names \(s), which is not set in the environment")
                return nil
            }
            return value
        }
        let path = resolve(s)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            error(node, "cannot read \(key) \(path)")
            return nil
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    mutating func number(_ node: Node, _ key: String, min: Double) -> Double? {
        guard let v = node.scalar.flatMap({ Double($0.string) }), v >= min else {
            error(node, "\(key) must be a number of at least \(min)")
            return nil
        }
        return v
    }

    mutating func strings(_ node: Node, _ key: String) -> [String] {
        if let s = node.scalar?.string { return [s] }
        guard let seq = node.sequence else {
            error(node, "\(key) must be a string or a list of strings")
            return []
        }
        return seq.compactMap { item in
            guard let s = item.scalar?.string else {
                error(item, "\(key) entries must be strings")
                return nil
            }
            return s
        }
    }

    static let topKeys: Set<String> = [
        "state_dir", "rules", "max_line_bytes", "sources", "receivers", "alerts", "print_alerts", "outbox",
        "poll_interval", "correlation", "trackers", "http", "incidents",
    ]

    mutating func read(_ root: Node?) -> DaemonConfig {
        var c = DaemonConfig()
        guard let root else { return c }
        for (key, _, v) in mapping(root, "the configuration", allowed: Self.topKeys) {
            switch key {
            case "state_dir": if let s = string(v, key) { c.stateDirectory = resolve(s) }
            case "rules": c.ruleDirectories = strings(v, key).map(resolve)
            case "max_line_bytes": if let n = number(v, key, min: 1024) { c.maxLineBytes = Int(n) }
            case "poll_interval": if let n = number(v, key, min: 0.01) { c.pollInterval = n }
            case "print_alerts":
                if let s = string(v, key) {
                    if ["text", "json", "none"].contains(s) {
                        c.printAlerts = s
                    } else {
                        error(v, "print_alerts must be text, json or none, not '\(s)'")
                    }
                }
            case "correlation":
                for (key, _, v) in mapping(v, "correlation", allowed: ["ttl", "max_pending"]) {
                    if key == "ttl", let n = number(v, "correlation.ttl", min: 1) { c.correlationTTL = n }
                    if key == "max_pending", let n = number(v, "correlation.max_pending", min: 1) {
                        c.correlationCapacity = Int(n)
                    }
                }
            case "trackers": trackers(v, into: &c)
            case "incidents": incidents(v, into: &c)
            case "http": c.http = http(v)
            case "sources": c.sources = sources(v)
            case "receivers": c.receivers = receivers(v)
            case "outbox":
                for (key, _, v) in mapping(v, "outbox", allowed: ["max_backoff"]) where key == "max_backoff" {
                    if let n = number(v, "outbox.max_backoff", min: 0.1) { c.maxBackoff = n }
                }
            case "alerts":
                for (name, _, v) in mapping(v, "alerts", allowed: Set(AlertPolicy.ruleNames)) {
                    var policy = AlertPolicy()
                    for (key, _, value) in mapping(v, "alerts.\(name)", allowed: ["enabled", "severity", "subtype"]) {
                        switch key {
                        case "enabled":
                            if value.bool == false {
                                c.disabledAlerts.insert(name)
                            } else if value.bool == nil {
                                error(value, "alerts.\(name).enabled must be true or false")
                            }
                        case "severity":
                            guard let text = string(value, key) else { continue }
                            policy.severity = Severity(rawValue: text)
                            if policy.severity == nil {
                                error(value, "alerts.\(name).severity must be info, warning or critical, not '\(text)'")
                            }
                        default:
                            guard let text = string(value, key) else { continue }
                            policy.subtype = IncidentSubtype(rawValue: text)
                            if policy.subtype == nil {
                                error(
                                    value,
                                    "alerts.\(name).subtype must be one of \(IncidentSubtype.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'"
                                )
                            }
                        }
                    }
                    if policy.severity != nil || policy.subtype != nil { c.alertPolicies[name] = policy }
                }
            default: break
            }
        }
        var names = Set<String>()
        for s in c.sources where !names.insert(s.name).inserted {
            errors.append(
                ConfigError(file: file, line: 0, message: "two sources are named '\(s.name)'; names must differ"))
        }
        if c.sources.filter({ $0.kind == .stdin }).count > 1 {
            errors.append(ConfigError(file: file, line: 0, message: "only one source can read standard input"))
        }
        if c.sources.contains(where: { $0.kind == .http }) && c.http == nil {
            errors.append(
                ConfigError(
                    file: file, line: 0,
                    message: "an http source needs the HTTP API: add http: {listen: \"127.0.0.1:9464\"}"))
        }
        return c
    }

    /// `trackers:` blocks; every tracker also takes `enabled: false`.
    mutating func trackers(_ node: Node, into c: inout DaemonConfig) {
        let blocks = ["refusal_rate", "over_refusal", "principals", "traffic", "error_rate"]
        for (name, _, block) in mapping(node, "trackers", allowed: Set(blocks)) {
            func num(_ key: String, _ v: Node, min: Double) -> Double? {
                number(v, "trackers.\(name).\(key)", min: min)
            }
            switch name {
            case "refusal_rate":
                for (key, _, v) in mapping(
                    block, "trackers.refusal_rate",
                    allowed: ["enabled", "window", "min_samples", "threshold", "repeat_interval"])
                {
                    switch key {
                    case "repeat_interval":
                        if let n = num(key, v, min: 1) { c.refusal.repeatIntervals["refusal_rate_low"] = n }
                    case "enabled": if v.bool == false { c.refusal.enabled.remove("refusal_rate_low") }
                    case "window": if let n = num(key, v, min: 1) { c.refusal.window = n }
                    case "min_samples": if let n = num(key, v, min: 1) { c.refusal.defaultPolicy.minSamples = Int(n) }
                    default: if let n = num(key, v, min: 0) { c.refusal.defaultPolicy.threshold = n }
                    }
                }
            case "over_refusal":
                for (key, _, v) in mapping(
                    block, "trackers.over_refusal", allowed: ["enabled", "min_samples", "threshold", "repeat_interval"])
                {
                    switch key {
                    case "repeat_interval":
                        if let n = num(key, v, min: 1) { c.refusal.repeatIntervals["over_refusal"] = n }
                    case "enabled": if v.bool == false { c.refusal.enabled.remove("over_refusal") }
                    case "min_samples": if let n = num(key, v, min: 1) { c.refusal.overRefusalMinSamples = Int(n) }
                    default: if let n = num(key, v, min: 0) { c.refusal.overRefusalThreshold = n }
                    }
                }
            case "error_rate":
                for (key, _, v) in mapping(
                    block, "trackers.error_rate",
                    allowed: ["enabled", "window", "min_samples", "threshold", "repeat_interval"])
                {
                    switch key {
                    case "repeat_interval": if let n = num(key, v, min: 1) { c.errors.repeatInterval = n }
                    case "enabled": if v.bool == false { c.errors.enabled = [] }
                    case "window": if let n = num(key, v, min: 1) { c.errors.window = n }
                    case "min_samples": if let n = num(key, v, min: 1) { c.errors.minSamples = Int(n) }
                    default: if let n = num(key, v, min: 0) { c.errors.threshold = n }
                    }
                }
            case "principals":
                let keys: Set<String> = [
                    "enabled", "risk_in_a_row", "risk_per_day", "ceiling_per_minute", "baseline_factor",
                    "min_per_minute",
                    "repeat_count", "repeat_window", "max_principals",
                ]
                for (key, _, v) in mapping(block, "trackers.principals", allowed: keys) {
                    if key == "enabled" {
                        if v.bool == false { c.principals.enabled = [] }
                        continue
                    }
                    guard let n = num(key, v, min: key == "baseline_factor" ? 1 : 1) else { continue }
                    switch key {
                    case "risk_in_a_row": c.principals.inARow = Int(n)
                    case "risk_per_day": c.principals.perDay = Int(n)
                    case "ceiling_per_minute": c.principals.ceilingPerMinute = Int(n)
                    case "baseline_factor": c.principals.baselineFactor = n
                    case "min_per_minute": c.principals.minPerMinute = Int(n)
                    case "repeat_count": c.principals.repeatCount = Int(n)
                    case "repeat_window": c.principals.repeatWindow = n
                    default: c.principals.capacity = Int(n)
                    }
                }
            default:
                let keys: Set<String> = [
                    "enabled", "interval", "spike_factor", "min_spike", "drop_factor", "min_baseline",
                    "warmup_intervals",
                    "quiet_intervals",
                ]
                for (key, _, v) in mapping(block, "trackers.traffic", allowed: keys) {
                    if key == "enabled" {
                        if v.bool == false { c.traffic.enabled = [] }
                        continue
                    }
                    guard let n = num(key, v, min: 0) else { continue }
                    switch key {
                    case "interval": c.traffic.interval = max(1, n)
                    case "spike_factor": c.traffic.spikeFactor = n
                    case "min_spike": c.traffic.minSpike = Int(n)
                    case "drop_factor": c.traffic.dropFactor = n
                    case "min_baseline": c.traffic.minBaseline = n
                    case "warmup_intervals": c.traffic.warmupIntervals = Int(n)
                    default: c.traffic.quietIntervals = Int(n)
                    }
                }
            }
        }
    }

    mutating func http(_ node: Node) -> DaemonConfig.HTTPConfig? {
        var h = DaemonConfig.HTTPConfig()
        var listening = false
        let keys: Set<String> = ["listen", "token", "token_file", "token_env", "max_body_bytes", "queue"]
        for (key, _, v) in mapping(node, "http", allowed: keys) {
            switch key {
            case "listen":
                guard let s = string(v, "http.listen") else { continue }
                guard let colon = s.lastIndex(of: ":"), let port = UInt16(s[s.index(after: colon)...]) else {
                    error(v, "http.listen must be HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464, not '\(s)'")
                    continue
                }
                h.host = String(s[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                h.port = port
                listening = true
            case "token": h.token = string(v, "http.token")
            case "token_file", "token_env": h.token = secret(v, key) ?? h.token
            case "max_body_bytes": if let n = number(v, "http.max_body_bytes", min: 1024) { h.maxBodyBytes = Int(n) }
            default: if let n = number(v, "http.queue", min: 1) { h.queueCapacity = Int(n) }
            }
        }
        if !listening {
            error(node, "http needs listen: HOST:PORT")
            return nil
        }
        return h
    }

    static let sourceKeys: Set<String> = ["name", "type", "paths", "format", "direction", "start_at"]

    mutating func sources(_ node: Node) -> [DaemonConfig.SourceConfig] {
        guard let seq = node.sequence else {
            error(node, "sources must be a list")
            return []
        }
        var out: [DaemonConfig.SourceConfig] = []
        for (i, item) in seq.enumerated() {
            var name = "source\(i + 1)"
            var kind: DaemonConfig.SourceConfig.Kind?
            var paths: [String] = []
            var formatName = "gateway"
            var direction: Direction?
            var startAtEnd = false
            var formatNode: Node? = item
            for (key, _, v) in mapping(item, "a source", allowed: Self.sourceKeys) {
                switch key {
                case "name": if let s = string(v, key) { name = s }
                case "type":
                    if let s = string(v, key) {
                        kind = .init(rawValue: s)
                        if kind == nil { error(v, "source type must be file, stdin or http, not '\(s)'") }
                    }
                case "paths": paths = strings(v, key).map(resolve)
                case "format":
                    formatNode = v
                    if let s = string(v, key) { formatName = s }
                case "direction":
                    if let s = string(v, key) {
                        direction = Direction(rawValue: s)
                        if direction == nil { error(v, "direction must be input or output, not '\(s)'") }
                    }
                case "start_at":
                    if let s = string(v, key) {
                        switch s {
                        case "beginning": startAtEnd = false
                        case "end": startAtEnd = true
                        default: error(v, "start_at must be beginning or end, not '\(s)'")
                        }
                    }
                default: break
                }
            }
            guard let kind else {
                if item.mapping?["type"] == nil { error(item, "source '\(name)' needs a type: file, stdin or http") }
                continue
            }
            if kind == .file && paths.isEmpty { error(item, "file source '\(name)' needs paths: a list of globs") }
            guard let format = RecordFormat.named(formatName, direction: direction) else {
                error(formatNode, "unknown format '\(formatName)' (\(RecordFormat.names.joined(separator: ", ")))")
                continue
            }
            out.append(.init(name: name, kind: kind, paths: paths, format: format, startAtEnd: startAtEnd))
        }
        return out
    }

    static let receiverKeys: Set<String> = [
        "name", "type", "url", "secret", "secret_file", "secret_env", "timeout", "headers", "group_by", "group_wait",
        "max_per_minute", "template", "template_file",
    ]

    mutating func receivers(_ node: Node) -> [Receiver] {
        guard let seq = node.sequence else {
            error(node, "receivers must be a list")
            return []
        }
        var out: [Receiver] = []
        for (i, item) in seq.enumerated() {
            var r = Receiver(name: "receiver\(i + 1)", url: "")
            var groupBy: [String]?
            var groupWait: Double?
            var maxPerMinute: Int?
            for (key, _, v) in mapping(item, "a receiver", allowed: Self.receiverKeys) {
                switch key {
                case "group_by": groupBy = strings(v, key)
                case "group_wait": groupWait = number(v, key, min: 0)
                case "max_per_minute": maxPerMinute = number(v, key, min: 0).map { Int($0) }
                case "template": r.template = string(v, key)
                case "template_file":
                    if let s = string(v, key) {
                        let path = resolve(s)
                        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                            r.template = text
                        } else {
                            error(v, "cannot read template_file \(path)")
                        }
                    }
                case "name": if let s = string(v, key) { r.name = s }
                case "type":
                    if let s = string(v, key) {
                        if let k = Receiver.Kind(rawValue: s) {
                            r.kind = k
                        } else {
                            error(
                                v,
                                "receiver type must be one of \(Receiver.Kind.allCases.map(\.rawValue).joined(separator: ", ")), not '\(s)'"
                            )
                        }
                    }
                case "url":
                    if let s = string(v, key) {
                        if URL(string: s)?.scheme.map({ ["http", "https"].contains($0) }) == true {
                            r.url = s
                        } else {
                            error(v, "url must be an http:// or https:// address, not '\(s)'")
                        }
                    }
                case "secret": r.secret = string(v, key)
                case "secret_file", "secret_env": r.secret = secret(v, key) ?? r.secret
                case "timeout": if let n = number(v, key, min: 0.1) { r.timeout = n }
                case "headers":
                    guard let m = v.mapping else {
                        error(v, "headers must be a mapping of header names to values")
                        continue
                    }
                    for (hk, hv) in m { if let name = hk.string, let value = hv.string { r.headers[name] = value } }
                default: break
                }
            }
            if r.url.isEmpty {
                if item.mapping?["url"] == nil { error(item, "receiver '\(r.name)' needs a url") }
                continue
            }
            r.applyKindDefaults(groupBy: groupBy, groupWait: groupWait, maxPerMinute: maxPerMinute)
            out.append(r)
        }
        return out
    }
}

/// What the configuration says about one alert rule beyond its thresholds: its severity and the
/// incident subtype (and so class) its alerts carry.
public struct AlertPolicy: Sendable, Equatable {
    public var severity: Severity?
    public var subtype: IncidentSubtype?

    public init(severity: Severity? = nil, subtype: IncidentSubtype? = nil) {
        self.severity = severity
        self.subtype = subtype
    }

    /// Every alert rule there is.
    public static let ruleNames = [
        "content_risk", "input_attack", "data_leak", "refusal_rate_low", "over_refusal", "principal_risk_streak",
        "principal_risk_daily", "principal_polling", "principal_repeated_prompt", "traffic_spike", "traffic_drop",
        "error_rate_high",
    ]

    public func apply(to alert: inout Alert) {
        if let severity { alert.severity = severity }
        if let subtype { alert.subtype = subtype }
    }
}
