import VigilTaxonomy

/// Watches the global request rate in fixed intervals against an EWMA baseline of past ones:
/// - `traffic_spike`: an interval with more than `spikeFactor` times the baseline (and at least
///   `minSpike` requests): a possible DoS;
/// - `traffic_drop`: an interval with less than `dropFactor` times a baseline of at least
///   `minBaseline` requests: a possible outage. Silence counts: `tick` closes intervals in
///   which nothing arrived.
/// Anomalous intervals do not move the baseline, so a long outage keeps reading as one.
/// After an alert the same rule stays quiet for `quietIntervals` intervals.
public struct TrafficTracker: Sendable {
    public var interval: Double = 10
    public var spikeFactor = 5.0
    public var minSpike = 100
    public var dropFactor = 0.2
    public var minBaseline = 5.0
    public var warmupIntervals = 6
    public var quietIntervals = 30
    public var enabled: Set<String> = ["traffic_spike", "traffic_drop"]

    private var current = Int.min
    private var count = 0
    private var seen = 0
    public private(set) var baseline = 0.0
    private var lastAlert: [String: Int] = [:]

    public init() {}

    /// Counts one request.
    public mutating func observe(at now: Double, source: String) -> [Alert] {
        var alerts = advance(to: now, source: source)
        count += 1
        // A spike is visible before its interval ends.
        let index = Int(now / interval)
        if seen >= warmupIntervals, count >= minSpike, Double(count) > spikeFactor * max(1, baseline) {
            raise(
                "traffic_spike", index, now, source, .critical, .denialOfService,
                "Request rate spike: \(count) requests in \(Int(interval)) s against a usual \(String(format: "%.1f", baseline))",
                &alerts)
        }
        return alerts
    }

    /// Closes the intervals that ended before `now`, even if nothing arrived in them.
    public mutating func tick(now: Double, source: String) -> [Alert] { advance(to: now, source: source) }

    private mutating func advance(to now: Double, source: String) -> [Alert] {
        let index = Int(now / interval)
        if current == Int.min {
            current = index
            return []
        }
        var alerts: [Alert] = []
        while current < index {
            let finished = Double(count)
            if seen >= warmupIntervals, baseline >= minBaseline, finished < dropFactor * baseline {
                raise(
                    "traffic_drop", current, now, source, .critical, .other,
                    "Request rate drop: \(Int(finished)) requests in \(Int(interval)) s against a usual \(String(format: "%.1f", baseline)); is the service down?",
                    &alerts)
            } else if !(seen >= warmupIntervals && finished > spikeFactor * max(1, baseline)) {
                baseline = seen == 0 ? finished : 0.8 * baseline + 0.2 * finished
            }
            seen += 1
            count = 0
            current += 1
            // A long silence: skip ahead, counting each empty interval once.
            if index - current > 1000 { current = index - 1000 }
        }
        return alerts
    }

    private mutating func raise(
        _ rule: String, _ index: Int, _ now: Double, _ source: String, _ severity: Severity, _ subtype: IncidentSubtype,
        _ summary: String, _ alerts: inout [Alert]
    ) {
        guard enabled.contains(rule) else { return }
        if let last = lastAlert[rule], index - last < quietIntervals { return }
        lastAlert[rule] = index
        alerts.append(
            Alert(
                key: "\(rule)|\(index)", rule: rule, severity: severity, subtype: subtype, summary: summary,
                labels: [
                    "source": source, "interval_seconds": String(Int(interval)),
                    "baseline": String(format: "%.1f", baseline),
                ],
                observedAt: now))
    }
}
