import VigilScan
import VigilTaxonomy

/// Where a record came from: the source, and a position that names the same record again when
/// it is read again after a restart (file identity and byte offset for files). Built per line,
/// so the strings are put together only when an alert or a log line needs them.
public struct RecordOrigin: Sendable, Equatable {
    /// What the records of one chunk share, in one box: an origin is made for every record, and
    /// copying one reference costs less than copying the three strings.
    private final class Base: Sendable {
        let source: String
        let positionBase: String
        let locationBase: String

        init(source: String, positionBase: String, locationBase: String) {
            self.source = source
            self.positionBase = positionBase
            self.locationBase = locationBase
        }
    }

    /// Keeps the strings alive; nil in the copies `at` makes, which borrow them from it.
    private var owner: Base?
    /// Not counted: a retain and a release of one shared box for every record were atomic
    /// operations on the line loop, and each waited for the principal tracker's stores to
    /// drain from the store buffer before it (`perf`: 1.5% of the daemon's samples).
    private unowned(unsafe) var base: Base
    private var index: Int64?
    /// Whether `index` belongs to the location only (a line within a posted batch).
    private var indexInLocationOnly = false

    public var source: String { base.source }
    private var positionBase: String { base.positionBase }
    private var locationBase: String { base.locationBase }

    /// `position` and `location` are `positionBase` / `locationBase` followed by `index`, if any.
    public init(source: String, positionBase: String, locationBase: String, index: Int64? = nil) {
        let base = Base(source: source, positionBase: positionBase, locationBase: locationBase)
        owner = base
        self.base = base
        self.index = index
    }

    /// The same origin at another index: what the records of one chunk are given, so that they
    /// share its strings. The copy borrows them: it is valid only while this origin lives, which
    /// holds for records raised within the scope of their chunk's origin (nothing keeps an origin:
    /// alerts copy the strings they need).
    public func at(_ index: Int64) -> RecordOrigin {
        var copy = self
        copy.owner = nil
        copy.index = index
        copy.indexInLocationOnly = false
        return copy
    }

    public static func == (a: RecordOrigin, b: RecordOrigin) -> Bool {
        a.source == b.source && a.position == b.position && a.location == b.location
    }

    public init(source: String, position: String, location: String) {
        self.init(source: source, positionBase: position, locationBase: location)
    }

    /// The same origin with a number after its location (a line within a posted batch).
    /// Built per record, so the text is joined only when an alert asks for it.
    public func numbered(_ n: Int64) -> RecordOrigin {
        var copy = self
        if index == nil {
            copy.index = n
            copy.indexInLocationOnly = true
        } else {
            let base = Base(source: source, positionBase: positionBase, locationBase: location + String(n))
            copy.owner = base
            copy.base = base
            copy.index = nil
        }
        return copy
    }

    public var position: String {
        guard let index, !indexInLocationOnly else { return positionBase }
        return positionBase + String(index)
    }
    /// Where the record is, for people: `app.jsonl, byte 2190` or `standard input, line 12`.
    public var location: String { index.map { locationBase + String($0) } ?? locationBase }
}

/// The alert rules that look at one text at a time (SPEC §4, monitoring and warning):
/// - an output that hits a risk raises `content_risk`, of the risk's incident subtype;
/// - an input that carries an attack raises `input_attack` (social engineering for prompt
///   injection and jailbreaks, vulnerability exploit for XSS, SQL and command injection);
/// - personal data or a secret in an output raises `data_leak`.
/// Inputs that hit a risk raise nothing by themselves: a user asking is not an incident, and
/// the principal tracker counts them instead.
public struct ContentAlerts: Sendable {
    /// Severity of a content alert per risk group; A.1 (core values, illegal content) is critical.
    public var riskSeverity: [String: Severity] = ["A.1": .critical, "A.2": .warning, "A.3": .warning, "A.4": .warning]
    public var attackSeverity: Severity = .warning
    public var leakSeverity: Severity = .critical
    public var enabled: Set<String> = ["content_risk", "input_attack", "data_leak"]

    public init() {}

    /// The alerts one text raises: one per distinct risk, attack kind or PII kind.
    public func alerts(for f: TextFindings, origin: RecordOrigin, observedAt: Double) -> [Alert] {
        guard f.hasFindings else { return [] }
        var out: [Alert] = []
        func make(
            _ rule: String, _ signal: String, _ hit: TextFindings.Hit, _ severity: Severity, _ subtype: IncidentSubtype,
            _ summary: String
        ) {
            guard enabled.contains(rule), !out.contains(where: { $0.rule == rule && $0.labels["signal"] == signal })
            else { return }
            var labels = [
                "source": origin.source, "signal": signal, "match_rule": hit.rule, "direction": f.direction.rawValue,
            ]
            if let v = f.requestID { labels["request_id"] = v }
            if let v = f.userID { labels["user_id"] = v }
            if let v = f.clientIP { labels["client_ip"] = v }
            if let v = f.apiKey { labels["api_key"] = PrincipalTracker.maskedKey(v) }
            let key = [origin.source, origin.position, f.direction.rawValue, rule, signal].joined(separator: "|")
            out.append(
                Alert(
                    key: key, rule: rule, severity: severity, subtype: subtype, summary: summary, labels: labels,
                    excerpt: hit.excerpt, observedAt: observedAt))
        }
        switch f.direction {
        case .output:
            for hit in f.risks {
                let risk = Risk.named(hit.signal)
                let subtype = risk?.defaultSubtype ?? .other
                let severity = riskSeverity[risk?.group ?? ""] ?? .warning
                let name = risk.map { "\($0.id) \($0.en)" } ?? hit.signal
                make("content_risk", hit.signal, hit, severity, subtype, "Output hit risk \(name)")
            }
            for hit in f.pii {
                make(
                    "data_leak", hit.signal, hit, leakSeverity, .leak,
                    "Output contains personal data or a secret (\(hit.signal))")
            }
        case .input:
            for hit in f.attacks {
                let subtype = AttackKind(rawValue: hit.signal)?.subtype ?? .other
                make(
                    "input_attack", hit.signal, hit, attackSeverity, subtype, "Input carries an attack (\(hit.signal))")
            }
        }
        return out
    }
}
