import VigilScan
import VigilTaxonomy

/// Watches each principal (user id, client IP, API key; a key is shown masked) that sends inputs:
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
    {
        didSet {
            polling = enabled.contains("principal_polling")
            prompts = enabled.contains("principal_repeated_prompt")
        }
    }
    // Looked up once, not per record.
    private var polling = true
    private var prompts = true

    /// A class, so that updating one principal touches its state in place instead of copying
    /// its windows out of the dictionary and back on every record.
    final class State: @unchecked Sendable {
        var streak = 0
        var riskDay = SlidingWindow(length: 86_400, buckets: 24)
        var minute = Int.min
        var minuteCount = 0
        var minutesSeen = 0
        var baseline = 0.0
        var pollingAlertMinute = Int.min
        /// The last `promptSlots` distinct prompts: hash, count, first seen. A fixed ring, so
        /// a principal that never repeats itself costs no more memory than one that does.
        var promptHashes = [UInt64](repeating: 0, count: PrincipalTracker.promptSlots)
        var promptCounts = [Int](repeating: 0, count: PrincipalTracker.promptSlots)
        var promptSince = [Double](repeating: 0, count: PrincipalTracker.promptSlots)
        var nextPromptSlot = 0
        var dailyAlertDay = Int.min
        var lastSeen = 0.0
    }

    struct Key: Hashable, Sendable {
        var kind: UInt8
        var id: String
    }

    private var states: [Key: State] = [:]
    /// Distinct recent prompts remembered per principal.
    static let promptSlots = 32

    public init() {}

    /// Principals being tracked.
    public var tracked: Int { states.count }

    public mutating func observe(input f: TextFindings, at now: Double, origin: RecordOrigin) -> [Alert] {
        var alerts: [Alert] = []
        if let id = f.userID, !id.isEmpty { observe(Key(kind: 0, id: id), "user_id", f, now, origin, &alerts) }
        if let id = f.clientIP, !id.isEmpty { observe(Key(kind: 1, id: id), "client_ip", f, now, origin, &alerts) }
        if let key = f.apiKey, !key.isEmpty {
            observe(Key(kind: 2, id: key), "api_key", f, now, origin, &alerts, shown: Self.maskedKey(key))
        }
        return alerts
    }

    /// An API key as alerts show it: its first six and last four characters.
    public static func maskedKey(_ key: String) -> String {
        key.count > 12 ? key.prefix(6) + "…" + key.suffix(4) : String(repeating: "*", count: key.count)
    }

    private mutating func observe(
        _ key: Key, _ kind: String, _ f: TextFindings, _ now: Double, _ origin: RecordOrigin, _ alerts: inout [Alert],
        shown: String? = nil
    ) {
        let s: State
        if let existing = states[key] {
            s = existing
        } else {
            if states.count >= capacity { forgetIdle(now: now) }
            s = State()
            states[key] = s
        }
        s.lastSeen = now
        let id = shown ?? key.id
        observeRisk(s, f, kind, id, now, origin, &alerts)
        observeRate(s, kind, id, now, origin, &alerts)
        observePrompt(s, f, kind, id, now, origin, &alerts)
    }

    private func labels(_ kind: String, _ id: String, _ origin: RecordOrigin, _ f: TextFindings? = nil) -> [String:
        String]
    {
        var l = ["source": origin.source, "principal": "\(kind)=\(id)", kind: id]
        if let r = f?.requestID { l["request_id"] = r }
        return l
    }

    private func observeRisk(
        _ s: State, _ f: TextFindings, _ kind: String, _ id: String, _ now: Double,
        _ origin: RecordOrigin, _ alerts: inout [Alert]
    ) {
        // Built only when an alert names the principal.
        var principal: String { "\(kind)=\(id)" }
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
        _ s: State, _ kind: String, _ id: String, _ now: Double, _ origin: RecordOrigin,
        _ alerts: inout [Alert]
    ) {
        // Built only when an alert names the principal.
        var principal: String { "\(kind)=\(id)" }
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
        guard polling, s.pollingAlertMinute != minute else { return }
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
        _ s: State, _ f: TextFindings, _ kind: String, _ id: String, _ now: Double,
        _ origin: RecordOrigin, _ alerts: inout [Alert]
    ) {
        // Built only when an alert names the principal.
        var principal: String { "\(kind)=\(id)" }
        guard f.promptHash != 0, prompts else { return }
        var slot = s.promptHashes.firstIndex(of: f.promptHash) ?? -1
        if slot < 0 {
            slot = s.nextPromptSlot
            s.nextPromptSlot = (slot + 1) % Self.promptSlots
            s.promptHashes[slot] = f.promptHash
            s.promptCounts[slot] = 0
            s.promptSince[slot] = now
        }
        if now - s.promptSince[slot] > repeatWindow {
            s.promptCounts[slot] = 0
            s.promptSince[slot] = now
        }
        s.promptCounts[slot] += 1
        let entry = (count: s.promptCounts[slot], since: s.promptSince[slot])
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
