/// Response measures the guide prescribes for each level (SPEC §4, handling).
public enum ResponseMeasure: String, Sendable, CaseIterable, Codable {
    case restrictFunctions = "restrict_functions"
    case takeOffline = "take_offline"
    case localFix = "local_fix"
}

/// What the guide requires of a response at one level.
public struct ResponsePolicy: Sendable, Hashable {
    /// Measures taken at once.
    public let immediate: [ResponseMeasure]
    /// Measures taken when the assessment says they are needed.
    public let ifNeeded: [ResponseMeasure]
    /// Whether the service keeps running under this policy by default.
    public let serviceKeepsRunning: Bool

    /// The guide's policy for a level.
    public static func forLevel(_ level: Level) -> ResponsePolicy {
        switch level {
        case .one:
            return ResponsePolicy(immediate: [.restrictFunctions], ifNeeded: [.takeOffline], serviceKeepsRunning: false)
        case .two:
            return ResponsePolicy(immediate: [.restrictFunctions], ifNeeded: [.takeOffline], serviceKeepsRunning: true)
        case .three: return ResponsePolicy(immediate: [.restrictFunctions], ifNeeded: [], serviceKeepsRunning: true)
        case .four:
            return ResponsePolicy(immediate: [.localFix], ifNeeded: [.restrictFunctions], serviceKeepsRunning: true)
        }
    }
}

/// The immediate-report rule of SPEC §4: a level-3-or-higher incident that has occurred at least
/// `minOccurrences` times within `window` and affects more than `minAffectedUsers` users is
/// reported to the authority at once. Defaults are the guide's figures.
public struct ReportRule: Sendable, Hashable {
    public var minLevel: Level = .three
    public var minOccurrences: Int = 5
    public var windowSeconds: Double = 24 * 3600
    public var minAffectedUsers: Int = 10_000

    public init() {}

    /// Whether an incident must be reported at once.
    /// - Parameters:
    ///   - occurrencesInWindow: occurrences counted within `windowSeconds` ending now.
    ///   - affectedUsers: distinct users affected; the rule needs *more than* `minAffectedUsers`.
    public func requiresImmediateReport(level: Level, occurrencesInWindow: Int, affectedUsers: Int) -> Bool {
        level >= minLevel && occurrencesInWindow >= minOccurrences && affectedUsers > minAffectedUsers
    }
}
