import Foundation
import VigilMonitor
import VigilTaxonomy

/// Everything the daemon must not lose across a restart, in one SQLite file: where each
/// followed file stands, the alerts raised, and the deliveries still owed to receivers.
///
/// The daemon commits the alerts that a run of lines produced together with the checkpoint just
/// after those lines (`commit`), so after a crash the lines are read again from the last
/// checkpoint and their alerts, which carry the same keys, are not stored twice.
public final class StateStore {
    public let database: Database

    /// Opens (creating when needed) the state file and brings its schema up to date.
    public init(path: String) throws(StateError) {
        database = try Database(path: path)
        try Schema.migrate(database)
    }

    // MARK: Checkpoints

    public func checkpoints() throws(StateError) -> [FileCheckpoint] {
        let rows = try database.prepare(
            "SELECT source, path, device, inode, fingerprint, offset FROM checkpoints ORDER BY source, path"
        ).query()
        return rows.map { r in
            FileCheckpoint(
                source: r[0].string ?? "", path: r[1].string ?? "", device: UInt64(bitPattern: Int64(r[2].int ?? 0)),
                inode: UInt64(bitPattern: Int64(r[3].int ?? 0)), fingerprint: r[4].bytes ?? [],
                offset: Int64(r[5].int ?? 0))
        }
    }

    private lazy var saveCheckpoint = try? database.prepare(
        """
        INSERT INTO checkpoints (source, device, inode, path, fingerprint, offset, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (source, device, inode) DO UPDATE SET
          path = excluded.path, fingerprint = excluded.fingerprint, offset = excluded.offset,
          updated_at = excluded.updated_at
        """)
    private lazy var deleteCheckpoint = try? database.prepare(
        "DELETE FROM checkpoints WHERE source = ? AND device = ? AND inode = ?")

    // MARK: Alerts

    private lazy var insertAlert = try? database.prepare(
        """
        INSERT INTO alerts (key, rule, severity, subtype, incident_class, summary, labels, excerpt, observed_at, created_at,
                            silenced_by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING
        """)
    private lazy var insertDelivery = try? database.prepare(
        """
        INSERT INTO outbox (alert_id, receiver, state, attempts, next_at) VALUES (?, ?, 'pending', 0, ?)
        ON CONFLICT (alert_id, receiver) DO NOTHING
        """)

    /// Stores `alerts` (those whose key is new), a pending delivery of each new alert to every
    /// receiver unless an active silence mutes it, and the file position reached, all in one
    /// transaction. Returns the new alerts, with the silence that muted each.
    @discardableResult
    public func commit(
        alerts: [Alert], receivers: [String], checkpoint: FileCheckpoint? = nil, forget: Bool = false,
        silences: [Silence] = [], durable: Bool = false, now: Double = Date().timeIntervalSince1970
    ) throws -> [(alert: Alert, silencedBy: Int64?)] {
        try commit(
            alerts: alerts, receivers: receivers,
            positions: checkpoint.map { [FilePosition(checkpoint: $0, forget: forget)] } ?? [], silences: silences,
            durable: durable, now: now)
    }

    /// `commit` with any number of file positions, applied in order (a later one of a file wins).
    @discardableResult
    public func commit(
        alerts: [Alert], receivers: [String], positions: [FilePosition], silences: [Silence] = [],
        durable: Bool = false, now: Double = Date().timeIntervalSince1970
    ) throws -> [(alert: Alert, silencedBy: Int64?)] {
        // The state file syncs at checkpoints only (a killed process loses nothing; a power cut can
        // roll back the last commits, whose lines are then read again). What was promised to a
        // client (`durable`) is synced before the commit returns.
        if durable { try database.execute("PRAGMA synchronous = FULL") }
        defer { if durable { try? database.execute("PRAGMA synchronous = NORMAL") } }
        return try database.transaction {
            try store(alerts, receivers: receivers, positions: positions, silences: silences, now: now)
        }
    }

    /// A file position to save with a commit, or to forget (`forget`: the file is done with).
    public struct FilePosition: Sendable {
        public var checkpoint: FileCheckpoint
        public var forget: Bool
        public init(checkpoint: FileCheckpoint, forget: Bool) {
            self.checkpoint = checkpoint
            self.forget = forget
        }
    }

    /// `commit` when no other connection (the incident desk) is writing; nil, with nothing stored,
    /// when one is.
    public func commitIfFree(
        alerts: [Alert], receivers: [String], positions: [FilePosition], silences: [Silence] = [],
        now: Double = Date().timeIntervalSince1970
    ) throws -> [(alert: Alert, silencedBy: Int64?)]? {
        try database.transactionIfFree {
            try store(alerts, receivers: receivers, positions: positions, silences: silences, now: now)
        }
    }

    private func store(
        _ alerts: [Alert], receivers: [String], positions: [FilePosition], silences: [Silence], now: Double
    ) throws -> [(alert: Alert, silencedBy: Int64?)] {
        guard let insertAlert, let insertDelivery, let saveCheckpoint, let deleteCheckpoint else {
            throw StateError("\(database.path): statements could not be prepared: \(database.lastError)")
        }
        var stored: [(alert: Alert, silencedBy: Int64?)] = []
        for alert in alerts {
            let silence = silences.muting(alert, at: now)
            try insertAlert.run([
                .text(alert.key), .text(alert.rule), .text(alert.severity.rawValue), .text(alert.subtype.rawValue),
                .text(alert.incidentClass.rawValue), .text(alert.summary), .text(Self.json(alert.labels)),
                alert.excerpt.map { .text($0) } ?? .null, .real(alert.observedAt), .real(now),
                silence.map { .integer($0.id) } ?? .null,
            ])
            guard database.changes == 1 else { continue }
            let id = database.lastInsertRowID
            if silence == nil {
                for receiver in receivers { try insertDelivery.run([.integer(id), .text(receiver), .real(now)]) }
            }
            stored.append((alert, silence?.id))
        }
        for position in positions {
            let c = position.checkpoint
            let key: [SQLValue] = [
                .text(c.source), .integer(Int64(bitPattern: c.device)), .integer(Int64(bitPattern: c.inode)),
            ]
            if position.forget {
                try deleteCheckpoint.run(key)
            } else {
                try saveCheckpoint.run(key + [.text(c.path), .blob(c.fingerprint), .integer(c.offset), .real(now)])
            }
        }
        return stored
    }

    /// An alert as stored, with its row id.
    public struct StoredAlert: Sendable, Equatable {
        public var id: Int64
        public var alert: Alert
        public var createdAt: Double
        /// The silence that muted it (no receiver was paged), if one did.
        public var silencedBy: Int64? = nil
    }

    /// The most recent alerts, newest first.
    public func recentAlerts(limit: Int = 100) throws(StateError) -> [StoredAlert] {
        let rows = try database.prepare(
            """
            SELECT id, key, rule, severity, subtype, summary, labels, excerpt, observed_at, created_at, silenced_by
            FROM alerts ORDER BY id DESC LIMIT ?
            """
        ).query([.integer(Int64(limit))])
        return rows.compactMap(Self.storedAlert)
    }

    /// Alerts stored after the one with row id `id`, oldest first: how the incident desk follows
    /// the alerts as they are raised.
    public func alerts(after id: Int64, limit: Int = 500) throws(StateError) -> [StoredAlert] {
        let rows = try database.prepare(
            """
            SELECT id, key, rule, severity, subtype, summary, labels, excerpt, observed_at, created_at, silenced_by
            FROM alerts WHERE id > ? ORDER BY id LIMIT ?
            """
        ).query([.integer(id), .integer(Int64(limit))])
        return rows.compactMap(Self.storedAlert)
    }

    /// The row id of the newest alert (0 when there is none).
    public func newestAlertID() throws(StateError) -> Int64 {
        Int64(try database.prepare("SELECT max(id) FROM alerts").query().first?.first?.int ?? 0)
    }

    static func storedAlert(_ r: [SQLValue]) -> StoredAlert? {
        guard let id = r[0].int, let key = r[1].string, let rule = r[2].string,
            let severity = r[3].string.flatMap(Severity.init(rawValue:)),
            let subtype = r[4].string.flatMap(IncidentSubtype.init(rawValue:))
        else { return nil }
        let alert = Alert(
            key: key, rule: rule, severity: severity, subtype: subtype, summary: r[5].string ?? "",
            labels: labels(r[6].string ?? "{}"), excerpt: r[7].string, observedAt: r[8].double ?? 0)
        return StoredAlert(
            id: Int64(id), alert: alert, createdAt: r[9].double ?? 0,
            silencedBy: r.count > 10 ? r[10].int.map(Int64.init) : nil)
    }

    // MARK: Outbox

    /// A delivery owed to a receiver.
    public struct Delivery: Sendable, Equatable {
        public var id: Int64
        public var receiver: String
        public var attempts: Int
        public var alert: StoredAlert
    }

    /// Deliveries whose time has come, oldest first.
    public func dueDeliveries(receiver: String, now: Double, limit: Int = 100) throws(StateError) -> [Delivery] {
        let rows = try database.prepare(
            """
            SELECT o.id, o.receiver, o.attempts,
                   a.id, a.key, a.rule, a.severity, a.subtype, a.summary, a.labels, a.excerpt, a.observed_at, a.created_at,
                   a.silenced_by
            FROM outbox o JOIN alerts a ON a.id = o.alert_id
            WHERE o.receiver = ? AND o.state = 'pending' AND o.next_at <= ? ORDER BY o.id LIMIT ?
            """
        ).query([.text(receiver), .real(now), .integer(Int64(limit))])
        return rows.compactMap { r in
            guard let id = r[0].int, let receiver = r[1].string, let alert = Self.storedAlert(Array(r[3...])) else {
                return nil
            }
            return Delivery(id: Int64(id), receiver: receiver, attempts: r[2].int ?? 0, alert: alert)
        }
    }

    /// The earliest time a pending delivery is due, if any is pending.
    public func nextDeliveryTime() throws(StateError) -> Double? {
        try database.prepare("SELECT min(next_at) FROM outbox WHERE state = 'pending'").query().first?.first?.double
    }

    public func markDelivered(_ id: Int64, at now: Double) throws(StateError) {
        try database.prepare(
            "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL WHERE id = ?"
        ).run([.real(now), .integer(id)])
    }

    /// A receiver answered again: its deliveries that wait out a backoff are due now.
    public func expediteRetries(receiver: String, now: Double) throws(StateError) {
        try database.prepare(
            "UPDATE outbox SET next_at = ? WHERE receiver = ? AND state = 'pending' AND next_at > ?"
        ).run([.real(now), .text(receiver), .real(now)])
    }

    /// Records a failed attempt; the delivery is tried again at `retryAt`, or given up when nil.
    public func markAttemptFailed(_ id: Int64, error: String, retryAt: Double?) throws(StateError) {
        if let retryAt {
            try database.prepare(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?"
            ).run([.real(retryAt), .text(error), .integer(id)])
        } else {
            try database.prepare(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?"
            ).run([.text(error), .integer(id)])
        }
    }

    /// Deliveries by state (`pending`, `delivered`, `failed`), for metrics and `vigil alerts`.
    public func outboxCounts() throws(StateError) -> [String: Int] {
        var counts: [String: Int] = [:]
        for r in try database.prepare("SELECT state, count(*) FROM outbox GROUP BY state").query() {
            if let s = r[0].string { counts[s] = r[1].int ?? 0 }
        }
        return counts
    }

    // MARK: Silences

    /// Stores a new silence; returns its id.
    @discardableResult
    public func addSilence(_ s: Silence, now: Double = Date().timeIntervalSince1970) throws(StateError) -> Int64 {
        try database.prepare(
            "INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)"
        ).run([
            .text(Self.jsonArray(s.matchers.map(\.description))), .real(s.startsAt), .real(s.endsAt),
            .text(s.createdBy),
            .text(s.comment), .real(now),
        ])
        return database.lastInsertRowID
    }

    /// Silences that have not ended by `now` (active or still to start), or all with `all`.
    public func silences(now: Double, all: Bool = false) throws(StateError) -> [Silence] {
        let rows = try database.prepare(
            "SELECT id, matchers, starts_at, ends_at, created_by, comment FROM silences WHERE ? OR ends_at > ? ORDER BY id"
        ).query([.integer(all ? 1 : 0), .real(now)])
        return rows.compactMap { r in
            guard let id = r[0].int, let text = r[1].string else { return nil }
            let matchers = Self.strings(text).compactMap { try? Silence.Matcher(parsing: $0) }
            return Silence(
                id: Int64(id), matchers: matchers, startsAt: r[2].double ?? 0, endsAt: r[3].double ?? 0,
                createdBy: r[4].string ?? "", comment: r[5].string ?? "")
        }
    }

    /// Ends a silence now; false when there is no such silence still running.
    public func expireSilence(_ id: Int64, now: Double = Date().timeIntervalSince1970) throws(StateError) -> Bool {
        try database.prepare("UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?").run([
            .real(now), .integer(id), .real(now),
        ])
        return database.changes == 1
    }

    /// Drops pending deliveries of alerts that an active silence now mutes (a silence made while
    /// a receiver was down stops the backlog too). Returns how many were dropped.
    @discardableResult
    public func dropSilencedDeliveries(receiver: String, silences: [Silence], now: Double) throws(StateError) -> Int {
        let active = silences.filter { $0.isActive(at: now) }
        guard !active.isEmpty else { return 0 }
        var dropped = 0
        for d in try dueDeliveries(receiver: receiver, now: .infinity, limit: 10_000) {
            guard let s = active.muting(d.alert.alert, at: now) else { continue }
            try database.prepare("DELETE FROM outbox WHERE id = ?").run([.integer(d.id)])
            try database.prepare("UPDATE alerts SET silenced_by = ? WHERE id = ?").run([
                .integer(s.id), .integer(d.alert.id),
            ])
            dropped += 1
        }
        return dropped
    }

    // MARK: JSON

    static func jsonArray(_ values: [String]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: values) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }

    static func strings(_ text: String) -> [String] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String] ?? []
    }

    /// Labels as a JSON object with sorted keys (see `LabelJSON`).
    static func json(_ labels: [String: String]) -> String { LabelJSON.encode(labels) }

    static func labels(_ text: String) -> [String: String] { LabelJSON.decode(text) }
}
