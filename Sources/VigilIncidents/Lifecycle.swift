import Foundation

/// The incident lifecycle as a validated state machine (SPEC §4, handling):
///
///     detected → assessing → confirmed → contained → recovering → verifying → closed
///         ╰──────────┴──→ dismissed (a false positive, with the reason) ──→ assessing (reopened)
///
/// An anomaly may be confirmed straight from `detected`; a failed verification goes back to
/// `recovering`. What a transition needs beyond being allowed is checked by `requirements`.
public enum Lifecycle {
    /// The states each state may move to.
    public static let next: [IncidentState: [IncidentState]] = [
        .detected: [.assessing, .confirmed, .dismissed],
        .assessing: [.confirmed, .dismissed],
        .confirmed: [.contained],
        .contained: [.recovering],
        .recovering: [.verifying],
        .verifying: [.closed, .recovering],
        .dismissed: [.assessing],
        .closed: [],
    ]

    /// Why `incident` cannot move to `target` given its `notes`; empty when it can.
    public static func problems(
        moving incident: Incident, to target: IncidentState, reason: String?, notes: [IncidentNote]
    )
        -> [String]
    {
        guard next[incident.state, default: []].contains(target) else {
            let allowed = next[incident.state, default: []].map(\.rawValue)
            return [
                "incident \(incident.id) is \(incident.state.rawValue) and cannot move to \(target.rawValue)"
                    + (allowed.isEmpty
                        ? " (\(incident.state.rawValue) is final)"
                        : " (from \(incident.state.rawValue): \(allowed.joined(separator: ", ")))")
            ]
        }
        var problems: [String] = []
        let hasReason = !(reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty
        switch target {
        case .dismissed:
            if !hasReason { problems.append("dismissing needs a reason: say why this is a false positive") }
        case .confirmed:
            if incident.level == nil {
                problems.append("confirming needs a level: grade the incident first (vigil incidents grade)")
            }
        case .assessing where incident.state == .dismissed:
            if !hasReason { problems.append("reopening a dismissed incident needs a reason") }
        case .recovering where incident.state == .verifying:
            if !hasReason { problems.append("going back to recovering needs a reason: what did verification find?") }
        case .closed:
            let kinds = Set(notes.map(\.kind))
            for (kind, what) in [
                (NoteKind.closureApplication, "a closure application"), (.verification, "a verification note"),
                (.evidence, "evidence"),
            ] where !kinds.contains(kind) {
                problems.append("closing needs \(what) (note kind \(kind.rawValue))")
            }
            if incident.wentOffline && !kinds.contains(.onlineReview) {
                problems.append(
                    "the response took the service offline: closing needs the online review (note kind online_review)")
            }
        default: break
        }
        return problems
    }
}
