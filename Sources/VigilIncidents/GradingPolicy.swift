import VigilTaxonomy

/// The documented, configurable rules that propose business loss and social harm from what is
/// known of an incident (`incidents.grading` in the configuration). A tier is proposed when any
/// one of its figures is reached; the most severe tier reached wins, and below every tier the
/// proposal is the mildest grade (minor loss, ordinary harm). The level is then the more severe
/// of the guide's two tables (SPEC §3). A person can confirm or override each input and the level.
public struct GradingPolicy: Sendable, Equatable {
    /// Figures that reach a tier: any one of them is enough. Nil figures are not considered.
    public struct Threshold: Sendable, Equatable {
        public var occurrences: Int?
        public var affectedUsers: Int?
        public var outageMinutes: Double?
        public var recordsLeaked: Int?
        public var spread: Int?

        public init(
            occurrences: Int? = nil, affectedUsers: Int? = nil, outageMinutes: Double? = nil,
            recordsLeaked: Int? = nil, spread: Int? = nil
        ) {
            self.occurrences = occurrences
            self.affectedUsers = affectedUsers
            self.outageMinutes = outageMinutes
            self.recordsLeaked = recordsLeaked
            self.spread = spread
        }

        /// Whether `facts` reach this tier, and which figure did (for the audit trail).
        public func reached(by facts: IncidentFacts) -> String? {
            if let n = occurrences, facts.occurrences >= n { return "occurrences \(facts.occurrences) ≥ \(n)" }
            if let n = affectedUsers, facts.affectedUsers >= n { return "affected users \(facts.affectedUsers) ≥ \(n)" }
            if let n = outageMinutes, facts.outageMinutes >= n {
                return "outage \(Int(facts.outageMinutes)) min ≥ \(Int(n))"
            }
            if let n = recordsLeaked, facts.recordsLeaked >= n { return "records leaked \(facts.recordsLeaked) ≥ \(n)" }
            if let n = spread, facts.spread >= n { return "spread \(facts.spread) ≥ \(n)" }
            return nil
        }
    }

    /// Tiers of business loss above `minor`.
    public var businessLoss: [BusinessLoss: Threshold] = [
        .critical: Threshold(affectedUsers: 1_000_000, outageMinutes: 1440, recordsLeaked: 1_000_000),
        .serious: Threshold(affectedUsers: 100_000, outageMinutes: 240, recordsLeaked: 100_000),
        .major: Threshold(affectedUsers: 10_000, outageMinutes: 30, recordsLeaked: 1_000),
    ]
    /// Tiers of social harm above `ordinary`.
    public var socialHarm: [SocialHarm: Threshold] = [
        .critical: Threshold(affectedUsers: 10_000_000, spread: 10_000),
        .serious: Threshold(affectedUsers: 1_000_000, spread: 1_000),
        .major: Threshold(occurrences: 1_000, affectedUsers: 100_000, spread: 100),
    ]

    public init() {}

    /// The business loss the rules propose, with the figure that decided it.
    public func proposeBusinessLoss(_ facts: IncidentFacts) -> (BusinessLoss, String) {
        for tier in [BusinessLoss.critical, .serious, .major] {
            if let why = businessLoss[tier]?.reached(by: facts) { return (tier, why) }
        }
        return (.minor, "no business-loss threshold reached")
    }

    /// The social harm the rules propose, with the figure that decided it.
    public func proposeSocialHarm(_ facts: IncidentFacts) -> (SocialHarm, String) {
        for tier in [SocialHarm.critical, .serious, .major] {
            if let why = socialHarm[tier]?.reached(by: facts) { return (tier, why) }
        }
        return (.ordinary, "no social-harm threshold reached")
    }
}
