/// One of the 29 content risks of GB/T 45654-2025 Appendix A (SPEC §1).
///
/// The `id` ("A.2.e") is part of the public interface: rule files, findings, alerts, reports and
/// metric labels all use it.
public struct Risk: Sendable, Hashable, Comparable {
    /// The stable id, e.g. `A.2.e`.
    public let id: String
    /// The name in Chinese, as the standard words it.
    public let zh: String
    /// The name in English.
    public let en: String

    public static func < (lhs: Risk, rhs: Risk) -> Bool { lhs.id < rhs.id }

    /// The group (`A.1` … `A.4`) this risk belongs to.
    public var group: String { String(id.prefix(3)) }

    /// The incident subtype a hit on this risk maps to unless a rule says otherwise (SPEC §2).
    public var defaultSubtype: IncidentSubtype {
        switch id {
        case "A.1.g": return .falseHarmful
        case "A.4.a": return .incitement
        default:
            switch group {
            case "A.2": return .discrimination
            case "A.3", "A.4": return .rights
            default: return .illegal
            }
        }
    }
}

extension Risk {
    /// All 29 risks, in id order.
    public static let all: [Risk] = [
        Risk(
            id: "A.1.a", zh: "煽动颠覆国家政权、推翻社会主义制度",
            en: "inciting subversion of state power / overthrow of the socialist system"),
        Risk(
            id: "A.1.b", zh: "危害国家安全和利益、损害国家形象",
            en: "endangering national security and interests, harming the national image"),
        Risk(
            id: "A.1.c", zh: "煽动分裂国家、破坏国家统一和社会稳定",
            en: "inciting secession, undermining national unity and social stability"),
        Risk(id: "A.1.d", zh: "宣扬恐怖主义、极端主义", en: "promoting terrorism or extremism"),
        Risk(id: "A.1.e", zh: "宣扬民族仇恨", en: "promoting ethnic hatred"),
        Risk(id: "A.1.f", zh: "宣扬暴力、淫秽色情", en: "promoting violence, obscenity or pornography"),
        Risk(id: "A.1.g", zh: "传播虚假有害信息", en: "spreading false and harmful information"),
        Risk(id: "A.1.h", zh: "其他法律、行政法规禁止的内容", en: "other content prohibited by laws and regulations"),
        Risk(id: "A.2.a", zh: "民族歧视", en: "ethnic discrimination"),
        Risk(id: "A.2.b", zh: "信仰歧视", en: "religious/belief discrimination"),
        Risk(id: "A.2.c", zh: "国别歧视", en: "nationality discrimination"),
        Risk(id: "A.2.d", zh: "地域歧视", en: "regional discrimination"),
        Risk(id: "A.2.e", zh: "性别歧视", en: "gender discrimination"),
        Risk(id: "A.2.f", zh: "年龄歧视", en: "age discrimination"),
        Risk(id: "A.2.g", zh: "职业歧视", en: "occupational discrimination"),
        Risk(id: "A.2.h", zh: "健康歧视", en: "health discrimination"),
        Risk(id: "A.2.i", zh: "其他方面歧视", en: "other discrimination"),
        Risk(id: "A.3.a", zh: "侵犯他人知识产权", en: "infringing intellectual property"),
        Risk(id: "A.3.b", zh: "违反商业道德", en: "violating business ethics"),
        Risk(id: "A.3.c", zh: "泄露他人商业秘密", en: "leaking trade secrets"),
        Risk(
            id: "A.3.d", zh: "利用算法、数据、平台等优势实施垄断和不正当竞争",
            en: "monopoly / unfair competition via algorithm, data or platform advantage"),
        Risk(id: "A.3.e", zh: "其他商业违法违规行为", en: "other commercial violations"),
        Risk(id: "A.4.a", zh: "危害他人身心健康", en: "endangering others' physical or mental health"),
        Risk(id: "A.4.b", zh: "侵害他人肖像权", en: "infringing portrait rights"),
        Risk(id: "A.4.c", zh: "侵害他人名誉权", en: "infringing reputation rights"),
        Risk(id: "A.4.d", zh: "侵害他人荣誉权", en: "infringing honour rights"),
        Risk(id: "A.4.e", zh: "侵害他人隐私权", en: "infringing privacy"),
        Risk(id: "A.4.f", zh: "侵害他人个人信息权益", en: "infringing personal-information rights"),
        Risk(id: "A.4.g", zh: "侵犯他人其他合法权益", en: "infringing other legitimate rights"),
    ]

    private static let byID: [String: Risk] = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })

    /// The risk with this id, or nil when the id is not one of the 29.
    public static func named(_ id: String) -> Risk? { byID[id] }

    /// True for the 17 risks of groups A.1 and A.2, which the standard holds to higher minimums.
    public var isA1OrA2: Bool { group == "A.1" || group == "A.2" }
}
