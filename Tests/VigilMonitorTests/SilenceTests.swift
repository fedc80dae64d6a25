import Foundation
import Testing

@testable import VigilMonitor
@testable import VigilState

@Suite struct SilenceTests {
    func alert(_ labels: [String: String], rule: String = "content_risk") -> Alert {
        Alert(
            key: UUID().uuidString, rule: rule, severity: .warning, subtype: .discrimination, summary: "s",
            labels: labels, observedAt: 0)
    }

    func silence(_ matchers: [String], from: Double = 0, to: Double = 100) throws -> Silence {
        Silence(
            matchers: try matchers.map { try Silence.Matcher(parsing: $0) }, startsAt: from, endsAt: to, createdBy: "t",
            comment: "")
    }

    @Test func matchersOfEveryKind() throws {
        let a = alert(["user_id": "u42", "signal": "A.2.e"])
        #expect(try silence(["rule=content_risk"]).matches(a))
        #expect(try silence(["rule=content_risk", "user_id=u42"]).matches(a))
        #expect(!(try silence(["rule=content_risk", "user_id=u43"]).matches(a)))
        #expect(try silence(["user_id!=u43"]).matches(a))
        #expect(try silence(["user_id=~u4."]).matches(a))
        #expect(!(try silence(["user_id=~u4"]).matches(a)), "a regex matches the whole value")
        #expect(try silence(["signal!~A\\.1\\..*"]).matches(a))
        #expect(try silence(["class=content", "severity=warning"]).matches(a))
        #expect(try silence(["missing="]).matches(a), "an absent label is the empty string")
    }

    @Test func badMatchersAreRefused() {
        #expect(throws: SilenceError.self) { try Silence.Matcher(parsing: "no operator") }
        #expect(throws: SilenceError.self) { try Silence.Matcher(parsing: "=value") }
        #expect(throws: SilenceError.self) { try Silence.Matcher(parsing: "a=~(unclosed") }
    }

    @Test func onlyActiveSilencesMute() throws {
        let s = try silence(["rule=content_risk"], from: 10, to: 20)
        let a = alert([:])
        #expect([s].muting(a, at: 5) == nil)
        #expect([s].muting(a, at: 15) == s)
        #expect([s].muting(a, at: 20) == nil)
    }

    @Test func silencedAlertsAreStoredButOweNoDelivery() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let store = try StateStore(path: dir.path("v.db"))
        var s = try silence(["user_id=u1"], from: 0, to: 1000)
        s.id = try store.addSilence(s, now: 0)
        let stored = try store.commit(
            alerts: [alert(["user_id": "u1"]), alert(["user_id": "u2"])], receivers: ["r"], silences: [s], now: 5)
        #expect(stored.map(\.silencedBy) == [s.id, nil])
        #expect(try store.dueDeliveries(receiver: "r", now: 10).count == 1)
        #expect(try store.recentAlerts().map(\.silencedBy) == [nil, s.id])
        // A silence added later drops deliveries still pending.
        try store.commit(alerts: [alert(["user_id": "u3"])], receivers: ["r"], now: 6)
        var late = try silence(["user_id=u3"], from: 0, to: 1000)
        late.id = try store.addSilence(late, now: 7)
        #expect(try store.dropSilencedDeliveries(receiver: "r", silences: store.silences(now: 8), now: 8) == 1)
        #expect(try store.dueDeliveries(receiver: "r", now: 10).count == 1)
        #expect(try store.expireSilence(late.id, now: 9))
        #expect(!(try store.expireSilence(late.id, now: 9)))
        #expect(try store.silences(now: 10).map(\.id) == [s.id])
        #expect(try store.silences(now: 10, all: true).count == 2)
    }

    @Test func aVersion1StateFileIsUpgraded() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let db = try Database(path: dir.path("old.db"))
        try db.execute(
            """
            CREATE TABLE alerts (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, rule TEXT NOT NULL, severity TEXT NOT NULL,
              subtype TEXT NOT NULL, incident_class TEXT NOT NULL, summary TEXT NOT NULL, labels TEXT NOT NULL,
              excerpt TEXT, observed_at REAL NOT NULL, created_at REAL NOT NULL);
            PRAGMA user_version = 1;
            """)
        let store = try StateStore(path: dir.path("old.db"))
        try store.commit(alerts: [alert([:])], receivers: [], now: 1)
        #expect(try store.recentAlerts().count == 1)
        #expect(try store.database.prepare("PRAGMA user_version").query().first?.first?.int == 2)
    }
}
