import Foundation
import VigilIncidents
import VigilMonitor
import VigilState
import VigilTaxonomy

/// The incident desk inside the daemon, on its own thread with its own connections to the
/// state file. It follows the alerts table (every alert, whichever source raised it), opens
/// and updates incidents, turns incident notices into alerts for the receivers, carries out
/// response actions, and samples the refusal rate of each hot topic.
///
/// The desk reads alerts after they are committed, so it never slows the line loop; its cursor
/// moves in the same transaction as the incident changes, so a crash repeats a batch or none.
final class IncidentDesk: @unchecked Sendable {
    let statePath: String
    let policy: DeskPolicy
    let receivers: [String]
    let log: Log
    /// Wakes the outbox dispatchers after notices became alerts.
    let onAlerts: @Sendable () -> Void
    /// The refusal rates to sample (from the status board).
    let refusalRates: @Sendable () -> [String: (refused: Int, total: Int)]
    /// Whether the line loop has a backlog (from the status board).
    let loopBehind: @Sendable () -> Bool
    var sampleInterval: Double = 600
    /// Shortest time between two rounds (seconds).
    var roundInterval: Double = 0.25
    /// See `DrainSchedule`: the desk's work and its write lock had cost the loop about 5% of
    /// its speed on two cores while it worked through a backlog.
    var backlogDelay: Double = 10
    /// Most alerts taken in one round. Each incident a round touches is read and written once,
    /// so under a stream of alerts larger rounds cost less per alert; one round of this size
    /// holds the state file's write lock for a few tens of milliseconds.
    static let roundAlerts = 2_000

    private let condition = NSCondition()
    private var woken = false
    private var stopping = false
    private var finished = DispatchSemaphore(value: 0)
    private let counters = NSLock()
    private var taken = 0
    private var opened = 0

    init(
        statePath: String, policy: DeskPolicy, receivers: [String], log: Log,
        onAlerts: @escaping @Sendable () -> Void,
        refusalRates: @escaping @Sendable () -> [String: (refused: Int, total: Int)],
        loopBehind: @escaping @Sendable () -> Bool = { false }
    ) {
        self.statePath = statePath
        self.policy = policy
        self.receivers = receivers
        self.log = log
        self.onAlerts = onAlerts
        self.refusalRates = refusalRates
        self.loopBehind = loopBehind
    }

    /// Alerts taken in and incidents opened since start (for metrics).
    var counts: (alerts: Int, opened: Int) { counters.withLock { (taken, opened) } }

    func start() {
        let t = Thread { [self] in
            // The desk may lag behind the alerts (they wait, durable, in their table); the line
            // loop and its helper should not: on a busy machine the scheduler favours them.
            if let tid = Self.threadID() { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), tid, 10) }
            run()
            finished.signal()
        }
        t.name = "vigil-incidents"
        t.start()
    }

    /// This thread's kernel id (Linux: `/proc/thread-self` links to `PID/task/TID`).
    static func threadID() -> id_t? {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "/").last.flatMap { id_t($0) }
    }

    /// New alerts were committed: look now.
    func wake() {
        condition.lock()
        woken = true
        condition.signal()
        condition.unlock()
    }

    /// Stops after the batch in progress and waits (at most `timeout` seconds) for the thread.
    func stop(timeout: Double = 3) {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        _ = finished.wait(timeout: .now() + timeout)
    }

    private var isStopping: Bool { condition.withLock { stopping } }

    private func run() {
        let incidents: IncidentStore
        let alerts: StateStore
        do {
            incidents = try IncidentStore(path: statePath, policy: policy)
            alerts = try StateStore(path: statePath)
            try incidents.requeueInterruptedActions()
        } catch {
            log(.error, "incident desk cannot open the state file: \(error)")
            return
        }
        let runner = ActionRunner(plans: policy.plans)
        var lastSample = 0.0
        var schedule = DrainSchedule(backlogDelay: backlogDelay)
        while !isStopping {
            let started = Date()
            guard schedule.mayRun(now: started.timeIntervalSince1970, loopBehind: loopBehind()) else {
                condition.lock()
                if !stopping { _ = condition.wait(until: started.addingTimeInterval(roundInterval)) }
                condition.unlock()
                continue
            }
            do {
                let busy = try step(incidents, alerts, runner)
                schedule.roundEnded(full: busy)
                let now = Date().timeIntervalSince1970
                if now - lastSample >= sampleInterval {
                    lastSample = now
                    try incidents.recordRefusalRates(
                        refusalRates(), at: (now / sampleInterval).rounded(.down) * sampleInterval)
                }
                if busy { continue }
            } catch {
                schedule.roundEnded(full: false)
                log(.error, "incident desk: \(error)")
            }
            condition.lock()
            // Rounds at most every `roundInterval`: under a stream of alerts each round takes a
            // batch of them, and each incident is read and written once per round, not per alert.
            let earliest = started.addingTimeInterval(roundInterval)
            while !stopping && Date() < earliest { _ = condition.wait(until: earliest) }
            if !woken && !stopping { _ = condition.wait(until: Date(timeIntervalSinceNow: 1)) }
            woken = false
            condition.unlock()
        }
    }

    /// One round; returns whether there may be more to do at once.
    func step(_ incidents: IncidentStore, _ alerts: StateStore, _ runner: ActionRunner) throws -> Bool {
        let cursor = try incidents.cursor()
        let batch = try alerts.alerts(after: cursor, limit: Self.roundAlerts)
        if let last = batch.last?.id {
            let intake = try incidents.take(batch.map(\.alert), throughAlertID: last)
            var newIncidents = 0
            for case .opened(let id) in intake {
                newIncidents += 1
                log(.info, "incident opened", ["incident": String(id)])
            }
            counters.withLock {
                taken += batch.count
                opened += newIncidents
            }
        }
        try raiseNotices(incidents, alerts)
        for action in try incidents.claimPendingActions() {
            let incident = try incidents.incident(action.incidentID)
            let who = try incidents.principals(of: incident.id, limit: 20).map(\.principal)
            let outcome = runner.run(action, incident: incident, principals: who)
            try incidents.finishAction(
                action.id, succeeded: outcome.succeeded, command: outcome.command, outcome: outcome.detail)
            log(
                outcome.succeeded ? .info : .warning, "response action \(outcome.succeeded ? "done" : "failed")",
                [
                    "incident": String(incident.id), "action": action.action.rawValue,
                    "dry_run": String(action.dryRun), "outcome": outcome.detail,
                ])
        }
        return batch.count == Self.roundAlerts
    }

    /// Notices become alerts (rules `incident_level_changed`, `incident_report_required`) that
    /// go to every receiver; the alert key names the notice, so a repeat after a crash is not sent twice.
    private func raiseNotices(_ incidents: IncidentStore, _ alerts: StateStore) throws {
        let notices = try incidents.pendingNotices()
        guard !notices.isEmpty else { return }
        var raised: [Alert] = []
        for n in notices {
            let incident = try incidents.incident(n.incidentID)
            let urgent = n.kind == "report_required" || (incident.level ?? .four) >= .two
            var labels = [
                "incident": String(incident.id), "service": incident.service, "state": incident.state.rawValue,
                "incident_class": incident.incidentClass.rawValue,
            ]
            if let level = incident.level { labels["level"] = String(level.rawValue) }
            if let topic = incident.topic { labels["topic"] = topic }
            if !incident.risks.isEmpty { labels["risks"] = incident.risks.joined(separator: ",") }
            raised.append(
                Alert(
                    key: "incident|\(incident.id)|notice|\(n.id)", rule: "incident_\(n.kind)",
                    severity: urgent ? .critical : .warning, subtype: incident.subtype, summary: n.summary,
                    labels: labels, observedAt: n.createdAt))
        }
        // Silences apply to the desk's notices as to any alert (match rule=incident_level_changed, say).
        let now = Date().timeIntervalSince1970
        try alerts.commit(alerts: raised, receivers: receivers, silences: try alerts.silences(now: now), now: now)
        try incidents.markNoticesRaised(notices.map(\.id))
        for a in raised { log(.warning, a.summary, ["rule": a.rule, "incident": a.labels["incident"] ?? ""]) }
        onAlerts()
    }
}
