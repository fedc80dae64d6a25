import VigilTaxonomy

/// Where an incident stands in its lifecycle (SPEC §4, handling): from first signal to closure.
public enum IncidentState: String, Sendable, Codable, CaseIterable {
    case detected, assessing, confirmed, dismissed, contained, recovering, verifying, closed

    /// Still needs people: neither closed nor dismissed.
    public var isOpen: Bool { self != .closed && self != .dismissed }

    public var zh: String {
        switch self {
        case .detected: return "已发现"
        case .assessing: return "研判中"
        case .confirmed: return "已确认"
        case .dismissed: return "已排除（误报）"
        case .contained: return "已控制"
        case .recovering: return "恢复中"
        case .verifying: return "验证中"
        case .closed: return "已关闭"
        }
    }
}

/// What is known of an incident's reach. The desk observes occurrences and affected users from
/// the alerts; a person can set any of these figures (an assessment) and the grading rules
/// then use the person's figure.
public struct IncidentFacts: Sendable, Equatable, Codable {
    public var occurrences: Int = 0
    public var affectedUsers: Int = 0
    /// Minutes the service was unavailable or degraded.
    public var outageMinutes: Double = 0
    /// Personal-data records or secrets that left the service.
    public var recordsLeaked: Int = 0
    /// Places the content spread to outside the service (reposts, platforms, reports).
    public var spread: Int = 0

    public init(
        occurrences: Int = 0, affectedUsers: Int = 0, outageMinutes: Double = 0, recordsLeaked: Int = 0, spread: Int = 0
    ) {
        self.occurrences = occurrences
        self.affectedUsers = affectedUsers
        self.outageMinutes = outageMinutes
        self.recordsLeaked = recordsLeaked
        self.spread = spread
    }
}

/// One incident, as the desk keeps it: its classification, reach, grade and state.
public struct Incident: Sendable, Equatable {
    public var id: Int64
    /// Class, subtype, risk or topic, and service: alerts with the same key join the same open incident.
    public var groupingKey: String
    public var subtype: IncidentSubtype
    public var incidentClass: IncidentClass { subtype.incidentClass }
    /// Risk ids seen (`A.2.e`), in the order first seen.
    public var risks: [String]
    public var topic: String?
    /// The affected service, as named under `incidents.services`.
    public var service: String
    public var title: String
    /// When the first and the last alert were observed (Unix seconds).
    public var firstSeen: Double
    public var lastSeen: Double
    /// What the alerts showed: occurrences and distinct affected users.
    public var observed: IncidentFacts
    /// What a person assessed, figure by figure; nil where nobody did.
    public var assessed: AssessedFacts
    public var importance: Importance
    public var businessLoss: BusinessLoss?
    public var businessLossConfirmed: Bool
    public var socialHarm: SocialHarm?
    public var socialHarmConfirmed: Bool
    public var level: Level?
    /// A person set or confirmed the level; automatic re-grading no longer changes it.
    public var levelConfirmed: Bool
    public var state: IncidentState
    /// A response action took (or, in a dry run, would have taken) the service offline; closing
    /// then needs an online review.
    public var wentOffline: Bool
    /// When the immediate-report rule was met (nil: not met).
    public var reportRequiredAt: Double?
    public var createdAt: Double
    public var updatedAt: Double
    public var containedAt: Double?
    public var closedAt: Double?

    /// The figures the grading rules use: a person's where they gave one, else the observed ones.
    /// Each alert of a data-leak incident is one output that carried personal data or a secret.
    public var facts: IncidentFacts {
        IncidentFacts(
            occurrences: assessed.occurrences ?? observed.occurrences,
            affectedUsers: assessed.affectedUsers ?? observed.affectedUsers,
            outageMinutes: assessed.outageMinutes ?? observed.outageMinutes,
            recordsLeaked: assessed.recordsLeaked ?? (subtype == .leak ? observed.occurrences : observed.recordsLeaked),
            spread: assessed.spread ?? observed.spread)
    }
}

/// Figures a person set during assessment; nil = not assessed.
public struct AssessedFacts: Sendable, Equatable, Codable {
    public var occurrences: Int?
    public var affectedUsers: Int?
    public var outageMinutes: Double?
    public var recordsLeaked: Int?
    public var spread: Int?

    public init(
        occurrences: Int? = nil, affectedUsers: Int? = nil, outageMinutes: Double? = nil, recordsLeaked: Int? = nil,
        spread: Int? = nil
    ) {
        self.occurrences = occurrences
        self.affectedUsers = affectedUsers
        self.outageMinutes = outageMinutes
        self.recordsLeaked = recordsLeaked
        self.spread = spread
    }
}

/// One entry of an incident's append-only audit trail: who did what, when, and why.
public struct AuditEntry: Sendable, Equatable {
    public var id: Int64
    public var incidentID: Int64
    public var at: Double
    public var actor: String
    /// `opened`, `assessed`, `graded`, `transition`, `note`, `response`, `report_required`, `notified`.
    public var action: String
    /// What changed, for people (`level 4 → 2`, `detected → assessing`).
    public var detail: String
    public var reason: String?
}

/// A note kept on an incident. Some kinds are what closing needs (SPEC §4: application,
/// verification, evidence; an online review after the service went offline).
public enum NoteKind: String, Sendable, Codable, CaseIterable {
    case general
    case cause
    case lesson
    case measure
    case closureApplication = "closure_application"
    case verification
    case evidence
    case onlineReview = "online_review"
    case stakeholderNotice = "stakeholder_notice"

    public var zh: String {
        switch self {
        case .general: return "备注"
        case .cause: return "原因"
        case .lesson: return "经验教训"
        case .measure: return "处置措施"
        case .closureApplication: return "结案申请"
        case .verification: return "验证记录"
        case .evidence: return "证据"
        case .onlineReview: return "上线评审"
        case .stakeholderNotice: return "相关方通报"
        }
    }
}

/// A note as stored.
public struct IncidentNote: Sendable, Equatable {
    public var id: Int64
    public var incidentID: Int64
    public var at: Double
    public var actor: String
    public var kind: NoteKind
    public var text: String
}
