import Foundation
import VigilTaxonomy

/// The incident desk's operations as requests and JSON answers, independent of HTTP: the daemon
/// serves them under `/v1/incidents`, `/v1/reports` and `/v1/cases`, and `vigil incidents` runs the
/// very same handler against the state file when it is not talking to a daemon, so both give the
/// same answers and the same errors. docs/INCIDENTS.md documents every route.
public struct IncidentAPI: Sendable {
    /// An answer: status, content type and body.
    public struct Reply: Sendable, Equatable {
        public var status: Int
        public var contentType: String
        public var body: String

        public init(status: Int, contentType: String, body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    let store: IncidentStore

    public init(store: IncidentStore) { self.store = store }

    /// Whether this handler serves `path`.
    public static func serves(_ path: String) -> Bool {
        path == "/v1/incidents" || path.hasPrefix("/v1/incidents/") || path.hasPrefix("/v1/reports/")
            || path == "/v1/cases"
    }

    public func handle(
        method: String, path: String, query: [String: String], body: [UInt8], defaultActor: String,
        now: Double = Date().timeIntervalSince1970
    ) -> Reply {
        do {
            return try route(method, path, query, body, defaultActor, now)
        } catch let e as IncidentError {
            let status: Int
            switch e.kind {
            case .notFound: status = 404
            case .conflict: status = 409
            case .invalid: status = 400
            case .storage: status = 500
            }
            return Self.error(status, e.kind.rawValue, e.message)
        } catch {
            return Self.error(500, "internal", "\(error)")
        }
    }

    static func error(_ status: Int, _ code: String, _ message: String) -> Reply {
        json(status, ["error": ["code": code, "message": message]])
    }

    static func json(_ status: Int, _ object: [String: Any]) -> Reply {
        Reply(status: status, contentType: "application/json", body: jsonText(object) + "\n")
    }

    private func route(
        _ method: String, _ path: String, _ query: [String: String], _ body: [UInt8], _ actor: String, _ now: Double
    ) throws -> Reply {
        let parts = path.split(separator: "/").map(String.init)
        switch (method, parts.count) {
        case ("GET", 2) where parts[1] == "incidents":
            return try list(query)
        case ("GET", 2) where parts[1] == "cases":
            let limit = try Self.int(query["limit"], "limit", default: 50, range: 1...500)
            return Self.json(200, ["cases": try store.cases(search: query["search"], limit: limit).map(\.jsonObject)])
        case ("GET", 3) where parts[1] == "reports":
            guard let kind = IncidentReports.Kind(rawValue: parts[2]), kind == .filing || kind == .review else {
                throw IncidentError(
                    .notFound, "no report named \(parts[2]) (filing, review; one incident's: /v1/incidents/ID/report)")
            }
            let (from, to) = try Self.period(query, now: now)
            let reports = IncidentReports(store: store, language: try Self.language(query))
            let doc = kind == .filing ? try reports.filing(from: from, to: to) : try reports.review(from: from, to: to)
            return try Self.render(doc, query)
        default: break
        }
        guard parts.count >= 3, parts[1] == "incidents" else {
            throw IncidentError(.notFound, "no such endpoint \(method) \(path); see docs/INCIDENTS.md")
        }
        guard let id = Int64(parts[2]), id > 0 else {
            throw IncidentError(.invalid, "incident ids are positive numbers, not '\(parts[2])'")
        }
        switch (method, parts.count == 4 ? parts[3] : "") {
        case ("GET", ""):
            return Self.json(200, try detail(id))
        case ("GET", "report"):
            let kind = IncidentReports.Kind(rawValue: query["kind"] ?? "incident")
            guard kind == .incident || kind == .authority else {
                throw IncidentError(.invalid, "kind must be incident or authority")
            }
            let reports = IncidentReports(store: store, language: try Self.language(query))
            return try Self.render(kind == .authority ? try reports.authority(id) : try reports.incident(id), query)
        case ("POST", "assess"):
            let b = try Body(
                body,
                allowed: [
                    "importance", "business_loss", "social_harm", "affected_users", "occurrences", "outage_minutes",
                    "records_leaked", "spread", "reason", "actor",
                ])
            var a = Assessment()
            a.importance = try b.enumValue("importance", Importance.self)
            a.businessLoss = try b.enumValue("business_loss", BusinessLoss.self)
            a.socialHarm = try b.enumValue("social_harm", SocialHarm.self)
            a.facts.affectedUsers = try b.int("affected_users")
            a.facts.occurrences = try b.int("occurrences")
            a.facts.outageMinutes = try b.number("outage_minutes")
            a.facts.recordsLeaked = try b.int("records_leaked")
            a.facts.spread = try b.int("spread")
            let i = try store.assess(
                id, a, actor: try b.string("actor") ?? actor, reason: try b.string("reason") ?? "", now: now)
            return Self.json(200, ["incident": i.jsonObject])
        case ("POST", "grade"):
            let b = try Body(body, allowed: ["level", "reason", "actor"])
            let level = try b.int("level").map { n -> Level in
                guard let l = Level(rawValue: n) else {
                    throw IncidentError(.invalid, "level must be 1, 2, 3 or 4, not \(n)")
                }
                return l
            }
            let i = try store.grade(
                id, level: level, actor: try b.string("actor") ?? actor, reason: try b.string("reason") ?? "", now: now)
            return Self.json(200, ["incident": i.jsonObject])
        case ("POST", "transition"):
            let b = try Body(body, allowed: ["to", "reason", "notes", "actor"])
            guard let target = try b.enumValue("to", IncidentState.self) else {
                throw IncidentError(
                    .invalid,
                    "say where to: \"to\" is one of \(IncidentState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let notes = try b.notes()
            let i = try store.transition(
                id, to: target, actor: try b.string("actor") ?? actor, reason: try b.string("reason"), notes: notes,
                now: now)
            return Self.json(200, ["incident": i.jsonObject])
        case ("POST", "notes"):
            let b = try Body(body, allowed: ["kind", "text", "actor"])
            let n = try store.note(
                id, kind: try b.enumValue("kind", NoteKind.self) ?? .general, text: try b.string("text") ?? "",
                actor: try b.string("actor") ?? actor, now: now)
            return Self.json(201, ["note": n.jsonObject])
        case ("POST", "respond"):
            let b = try Body(body, allowed: ["actions", "live", "reason", "actor"])
            let actions = try b.strings("actions")?.map { name -> ResponseAction in
                guard let a = ResponseAction(rawValue: name) else {
                    throw IncidentError(
                        .invalid,
                        "unknown action '\(name)' (\(ResponseAction.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return a
            }
            let records = try store.respond(
                id, actions: actions, live: try b.bool("live") ?? false, actor: try b.string("actor") ?? actor,
                reason: try b.string("reason") ?? "", now: now)
            return Self.json(202, ["actions": records.map(\.jsonObject)])
        case (_, "assess"), (_, "grade"), (_, "transition"), (_, "notes"), (_, "respond"):
            return Self.error(405, "method_not_allowed", "use POST for \(path)")
        case (_, "report"), (_, ""):
            return Self.error(405, "method_not_allowed", "use GET for \(path)")
        default:
            throw IncidentError(.notFound, "no such endpoint \(method) \(path); see docs/INCIDENTS.md")
        }
    }

    private func list(_ query: [String: String]) throws -> Reply {
        var filter = IncidentStore.Filter()
        if let s = query["state"], !s.isEmpty {
            for name in s.split(separator: ",") {
                if name == "open" {
                    filter.openOnly = true
                    continue
                }
                guard let state = IncidentState(rawValue: String(name)) else {
                    throw IncidentError(
                        .invalid,
                        "unknown state '\(name)' (open, \(IncidentState.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                filter.states.insert(state)
            }
        }
        if let l = query["level"], !l.isEmpty {
            for name in l.split(separator: ",") {
                guard let level = Int(name).flatMap(Level.init(rawValue:)) else {
                    throw IncidentError(.invalid, "level must be 1, 2, 3 or 4, not '\(name)'")
                }
                filter.levels.insert(level)
            }
        }
        if let c = query["class"], !c.isEmpty {
            guard let k = IncidentClass(rawValue: c) else {
                throw IncidentError(
                    .invalid, "class must be one of \(IncidentClass.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.incidentClass = k
        }
        filter.service = query["service"].flatMap { $0.isEmpty ? nil : $0 }
        if query["from"] != nil || query["to"] != nil {
            (filter.from, filter.to) = try Self.period(query, now: Date().timeIntervalSince1970)
        }
        let limit = try Self.int(query["limit"], "limit", default: 50, range: 1...500)
        let offset = try Self.int(query["offset"], "offset", default: 0, range: 0...Int.max)
        let (incidents, total) = try store.list(filter, limit: limit, offset: offset)
        var o: [String: Any] = [
            "incidents": incidents.map(\.jsonObject), "total": total, "limit": limit, "offset": offset,
        ]
        if offset + incidents.count < total { o["next_offset"] = offset + incidents.count }
        return Self.json(200, o)
    }

    private func detail(_ id: Int64) throws -> [String: Any] {
        let i = try store.incident(id)
        return [
            "incident": i.jsonObject, "audit": try store.audit(id).map(\.jsonObject),
            "notes": try store.notes(id).map(\.jsonObject), "actions": try store.actions(of: id).map(\.jsonObject),
            "alerts": try store.alerts(of: id, limit: 50).map(\.jsonObject),
            "principals": try store.principals(of: id, limit: 50).map {
                ["principal": $0.principal, "occurrences": $0.occurrences]
            },
        ]
    }

    // MARK: Parameters

    static func render(_ doc: ReportDocument, _ query: [String: String]) throws -> Reply {
        let name = query["format"] ?? "md"
        guard let format = ReportFormat(rawValue: name == "markdown" ? "md" : name) else {
            throw IncidentError(.invalid, "format must be md, json or html, not '\(name)'")
        }
        let type =
            ["md": "text/markdown; charset=utf-8", "json": "application/json", "html": "text/html; charset=utf-8"][
                format.rawValue] ?? "text/plain"
        return Reply(status: 200, contentType: type, body: doc.rendered(as: format))
    }

    static func language(_ query: [String: String]) throws -> ReportLanguage {
        let name = query["lang"] ?? "zh"
        guard let l = ReportLanguage(rawValue: name) else {
            throw IncidentError(.invalid, "lang must be zh or en, not '\(name)'")
        }
        return l
    }

    static func int(_ text: String?, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text, !text.isEmpty else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw IncidentError(
                .invalid,
                "\(name) must be a whole number in \(range.lowerBound)…\(range.upperBound == Int.max ? "" : String(range.upperBound)), not '\(text)'"
            )
        }
        return n
    }

    /// `from` and `to` as dates (`2026-11-01`, local midnight), times (`2026-11-01T08:00:00+08:00`)
    /// or Unix seconds; `to` defaults to now and `from` to 30 days before `to`.
    public static func period(_ query: [String: String], now: Double) throws(IncidentError) -> (Double, Double) {
        let to = try query["to"].map { t throws(IncidentError) in try time(t, "to") } ?? now
        let from = try query["from"].map { t throws(IncidentError) in try time(t, "from") } ?? to - 30 * 86400
        guard from < to else { throw IncidentError(.invalid, "from must be before to") }
        return (from, to)
    }

    public static func time(_ text: String, _ name: String) throws(IncidentError) -> Double {
        if let n = Double(text) { return n }
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.timeZone = TimeZone.current
        day.dateFormat = "yyyy-MM-dd"
        if let d = day.date(from: text) { return d.timeIntervalSince1970 }
        if let d = ISO8601DateFormatter().date(from: text) { return d.timeIntervalSince1970 }
        throw IncidentError(
            .invalid,
            "\(name) must be a date (2026-11-01), a time (2026-11-01T08:00:00+08:00) or Unix seconds, not '\(text)'")
    }
}

/// A JSON request body, read strictly: unknown fields and wrong types are errors that name the field.
struct Body {
    let object: [String: Any]

    init(_ bytes: [UInt8], allowed: Set<String>) throws {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            object = [:]
            return
        }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(bytes)), let o = parsed as? [String: Any] else {
            throw IncidentError(.invalid, "the body must be a JSON object, e.g. {\"reason\": \"…\"}")
        }
        let unknown = Set(o.keys).subtracting(allowed)
        guard unknown.isEmpty else {
            throw IncidentError(
                .invalid,
                "unknown field(s) \(unknown.sorted().joined(separator: ", ")) (known: \(allowed.sorted().joined(separator: ", ")))"
            )
        }
        object = o
    }

    func string(_ key: String) throws -> String? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let s = v as? String else { throw IncidentError(.invalid, "\(key) must be a string") }
        return s
    }

    func strings(_ key: String) throws -> [String]? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let a = v as? [String] else { throw IncidentError(.invalid, "\(key) must be a list of strings") }
        return a
    }

    func number(_ key: String) throws -> Double? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, !Self.isBoolean(n) else {
            throw IncidentError(.invalid, "\(key) must be a number")
        }
        return n.doubleValue
    }

    func int(_ key: String) throws -> Int? {
        guard let d = try number(key) else { return nil }
        guard d == d.rounded(), abs(d) < 1e15 else { throw IncidentError(.invalid, "\(key) must be a whole number") }
        return Int(d)
    }

    /// JSON true and false arrive as NSNumbers of type char.
    static func isBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    func bool(_ key: String) throws -> Bool? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, Self.isBoolean(n) else {
            throw IncidentError(.invalid, "\(key) must be true or false")
        }
        return n.boolValue
    }

    func enumValue<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws -> T?
    where T.RawValue == String {
        guard let s = try string(key) else { return nil }
        guard let v = T(rawValue: s) else {
            throw IncidentError(
                .invalid, "\(key) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not '\(s)'")
        }
        return v
    }

    func notes() throws -> [(NoteKind, String)] {
        guard let v = object["notes"], !(v is NSNull) else { return [] }
        guard let list = v as? [[String: Any]] else {
            throw IncidentError(.invalid, "notes must be a list of {\"kind\": …, \"text\": …}")
        }
        return try list.map { item in
            guard let kindName = item["kind"] as? String, let kind = NoteKind(rawValue: kindName) else {
                throw IncidentError(
                    .invalid, "each note needs a kind: \(NoteKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let text = item["text"] as? String else { throw IncidentError(.invalid, "each note needs a text") }
            return (kind, text)
        }
    }
}

extension IncidentAPI {
    /// The id of the last alert the desk has taken in (0 when it cannot be read), for metrics.
    public func cursor() -> Int64 { (try? store.cursor()) ?? 0 }

    /// Open incidents per level (`none` for ungraded), for metrics.
    public func openByLevel() -> [String: Int] {
        (try? store.openByLevel()) ?? [:]
    }
}
