import VigilTaxonomy

/// A service the operator runs, with the importance of it and its data (SPEC §3), and the
/// sources whose lines belong to it.
public struct ServiceProfile: Sendable, Equatable {
    public var name: String
    public var importance: Importance
    /// Source names (as under `sources:`); empty = every source not claimed by another service.
    public var sources: [String]

    public init(name: String, importance: Importance, sources: [String] = []) {
        self.name = name
        self.importance = importance
        self.sources = sources
    }
}

/// How the desk turns alerts into incidents and carries them on (`incidents:` in the configuration).
public struct DeskPolicy: Sendable, Equatable {
    public var services: [ServiceProfile] = [ServiceProfile(name: "default", importance: .ordinary)]
    /// An alert joins the open incident with its grouping key last seen within this many seconds.
    public var groupWindow: Double = 24 * 3600
    /// Alert rules that open no incident. Over-refusal is a quality problem, not a security one;
    /// the desk's own notices (rules starting `incident_`) never open one either.
    public var ignoredRules: Set<String> = ["over_refusal"]
    public var grading = GradingPolicy()
    public var reportRule = ReportRule()
    public var plans = ResponsePlans()

    public init() {}

    /// The service a source's lines belong to.
    public func service(forSource source: String?) -> ServiceProfile {
        if let source, let s = services.first(where: { $0.sources.contains(source) }) { return s }
        return services.first(where: { $0.sources.isEmpty }) ?? services.first
            ?? ServiceProfile(name: "default", importance: .ordinary)
    }

    public func importance(ofService name: String) -> Importance? {
        services.first(where: { $0.name == name })?.importance
    }

    /// Whether an alert of this rule opens or joins an incident.
    public func opensIncidents(_ rule: String) -> Bool {
        !rule.hasPrefix("incident_") && !ignoredRules.contains(rule)
    }
}
