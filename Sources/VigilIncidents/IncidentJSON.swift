import Foundation
import VigilTaxonomy

/// The JSON shapes of the incident desk, shared by the HTTP API, `vigil incidents --json` and
/// the JSON reports (docs/INCIDENTS.md documents them). Times are Unix seconds.
extension Incident {
    public var jsonObject: [String: Any] {
        var o: [String: Any] = [
            "id": id, "grouping_key": groupingKey, "class": incidentClass.rawValue, "subtype": subtype.rawValue,
            "risks": risks, "service": service, "title": title, "first_seen": firstSeen, "last_seen": lastSeen,
            "occurrences": facts.occurrences, "affected_users": facts.affectedUsers,
            "observed": ["occurrences": observed.occurrences, "affected_users": observed.affectedUsers],
            "facts": [
                "occurrences": facts.occurrences, "affected_users": facts.affectedUsers,
                "outage_minutes": facts.outageMinutes, "records_leaked": facts.recordsLeaked, "spread": facts.spread,
            ],
            "importance": importance.rawValue, "business_loss_confirmed": businessLossConfirmed,
            "social_harm_confirmed": socialHarmConfirmed, "level_confirmed": levelConfirmed, "state": state.rawValue,
            "went_offline": wentOffline, "created_at": createdAt, "updated_at": updatedAt,
        ]
        if let topic { o["topic"] = topic }
        if let businessLoss { o["business_loss"] = businessLoss.rawValue }
        if let socialHarm { o["social_harm"] = socialHarm.rawValue }
        if let level { o["level"] = level.rawValue }
        if let reportRequiredAt { o["report_required_at"] = reportRequiredAt }
        if let containedAt { o["contained_at"] = containedAt }
        if let closedAt { o["closed_at"] = closedAt }
        return o
    }
}

extension AuditEntry {
    public var jsonObject: [String: Any] {
        var o: [String: Any] = ["id": id, "at": at, "actor": actor, "action": action, "detail": detail]
        if let reason { o["reason"] = reason }
        return o
    }
}

extension IncidentNote {
    public var jsonObject: [String: Any] { ["id": id, "at": at, "actor": actor, "kind": kind.rawValue, "text": text] }
}

extension ActionRecord {
    public var jsonObject: [String: Any] {
        var o: [String: Any] = [
            "id": id, "level": level.rawValue, "action": action.rawValue, "state": state.rawValue, "dry_run": dryRun,
            "requested_by": requestedBy, "requested_at": requestedAt,
        ]
        if let command { o["command"] = command }
        if let outcome { o["outcome"] = outcome }
        if let finishedAt { o["finished_at"] = finishedAt }
        return o
    }
}

extension IncidentStore.LinkedAlert {
    public var jsonObject: [String: Any] {
        var o: [String: Any] = ["key": key, "rule": rule, "summary": summary, "observed_at": observedAt]
        if let principal { o["principal"] = principal }
        if let excerpt { o["excerpt"] = excerpt }
        return o
    }
}

extension CaseRecord {
    public var jsonObject: [String: Any] {
        var o: [String: Any] = [
            "incident": incidentID, "closed_at": closedAt, "class": incidentClass, "subtype": subtype,
            "service": service,
            "risks": risks, "summary": summary, "cause": cause, "measures": measures, "lessons": lessons,
        ]
        if let level { o["level"] = level }
        if let topic { o["topic"] = topic }
        return o
    }
}

/// JSON text with sorted keys, for stable output.
public func jsonText(_ object: Any, pretty: Bool = false) -> String {
    var options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
    if pretty { options.insert(.prettyPrinted) }
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: options) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
}
