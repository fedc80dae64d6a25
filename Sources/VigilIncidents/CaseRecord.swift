import Foundation
import GRDB
import VigilTaxonomy

/// A closed incident as the case library keeps it (SPEC §4, summary and improvement): what
/// happened, why, what was done and what was learnt, for later reviews to search.
public struct CaseRecord: Sendable, Equatable, Codable {
    public var incidentID: Int64
    public var closedAt: Double
    public var incidentClass: String
    public var subtype: String
    public var level: Int?
    public var service: String
    public var risks: [String]
    public var topic: String?
    public var summary: String
    public var cause: String
    public var measures: String
    public var lessons: String
}

extension IncidentStore {
    /// Closed incidents in the case library, newest first; `search` matches any of the texts.
    public func cases(search: String? = nil, limit: Int = 50) throws(IncidentError) -> [CaseRecord] {
        try read { db in
            var sql = "SELECT record FROM cases"
            var args: StatementArguments = []
            if let search, !search.isEmpty {
                sql +=
                    " WHERE summary LIKE ?1 OR cause LIKE ?1 OR measures LIKE ?1 OR lessons LIKE ?1 OR record LIKE ?1"
                args = ["%\(search)%"]
            }
            sql += " ORDER BY created_at DESC LIMIT \(max(1, limit))"
            return try String.fetchAll(db, sql: sql, arguments: args).compactMap {
                try? JSONDecoder().decode(CaseRecord.self, from: Data($0.utf8))
            }
        }
    }

    static func recordCase(_ db: Database, _ i: Incident, now: Double) throws {
        let notes = try fetchNotes(db, i.id)
        func texts(_ kind: NoteKind) -> [String] { notes.filter { $0.kind == kind }.map(\.text) }
        let actions = try Row.fetchAll(
            db, sql: "SELECT action, dry_run, state, outcome FROM response_actions WHERE incident_id = ? ORDER BY id",
            arguments: [i.id]
        ).map { r -> String in
            let dry: Bool = r["dry_run"]
            return "\(r["action"] as String)\(dry ? " (dry run)" : ""): \(r["state"] as String)"
        }
        let facts = i.facts
        let record = CaseRecord(
            incidentID: i.id, closedAt: now, incidentClass: i.incidentClass.rawValue, subtype: i.subtype.rawValue,
            level: i.level?.rawValue, service: i.service, risks: i.risks, topic: i.topic,
            summary:
                "\(i.title) — \(i.incidentClass.rawValue)/\(i.subtype.rawValue), level \(i.level.map { String($0.rawValue) } ?? "—"), \(facts.occurrences) occurrences, \(facts.affectedUsers) affected users, service \(i.service)",
            cause: texts(.cause).joined(separator: "\n"),
            measures: (texts(.measure) + actions).joined(separator: "\n"),
            lessons: texts(.lesson).joined(separator: "\n"))
        let json = String(decoding: try JSONEncoder().encode(record), as: UTF8.self)
        try db.execute(
            sql: """
                INSERT INTO cases (incident_id, created_at, summary, cause, measures, lessons, record) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (incident_id) DO UPDATE SET created_at = excluded.created_at, summary = excluded.summary,
                  cause = excluded.cause, measures = excluded.measures, lessons = excluded.lessons, record = excluded.record
                """,
            arguments: [i.id, now, record.summary, record.cause, record.measures, record.lessons, json])
    }
}
