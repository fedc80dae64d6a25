import Foundation
import GRDB
import VigilMonitor
import VigilTaxonomy

extension IncidentStore {
    /// What the desk did with one alert.
    public enum Intake: Sendable, Equatable {
        case opened(Int64)
        case joined(Int64)
        /// Its rule opens no incident (`incidents.ignore_rules`, or one of the desk's own notices).
        case ignored
        /// Taken in before: a replay changes nothing.
        case duplicate
    }

    /// The id of the last alert of the daemon's alerts table that the desk has taken in.
    public func cursor() throws(IncidentError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT alert_id FROM desk_cursor WHERE name = 'alerts'") ?? 0 }
    }

    /// Takes in alerts: each opens an incident or joins the open one with its grouping key,
    /// updating counts and grade, all in one transaction with the cursor (`throughAlertID`),
    /// so a crash repeats the whole batch or none of it, and a repeat is recognised by key.
    @discardableResult
    public func take(
        _ alerts: [Alert], throughAlertID: Int64? = nil, now: Double = Date().timeIntervalSince1970
    ) throws(IncidentError) -> [Intake] {
        let policy = self.policy
        return try write { db in
            var batch = Batch()
            batch.takenBefore = try Self.keysTaken(db, alerts.map(\.key))
            var out: [Intake] = []
            for alert in alerts { out.append(try Self.take(db, alert, into: &batch, policy: policy, now: now)) }
            // Each incident the batch touched is written once, however many alerts joined it.
            for incident in batch.open.values where batch.dirty.contains(incident.id) { try Self.save(db, incident) }
            if let id = throughAlertID {
                try db.cachedStatement(
                    sql:
                        "INSERT INTO desk_cursor (name, alert_id) VALUES ('alerts', ?) ON CONFLICT (name) DO UPDATE SET alert_id = max(alert_id, excluded.alert_id)"
                ).execute(arguments: [id])
            }
            return out
        }
    }

    /// The incidents a batch of alerts is working on, by grouping key, and those changed.
    private struct Batch {
        var open: [String: Incident] = [:]
        var dirty: Set<Int64> = []
        /// Keys of the batch's alerts that an earlier batch took in (a replay).
        var takenBefore: Set<String> = []
    }

    /// Which of `keys` were taken in before: one query per few hundred keys, not one per alert.
    private static func keysTaken(_ db: Database, _ keys: [String]) throws -> Set<String> {
        var taken = Set<String>()
        var start = 0
        while start < keys.count {
            let part = Array(keys[start..<min(keys.count, start + 500)])
            let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
            let found = try String.fetchAll(
                db, sql: "SELECT alert_key FROM incident_alerts WHERE alert_key IN (\(marks))",
                arguments: StatementArguments(part))
            taken.formUnion(found)
            start += part.count
        }
        return taken
    }

    /// The grouping key of an alert: class, subtype, risk or topic (else the rule), service.
    public static func groupingKey(_ alert: Alert, service: String) -> String {
        let focus = alert.labels["signal"] ?? alert.labels["topic"] ?? alert.rule
        return [alert.incidentClass.rawValue, alert.subtype.rawValue, focus, service].joined(separator: "/")
    }

    /// Who an alert is about: the user id, else the client IP, else the (masked) API key.
    static func principal(_ alert: Alert) -> String? {
        alert.labels["user_id"] ?? alert.labels["client_ip"] ?? alert.labels["api_key"]
    }

    private static func take(
        _ db: Database, _ alert: Alert, into batch: inout Batch, policy: DeskPolicy, now: Double
    ) throws -> Intake {
        guard policy.opensIncidents(alert.rule) else { return .ignored }
        // Taken in by an earlier batch, or earlier in this one.
        guard !batch.takenBefore.contains(alert.key) else { return .duplicate }
        batch.takenBefore.insert(alert.key)
        let service = policy.service(forSource: alert.labels["source"])
        let key = groupingKey(alert, service: service.name)
        let at = alert.observedAt
        var incident: Incident
        let intake: Intake
        if let cached = batch.open[key], cached.lastSeen >= at - policy.groupWindow {
            incident = cached
            intake = .joined(incident.id)
        } else if batch.open[key] == nil,
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT \(Self.incidentColumns) FROM incidents
                        WHERE grouping_key = ? AND state NOT IN ('closed', 'dismissed') AND last_seen >= ?
                        ORDER BY id DESC LIMIT 1
                        """), arguments: [key, at - policy.groupWindow])
        {
            incident = try Self.incident(from: row)
            intake = .joined(incident.id)
        } else {
            try db.cachedStatement(
                sql: """
                    INSERT INTO incidents (grouping_key, subtype, incident_class, topic, service, title, first_seen, last_seen,
                      importance, state, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'detected', ?, ?)
                    """
            ).execute(arguments: [
                key, alert.subtype.rawValue, alert.incidentClass.rawValue, alert.labels["topic"], service.name,
                alert.summary, at, at, service.importance.rawValue, now, now,
            ])
            let id = db.lastInsertedRowID
            try appendAudit(
                db, id, at: now, actor: "vigil", action: "opened",
                detail:
                    "opened by alert \(alert.rule) (\(alert.subtype.rawValue), service \(service.name), importance \(service.importance.rawValue)): \(alert.summary)"
            )
            incident = try fetchIncident(db, id)
            intake = .opened(id)
        }
        let principal = principal(alert)
        try db.cachedStatement(
            sql: """
                INSERT INTO incident_alerts (alert_key, incident_id, rule, principal, summary, excerpt, observed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [alert.key, incident.id, alert.rule, principal, alert.summary, alert.excerpt, at])
        if let principal {
            // Most alerts name a principal new to their incident: one insert, and an update only
            // for a principal seen before (cheaper than an upsert that returns the count).
            try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO incident_principals (incident_id, principal, occurrences) VALUES (?, ?, 1)"
            ).execute(arguments: [incident.id, principal])
            if db.changesCount == 1 {
                // A principal seen for the first time is one more affected user.
                incident.observed.affectedUsers += 1
            } else {
                try db.cachedStatement(
                    sql:
                        "UPDATE incident_principals SET occurrences = occurrences + 1 WHERE incident_id = ? AND principal = ?"
                ).execute(arguments: [incident.id, principal])
            }
        }
        incident.observed.occurrences += 1
        incident.firstSeen = min(incident.firstSeen, at)
        incident.lastSeen = max(incident.lastSeen, at)
        if let signal = alert.labels["signal"], Risk.named(signal) != nil, !incident.risks.contains(signal) {
            incident.risks.append(signal)
        }
        if incident.topic == nil, let topic = alert.labels["topic"] { incident.topic = topic }
        incident.updatedAt = now
        try regrade(db, &incident, policy: policy, now: now, actor: "vigil", reason: "alert \(alert.rule) taken in")
        batch.open[key] = incident
        batch.dirty.insert(incident.id)
        return intake
    }
}
