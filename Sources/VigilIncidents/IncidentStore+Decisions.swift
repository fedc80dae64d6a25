import Foundation
import GRDB
import VigilTaxonomy

/// A person's assessment: any input of the grade, and any figure of the incident's reach.
public struct Assessment: Sendable, Equatable {
    public var importance: Importance?
    public var businessLoss: BusinessLoss?
    public var socialHarm: SocialHarm?
    public var facts = AssessedFacts()

    public init(
        importance: Importance? = nil, businessLoss: BusinessLoss? = nil, socialHarm: SocialHarm? = nil,
        facts: AssessedFacts = AssessedFacts()
    ) {
        self.importance = importance
        self.businessLoss = businessLoss
        self.socialHarm = socialHarm
        self.facts = facts
    }

    public var isEmpty: Bool { self == Assessment() }
}

extension IncidentStore {
    /// Records a person's assessment, then grades again. A detected incident moves to assessing.
    @discardableResult
    public func assess(
        _ id: Int64, _ a: Assessment, actor: String, reason: String, now: Double = Date().timeIntervalSince1970
    ) throws(IncidentError) -> Incident {
        guard !a.isEmpty else {
            throw IncidentError(
                .invalid,
                "nothing to assess: give importance, business_loss, social_harm, affected_users, occurrences, outage_minutes, records_leaked or spread"
            )
        }
        try Self.requireReason(reason, "an assessment")
        for (name, value) in [
            ("affected_users", a.facts.affectedUsers.map(Double.init)),
            ("occurrences", a.facts.occurrences.map(Double.init)),
            ("outage_minutes", a.facts.outageMinutes), ("records_leaked", a.facts.recordsLeaked.map(Double.init)),
            ("spread", a.facts.spread.map(Double.init)),
        ] {
            if let value, value < 0 || !value.isFinite { throw IncidentError(.invalid, "\(name) must be 0 or more") }
        }
        let policy = self.policy
        return try write { db in
            var i = try Self.fetchIncident(db, id)
            guard i.state.isOpen else {
                throw IncidentError(.conflict, "incident \(id) is \(i.state.rawValue); reopen it before assessing")
            }
            if i.state == .detected {
                i.state = .assessing
                try Self.appendAudit(
                    db, id, at: now, actor: actor, action: "transition", detail: "detected → assessing",
                    reason: "assessment started")
            }
            var changes: [String] = []
            if let v = a.importance, v != i.importance {
                changes.append("importance \(i.importance.rawValue) → \(v.rawValue)")
                i.importance = v
            }
            if let v = a.businessLoss {
                changes.append("business loss \(i.businessLoss?.rawValue ?? "none") → \(v.rawValue) (confirmed)")
                i.businessLoss = v
                i.businessLossConfirmed = true
            }
            if let v = a.socialHarm {
                changes.append("social harm \(i.socialHarm?.rawValue ?? "none") → \(v.rawValue) (confirmed)")
                i.socialHarm = v
                i.socialHarmConfirmed = true
            }
            let current = i.facts
            func figure<T>(_ name: String, _ value: T?, _ now: T, _ path: WritableKeyPath<AssessedFacts, T?>) {
                guard let value else { return }
                changes.append("\(name) \(now) → \(value)")
                i.assessed[keyPath: path] = value
            }
            figure("affected users", a.facts.affectedUsers, current.affectedUsers, \.affectedUsers)
            figure("occurrences", a.facts.occurrences, current.occurrences, \.occurrences)
            figure("outage minutes", a.facts.outageMinutes, current.outageMinutes, \.outageMinutes)
            figure("records leaked", a.facts.recordsLeaked, current.recordsLeaked, \.recordsLeaked)
            figure("spread", a.facts.spread, current.spread, \.spread)
            try Self.appendAudit(
                db, id, at: now, actor: actor, action: "assessed",
                detail: changes.isEmpty ? "assessment confirms the current figures" : changes.joined(separator: "; "),
                reason: reason)
            i.updatedAt = now
            try Self.regrade(db, &i, policy: policy, now: now, actor: actor, reason: reason)
            try Self.save(db, i)
            return i
        }
    }

    /// Sets the level by hand (`level`), or confirms the proposed one (`level` nil). Either way the
    /// grading rules no longer change it. A change re-notifies on-call.
    @discardableResult
    public func grade(
        _ id: Int64, level: Level?, actor: String, reason: String, now: Double = Date().timeIntervalSince1970
    ) throws(IncidentError) -> Incident {
        try Self.requireReason(reason, "a grade")
        let policy = self.policy
        return try write { db in
            var i = try Self.fetchIncident(db, id)
            guard i.state.isOpen else {
                throw IncidentError(.conflict, "incident \(id) is \(i.state.rawValue) and cannot be graded")
            }
            guard let target = level ?? i.level else {
                throw IncidentError(
                    .conflict,
                    "incident \(id) has no proposed level to confirm: give a level, or assess business loss or social harm"
                )
            }
            i.levelConfirmed = true
            if target == i.level {
                try Self.appendAudit(
                    db, id, at: now, actor: actor, action: "graded", detail: "level \(target.rawValue) confirmed",
                    reason: reason)
            } else {
                try Self.setLevel(
                    db, &i, target, policy: policy, now: now, actor: actor, reason: reason, how: "set by hand")
            }
            try Self.checkReportRule(db, &i, policy: policy, now: now)
            i.updatedAt = now
            try Self.save(db, i)
            return i
        }
    }

    /// Moves an incident along its lifecycle. `notes` are added first, in the same transaction,
    /// so a closing can carry its application, verification and evidence; when the move is
    /// refused, nothing is kept.
    @discardableResult
    public func transition(
        _ id: Int64, to target: IncidentState, actor: String, reason: String?, notes: [(NoteKind, String)] = [],
        now: Double = Date().timeIntervalSince1970
    ) throws(IncidentError) -> Incident {
        for (_, text) in notes where text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw IncidentError(.invalid, "a note cannot be empty")
        }
        return try write { db in
            var i = try Self.fetchIncident(db, id)
            for (kind, text) in notes { try Self.addNote(db, id, kind, text, actor: actor, now: now) }
            let problems = Lifecycle.problems(moving: i, to: target, reason: reason, notes: try Self.fetchNotes(db, id))
            guard problems.isEmpty else { throw IncidentError(.conflict, problems.joined(separator: "; ")) }
            try Self.appendAudit(
                db, id, at: now, actor: actor, action: "transition", detail: "\(i.state.rawValue) → \(target.rawValue)",
                reason: reason)
            i.state = target
            if target == .contained, i.containedAt == nil { i.containedAt = now }
            if target == .closed {
                i.closedAt = now
                try Self.recordCase(db, i, now: now)
            }
            i.updatedAt = now
            try Self.save(db, i)
            return i
        }
    }

    /// Adds a note. Notes are never edited; a correction is a new note.
    @discardableResult
    public func note(
        _ id: Int64, kind: NoteKind, text: String, actor: String, now: Double = Date().timeIntervalSince1970
    ) throws(IncidentError) -> IncidentNote {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw IncidentError(.invalid, "a note cannot be empty")
        }
        return try write { db in
            _ = try Self.fetchIncident(db, id)
            try Self.addNote(db, id, kind, text, actor: actor, now: now)
            try db.execute(sql: "UPDATE incidents SET updated_at = ? WHERE id = ?", arguments: [now, id])
            return IncidentNote(id: db.lastInsertedRowID, incidentID: id, at: now, actor: actor, kind: kind, text: text)
        }
    }

    // MARK: Rules applied inside a transaction

    static func requireReason(_ reason: String, _ what: String) throws(IncidentError) {
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw IncidentError(.invalid, "\(what) needs a reason (who decided and why goes in the audit trail)")
        }
    }

    static func addNote(_ db: Database, _ id: Int64, _ kind: NoteKind, _ text: String, actor: String, now: Double)
        throws
    {
        try db.execute(
            sql: "INSERT INTO incident_notes (incident_id, at, actor, kind, text) VALUES (?, ?, ?, ?, ?)",
            arguments: [id, now, actor, kind.rawValue, text])
        let noteID = db.lastInsertedRowID
        let short = text.count > 80 ? String(text.prefix(79)) + "…" : text
        try appendAudit(db, id, at: now, actor: actor, action: "note", detail: "\(kind.rawValue) #\(noteID): \(short)")
    }

    /// Proposes business loss and social harm from the facts (unless a person confirmed them),
    /// then the level (unless a person set or confirmed it); then checks the report rule.
    static func regrade(
        _ db: Database, _ i: inout Incident, policy: DeskPolicy, now: Double, actor: String, reason: String?
    ) throws {
        let facts = i.facts
        var proposals: [String] = []
        if !i.businessLossConfirmed {
            let (loss, why) = policy.grading.proposeBusinessLoss(facts)
            if loss != i.businessLoss {
                proposals.append("business loss \(i.businessLoss?.rawValue ?? "none") → \(loss.rawValue) (\(why))")
                i.businessLoss = loss
            }
        }
        if !i.socialHarmConfirmed {
            let (harm, why) = policy.grading.proposeSocialHarm(facts)
            if harm != i.socialHarm {
                proposals.append("social harm \(i.socialHarm?.rawValue ?? "none") → \(harm.rawValue) (\(why))")
                i.socialHarm = harm
            }
        }
        if !proposals.isEmpty {
            try appendAudit(
                db, i.id, at: now, actor: "vigil", action: "assessed",
                detail: "proposed by the grading rules: " + proposals.joined(separator: "; "), reason: reason)
        }
        if !i.levelConfirmed {
            let proposed = Grading.level(
                importance: i.importance, businessLoss: i.businessLoss, socialHarm: i.socialHarm)
            if let proposed, proposed != i.level {
                let tables =
                    "importance \(i.importance.rawValue) × business loss \(i.businessLoss?.rawValue ?? "—") / social harm \(i.socialHarm?.rawValue ?? "—")"
                try setLevel(
                    db, &i, proposed, policy: policy, now: now, actor: "vigil", reason: reason,
                    how: "proposed: \(tables)")
            }
        }
        try checkReportRule(db, &i, policy: policy, now: now)
    }

    /// Changes the level: audit entry, a notice to on-call when it had a level before, and the
    /// immediate steps of the level-1 and level-2 plans when they fire automatically.
    static func setLevel(
        _ db: Database, _ i: inout Incident, _ level: Level, policy: DeskPolicy, now: Double, actor: String,
        reason: String?, how: String
    ) throws {
        let old = i.level
        i.level = level
        try appendAudit(
            db, i.id, at: now, actor: actor, action: "graded",
            detail: "level \(old.map { String($0.rawValue) } ?? "none") → \(level.rawValue) (\(how))", reason: reason)
        if let old {
            try addNotice(
                db, i.id, kind: "level_changed",
                summary:
                    "Incident #\(i.id) (\(i.subtype.rawValue), \(i.service)) is now level \(level.rawValue), was \(old.rawValue): \(i.title)",
                now: now)
        }
        if policy.plans.automatic, level >= .two {
            for step in policy.plans.steps[level, default: []] where step.immediate {
                try queueAction(
                    db, &i, step.action, level: level, dryRun: policy.plans.dryRun, actor: "vigil", now: now)
            }
        }
    }

    /// The immediate-report rule (SPEC §4): level 3 or higher, the configured number of
    /// occurrences within the window (any window, by the alerts' times), more than the
    /// configured number of affected users. Met once per incident.
    static func checkReportRule(_ db: Database, _ i: inout Incident, policy: DeskPolicy, now: Double) throws {
        let rule = policy.reportRule
        guard i.reportRequiredAt == nil, let level = i.level, level >= rule.minLevel,
            i.facts.affectedUsers > rule.minAffectedUsers
        else { return }
        let times = try Double.fetchAll(
            db, sql: "SELECT observed_at FROM incident_alerts WHERE incident_id = ? ORDER BY observed_at",
            arguments: [i.id])
        let inWindow = maxInWindow(times, window: rule.windowSeconds)
        guard
            rule.requiresImmediateReport(
                level: level, occurrencesInWindow: inWindow, affectedUsers: i.facts.affectedUsers)
        else { return }
        i.reportRequiredAt = now
        let detail =
            "immediate report required: level \(level.rawValue), \(inWindow) occurrences within \(Int(rule.windowSeconds / 3600)) h, \(i.facts.affectedUsers) affected users"
        try appendAudit(db, i.id, at: now, actor: "vigil", action: "report_required", detail: detail)
        try addNotice(
            db, i.id, kind: "report_required",
            summary:
                "Incident #\(i.id) must be reported to the authority now (\(detail)); draft: vigil incidents report \(i.id) --kind authority",
            now: now)
    }

    /// The most timestamps (sorted) that fit in any span of `window` seconds.
    static func maxInWindow(_ sorted: [Double], window: Double) -> Int {
        var best = 0
        var start = 0
        for end in sorted.indices {
            while sorted[end] - sorted[start] > window { start += 1 }
            best = max(best, end - start + 1)
        }
        return best
    }

    static func addNotice(_ db: Database, _ id: Int64, kind: String, summary: String, now: Double) throws {
        try db.execute(
            sql: "INSERT INTO incident_notices (incident_id, kind, summary, created_at) VALUES (?, ?, ?, ?)",
            arguments: [id, kind, summary, now])
    }
}
