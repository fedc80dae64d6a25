import Foundation
import GRDB
import VigilTaxonomy

/// A response action as recorded: asked for, then carried out (or rehearsed, in a dry run).
public struct ActionRecord: Sendable, Equatable {
    public enum State: String, Sendable { case pending, running, done, failed }
    public var id: Int64
    public var incidentID: Int64
    public var level: Level
    public var action: ResponseAction
    public var state: State
    public var dryRun: Bool
    public var requestedBy: String
    public var requestedAt: Double
    /// The command line or webhook address used.
    public var command: String?
    public var outcome: String?
    public var finishedAt: Double?
}

/// Something on-call must hear about an incident, waiting for the daemon to send it.
public struct IncidentNotice: Sendable, Equatable {
    public var id: Int64
    public var incidentID: Int64
    /// `level_changed` or `report_required`.
    public var kind: String
    public var summary: String
    public var createdAt: Double
}

extension IncidentStore {
    /// Asks for the steps of the incident's plan at its current level (all of them, or the
    /// `actions` named), to be carried out by `runPendingActions`. A failed step is asked for again.
    @discardableResult
    public func respond(
        _ id: Int64, actions: [ResponseAction]? = nil, live: Bool = false, actor: String, reason: String,
        now: Double = Date().timeIntervalSince1970
    ) throws(IncidentError) -> [ActionRecord] {
        try Self.requireReason(reason, "a response")
        let plans = policy.plans
        return try write { db in
            var i = try Self.fetchIncident(db, id)
            guard i.state.isOpen else { throw IncidentError(.conflict, "incident \(id) is \(i.state.rawValue)") }
            guard let level = i.level else {
                throw IncidentError(.conflict, "incident \(id) has no level yet: grade it first")
            }
            let wanted = actions ?? plans.steps[level, default: []].map(\.action)
            guard !wanted.isEmpty else {
                throw IncidentError(
                    .conflict, "the level-\(level.rawValue) plan has no steps; name the actions to take")
            }
            let dryRun = live ? false : plans.dryRun
            var ids: [Int64] = []
            for action in wanted {
                ids.append(
                    try Self.queueAction(
                        db, &i, action, level: level, dryRun: dryRun, actor: actor, now: now, reason: reason))
            }
            try Self.save(db, i)
            return try ids.map { try Self.fetchAction(db, $0) }
        }
    }

    /// Every action recorded for an incident, oldest first.
    public func actions(of id: Int64) throws(IncidentError) -> [ActionRecord] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM response_actions WHERE incident_id = ? ORDER BY id", arguments: [id]
            )
            .compactMap(Self.action(from:))
        }
    }

    /// Takes the actions waiting to be carried out, marking them running.
    public func claimPendingActions(limit: Int = 20) throws(IncidentError) -> [ActionRecord] {
        try write { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM response_actions WHERE state = 'pending' ORDER BY id LIMIT ?",
                arguments: [limit])
            let claimed = rows.compactMap(Self.action(from:))
            for a in claimed {
                try db.execute(sql: "UPDATE response_actions SET state = 'running' WHERE id = ?", arguments: [a.id])
            }
            return claimed
        }
    }

    /// Actions left running by a process that stopped are asked for again (a gateway command
    /// must therefore be safe to repeat).
    public func requeueInterruptedActions() throws(IncidentError) {
        try write { db in try db.execute(sql: "UPDATE response_actions SET state = 'pending' WHERE state = 'running'") }
    }

    /// Records how an action went. Taking the service offline, even in a dry run, means the
    /// incident cannot close before an online review.
    public func finishAction(
        _ actionID: Int64, succeeded: Bool, command: String, outcome: String, now: Double = Date().timeIntervalSince1970
    ) throws(IncidentError) {
        try write { db in
            let a = try Self.fetchAction(db, actionID)
            try db.execute(
                sql: "UPDATE response_actions SET state = ?, command = ?, outcome = ?, finished_at = ? WHERE id = ?",
                arguments: [succeeded ? "done" : "failed", command, outcome, now, actionID])
            try Self.appendAudit(
                db, a.incidentID, at: now, actor: "vigil", action: "response",
                detail:
                    "\(a.action.rawValue) (level \(a.level.rawValue) plan\(a.dryRun ? ", dry run" : "")) \(succeeded ? "done" : "failed"): \(outcome)"
            )
            if succeeded && a.action == .takeOffline {
                try db.execute(
                    sql: "UPDATE incidents SET went_offline = 1, updated_at = ? WHERE id = ?",
                    arguments: [now, a.incidentID])
            }
        }
    }

    /// Notices not yet sent to on-call, oldest first.
    public func pendingNotices(limit: Int = 100) throws(IncidentError) -> [IncidentNotice] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM incident_notices WHERE raised_at IS NULL ORDER BY id LIMIT ?",
                arguments: [limit]
            ).map { r in
                IncidentNotice(
                    id: r["id"], incidentID: r["incident_id"], kind: r["kind"], summary: r["summary"],
                    createdAt: r["created_at"])
            }
        }
    }

    /// Marks notices as raised (turned into alerts for the receivers).
    public func markNoticesRaised(_ ids: [Int64], now: Double = Date().timeIntervalSince1970) throws(IncidentError) {
        guard !ids.isEmpty else { return }
        try write { db in
            for id in ids {
                try db.execute(sql: "UPDATE incident_notices SET raised_at = ? WHERE id = ?", arguments: [now, id])
                if let n = try Row.fetchOne(
                    db, sql: "SELECT incident_id, kind FROM incident_notices WHERE id = ?", arguments: [id])
                {
                    try Self.appendAudit(
                        db, n["incident_id"], at: now, actor: "vigil", action: "notified",
                        detail: "on-call notified: \(n["kind"] as String)")
                }
            }
        }
    }

    // MARK: Inside a transaction

    @discardableResult
    static func queueAction(
        _ db: Database, _ i: inout Incident, _ action: ResponseAction, level: Level, dryRun: Bool, actor: String,
        now: Double, reason: String? = nil
    ) throws -> Int64 {
        if let existing = try Row.fetchOne(
            db,
            sql:
                "SELECT id, state FROM response_actions WHERE incident_id = ? AND level = ? AND action = ? AND dry_run = ?",
            arguments: [i.id, level.rawValue, action.rawValue, dryRun])
        {
            let id: Int64 = existing["id"]
            if (existing["state"] as String) == "failed" {
                try db.execute(
                    sql:
                        "UPDATE response_actions SET state = 'pending', requested_by = ?, requested_at = ? WHERE id = ?",
                    arguments: [actor, now, id])
                try appendAudit(
                    db, i.id, at: now, actor: actor, action: "response", detail: "\(action.rawValue) asked for again",
                    reason: reason)
            }
            return id
        }
        try db.execute(
            sql: """
                INSERT INTO response_actions (incident_id, level, action, state, dry_run, requested_by, requested_at)
                VALUES (?, ?, ?, 'pending', ?, ?, ?)
                """, arguments: [i.id, level.rawValue, action.rawValue, dryRun, actor, now])
        let id = db.lastInsertedRowID
        try appendAudit(
            db, i.id, at: now, actor: actor, action: "response",
            detail: "\(action.rawValue) asked for (level \(level.rawValue) plan\(dryRun ? ", dry run" : ", live"))",
            reason: reason)
        return id
    }

    static func fetchAction(_ db: Database, _ id: Int64) throws -> ActionRecord {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM response_actions WHERE id = ?", arguments: [id]),
            let a = action(from: row)
        else { throw IncidentError(.notFound, "no response action \(id)") }
        return a
    }

    static func action(from r: Row) -> ActionRecord? {
        guard let level = Level(rawValue: r["level"]), let action = ResponseAction(rawValue: r["action"]),
            let state = ActionRecord.State(rawValue: r["state"])
        else { return nil }
        return ActionRecord(
            id: r["id"], incidentID: r["incident_id"], level: level, action: action, state: state, dryRun: r["dry_run"],
            requestedBy: r["requested_by"], requestedAt: r["requested_at"], command: r["command"],
            outcome: r["outcome"],
            finishedAt: r["finished_at"])
    }
}

extension IncidentStore {
    /// Keeps one sample of each hot topic's refusal rate (refused of answers, over the tracker's window).
    public func recordRefusalRates(_ rates: [String: (refused: Int, total: Int)], at: Double) throws(IncidentError) {
        guard !rates.isEmpty else { return }
        try write { db in
            for (topic, r) in rates {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO refusal_samples (topic, at, refused, answers) VALUES (?, ?, ?, ?)",
                    arguments: [topic, at, r.refused, r.total])
            }
        }
    }

    /// One refusal-rate sample.
    public struct RefusalSample: Sendable, Equatable {
        public var at: Double
        public var refused: Int
        public var answers: Int
        public var rate: Double { answers == 0 ? 1 : Double(refused) / Double(answers) }
    }

    /// Refusal-rate samples per topic in [from, to), oldest first.
    public func refusalHistory(from: Double, to: Double) throws(IncidentError) -> [String: [RefusalSample]] {
        try read { db in
            var out: [String: [RefusalSample]] = [:]
            for r in try Row.fetchAll(
                db, sql: "SELECT * FROM refusal_samples WHERE at >= ? AND at < ? ORDER BY topic, at",
                arguments: [from, to])
            {
                out[r["topic"], default: []].append(
                    RefusalSample(at: r["at"], refused: r["refused"], answers: r["answers"]))
            }
            return out
        }
    }
}
