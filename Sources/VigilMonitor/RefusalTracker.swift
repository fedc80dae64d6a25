import VigilTaxonomy

/// Watches refusal rates (SPEC §4, monitoring and warning):
/// - per hot topic: answers to questions that hit the topic's keywords must be refusals; over a
///   sliding window with at least `minSamples` such answers, a rate below the topic's threshold
///   (95% by default) raises `refusal_rate_low`;
/// - over-refusal: of ordinary questions (no topic, risk or attack), a refused share above
///   `overRefusalThreshold` (5%) over at least `overRefusalMinSamples` raises `over_refusal`.
/// While the condition holds, the alert for one subject is raised again (as a new alert, and so
/// notified again) every `repeatIntervals[rule]` seconds, by default once per window.
public struct RefusalTracker: Sendable {
    /// What a topic pack asks for.
    public struct TopicPolicy: Sendable {
        public var threshold: Double
        public var minSamples: Int
        public var subtype: IncidentSubtype
        public init(threshold: Double = 0.95, minSamples: Int = 20, subtype: IncidentSubtype = .other) {
            self.threshold = threshold
            self.minSamples = minSamples
            self.subtype = subtype
        }
    }

    /// Changing it starts the windows afresh.
    public var window: Double {
        didSet {
            topics = [:]
            ordinary = SlidingWindow(length: window)
        }
    }
    public var policies: [String: TopicPolicy]
    public var defaultPolicy = TopicPolicy()
    public var overRefusalThreshold = 0.05
    public var overRefusalMinSamples = 50
    public var enabled: Set<String> = ["refusal_rate_low", "over_refusal"]

    private var topics: [String: SlidingWindow] = [:]
    private var ordinary: SlidingWindow
    /// Seconds between two alerts of one rule on one subject while the condition holds.
    public var repeatIntervals: [String: Double] = [:]
    private var lastAlert: [String: Double] = [:]

    public init(window: Double = 3600, policies: [String: TopicPolicy] = [:]) {
        self.window = window
        self.policies = policies
        ordinary = SlidingWindow(length: window)
    }

    /// Current refused share per topic within the window (for metrics).
    public func rates(now: Double) -> [String: (refused: Int, total: Int)] {
        topics.mapValues { w in
            let c = w.counts(now: now)
            return (c.hits, c.total)
        }
    }

    public mutating func observe(_ x: Exchange, at now: Double, source: String) -> [Alert] {
        guard let refused = x.refusal, let question = x.question else { return [] }
        let inputTopics = question.topics
        var alerts: [Alert] = []
        if !inputTopics.isEmpty {
            for topic in Set(inputTopics) {
                topics[topic, default: SlidingWindow(length: window)].add(at: now, hit: refused)
                let policy = policies[topic] ?? defaultPolicy
                guard let c = topics[topic]?.counts(now: now) else { continue }
                guard c.total >= policy.minSamples, Double(c.hits) < policy.threshold * Double(c.total) else {
                    continue
                }
                let rate = Double(c.hits) / Double(c.total)
                alert(
                    "refusal_rate_low", subject: topic, now: now, severity: .critical, subtype: policy.subtype,
                    summary:
                        "Refusal rate on hot topic \(topic) is \(percent(rate)) over the last \(Int(window)) s (required: \(percent(policy.threshold)))",
                    labels: [
                        "source": source, "topic": topic, "refused": String(c.hits), "answers": String(c.total),
                        "rate": String(rate), "threshold": String(policy.threshold),
                    ], into: &alerts)
            }
        } else if !question.hasRisksOrAttacks {
            ordinary.add(at: now, hit: refused)
            let c = ordinary.counts(now: now)
            if c.total >= overRefusalMinSamples, Double(c.hits) > overRefusalThreshold * Double(c.total) {
                let rate = Double(c.hits) / Double(c.total)
                alert(
                    "over_refusal", subject: "ordinary", now: now, severity: .warning, subtype: .other,
                    summary:
                        "The model refuses \(percent(rate)) of ordinary questions over the last \(Int(window)) s (limit: \(percent(overRefusalThreshold)))",
                    labels: [
                        "source": source, "refused": String(c.hits), "answers": String(c.total), "rate": String(rate),
                        "threshold": String(overRefusalThreshold),
                    ], into: &alerts)
            }
        }
        return alerts
    }

    private mutating func alert(
        _ rule: String, subject: String, now: Double, severity: Severity, subtype: IncidentSubtype, summary: String,
        labels: [String: String], into alerts: inout [Alert]
    ) {
        guard enabled.contains(rule) else { return }
        if let last = lastAlert[rule + subject], now - last < (repeatIntervals[rule] ?? window) { return }
        lastAlert[rule + subject] = now
        alerts.append(
            Alert(
                key: "\(rule)|\(subject)|\(Int(now / (repeatIntervals[rule] ?? window)))", rule: rule,
                severity: severity, subtype: subtype,
                summary: summary, labels: labels, observedAt: now))
    }
}

func percent(_ x: Double) -> String { String(Double(Int(x * 1000)) / 10) + "%" }
