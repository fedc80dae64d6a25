import VigilScan
import VigilTaxonomy

/// Watches each principal (user id, client IP) that sends inputs:
/// - `principal_risk_streak`: inputs hitting a risk `inARow` times in a row (3), and
///   `principal_risk_daily`: `perDay` times within a day (5), the figures after which the
///   standard says to suspend the user (SPEC §4a); the alert names the principal;
/// - `principal_polling`: more than `ceilingPerMinute` requests in a minute, or more than
///   `baselineFactor` times the principal's own usual rate (an EWMA of its past minutes);
/// - `principal_repeated_prompt`: the same or nearly the same prompt (equal after dropping
///   digits, spacing, punctuation and case) `repeatCount` times within `repeatWindow` seconds.
/// State per principal is small and bounded: idle principals are forgotten after a day, and at
/// most `capacity` are tracked (the longest idle go first).
public struct PrincipalTracker: Sendable {
    public var inARow = 3
    public var perDay = 5
    public var ceilingPerMinute = 120
    public var baselineFactor = 5.0
    public var minPerMinute = 30
    public var repeatCount = 10
    public var repeatWindow: Double = 600
    public var capacity = 100_000
    public var enabled: Set<String> = [
        "principal_risk_streak", "principal_risk_daily", "principal_polling", "principal_repeated_prompt",
    ]

    struct State: Sendable {
        var streak = 0
        var riskDay = SlidingWindow(length: 86_400, buckets: 24)
        var minute = Int.min
        var minuteCount = 0
        var minutesSeen = 0
        var baseline = 0.0
        var pollingAlertMinute = Int.min
        var prompts: [UInt64: (count: Int, since: Double)] = [:]
        var dailyAlertDay = Int.min
        var lastSeen = 0.0
    }

    private var states: [String: State] = [:]

    public init() {}

    /// Principals being tracked.
    public var tracked: Int { states.count }

    public mutating func observe(input f: TextFindings, at now: Double, origin: RecordOrigin) -> [Alert] {
        var alerts: [Alert] = []
        for (kind, id) in [("user_id", f.userID), ("client_ip", f.clientIP)] {
            guard let id, !id.isEmpty else { continue }
            let principal = "\(kind)=\(id)"
            if states[principal] == nil && states.count >= capacity { forgetIdle(now: now) }
            var s = states[principal] ?? State()
            s.lastSeen = now
            observeRisk(&s, f, principal, kind, id, now, origin, &alerts)
            observeRate(&s, principal, kind, id, now, origin, &alerts)
            observePrompt(&s, f, principal, kind, id, now, origin, &alerts)
            states[principal] = s
        }
        return alerts
    }

    private func labels(_ kind: String, _ id: String, _ origin: RecordOrigin, _ f: TextFindings? = nil) -> [String:
        String]
    {
        var l = ["source": origin.source, "principal": "\(kind)=\(id)", kind: id]
        if let r = f?.requestID { l["request_id"] = r }
        return l
    }

    private func observeRisk(
        _ s: inout State, _ f: TextFindings, _ principal: String, _ kind: String, _ id: String, _ now: Double,
        _ origin: RecordOrigin, _ alerts: inout [Alert]
    ) {
        let risky = !f.risks.isEmpty
        s.streak = risky ? s.streak + 1 : 0
        guard risky else { return }
        s.riskDay.add(at: now, hit: true)
        var l = labels(kind, id, origin, f)
        l["risks"] = f.risks.map(\.signal).joined(separator: ",")
        if s.streak >= inARow && enabled.contains("principal_risk_streak") {
            s.streak = 0
            alerts.append(
                Alert(
                    key: "principal_risk_streak|\(principal)|\(origin.position)", rule: "principal_risk_streak",
                    severity: .critical, subtype: .socialEngineering,
                    summary:
                        "\(principal) asked for risky content \(inARow) times in a row: suspend the service to this principal",
                    labels: l, excerpt: f.risks.first?.excerpt, observedAt: now))
        }
        let day = Int(now / 86_400)
        if s.riskDay.counts(now: now).hits >= perDay && s.dailyAlertDay != day
            && enabled.contains("principal_risk_daily")
        {
            s.dailyAlertDay = day
            alerts.append(
                Alert(
                    key: "principal_risk_daily|\(principal)|\(day)", rule: "principal_risk_daily", severity: .critical,
                    subtype: .socialEngineering,
                    summary:
                        "\(principal) asked for risky content \(perDay) times within a day: suspend the service to this principal",
                    labels: l, excerpt: f.risks.first?.excerpt, observedAt: now))
        }
    }

    private func observeRate(
        _ s: inout State, _ principal: String, _ kind: String, _ id: String, _ now: Double, _ origin: RecordOrigin,
        _ alerts: inout [Alert]
    ) {
        let minute = Int(now / 60)
        if minute != s.minute {
            if s.minute != Int.min {
                // Fold the finished minute (and any silent ones since) into the baseline.
                let gap = min(minute - s.minute - 1, 60)
                s.baseline = s.minutesSeen == 0 ? Double(s.minuteCount) : 0.7 * s.baseline + 0.3 * Double(s.minuteCount)
                for _ in 0..<max(0, gap) { s.baseline *= 0.7 }
                s.minutesSeen += 1 + max(0, gap)
            }
            s.minute = minute
            s.minuteCount = 0
        }
        s.minuteCount += 1
        guard enabled.contains("principal_polling"), s.pollingAlertMinute != minute else { return }
        var reason: String?
        if s.minuteCount > ceilingPerMinute {
            reason = "more than \(ceilingPerMinute) requests in a minute"
        } else if s.minutesSeen >= 5, s.minuteCount >= minPerMinute,
            Double(s.minuteCount) > baselineFactor * max(1, s.baseline)
        {
            reason = "\(s.minuteCount) requests this minute against a usual \(String(format: "%.1f", s.baseline))"
        }
        guard let reason else { return }
        s.pollingAlertMinute = minute
        var l = labels(kind, id, origin)
        l["requests_this_minute"] = String(s.minuteCount)
        l["baseline_per_minute"] = String(format: "%.1f", s.baseline)
        alerts.append(
            Alert(
                key: "principal_polling|\(principal)|\(minute)", rule: "principal_polling", severity: .warning,
                subtype: .socialEngineering, summary: "Possible malicious polling by \(principal): \(reason)",
                labels: l,
                observedAt: now))
    }

    private func observePrompt(
        _ s: inout State, _ f: TextFindings, _ principal: String, _ kind: String, _ id: String, _ now: Double,
        _ origin: RecordOrigin, _ alerts: inout [Alert]
    ) {
        guard f.promptHash != 0, enabled.contains("principal_repeated_prompt") else { return }
        if s.prompts.count > 64 { s.prompts = s.prompts.filter { now - $0.value.since <= repeatWindow } }
        var entry = s.prompts[f.promptHash] ?? (0, now)
        if now - entry.since > repeatWindow { entry = (0, now) }
        entry.count += 1
        s.prompts[f.promptHash] = entry
        guard entry.count == repeatCount else { return }
        var l = labels(kind, id, origin, f)
        l["repeats"] = String(entry.count)
        alerts.append(
            Alert(
                key: "principal_repeated_prompt|\(principal)|\(String(f.promptHash, radix: 16))|\(Int(entry.since))",
                rule: "principal_repeated_prompt", severity: .warning, subtype: .socialEngineering,
                summary: "\(principal) sent the same prompt \(entry.count) times within \(Int(repeatWindow)) s",
                labels: l, observedAt: now))
    }

    /// Forgets principals idle for a day; if still full, the longest idle tenth.
    private mutating func forgetIdle(now: Double) {
        states = states.filter { now - $0.value.lastSeen < 86_400 }
        guard states.count >= capacity else { return }
        let sorted = states.sorted { $0.value.lastSeen < $1.value.lastSeen }
        for (key, _) in sorted.prefix(max(1, capacity / 10)) { states[key] = nil }
    }
}
