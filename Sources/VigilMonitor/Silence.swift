import Foundation

/// Mutes alerts that match it, until it expires: their rows are kept (and shown by
/// `vigil alerts`), but no receiver is paged for them. As in Alertmanager, a silence is a set
/// of matchers that must all hold: `name=value`, `name!=value`, `name=~regex`, `name!~regex`
/// (regexes must match the whole value). Names are alert labels, plus `rule`, `severity`,
/// `subtype` and `class`.
public struct Silence: Sendable, Equatable {
    public struct Matcher: Sendable, Equatable, CustomStringConvertible {
        public enum Operator: String, Sendable, CaseIterable {
            case equal = "="
            case notEqual = "!="
            case matches = "=~"
            case notMatches = "!~"
        }
        public var name: String
        public var op: Operator
        public var value: String

        /// Parses `name=value`, `name!=value`, `name=~regex` or `name!~regex`.
        public init(parsing text: String) throws(SilenceError) {
            for op in [Operator.notMatches, .matches, .notEqual, .equal] {
                guard let r = text.range(of: op.rawValue) else { continue }
                let name = text[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else {
                    break
                }
                self.name = name
                self.op = op
                value = String(text[r.upperBound...])
                if op == .matches || op == .notMatches {
                    guard (try? NSRegularExpression(pattern: "^(?:" + value + ")$")) != nil else {
                        throw SilenceError("the regex in '\(text)' does not compile")
                    }
                }
                return
            }
            throw SilenceError("'\(text)' is not a matcher: use name=value, name!=value, name=~regex or name!~regex")
        }

        public var description: String { name + op.rawValue + value }

        func holds(for labels: [String: String]) -> Bool {
            let actual = labels[name] ?? ""
            switch op {
            case .equal: return actual == value
            case .notEqual: return actual != value
            case .matches, .notMatches:
                let whole = actual.range(of: "^(?:" + value + ")$", options: .regularExpression) != nil
                return op == .matches ? whole : !whole
            }
        }
    }

    public var id: Int64
    public var matchers: [Matcher]
    public var startsAt: Double
    public var endsAt: Double
    public var createdBy: String
    public var comment: String

    public init(
        id: Int64 = 0, matchers: [Matcher], startsAt: Double, endsAt: Double, createdBy: String, comment: String
    ) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
    }

    public func isActive(at now: Double) -> Bool { startsAt <= now && now < endsAt }

    /// Whether the alert falls under this silence (activity aside).
    public func matches(_ alert: Alert) -> Bool {
        let labels = alert.matchingLabels
        return !matchers.isEmpty && matchers.allSatisfy { $0.holds(for: labels) }
    }
}

/// Why a silence could not be made.
public struct SilenceError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Alert {
    /// The labels silences and grouping see: the alert's labels plus its own fields.
    public var matchingLabels: [String: String] {
        var l = labels
        l["rule"] = rule
        l["severity"] = severity.rawValue
        l["subtype"] = subtype.rawValue
        l["class"] = incidentClass.rawValue
        return l
    }
}

extension Array where Element == Silence {
    /// The first active silence that mutes `alert`.
    public func muting(_ alert: Alert, at now: Double) -> Silence? {
        first { $0.isActive(at: now) && $0.matches(alert) }
    }
}
