/// Importance of the affected service and its data (SPEC §3).
public enum Importance: String, Sendable, CaseIterable, Codable {
    case critical, important, ordinary
    public var zh: String { ["critical": "特别重要", "important": "重要", "ordinary": "一般"][rawValue] ?? rawValue }
}

/// Business loss caused by an incident (SPEC §3).
public enum BusinessLoss: String, Sendable, CaseIterable, Codable {
    case critical, serious, major, minor
    public var zh: String { ["critical": "特别严重", "serious": "严重", "major": "较大", "minor": "较小"][rawValue] ?? rawValue }
}

/// Social harm caused by an incident (SPEC §3).
public enum SocialHarm: String, Sendable, CaseIterable, Codable {
    case critical, serious, major, ordinary
    public var zh: String {
        ["critical": "特别重大", "serious": "重大", "major": "较大", "ordinary": "一般"][rawValue] ?? rawValue
    }
}

/// Incident level: 1 is the most severe (特别重大事件), 4 the least (一般事件).
public enum Level: Int, Sendable, CaseIterable, Codable, Comparable {
    case one = 1
    case two, three, four

    /// Levels compare by severity: `.one > .four`.
    public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue > rhs.rawValue }

    public var zh: String {
        switch self {
        case .one: return "一级（特别重大事件）"
        case .two: return "二级（重大事件）"
        case .three: return "三级（较大事件）"
        case .four: return "四级（一般事件）"
        }
    }
}

/// The grading tables of the guide §5 as pure functions.
public enum Grading {
    /// Table 1: importance × business loss. Every combination is graded.
    public static func level(importance: Importance, businessLoss: BusinessLoss) -> Level {
        switch (importance, businessLoss) {
        case (.critical, .critical): return .one
        case (.critical, .serious): return .two
        case (.critical, .major), (.critical, .minor): return .three
        case (.important, .critical): return .two
        case (.important, .serious), (.important, .major): return .three
        case (.important, .minor): return .four
        case (.ordinary, .critical), (.ordinary, .serious), (.ordinary, .major): return .three
        case (.ordinary, .minor): return .four
        }
    }

    /// Table 2: importance × social harm. Nil where the table does not grade the combination.
    public static func level(importance: Importance, socialHarm: SocialHarm) -> Level? {
        switch (importance, socialHarm) {
        case (.critical, .critical): return .one
        case (.critical, .serious): return .two
        case (.critical, .major): return .three
        case (.critical, .ordinary): return nil
        case (.important, .critical): return nil
        case (.important, .serious): return .two
        case (.important, .major): return .three
        case (.important, .ordinary): return .four
        case (.ordinary, .critical), (.ordinary, .serious): return nil
        case (.ordinary, .major): return .three
        case (.ordinary, .ordinary): return .four
        }
    }

    /// The final level: the more severe of what the two tables give for the inputs present.
    /// Nil when neither input is present or neither table grades the combination.
    public static func level(importance: Importance, businessLoss: BusinessLoss?, socialHarm: SocialHarm?) -> Level? {
        let byLoss = businessLoss.map { level(importance: importance, businessLoss: $0) }
        let byHarm = socialHarm.flatMap { level(importance: importance, socialHarm: $0) }
        switch (byLoss, byHarm) {
        case (let a?, let b?): return max(a, b)
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (nil, nil): return nil
        }
    }
}
