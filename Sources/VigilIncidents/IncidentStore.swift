import Foundation
import GRDB
import VigilTaxonomy

/// Why an operation on the incident desk was refused. Nothing was changed.
public struct IncidentError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// No incident (or note, or action) with that id.
        case notFound = "not_found"
        /// The lifecycle does not allow it, or something it needs is missing.
        case conflict
        /// A value given is not valid.
        case invalid
        /// The state file could not be read or written.
        case storage
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}

/// The incident desk's records in the daemon's state file: incidents, the alerts that feed them,
/// their audit trail, notes, notices for on-call, response actions and the case library.
///
/// Every change runs in one immediate transaction, so the daemon, the CLI and the HTTP API can
/// work on the same file at once; each change that matters is written to the append-only audit
/// trail in the same transaction.
public final class IncidentStore: Sendable {
    let queue: DatabaseQueue
    public let path: String
    public let policy: DeskPolicy

    /// Applies pending migrations. GRDB reads which are applied before it takes the write lock,
    /// so another process opening the file at the same moment (the daemon's desk, a CLI command)
    /// can apply one in between, and this one then fails on "table already exists": looking
    /// again finds it applied and goes on with the rest.
    private static func migrate(_ queue: DatabaseQueue) throws {
        for attempt in 1... {
            do {
                return try IncidentSchema.migrator.migrate(queue)
            } catch {
                if attempt == 3 { throw error }
            }
        }
    }

    /// Opens (creating when needed) the state file at `path` and applies pending migrations.
    public init(path: String, policy: DeskPolicy = DeskPolicy()) throws(IncidentError) {
        var config = Configuration()
        config.journalMode = .wal
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            try Self.migrate(queue)
        } catch {
            throw IncidentError(.storage, "cannot open incident store \(path): \(Self.message(error))")
        }
        self.path = path
        self.policy = policy
    }

    static func message(_ error: Error) -> String {
        if let e = error as? DatabaseError { return e.message ?? "\(e)" }
        return "\(error)"
    }

    /// Runs `body` in one immediate transaction, turning storage errors into `IncidentError`.
    func write<T>(_ body: (Database) throws -> T) throws(IncidentError) -> T {
        do {
            var result: T?
            try queue.inTransaction(.immediate) { db in
                result = try body(db)
                return .commit
            }
            guard let result else { throw IncidentError(.storage, "\(path): transaction returned nothing") }
            return result
        } catch let e as IncidentError {
            throw e
        } catch {
            throw IncidentError(.storage, "\(path): \(Self.message(error))")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(IncidentError) -> T {
        do { return try queue.read(body) } catch let e as IncidentError { throw e } catch {
            throw IncidentError(.storage, "\(path): \(Self.message(error))")
        }
    }

    // MARK: Reading

    /// One incident.
    public func incident(_ id: Int64) throws(IncidentError) -> Incident {
        try read { db in try Self.fetchIncident(db, id) }
    }

    /// What `list` can filter on.
    public struct Filter: Sendable, Equatable {
        public var states: Set<IncidentState> = []
        public var openOnly = false
        public var levels: Set<Level> = []
        public var incidentClass: IncidentClass?
        public var service: String?
        /// Incidents first seen in [from, to).
        public var from: Double?
        public var to: Double?
        public init() {}
    }

    /// Incidents matching `filter`, newest first, with the total count before paging.
    public func list(_ filter: Filter = Filter(), limit: Int = 50, offset: Int = 0) throws(IncidentError) -> (
        incidents: [Incident], total: Int
    ) {
        var clauses: [String] = []
        var args: [(any DatabaseValueConvertible)?] = []
        if !filter.states.isEmpty {
            clauses.append("state IN (\(filter.states.map { _ in "?" }.joined(separator: ",")))")
            args += filter.states.map(\.rawValue).sorted()
        }
        if filter.openOnly { clauses.append("state NOT IN ('closed', 'dismissed')") }
        if !filter.levels.isEmpty {
            clauses.append("level IN (\(filter.levels.map { String($0.rawValue) }.sorted().joined(separator: ",")))")
        }
        if let c = filter.incidentClass {
            clauses.append("incident_class = ?")
            args.append(c.rawValue)
        }
        if let s = filter.service {
            clauses.append("service = ?")
            args.append(s)
        }
        if let f = filter.from {
            clauses.append("first_seen >= ?")
            args.append(f)
        }
        if let t = filter.to {
            clauses.append("first_seen < ?")
            args.append(t)
        }
        let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        return try read { db in
            let total =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM incidents \(whereSQL)", arguments: StatementArguments(args)) ?? 0
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(Self.incidentColumns) FROM incidents \(whereSQL) ORDER BY id DESC LIMIT ? OFFSET ?",
                arguments: StatementArguments(args + [limit, offset]))
            return (try rows.map(Self.incident(from:)), total)
        }
    }

    /// The audit trail of an incident, oldest first.
    public func audit(_ id: Int64) throws(IncidentError) -> [AuditEntry] {
        try read { db in
            _ = try Self.fetchIncident(db, id)
            return try Row.fetchAll(
                db, sql: "SELECT * FROM incident_audit WHERE incident_id = ? ORDER BY id", arguments: [id]
            ).map { r in
                AuditEntry(
                    id: r["id"], incidentID: r["incident_id"], at: r["at"], actor: r["actor"], action: r["action"],
                    detail: r["detail"], reason: r["reason"])
            }
        }
    }

    /// The notes on an incident, oldest first.
    public func notes(_ id: Int64) throws(IncidentError) -> [IncidentNote] {
        try read { db in
            _ = try Self.fetchIncident(db, id)
            return try Self.fetchNotes(db, id)
        }
    }

    /// An alert as the incident keeps it.
    public struct LinkedAlert: Sendable, Equatable {
        public var key: String
        public var rule: String
        public var principal: String?
        public var summary: String
        public var excerpt: String?
        public var observedAt: Double
    }

    /// The alerts that fed an incident, oldest first (at most `limit`).
    public func alerts(of id: Int64, limit: Int = 1000) throws(IncidentError) -> [LinkedAlert] {
        try read { db in
            _ = try Self.fetchIncident(db, id)
            return try Row.fetchAll(
                db, sql: "SELECT * FROM incident_alerts WHERE incident_id = ? ORDER BY observed_at, rowid LIMIT ?",
                arguments: [id, limit]
            ).map { r in
                LinkedAlert(
                    key: r["alert_key"], rule: r["rule"], principal: r["principal"], summary: r["summary"],
                    excerpt: r["excerpt"], observedAt: r["observed_at"])
            }
        }
    }

    /// The principals (user id, else client IP or masked API key) seen in an incident, most frequent first.
    public func principals(of id: Int64, limit: Int = 100) throws(IncidentError) -> [(
        principal: String, occurrences: Int
    )] {
        try read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT principal, occurrences FROM incident_principals WHERE incident_id = ? ORDER BY occurrences DESC, principal LIMIT ?",
                arguments: [id, limit]
            ).map { ($0["principal"], $0["occurrences"]) }
        }
    }

    /// Open incidents per level (`none` for ungraded).
    public func openByLevel() throws(IncidentError) -> [String: Int] {
        try read { db in
            var out: [String: Int] = ["1": 0, "2": 0, "3": 0, "4": 0]
            for r in try Row.fetchAll(
                db,
                sql:
                    "SELECT level, count(*) AS n FROM incidents WHERE state NOT IN ('closed', 'dismissed') GROUP BY level"
            ) {
                out[(r["level"] as Int?).map(String.init) ?? "none"] = r["n"]
            }
            return out
        }
    }

    // MARK: Row mapping

    static func fetchIncident(_ db: Database, _ id: Int64) throws -> Incident {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(incidentColumns) FROM incidents WHERE id = ?"), arguments: [id])
        else {
            throw IncidentError(.notFound, "no incident \(id)")
        }
        return try incident(from: row)
    }

    static func fetchNotes(_ db: Database, _ id: Int64) throws -> [IncidentNote] {
        try Row.fetchAll(db, sql: "SELECT * FROM incident_notes WHERE incident_id = ? ORDER BY id", arguments: [id]).map
        {
            r in
            IncidentNote(
                id: r["id"], incidentID: r["incident_id"], at: r["at"], actor: r["actor"],
                kind: NoteKind(rawValue: r["kind"]) ?? .general, text: r["text"])
        }
    }

    /// The columns `incident(from:)` reads, in its order: every query that reads incidents
    /// selects these. Read by position, a column costs an array index; by name, GRDB compared
    /// the name with the row's columns one by one, case folded (about 10k instructions a column,
    /// 26 columns, for every incident the desk touches).
    static let incidentColumns = """
        id, grouping_key, subtype, importance, state, risks, assessed, topic, service, title, first_seen, \
        last_seen, occurrences, affected_users, business_loss, business_loss_confirmed, social_harm, \
        social_harm_confirmed, level, level_confirmed, went_offline, report_required_at, created_at, \
        updated_at, contained_at, closed_at
        """

    /// Positions in `incidentColumns`.
    private enum Column: Int {
        case id, groupingKey, subtype, importance, state, risks, assessed, topic, service, title, firstSeen
        case lastSeen, occurrences, affectedUsers, businessLoss, businessLossConfirmed, socialHarm
        case socialHarmConfirmed, level, levelConfirmed, wentOffline, reportRequiredAt, createdAt
        case updatedAt, containedAt, closedAt
    }

    /// An incident from a row of `incidentColumns`.
    static func incident(from r: Row) throws -> Incident {
        func column(_ c: Column) -> Int { c.rawValue }
        let subtypeName: String = r[column(.subtype)]
        let importanceName: String = r[column(.importance)]
        let stateName: String = r[column(.state)]
        guard let subtype = IncidentSubtype(rawValue: subtypeName),
            let importance = Importance(rawValue: importanceName),
            let state = IncidentState(rawValue: stateName)
        else {
            throw IncidentError(
                .storage, "incident \(r[column(.id)] as Int64) has an unknown subtype, importance or state")
        }
        let risksJSON: String = r[column(.risks)]
        let assessedJSON: String = r[column(.assessed)]
        let risks = IncidentColumns.risks(from: risksJSON)
        let assessed = IncidentColumns.assessed(from: assessedJSON)
        return Incident(
            id: r[column(.id)], groupingKey: r[column(.groupingKey)], subtype: subtype, risks: risks,
            topic: r[column(.topic)], service: r[column(.service)], title: r[column(.title)],
            firstSeen: r[column(.firstSeen)], lastSeen: r[column(.lastSeen)],
            observed: IncidentFacts(
                occurrences: r[column(.occurrences)], affectedUsers: r[column(.affectedUsers)]),
            assessed: assessed, importance: importance,
            businessLoss: (r[column(.businessLoss)] as String?).flatMap(BusinessLoss.init(rawValue:)),
            businessLossConfirmed: r[column(.businessLossConfirmed)],
            socialHarm: (r[column(.socialHarm)] as String?).flatMap(SocialHarm.init(rawValue:)),
            socialHarmConfirmed: r[column(.socialHarmConfirmed)],
            level: (r[column(.level)] as Int?).flatMap(Level.init(rawValue:)),
            levelConfirmed: r[column(.levelConfirmed)], state: state, wentOffline: r[column(.wentOffline)],
            reportRequiredAt: r[column(.reportRequiredAt)], createdAt: r[column(.createdAt)],
            updatedAt: r[column(.updatedAt)], containedAt: r[column(.containedAt)], closedAt: r[column(.closedAt)])
    }

    /// Writes every mutable column of `incident` back.
    static func save(_ db: Database, _ i: Incident) throws {
        let risks = IncidentColumns.risks(i.risks)
        let assessed = IncidentColumns.assessed(i.assessed)
        try db.cachedStatement(
            sql: """
                UPDATE incidents SET subtype = ?, incident_class = ?, risks = ?, topic = ?, title = ?, first_seen = ?,
                  last_seen = ?, occurrences = ?, affected_users = ?, assessed = ?, importance = ?, business_loss = ?,
                  business_loss_confirmed = ?, social_harm = ?, social_harm_confirmed = ?, level = ?, level_confirmed = ?,
                  state = ?, went_offline = ?, report_required_at = ?, updated_at = ?, contained_at = ?, closed_at = ?
                WHERE id = ?
                """
        ).execute(
            arguments: [
                i.subtype.rawValue, i.incidentClass.rawValue, risks, i.topic, i.title, i.firstSeen, i.lastSeen,
                i.observed.occurrences, i.observed.affectedUsers, assessed, i.importance.rawValue,
                i.businessLoss?.rawValue, i.businessLossConfirmed, i.socialHarm?.rawValue, i.socialHarmConfirmed,
                i.level?.rawValue, i.levelConfirmed, i.state.rawValue, i.wentOffline, i.reportRequiredAt, i.updatedAt,
                i.containedAt, i.closedAt, i.id,
            ])
    }

    static func appendAudit(
        _ db: Database, _ incident: Int64, at: Double, actor: String, action: String, detail: String,
        reason: String? = nil
    ) throws {
        try db.cachedStatement(
            sql: "INSERT INTO incident_audit (incident_id, at, actor, action, detail, reason) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [incident, at, actor, action, detail, reason])
    }
}
