import Foundation
import GRDB
import Synchronization
import Testing
import VigilMonitor
import VigilTaxonomy

@testable import VigilIncidents

@Suite struct AlertIntakeTests {
    @Test func alertOpensAnIncidentAndSameKeyJoinsIt() throws {
        let file = try TempStateFile()
        let store = try file.store()
        let intake = try store.take([
            contentAlert("a1", user: "u-1", at: 1000), contentAlert("a2", user: "u-2", at: 2000),
            contentAlert("a3", user: "u-1", at: 3000),
        ])
        #expect(intake == [.opened(1), .joined(1), .joined(1)])
        let i = try store.incident(1)
        #expect(i.incidentClass == .content && i.subtype == .discrimination)
        #expect(i.risks == ["A.2.e"])
        #expect(i.observed.occurrences == 3 && i.observed.affectedUsers == 2)
        #expect(i.firstSeen == 1000 && i.lastSeen == 3000)
        #expect(i.state == .detected)
        #expect(i.level == .four)
        #expect(try store.principals(of: 1).map(\.principal) == ["u-1", "u-2"])
        #expect(try store.principals(of: 1).map(\.occurrences) == [2, 1])
    }

    @Test func replayedAlertsChangeNothing() throws {
        let file = try TempStateFile()
        let store = try file.store()
        let alerts = [contentAlert("a1", at: 1000), contentAlert("a2", user: "u-2", at: 1001)]
        try store.take(alerts, throughAlertID: 2)
        let before = try store.incident(1)
        let auditBefore = try store.audit(1)
        #expect(try store.take(alerts, throughAlertID: 2) == [.duplicate, .duplicate])
        #expect(try store.incident(1) == before)
        #expect(try store.audit(1) == auditBefore)
        #expect(try store.cursor() == 2)
        #expect(try store.list().total == 1)
    }

    @Test func differentRiskServiceOrAnExpiredWindowOpenAnother() throws {
        let file = try TempStateFile()
        let policy = DeskPolicy.with {
            $0.services = [
                ServiceProfile(name: "chat", importance: .important, sources: ["gateway"]),
                ServiceProfile(name: "search", importance: .ordinary, sources: ["search-log"]),
            ]
            $0.groupWindow = 3600
        }
        let store = try file.store(policy)
        let intake = try store.take([
            contentAlert("a", at: 0), contentAlert("b", risk: "A.1.g", at: 10),
            contentAlert("c", source: "search-log", at: 20), contentAlert("d", at: 3600 + 1),
            contentAlert("e", at: 3600 + 1 + 3599),
        ])
        #expect(intake == [.opened(1), .opened(2), .opened(3), .opened(4), .joined(4)])
        #expect(try store.incident(1).service == "chat")
        #expect(try store.incident(1).importance == .important)
        #expect(try store.incident(3).service == "search")
        #expect(try store.incident(3).importance == .ordinary)
    }

    @Test func closedIncidentsAreNotJoined() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try store.take([contentAlert("a", at: 0)])
        try store.transition(1, to: .dismissed, actor: "duty", reason: "test traffic")
        #expect(try store.take([contentAlert("b", at: 10)]) == [.opened(2)])
    }

    @Test func ignoredRulesAndTheDesksOwnNoticesOpenNothing() throws {
        let file = try TempStateFile()
        let store = try file.store()
        let overRefusal = Alert(
            key: "o", rule: "over_refusal", severity: .warning, subtype: .other, summary: "x", labels: [:],
            observedAt: 0)
        let notice = Alert(
            key: "n", rule: "incident_level_changed", severity: .critical, subtype: .illegal, summary: "x",
            labels: [:], observedAt: 0)
        #expect(try store.take([overRefusal, notice], throughAlertID: 9) == [.ignored, .ignored])
        #expect(try store.list().total == 0)
        #expect(try store.cursor() == 9)
    }
}

@Suite struct GradingOnTheDeskTests {
    @Test func rulesProposeLossAndHarmFromTheFacts() throws {
        let file = try TempStateFile()
        let store = try file.store(
            DeskPolicy.with { $0.services = [ServiceProfile(name: "chat", importance: .important)] })
        try store.take([contentAlert("a")])
        #expect(try store.incident(1).level == .four)  // important × minor = 4, important × ordinary = 4
        var i = try store.assess(
            1, Assessment(facts: AssessedFacts(affectedUsers: 10_000)), actor: "duty", reason: "logs")
        #expect(i.businessLoss == .major && i.socialHarm == .ordinary)
        #expect(i.level == .three)  // important × major = 3
        i = try store.assess(1, Assessment(facts: AssessedFacts(spread: 1_000)), actor: "duty", reason: "reposts")
        #expect(i.socialHarm == .serious)
        #expect(i.level == .two)  // the more severe of 3 (loss) and 2 (harm)
        #expect(i.state == .assessing)
    }

    @Test func confirmedInputsAndLevelsAreKeptAgainstTheRules() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try store.take([contentAlert("a")])
        try store.assess(1, Assessment(businessLoss: .serious), actor: "duty", reason: "contract penalties")
        #expect(try store.incident(1).level == .three)  // ordinary × serious = 3
        try store.grade(1, level: .two, actor: "lead", reason: "regulator asked")
        // More facts would propose another level, but a person set it.
        let i = try store.assess(
            1, Assessment(facts: AssessedFacts(affectedUsers: 5)), actor: "duty", reason: "recount")
        #expect(i.level == .two && i.levelConfirmed)
        #expect(i.businessLoss == .serious && i.businessLossConfirmed)
    }

    @Test func aLevelChangeLeavesANoticeForOnCall() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try store.take([contentAlert("a")])
        #expect(try store.pendingNotices().isEmpty)  // the opening alert paged already
        try store.grade(1, level: .three, actor: "lead", reason: "wider than it looks")
        let notices = try store.pendingNotices()
        #expect(notices.map(\.kind) == ["level_changed"])
        #expect(notices.first?.summary.contains("level 3, was 4") == true)
        try store.markNoticesRaised(notices.map(\.id))
        #expect(try store.pendingNotices().isEmpty)
        #expect(try store.audit(1).contains { $0.action == "notified" })
    }

    @Test func decisionsNeedReasonsAndValidValues() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try store.take([contentAlert("a")])
        #expect(throws: IncidentError.self) { try store.grade(1, level: .two, actor: "x", reason: " ") }
        #expect(throws: IncidentError.self) { try store.assess(1, Assessment(), actor: "x", reason: "r") }
        #expect(throws: IncidentError.self) {
            try store.assess(1, Assessment(facts: AssessedFacts(affectedUsers: -1)), actor: "x", reason: "r")
        }
        #expect(try store.incident(1).level == .four)
        #expect(try store.incident(1).state == .detected)
    }
}

@Suite struct ReportRuleOnTheDeskTests {
    /// A level-3 incident on an important service with `users` affected (assessed), fed
    /// `count` alerts spread evenly over `span` seconds.
    func incident(count: Int, span: Double, users: Int) throws -> Incident {
        let file = try TempStateFile()
        let store = try file.store(
            DeskPolicy.with { $0.services = [ServiceProfile(name: "chat", importance: .important)] })
        try store.take([contentAlert("first", at: 0)])
        try store.assess(
            1, Assessment(businessLoss: .major, facts: AssessedFacts(affectedUsers: users)), actor: "d", reason: "r")
        let step = count > 1 ? span / Double(count - 1) : 0
        try store.take((1..<count).map { contentAlert("k\($0)", at: Double($0) * step) })
        return try store.incident(1)
    }

    @Test func fiveOccurrencesNotFour() throws {
        #expect(try incident(count: 5, span: 3600, users: 10_001).reportRequiredAt != nil)
        #expect(try incident(count: 4, span: 3600, users: 10_001).reportRequiredAt == nil)
    }

    @Test func moreThanTenThousandUsers() throws {
        #expect(try incident(count: 5, span: 3600, users: 10_001).reportRequiredAt != nil)
        #expect(try incident(count: 5, span: 3600, users: 10_000).reportRequiredAt == nil)
    }

    @Test func withinTwentyFourHours() throws {
        #expect(try incident(count: 5, span: 23 * 3600 + 59 * 60, users: 20_000).reportRequiredAt != nil)
        #expect(try incident(count: 5, span: 24 * 3600 + 60, users: 20_000).reportRequiredAt == nil)
    }

    @Test func levelFourIsFiledNotReported() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try store.take((0..<6).map { contentAlert("k\($0)", at: Double($0)) })
        try store.grade(1, level: .four, actor: "lead", reason: "local only")
        try store.assess(1, Assessment(facts: AssessedFacts(affectedUsers: 50_000)), actor: "d", reason: "r")
        let i = try store.incident(1)
        #expect(i.level == .four && i.reportRequiredAt == nil)
    }

    @Test func meetingTheRuleRaisesAnUrgentNotice() throws {
        let file = try TempStateFile()
        let store = try file.store(
            DeskPolicy.with { $0.services = [ServiceProfile(name: "chat", importance: .important)] })
        try store.take((0..<5).map { contentAlert("k\($0)", at: Double($0) * 60) })
        try store.assess(
            1, Assessment(businessLoss: .major, facts: AssessedFacts(affectedUsers: 12_000)), actor: "d", reason: "r")
        #expect(try store.pendingNotices().map(\.kind).contains("report_required"))
        #expect(try store.audit(1).contains { $0.action == "report_required" })
    }
}

@Suite struct LifecycleOnTheDeskTests {
    func graded(_ store: IncidentStore, level: Level = .four) throws {
        try store.take([contentAlert("a")])
        try store.grade(1, level: level, actor: "lead", reason: "r")
    }

    @Test func invalidTransitionsAreRefusedAndChangeNothing() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try graded(store)
        let before = try store.incident(1)
        let auditBefore = try store.audit(1)
        do {
            try store.transition(1, to: .closed, actor: "x", reason: "done", notes: [(.evidence, "screenshot")])
            Issue.record("closing a detected incident was allowed")
        } catch let e {
            #expect(e.kind == .conflict)
            #expect(e.message.contains("cannot move to closed"))
        }
        #expect(try store.incident(1) == before)
        #expect(try store.audit(1) == auditBefore)
        #expect(try store.notes(1).isEmpty)  // the note given with the refused move is not kept
        #expect(throws: IncidentError.self) { try store.transition(99, to: .assessing, actor: "x", reason: nil) }
    }

    @Test func dismissingNeedsAReason() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try graded(store)
        #expect(throws: IncidentError.self) { try store.transition(1, to: .dismissed, actor: "x", reason: nil) }
        let i = try store.transition(1, to: .dismissed, actor: "x", reason: "a test prompt from QA")
        #expect(i.state == .dismissed)
        #expect(throws: IncidentError.self) { try store.transition(1, to: .assessing, actor: "x", reason: "") }
        #expect(try store.transition(1, to: .assessing, actor: "x", reason: "QA says it was real").state == .assessing)
    }

    @Test func closingNeedsApplicationVerificationAndEvidence() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try graded(store)
        for s in [IncidentState.confirmed, .contained, .recovering, .verifying] {
            try store.transition(1, to: s, actor: "x", reason: "next")
        }
        do {
            try store.transition(1, to: .closed, actor: "x", reason: "done")
            Issue.record("closed without the paperwork")
        } catch let e {
            #expect(
                e.message.contains("closure application") && e.message.contains("verification")
                    && e.message.contains("evidence"))
        }
        try store.note(1, kind: .cause, text: "stereotype in fine-tuning data", actor: "x")
        try store.note(1, kind: .lesson, text: "co-occurrence rules for gender terms", actor: "x")
        let closed = try store.transition(
            1, to: .closed, actor: "lead", reason: "fixed",
            notes: [
                (.closureApplication, "apply"), (.verification, "retested 300 questions"), (.evidence, "report.pdf"),
            ])
        #expect(closed.state == .closed && closed.closedAt != nil && closed.containedAt != nil)
        let cases = try store.cases(search: "co-occurrence")
        #expect(cases.map(\.incidentID) == [1])
        #expect(cases.first?.cause == "stereotype in fine-tuning data")
        #expect(try store.cases(search: "nothing like this").isEmpty)
    }

    @Test func aServiceTakenOfflineNeedsTheOnlineReview() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try graded(store, level: .two)  // the level-2 plan takes the service offline (dry run)
        let runner = ActionRunner(plans: store.policy.plans)
        let claimed = try store.claimPendingActions()
        #expect(Set(claimed.map(\.action)) == [.restrictTopic, .restrictedMode, .takeOffline])
        #expect(claimed.allSatisfy { $0.dryRun })
        for a in claimed {
            let o = runner.run(a, incident: try store.incident(1), principals: ["u-1"])
            try store.finishAction(a.id, succeeded: o.succeeded, command: o.command, outcome: o.detail)
        }
        #expect(try store.incident(1).wentOffline)
        for s in [IncidentState.confirmed, .contained, .recovering, .verifying] {
            try store.transition(1, to: s, actor: "x", reason: "next")
        }
        let paperwork: [(NoteKind, String)] = [(.closureApplication, "a"), (.verification, "v"), (.evidence, "e")]
        do {
            try store.transition(1, to: .closed, actor: "x", reason: "r", notes: paperwork)
            Issue.record("closed without the online review")
        } catch let e {
            #expect(e.message.contains("online review"))
        }
        let closed = try store.transition(
            1, to: .closed, actor: "x", reason: "r", notes: paperwork + [(.onlineReview, "approved")])
        #expect(closed.state == .closed)
    }
}

@Suite struct AuditTrailTests {
    @Test func theTrailIsAppendOnly() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try store.take([contentAlert("a")])
        let db = try DatabaseQueue(path: file.path)
        #expect(throws: (any Error).self) {
            try db.write { try $0.execute(sql: "UPDATE incident_audit SET actor = 'mallory'") }
        }
        #expect(throws: (any Error).self) { try db.write { try $0.execute(sql: "DELETE FROM incident_audit") } }
        #expect(try store.audit(1).allSatisfy { $0.actor != "mallory" })
    }

    @Test func everythingSurvivesReopeningTheFile() throws {
        let file = try TempStateFile()
        do {
            let store = try file.store()
            try store.take([contentAlert("a", at: 1), contentAlert("b", user: "u-2", at: 2)], throughAlertID: 2)
            try store.assess(1, Assessment(socialHarm: .major), actor: "duty", reason: "press")
            try store.note(1, kind: .general, text: "called the vendor", actor: "duty")
        }
        let again = try file.store()
        let i = try again.incident(1)
        #expect(i.observed.occurrences == 2 && i.observed.affectedUsers == 2)
        #expect(i.socialHarm == .major && i.level == .three)
        #expect(try again.notes(1).map(\.text) == ["called the vendor"])
        #expect(try again.audit(1).count >= 5)
        #expect(try again.cursor() == 2)
        #expect(try again.take([contentAlert("b", user: "u-2", at: 2)]) == [.duplicate])
    }
}

@Suite struct ResponseActionTests {
    @Test func liveCommandRunsWithThePlaceholdersFilled() throws {
        let file = try TempStateFile()
        let out = file.directory.appendingPathComponent("gateway.txt").path
        let script = file.directory.appendingPathComponent("gateway.sh")
        try "#!/bin/sh\necho \"$@\" \"$VIGIL_SERVICE\" >> \(out)\n".write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let policy = DeskPolicy.with {
            $0.plans.dryRun = false
            $0.plans.executors[.blockPrincipal] = .command([
                script.path, "block", "{principals}", "incident-{incident}",
            ])
        }
        let store = try file.store(policy)
        try store.take([contentAlert("a", user: "u-7")])
        let asked = try store.respond(1, actions: [.blockPrincipal], actor: "duty", reason: "3 in a row")
        #expect(asked.map(\.state) == [.pending] && asked.allSatisfy { !$0.dryRun })
        let runner = ActionRunner(plans: policy.plans)
        for a in try store.claimPendingActions() {
            let o = runner.run(
                a, incident: try store.incident(1), principals: try store.principals(of: 1).map(\.principal))
            #expect(o.succeeded, "\(o.detail)")
            try store.finishAction(a.id, succeeded: o.succeeded, command: o.command, outcome: o.detail)
        }
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "block u-7 incident-1 default\n")
        #expect(try store.actions(of: 1).map(\.state) == [.done])
        #expect(try store.audit(1).contains { $0.action == "response" && $0.detail.contains("block_principal") })
    }

    @Test func aFailingCommandIsRecordedAndCanBeAskedForAgain() throws {
        let file = try TempStateFile()
        let policy = DeskPolicy.with {
            $0.plans.dryRun = false
            $0.plans.executors[.restrictTopic] = .command(["/bin/false"])
        }
        let store = try file.store(policy)
        try store.take([contentAlert("a")])
        try store.respond(1, actions: [.restrictTopic], actor: "d", reason: "r")
        let a = try #require(try store.claimPendingActions().first)
        let o = ActionRunner(plans: policy.plans).run(a, incident: try store.incident(1), principals: [])
        #expect(!o.succeeded && o.detail.contains("exit status 1"))
        try store.finishAction(a.id, succeeded: false, command: o.command, outcome: o.detail)
        #expect(try store.actions(of: 1).map(\.state) == [.failed])
        try store.respond(1, actions: [.restrictTopic], actor: "d", reason: "again")
        #expect(try store.actions(of: 1).map(\.state) == [.pending])
    }

    @Test func automaticPlansFireOnlyForLevelsOneAndTwo() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try store.take([contentAlert("a")])
        try store.grade(1, level: .three, actor: "d", reason: "r")
        #expect(try store.actions(of: 1).isEmpty)
        try store.grade(1, level: .one, actor: "d", reason: "r")
        #expect(Set(try store.actions(of: 1).map(\.action)) == [.restrictTopic, .restrictedMode, .takeOffline])
        let manual = DeskPolicy.with { $0.plans.automatic = false }
        let other = try TempStateFile()
        let store2 = try other.store(manual)
        try store2.take([contentAlert("a")])
        try store2.grade(1, level: .one, actor: "d", reason: "r")
        #expect(try store2.actions(of: 1).isEmpty)
    }
}

@Suite struct ObservedFactsTests {
    @Test func dataLeakAlertsCountLeakedRecords() throws {
        let file = try TempStateFile()
        let store = try file.store()
        let leaks = (0..<3).map { n in
            Alert(
                key: "l\(n)", rule: "data_leak", severity: .critical, subtype: .leak, summary: "cn_id in output",
                labels: ["source": "gateway", "signal": "cn_id", "user_id": "u-\(n)"], observedAt: Double(n))
        }
        try store.take(leaks)
        let i = try store.incident(1)
        #expect(i.incidentClass == .data && i.facts.recordsLeaked == 3)
        #expect(try store.incident(1).risks.isEmpty)  // a PII kind is not a risk id
    }
}

@Suite struct IncidentSchemaTests {
    /// The daemon's desk and CLI commands open the state file at the same moment; whichever
    /// applies a migration first, the others must open it, not fail with "table already exists".
    @Test func connectionsOpeningAFreshFileTogetherAllSucceed() throws {
        for _ in 0..<40 {
            let file = try TempStateFile()
            let path = file.path
            // The file exists, in WAL mode, before the desk opens it (the daemon's state store
            // creates it); the incident tables do not yet.
            var config = Configuration()
            config.journalMode = .wal
            _ = try DatabaseQueue(path: path, configuration: config)
            let failures = Mutex(0)
            DispatchQueue.concurrentPerform(iterations: 6) { _ in
                if (try? IncidentStore(path: path)) == nil { failures.withLock { $0 += 1 } }
            }
            #expect(failures.withLock { $0 } == 0)
        }
    }
}

/// The incident row's JSON columns read back as Foundation writes and reads them.
@Suite struct IncidentColumnsTests {
    @Test func risksRoundTripAndReadFoundationsForm() throws {
        for risks in [[], ["A.1.a"], ["A.1.a", "B.2"], [""], ["quote \" and \\ and /"], ["药物"]] {
            let text = IncidentColumns.risks(risks)
            #expect(IncidentColumns.risks(from: text) == risks)
            #expect(try JSONDecoder().decode([String].self, from: Data(text.utf8)) == risks)
            let foundation = String(decoding: try JSONEncoder().encode(risks), as: UTF8.self)
            #expect(IncidentColumns.risks(from: foundation) == risks)
        }
        #expect(IncidentColumns.risks(from: #"[ "a" , "b" ]"#) == ["a", "b"])
        #expect(IncidentColumns.risks(from: #"["]"#) == [])
    }

    @Test func assessedRoundTrips() throws {
        for facts in [AssessedFacts(), AssessedFacts(occurrences: 3, outageMinutes: 2.5), AssessedFacts(spread: 0)] {
            let text = IncidentColumns.assessed(facts)
            #expect(IncidentColumns.assessed(from: text) == facts)
            #expect(try JSONDecoder().decode(AssessedFacts.self, from: Data(text.utf8)) == facts)
        }
        #expect(IncidentColumns.assessed(AssessedFacts()) == "{}")
    }
}
