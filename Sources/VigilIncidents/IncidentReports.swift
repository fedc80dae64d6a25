import Foundation
import GRDB
import VigilTaxonomy

/// The reports of the incident desk (SPEC §4, reporting and summary):
/// - `incident`: one incident, its grade, response, notes and audit trail;
/// - `authority`: the draft of the immediate report to the competent authority (scope and
///   harm, measures taken, recommendations);
/// - `filing`: the periodic filing of level-4 incidents over a date range;
/// - `review`: the review summary over a date range (counts by class and level, time to detect,
///   contain and close, repeat offenders, refusal-rate history per topic), with charts.
public struct IncidentReports {
    public enum Kind: String, Sendable, CaseIterable {
        case incident, authority, filing, review
    }

    let store: IncidentStore
    let language: ReportLanguage

    public init(store: IncidentStore, language: ReportLanguage = .zh) {
        self.store = store
        self.language = language
    }

    func t(_ zh: String, _ en: String) -> String { language == .zh ? zh : en }

    func className(_ c: IncidentClass) -> String {
        if language == .zh { return c.zh }
        return ["content": "content security", "data": "data security", "attack": "cyber attack", "other": "other"][
            c.rawValue] ?? c.rawValue
    }
    func subtypeName(_ s: IncidentSubtype) -> String { language == .zh ? s.zh : s.rawValue }
    func levelName(_ l: Level?) -> String {
        guard let l else { return t("未定级", "not graded") }
        if language == .zh { return l.zh }
        return [
            "", "level 1 (extraordinarily serious)", "level 2 (serious)", "level 3 (relatively serious)",
            "level 4 (general)",
        ][
            l.rawValue]
    }
    func stateName(_ s: IncidentState) -> String { language == .zh ? s.zh : s.rawValue }
    func riskNames(_ ids: [String]) -> String {
        ids.map { id in Risk.named(id).map { "\(id) \(language == .zh ? $0.zh : $0.en)" } ?? id }.joined(separator: "；")
    }
    func importanceName(_ i: Importance) -> String { language == .zh ? i.zh : i.rawValue }
    func actionState(_ s: ActionRecord.State) -> String {
        guard language == .zh else { return s.rawValue }
        return ["pending": "待执行", "running": "执行中", "done": "已完成", "failed": "失败"][s.rawValue] ?? s.rawValue
    }

    // MARK: One incident

    public func incident(_ id: Int64) throws(IncidentError) -> ReportDocument {
        let i = try store.incident(id)
        let audit = try store.audit(id)
        let notes = try store.notes(id)
        let actions = try store.actions(of: id)
        let alerts = try store.alerts(of: id, limit: 20)
        var doc = ReportDocument(title: t("安全事件报告 #\(id)：", "Incident report #\(id): ") + i.title, language: language)
        doc.lead = [
            t("生成时间：", "Generated: ") + ReportClock.text(Date().timeIntervalSince1970)
                + t("；依据 TC260-PG-202515A。", "; per TC260-PG-202515A.")
        ]
        doc.sections.append(overview(i))
        doc.sections.append(grading(i))
        doc.sections.append(response(actions, notes: notes))
        var notesSection = ReportDocument.Section(t("记录", "Notes"))
        notesSection.add(
            .init(
                header: [t("时间", "When"), t("记录人", "By"), t("类型", "Kind"), t("内容", "Text")],
                rows: notes.map {
                    [ReportClock.text($0.at), $0.actor, language == .zh ? $0.kind.zh : $0.kind.rawValue, $0.text]
                }), orSay: t("暂无记录。", "No notes yet."))
        doc.sections.append(notesSection)
        var alertSection = ReportDocument.Section(t("告警（前 20 条）", "Alerts (first 20)"))
        alertSection.tables = [
            .init(
                header: [
                    t("时间", "When"), t("规则", "Rule"), t("主体", "Principal"), t("摘要", "Summary"),
                    t("片段（已脱敏）", "Excerpt (masked)"),
                ],
                rows: alerts.map {
                    [ReportClock.text($0.observedAt), $0.rule, $0.principal ?? "—", $0.summary, $0.excerpt ?? ""]
                })
        ]
        doc.sections.append(alertSection)
        var auditSection = ReportDocument.Section(t("审计轨迹", "Audit trail"))
        auditSection.tables = [
            .init(
                header: [t("时间", "When"), t("操作人", "Who"), t("操作", "Action"), t("内容", "What"), t("理由", "Why")],
                rows: audit.map { [ReportClock.text($0.at), $0.actor, $0.action, $0.detail, $0.reason ?? ""] })
        ]
        doc.sections.append(auditSection)
        doc.data = [
            "kind": "incident", "incident": i.jsonObject, "audit": audit.map(\.jsonObject),
            "notes": notes.map(\.jsonObject), "actions": actions.map(\.jsonObject), "alerts": alerts.map(\.jsonObject),
        ]
        return doc
    }

    func overview(_ i: Incident) -> ReportDocument.Section {
        var s = ReportDocument.Section(t("事件概况", "Overview"))
        let f = i.facts
        var rows: [[String]] = [
            [t("事件分类", "Class"), className(i.incidentClass) + " / " + subtypeName(i.subtype)],
            [
                t("事件级别", "Level"),
                levelName(i.level) + (i.levelConfirmed ? t("（已人工确认）", " (confirmed)") : t("（自动建议）", " (proposed)")),
            ],
            [t("状态", "State"), stateName(i.state)],
            [t("受影响服务", "Service"), "\(i.service)（\(importanceName(i.importance))）"],
            [t("首次发现", "First seen"), ReportClock.text(i.firstSeen)],
            [t("最近发生", "Last seen"), ReportClock.text(i.lastSeen)],
            [t("发生次数", "Occurrences"), String(f.occurrences)],
            [t("受影响用户数", "Affected users"), String(f.affectedUsers)],
        ]
        if !i.risks.isEmpty { rows.append([t("风险", "Risks"), riskNames(i.risks)]) }
        if let topic = i.topic { rows.append([t("热点话题", "Hot topic"), topic]) }
        if f.outageMinutes > 0 {
            rows.append([t("中断时长", "Outage"), "\(ReportDocument.number(f.outageMinutes)) " + t("分钟", "min")])
        }
        if f.recordsLeaked > 0 { rows.append([t("泄露记录数", "Records leaked"), String(f.recordsLeaked)]) }
        if f.spread > 0 { rows.append([t("传播范围", "Spread"), String(f.spread)]) }
        if let at = i.reportRequiredAt {
            rows.append([t("需立即上报", "Immediate report required"), ReportClock.text(at)])
        }
        s.tables = [.init(header: [t("项目", "Item"), t("内容", "Value")], rows: rows)]
        return s
    }

    func grading(_ i: Incident) -> ReportDocument.Section {
        var s = ReportDocument.Section(t("定级依据", "Grading"))
        let byLoss = i.businessLoss.map { Grading.level(importance: i.importance, businessLoss: $0) }
        let byHarm = i.socialHarm.flatMap { Grading.level(importance: i.importance, socialHarm: $0) }
        func lossName(_ l: BusinessLoss?) -> String { l.map { language == .zh ? $0.zh : $0.rawValue } ?? "—" }
        func harmName(_ h: SocialHarm?) -> String { h.map { language == .zh ? $0.zh : $0.rawValue } ?? "—" }
        let mine = t("（人工确认）", " (confirmed)")
        s.tables = [
            .init(
                header: [t("输入", "Input"), t("取值", "Value"), t("对应级别", "Level by its table")],
                rows: [
                    [t("服务及数据重要程度", "Importance of the service and data"), importanceName(i.importance), ""],
                    [
                        t("业务损失", "Business loss"), lossName(i.businessLoss) + (i.businessLossConfirmed ? mine : ""),
                        byLoss.map(levelName) ?? "—",
                    ],
                    [
                        t("社会危害", "Social harm"), harmName(i.socialHarm) + (i.socialHarmConfirmed ? mine : ""),
                        byHarm.map(levelName) ?? t("（该表不分级）", "(not graded by this table)"),
                    ],
                ])
        ]
        s.paragraphs = [
            t("最终级别取两表中较严重者：", "The final level is the more severe of the two tables: ") + levelName(i.level)
                + (i.levelConfirmed ? t("，已人工确认。", ", confirmed by a person.") : t("，为自动建议。", ", as proposed."))
        ]
        return s
    }

    func response(_ actions: [ActionRecord], notes: [IncidentNote]) -> ReportDocument.Section {
        var s = ReportDocument.Section(t("处置措施", "Response"))
        let measures = notes.filter { $0.kind == .measure }.map(\.text)
        if actions.isEmpty && measures.isEmpty { s.paragraphs = [t("尚未采取措施。", "No measures taken yet.")] }
        if !actions.isEmpty {
            s.tables.append(
                .init(
                    header: [
                        t("措施", "Action"), t("预案级别", "Plan level"), t("方式", "Mode"), t("结果", "State"),
                        t("说明", "Outcome"),
                    ],
                    rows: actions.map { a in
                        [
                            language == .zh ? a.action.zh : a.action.rawValue, String(a.level.rawValue),
                            a.dryRun ? t("演练（未实际执行）", "dry run") : t("实际执行", "live"), actionState(a.state),
                            a.outcome ?? "",
                        ]
                    }))
        }
        if !measures.isEmpty { s.paragraphs.append(contentsOf: measures.map { "• " + $0 }) }
        return s
    }

    // MARK: Immediate report to the authority

    public func authority(_ id: Int64) throws(IncidentError) -> ReportDocument {
        let i = try store.incident(id)
        let notes = try store.notes(id)
        let actions = try store.actions(of: id)
        var doc = ReportDocument(
            title: t("生成式人工智能服务安全事件报告（草稿）", "Generative AI service security incident report (draft)"),
            language: language)
        doc.lead = [
            t(
                "本报告依据 TC260-PG-202515A 即时报告要求起草，请核实后报送主管部门。事件编号 #\(id)。",
                "Drafted under the immediate-report rule of TC260-PG-202515A; check it before sending it to the competent authority. Incident #\(id)."
            )
        ]
        if let at = i.reportRequiredAt {
            doc.lead.append(t("触发即时报告条件的时间：", "Immediate-report rule met at: ") + ReportClock.text(at))
        } else {
            doc.lead.append(
                t(
                    "注意：本事件尚未满足即时报告条件（三级及以上、24 小时内 5 次、影响超过 1 万用户）。",
                    "Note: this incident has not met the immediate-report rule (level 3 or higher, 5 occurrences in 24 h, more than 10,000 users)."
                ))
        }
        var scope = overview(i)
        scope.heading = t("一、事件概况（影响范围和危害）", "1. Scope and harm")
        let f = i.facts
        scope.paragraphs = [
            t(
                "\(ReportClock.text(i.firstSeen)) 起，\(i.service) 服务发生\(className(i.incidentClass))（\(subtypeName(i.subtype))），至 \(ReportClock.text(i.lastSeen)) 共发生 \(f.occurrences) 次，影响用户 \(f.affectedUsers) 人，定为\(levelName(i.level))。",
                "From \(ReportClock.text(i.firstSeen)), the \(i.service) service had a \(className(i.incidentClass)) incident (\(subtypeName(i.subtype))): \(f.occurrences) occurrences up to \(ReportClock.text(i.lastSeen)), \(f.affectedUsers) users affected, graded \(levelName(i.level))."
            )
        ]
        doc.sections.append(scope)
        var measures = response(actions, notes: notes)
        measures.heading = t("二、已采取的措施", "2. Measures taken")
        doc.sections.append(measures)
        var advice = ReportDocument.Section(t("三、建议", "3. Recommendations"))
        advice.paragraphs = recommendations(i, notes: notes).map { "• " + $0 }
        doc.sections.append(advice)
        var cause = ReportDocument.Section(t("四、原因分析", "4. Cause"))
        let causes = notes.filter { $0.kind == .cause }.map(\.text)
        cause.paragraphs = causes.isEmpty ? [t("原因分析进行中。", "Cause analysis in progress.")] : causes
        doc.sections.append(cause)
        doc.data = [
            "kind": "authority", "incident": i.jsonObject, "actions": actions.map(\.jsonObject),
            "recommendations": recommendations(i, notes: notes), "causes": causes,
        ]
        return doc
    }

    func recommendations(_ i: Incident, notes: [IncidentNote]) -> [String] {
        var out: [String] = []
        switch i.incidentClass {
        case .content:
            out.append(
                t(
                    "在 24 小时内更新关键词库和应拒答测试题库，覆盖本事件相关表述，并用测试题库复测（拒答率不低于 95%）。",
                    "Update the keyword library and the should-refuse bank within 24 hours to cover this incident's wording, and retest (refusal rate at least 95%)."
                ))
            out.append(t("协调相关平台删除已传播的有害内容。", "Ask platforms to remove content that has spread."))
        case .data:
            out.append(
                t(
                    "吊销并轮换泄露的密钥，通知受影响用户，核查数据访问日志。",
                    "Revoke and rotate leaked secrets, tell the affected users, audit data access logs."))
        case .attack:
            out.append(
                t(
                    "封禁攻击来源主体，修补被利用的接口或提示词防护，开展漏洞扫描。",
                    "Block the attacking principals, fix the exploited interface or prompt defences, run a vulnerability scan."
                ))
        case .other:
            out.append(t("按其他类事件处置流程开展调查。", "Investigate under the procedure for other incidents."))
        }
        if i.wentOffline {
            out.append(t("服务恢复上线前须通过上线评审。", "The service returns only after passing the online review."))
        }
        out.append(contentsOf: notes.filter { $0.kind == .lesson }.map(\.text))
        return out
    }

    // MARK: Periodic filing of level-4 incidents

    public func filing(from: Double, to: Double) throws(IncidentError) -> ReportDocument {
        var filter = IncidentStore.Filter()
        filter.levels = [.four]
        filter.from = from
        filter.to = to
        let incidents = try store.list(filter, limit: 10_000).incidents.sorted { $0.firstSeen < $1.firstSeen }
        var doc = ReportDocument(
            title: t("四级（一般）安全事件定期备案报告", "Periodic filing report of level-4 incidents"), language: language)
        doc.lead = [
            t("统计区间：", "Period: ") + ReportClock.text(from) + " — " + ReportClock.text(to),
            t(
                "共 \(incidents.count) 起四级事件，均已内部处置并记录。",
                "\(incidents.count) level-4 incidents, handled internally and recorded."),
        ]
        var s = ReportDocument.Section(t("事件清单", "Incidents"))
        s.tables = [
            .init(
                header: [
                    t("编号", "#"), t("分类", "Class"), t("风险", "Risks"), t("服务", "Service"), t("首次发现", "First seen"),
                    t("次数", "Occurrences"), t("用户数", "Users"), t("状态", "State"), t("摘要", "Summary"),
                ],
                rows: incidents.map { i in
                    [
                        String(i.id), className(i.incidentClass) + " / " + subtypeName(i.subtype), riskNames(i.risks),
                        i.service,
                        ReportClock.text(i.firstSeen), String(i.facts.occurrences), String(i.facts.affectedUsers),
                        stateName(i.state), i.title,
                    ]
                })
        ]
        doc.sections.append(s)
        doc.data = ["kind": "filing", "from": from, "to": to, "incidents": incidents.map(\.jsonObject)]
        return doc
    }

    // MARK: Review summary

    public func review(from: Double, to: Double) throws(IncidentError) -> ReportDocument {
        var filter = IncidentStore.Filter()
        filter.from = from
        filter.to = to
        let incidents = try store.list(filter, limit: 100_000).incidents
        let offenders = try store.repeatOffenders(from: from, to: to)
        let history = try store.refusalHistory(from: from, to: to)
        var doc = ReportDocument(title: t("安全事件复盘总结报告", "Incident review summary"), language: language)
        doc.lead = [
            t("统计区间：", "Period: ") + ReportClock.text(from) + " — " + ReportClock.text(to),
            t("共 \(incidents.count) 起事件。", "\(incidents.count) incidents."),
        ]
        var counts = ReportDocument.Section(t("按分类和级别统计", "By class and level"))
        var byClass: [IncidentClass: [Int]] = [:]
        for i in incidents {
            var row = byClass[i.incidentClass] ?? [0, 0, 0, 0, 0]
            row[i.level?.rawValue ?? 0] += 1
            byClass[i.incidentClass] = row
        }
        counts.tables = [
            .init(
                header: [
                    t("分类", "Class"), t("一级", "L1"), t("二级", "L2"), t("三级", "L3"), t("四级", "L4"), t("未定级", "ungraded"),
                    t("合计", "total"),
                ],
                rows: IncidentClass.allCases.compactMap { c in
                    guard let r = byClass[c] else { return nil }
                    return [
                        className(c), String(r[1]), String(r[2]), String(r[3]), String(r[4]), String(r[0]),
                        String(r.reduce(0, +)),
                    ]
                })
        ]
        counts.bars = [
            .init(
                title: t("各级别事件数", "Incidents by level"),
                bars: Level.allCases.map { l in (levelName(l), Double(incidents.filter { $0.level == l }.count)) }),
            .init(
                title: t("各分类事件数", "Incidents by class"),
                bars: IncidentClass.allCases.map { c in
                    (className(c), Double(incidents.filter { $0.incidentClass == c }.count))
                }),
        ]
        doc.sections.append(counts)
        var times = ReportDocument.Section(t("处置时效", "Time to detect, contain and close"))
        let toDetect = incidents.map { $0.createdAt - $0.firstSeen }
        let toContain = incidents.compactMap { i in i.containedAt.map { $0 - i.firstSeen } }
        let toClose = incidents.compactMap { i in i.closedAt.map { $0 - i.firstSeen } }
        let reported = incidents.filter { $0.reportRequiredAt != nil }.count
        let dismissed = incidents.filter { $0.state == .dismissed }.count
        func stats(_ values: [Double]) -> [String] {
            guard !values.isEmpty else { return ["0", "—", "—"] }
            let sorted = values.sorted()
            let median = sorted[sorted.count / 2]
            let mean = values.reduce(0, +) / Double(values.count)
            return [String(values.count), ReportClock.duration(median, language), ReportClock.duration(mean, language)]
        }
        times.tables = [
            .init(
                header: [
                    t("指标（自首次发现起）", "Measure (from first seen)"), t("事件数", "Incidents"), t("中位数", "Median"),
                    t("平均", "Mean"),
                ],
                rows: [
                    [t("发现（建立事件）", "Detect (incident opened)")] + stats(toDetect),
                    [t("控制", "Contain")] + stats(toContain),
                    [t("关闭", "Close")] + stats(toClose),
                ])
        ]
        times.paragraphs = [
            t(
                "需立即上报的事件：\(reported) 起；误报排除：\(dismissed) 起。",
                "Incidents that needed an immediate report: \(reported); dismissed as false positives: \(dismissed)."
            )
        ]
        doc.sections.append(times)
        var repeaters = ReportDocument.Section(t("重复违规主体", "Repeat offenders"))
        repeaters.add(
            .init(
                header: [t("主体", "Principal"), t("涉及事件数", "Incidents"), t("发生次数", "Occurrences")],
                rows: offenders.map { [$0.principal, String($0.incidents), String($0.occurrences)] }),
            orSay: t("无。", "None."))
        doc.sections.append(repeaters)
        var refusal = ReportDocument.Section(t("热点话题拒答率", "Refusal rate per hot topic"))
        if history.isEmpty {
            refusal.paragraphs = [t("区间内无拒答率采样。", "No refusal-rate samples in the period.")]
        } else {
            refusal.lines = [
                .init(
                    title: t("应拒答问题拒答率（阈值 95%）", "Refusal rate on should-refuse questions (threshold 95%)"),
                    series: history.keys.sorted().map { topic in
                        (topic, history[topic, default: []].map { ($0.at, $0.rate) })
                    }, threshold: 0.95)
            ]
        }
        doc.sections.append(refusal)
        doc.data = [
            "kind": "review", "from": from, "to": to, "incidents": incidents.count,
            "by_class_and_level": Dictionary(
                uniqueKeysWithValues: byClass.map { c, r in
                    (c.rawValue, ["1": r[1], "2": r[2], "3": r[3], "4": r[4], "ungraded": r[0]])
                }),
            "immediate_reports": reported, "dismissed": dismissed,
            "time_to_detect": toDetect, "time_to_contain": toContain, "time_to_close": toClose,
            "repeat_offenders": offenders.map {
                ["principal": $0.principal, "incidents": $0.incidents, "occurrences": $0.occurrences] as [String: Any]
            },
            "refusal_history": history.mapValues { samples in
                samples.map { ["at": $0.at, "refused": $0.refused, "answers": $0.answers] as [String: Any] }
            },
        ]
        return doc
    }
}

extension IncidentStore {
    /// A principal seen in more than one incident, or more than twice in one, in a period.
    public struct Offender: Sendable, Equatable {
        public var principal: String
        public var incidents: Int
        public var occurrences: Int
    }

    /// Principals behind incidents first seen in [from, to), most incidents first.
    public func repeatOffenders(from: Double, to: Double, limit: Int = 20) throws(IncidentError) -> [Offender] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT p.principal, count(DISTINCT p.incident_id) AS n, sum(p.occurrences) AS total
                    FROM incident_principals p JOIN incidents i ON i.id = p.incident_id
                    WHERE i.first_seen >= ? AND i.first_seen < ?
                    GROUP BY p.principal HAVING n > 1 OR total > 2
                    ORDER BY n DESC, total DESC, p.principal LIMIT ?
                    """, arguments: [from, to, limit]
            ).map { Offender(principal: $0["principal"], incidents: $0["n"], occurrences: $0["total"]) }
        }
    }
}
