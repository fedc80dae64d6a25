import VigilTaxonomy

/// How urgently an alert needs a person.
public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    case info, warning, critical

    public static func < (a: Severity, b: Severity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Something a person should look at: raised by an alert rule from one or more observations.
///
/// `key` identifies the alert: the same observation always yields the same key, so replaying a
/// line after a crash cannot raise the alert twice (the store ignores a key it already holds).
public struct Alert: Sendable, Equatable {
    public var key: String
    /// The alert rule that raised it (`content_risk`, `input_attack`, `data_leak`, …).
    public var rule: String
    public var severity: Severity
    public var subtype: IncidentSubtype
    public var incidentClass: IncidentClass { subtype.incidentClass }
    /// One line for people.
    public var summary: String
    /// What the alert is about (risk, rule, source, request_id, user_id, …), for grouping and routing.
    public var labels: [String: String]
    /// The text that triggered it, personal data masked.
    public var excerpt: String?
    /// When it was observed (Unix seconds).
    public var observedAt: Double

    public init(
        key: String, rule: String, severity: Severity, subtype: IncidentSubtype, summary: String,
        labels: [String: String], excerpt: String? = nil, observedAt: Double
    ) {
        self.key = key
        self.rule = rule
        self.severity = severity
        self.subtype = subtype
        self.summary = summary
        self.labels = labels
        self.excerpt = excerpt
        self.observedAt = observedAt
    }
}

extension Alert {
    /// The alert's fields as a JSON-ready object (`--print-alerts json`, `vigil alerts --json`,
    /// webhook payloads add their own).
    public var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "key": key, "rule": rule, "severity": severity.rawValue, "incident_class": incidentClass.rawValue,
            "subtype": subtype.rawValue, "summary": summary, "labels": labels,
        ]
        if let excerpt { object["excerpt"] = excerpt }
        return object
    }
}
