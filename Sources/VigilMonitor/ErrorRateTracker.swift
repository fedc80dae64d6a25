import VigilScan

/// Watches the share of records whose status says the model service failed (an HTTP status of
/// 500 or more, or a word such as `error`, `failed`, `timeout`): over a sliding window with at
/// least `minSamples` records that carry a status, a share above `threshold` raises
/// `error_rate_high` (a service interruption), at most once per window.
public struct ErrorRateTracker: Sendable {
    /// Changing it starts the window afresh.
    public var window: Double = 300 {
        didSet { counts = SlidingWindow(length: window) }
    }
    public var minSamples = 50
    public var threshold = 0.05
    public var enabled: Set<String> = ["error_rate_high"]

    private var counts: SlidingWindow
    /// Seconds between two alerts while the rate stays high (default: the window).
    public var repeatInterval: Double?
    private var lastAlert = -Double.infinity

    public init(window: Double = 300) {
        self.window = window
        counts = SlidingWindow(length: window)
    }

    /// Whether a status value means failure.
    public static func isError(_ status: String) -> Bool {
        if let code = Int(status) { return code >= 500 }
        return ["error", "failed", "failure", "timeout", "timed_out", "unavailable", "internal_error"]
            .contains(status.lowercased())
    }

    public mutating func observe(_ f: TextFindings, at now: Double, source: String) -> [Alert] {
        guard let status = f.status else { return [] }
        counts.add(at: now, hit: Self.isError(status))
        let c = counts.counts(now: now)
        guard enabled.contains("error_rate_high"), c.total >= minSamples,
            Double(c.hits) > threshold * Double(c.total), now - lastAlert >= (repeatInterval ?? window)
        else { return [] }
        lastAlert = now
        let rate = Double(c.hits) / Double(c.total)
        return [
            Alert(
                key: "error_rate_high|\(Int(now / (repeatInterval ?? window)))", rule: "error_rate_high",
                severity: .critical,
                subtype: .other,
                summary:
                    "The model service failed \(percent(rate)) of requests over the last \(Int(window)) s (limit: \(percent(threshold))): a service interruption?",
                labels: [
                    "source": source, "errors": String(c.hits), "records": String(c.total), "rate": String(rate),
                    "threshold": String(threshold),
                ], observedAt: now)
        ]
    }
}
