import VigilTaxonomy

/// What a response plan can do to the service (SPEC §4, handling), each carried out by the
/// operator's gateway through a configured command or webhook.
public enum ResponseAction: String, Sendable, Codable, CaseIterable {
    /// Stop answering on the incident's topic or risk.
    case restrictTopic = "restrict_topic"
    /// Suspend the principals the incident names (SPEC §4a: 3 in a row or 5 a day).
    case blockPrincipal = "block_principal"
    /// Put the service in restricted mode (functions limited).
    case restrictedMode = "restricted_mode"
    /// Take the service offline; it may return only after an online review.
    case takeOffline = "take_offline"

    public var zh: String {
        switch self {
        case .restrictTopic: return "限制相关话题"
        case .blockPrincipal: return "暂停相关用户服务"
        case .restrictedMode: return "服务进入受限模式"
        case .takeOffline: return "服务临时下线"
        }
    }
}

/// How an action reaches the gateway. Arguments and bodies may hold placeholders:
/// `{incident}`, `{level}`, `{service}`, `{topic}`, `{risk}`, `{principals}`, `{action}`.
public enum ActionExecutor: Sendable, Equatable {
    /// A program and its arguments, run without a shell; exit status 0 is success.
    case command([String])
    /// An HTTP POST of the action as JSON; a 2xx answer is success.
    case webhook(url: String, headers: [String: String])
}

/// One step of a level's plan.
public struct PlanStep: Sendable, Equatable {
    public var action: ResponseAction
    /// Fired as soon as an incident reaches the level (levels 1 and 2, when `auto` is on);
    /// otherwise only when a person asks (`vigil incidents respond`).
    public var immediate: Bool

    public init(_ action: ResponseAction, immediate: Bool) {
        self.action = action
        self.immediate = immediate
    }
}

/// The response plans per level and how their actions are carried out (`incidents.plans`).
///
/// The defaults follow the guide: level 1 and 2 restrict functions and take the service offline
/// at once; level 3 restricts functions; level 4 keeps the service running and blocks the
/// offending principals only if a person decides to.
public struct ResponsePlans: Sendable, Equatable {
    public var steps: [Level: [PlanStep]] = [
        .one: [
            PlanStep(.restrictTopic, immediate: true), PlanStep(.restrictedMode, immediate: true),
            PlanStep(.takeOffline, immediate: true),
        ],
        .two: [
            PlanStep(.restrictTopic, immediate: true), PlanStep(.restrictedMode, immediate: true),
            PlanStep(.takeOffline, immediate: true),
        ],
        .three: [PlanStep(.restrictTopic, immediate: false), PlanStep(.restrictedMode, immediate: false)],
        .four: [PlanStep(.blockPrincipal, immediate: false)],
    ]
    /// How each action is carried out; an action without one is recorded as not configured.
    public var executors: [ResponseAction: ActionExecutor] = [:]
    /// Record what would be done instead of doing it. On by default: an operator turns it off
    /// once the commands and webhooks have been tried.
    public var dryRun = true
    /// Fire the immediate steps of level 1 and 2 plans automatically.
    public var automatic = true
    /// Longest a command or webhook may take (seconds).
    public var timeout: Double = 30

    public init() {}
}
