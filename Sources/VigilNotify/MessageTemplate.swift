import Foundation
import VigilState

/// Fills `{{name}}` placeholders with an alert's fields: `severity`, `rule`, `summary`,
/// `excerpt`, `class`, `subtype`, `key`, `id`, `observed_at`, and `labels.NAME` for any label.
/// An unknown placeholder becomes empty, so a template cannot fail at delivery time.
public enum MessageTemplate {
    /// The built-in text of one alert in robot messages (markdown that the robots render).
    public static let standard = """
        **[{{severity}}] {{summary}}**
        - rule: {{rule}} ({{class}} / {{subtype}})
        - signal: {{labels.signal}}; request: {{labels.request_id}}; user: {{labels.user_id}}
        - excerpt: {{excerpt}}
        - at: {{observed_at}}
        """

    public static func render(_ template: String, _ stored: StateStore.StoredAlert) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            out += value(name, stored)
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    static func value(_ name: String, _ s: StateStore.StoredAlert) -> String {
        let a = s.alert
        if name.hasPrefix("labels.") { return a.labels[String(name.dropFirst(7))] ?? "" }
        switch name {
        case "severity": return a.severity.rawValue
        case "rule": return a.rule
        case "summary": return a.summary
        case "excerpt": return a.excerpt ?? ""
        case "class": return a.incidentClass.rawValue
        case "subtype": return a.subtype.rawValue
        case "key": return a.key
        case "id": return String(s.id)
        case "observed_at": return WebhookPayload.iso8601(a.observedAt)
        default: return ""
        }
    }
}
