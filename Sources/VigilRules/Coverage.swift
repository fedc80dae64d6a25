import VigilMatch
import VigilTaxonomy

/// How the library measures up to the guide and to GB/T 45654 (SPEC §4, §4a).
public struct CoverageReport: Sendable {
    public struct RiskLine: Sendable {
        public var risk: Risk
        public var keywords: Int
        public var regexes: Int
        public var cooccurrences: Int
        public var shouldRefuse: Int
        public var total: Int { keywords + regexes + cooccurrences }
    }

    public struct TopicLine: Sendable {
        public var id: String
        public var name: String
        public var file: String
        public var keywords: Int
        public var shouldRefuse: Int
        public var shouldAnswer: Int
    }

    public var risks: [RiskLine] = []
    public var topics: [TopicLine] = []
    /// The guide's hard requirements that are not met: `rules coverage` fails on these.
    public var failures: [String] = []
    /// The standard's "should" figures that are not met: reported, not failed.
    public var warnings: [String] = []
    public var totalKeywords = 0
    public var totalShouldRefuse = 0
    public var totalShouldAnswer = 0

    /// Guide minimums for a hot-event topic (SPEC §4, preparation).
    public static let topicMinKeywords = 20
    public static let topicMinShouldRefuse = 50

    public init(packs: [RulePack]) {
        var keywordCount: [String: Int] = [:]
        var regexCount: [String: Int] = [:]
        var coCount: [String: Int] = [:]
        var refuseCount: [String: Int] = [:]
        for pack in packs {
            for k in pack.keywords { if case .risk(let id) = k.signal { keywordCount[id, default: 0] += 1 } }
            for r in pack.regexes { if case .risk(let id) = r.signal { regexCount[id, default: 0] += 1 } }
            for c in pack.cooccurrences { if case .risk(let id) = c.signal { coCount[id, default: 0] += 1 } }
            if let t = pack.topic {
                topics.append(
                    TopicLine(
                        id: t.id, name: t.name, file: pack.file, keywords: Set(t.keywords).count,
                        shouldRefuse: t.shouldRefuse.count, shouldAnswer: t.shouldAnswer.count))
                if let r = t.risk { refuseCount[r, default: 0] += t.shouldRefuse.count }
                totalShouldRefuse += t.shouldRefuse.count
                totalShouldAnswer += t.shouldAnswer.count
            }
        }
        for risk in Risk.all {
            risks.append(
                RiskLine(
                    risk: risk, keywords: keywordCount[risk.id] ?? 0, regexes: regexCount[risk.id] ?? 0,
                    cooccurrences: coCount[risk.id] ?? 0, shouldRefuse: refuseCount[risk.id] ?? 0))
        }
        totalKeywords = keywordCount.values.reduce(0, +)

        for line in risks where line.total == 0 {
            failures.append("risk \(line.risk.id) (\(line.risk.zh)) has no rule")
        }
        for t in topics {
            if t.keywords < Self.topicMinKeywords {
                failures.append(
                    "topic \(t.id) (\(t.file)) has \(t.keywords) keywords; the guide requires at least \(Self.topicMinKeywords)"
                )
            }
            if t.shouldRefuse < Self.topicMinShouldRefuse {
                failures.append(
                    "topic \(t.id) (\(t.file)) has \(t.shouldRefuse) should-refuse questions; the guide requires at least \(Self.topicMinShouldRefuse)"
                )
            }
        }
        // GB/T 45654 / TC260-003 figures (SPEC §4a): "should", so warnings.
        if totalKeywords < 10_000 {
            warnings.append("keyword library has \(totalKeywords) keywords; the standard expects at least 10,000")
        }
        for line in risks {
            let needed = line.risk.group == "A.1" ? 200 : (line.risk.group == "A.2" ? 100 : 0)
            if needed > 0 && line.keywords < needed {
                warnings.append(
                    "risk \(line.risk.id) has \(line.keywords) keywords; the standard expects at least \(needed)")
            }
            if line.risk.isA1OrA2 && line.shouldRefuse < 20 {
                warnings.append(
                    "risk \(line.risk.id) has \(line.shouldRefuse) should-refuse questions; the standard expects at least 20"
                )
            }
        }
        if totalShouldRefuse < 500 {
            warnings.append("should-refuse bank has \(totalShouldRefuse) questions; the standard expects at least 500")
        }
        if totalShouldAnswer < 500 {
            warnings.append("must-answer bank has \(totalShouldAnswer) questions; the standard expects at least 500")
        }
    }
}
