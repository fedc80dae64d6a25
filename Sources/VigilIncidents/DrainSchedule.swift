/// When the incident desk may take its next round of alerts. While the line loop keeps up, at
/// once; while it has a backlog, a drain (rounds until no full batch is left) starts at most
/// every `backlogDelay` seconds, so that reading and scanning the backlog keep the machine.
/// Incidents then open late by at most that much; alerts themselves reach receivers through
/// the outbox without waiting for the desk.
public struct DrainSchedule: Sendable {
    /// Seconds between the starts of two drains while the loop has a backlog; 0: no holding back.
    public var backlogDelay: Double
    private var lastStart = -Double.infinity
    private var draining = false

    public init(backlogDelay: Double) { self.backlogDelay = backlogDelay }

    /// Whether a round may run at `now`. A round that starts a drain is remembered as its start.
    public mutating func mayRun(now: Double, loopBehind: Bool) -> Bool {
        guard !draining else { return true }
        if backlogDelay > 0 && loopBehind && now < lastStart + backlogDelay { return false }
        lastStart = now
        return true
    }

    /// After a round: `full` when it took a whole batch, so that more alerts are waiting and the
    /// drain goes on whatever the loop is doing.
    public mutating func roundEnded(full: Bool) { draining = full }
}
