/// The four incident classes of the guide §4 (after GB/T 20986-2023 §5.1).
public enum IncidentClass: String, Sendable, CaseIterable, Codable {
    case content, data, attack, other

    public var zh: String {
        switch self {
        case .content: return "信息内容安全事件"
        case .data: return "数据安全事件"
        case .attack: return "网络攻击事件"
        case .other: return "其他"
        }
    }
}

/// The subtypes of each incident class (SPEC §2). Raw values are the stable ids used in config.
public enum IncidentSubtype: String, Sendable, CaseIterable, Codable {
    case illegal
    case falseHarmful = "false-harmful"
    case incitement
    case rights
    case discrimination
    case leak
    case tampering
    case poisoning
    case modelTampering = "model-tampering"
    case denialOfService = "denial-of-service"
    case vulnerabilityExploit = "vulnerability-exploit"
    case socialEngineering = "social-engineering"
    case other

    /// The class this subtype belongs to.
    public var incidentClass: IncidentClass {
        switch self {
        case .illegal, .falseHarmful, .incitement, .rights, .discrimination: return .content
        case .leak, .tampering, .poisoning: return .data
        case .modelTampering, .denialOfService, .vulnerabilityExploit, .socialEngineering: return .attack
        case .other: return .other
        }
    }

    public var zh: String {
        switch self {
        case .illegal: return "违法信息生成"
        case .falseHarmful: return "虚假有害信息生成"
        case .incitement: return "煽动教唆信息生成"
        case .rights: return "权益侵害信息生成"
        case .discrimination: return "歧视性信息生成"
        case .leak: return "数据泄露"
        case .tampering: return "数据篡改"
        case .poisoning: return "数据投毒"
        case .modelTampering: return "模型篡改"
        case .denialOfService: return "拒绝服务"
        case .vulnerabilityExploit: return "漏洞利用"
        case .socialEngineering: return "社会工程"
        case .other: return "其他"
        }
    }
}

/// Attack kinds the matcher reports for inputs.
public enum AttackKind: String, Sendable, CaseIterable, Codable {
    case promptInjection = "prompt_injection"
    case jailbreak
    case xss
    case sqli
    case commandInjection = "command_injection"

    /// The attack subtype an input attack maps to: prompt crafting is social engineering; the
    /// classic web payloads try to exploit a flaw in the service.
    public var subtype: IncidentSubtype {
        switch self {
        case .promptInjection, .jailbreak: return .socialEngineering
        case .xss, .sqli, .commandInjection: return .vulnerabilityExploit
        }
    }
}

/// Kinds of personal data and secrets the matcher reports; in an output they mean a data leak.
public enum PIIKind: String, Sendable, CaseIterable, Codable {
    case cnID = "cn_id"
    case cnMobile = "cn_mobile"
    case bankCard = "bank_card"
    case email
    case passport
    case apiKey = "api_key"
    case privateKey = "private_key"
    case phone
    case address
    case other
}
