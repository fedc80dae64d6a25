import Foundation
import VigilMonitor
import VigilState

/// Delivers one receiver's pending alerts from the outbox, oldest first, on its own thread.
///
/// An answer of 2xx marks a delivery done. Timeouts, connection errors, 5xx, 408 and 429 are
/// retried with exponential backoff and jitter (1 s doubling up to `maxBackoff`), for as long
/// as it takes: a receiver that is down for ten minutes gets every alert when it is back.
/// Other 4xx answers mean the request itself is wrong; the delivery is recorded as failed.
public final class OutboxDispatcher: @unchecked Sendable {
    public let receiver: Receiver
    let statePath: String
    let sender: HTTPSending
    public var maxBackoff: Double = 300
    public var baseBackoff: Double = 1
    /// Called after every attempt with the first delivery id of the message and the verdict.
    /// For logs and metrics.
    public var onAttempt: (@Sendable (Int64, Verdict) -> Void)?

    private let condition = NSCondition()
    private var woken = false
    private var stopping = false
    private var thread: Thread?

    public init(receiver: Receiver, statePath: String, sender: HTTPSending = URLSessionSender()) {
        self.receiver = receiver
        self.statePath = statePath
        self.sender = sender
    }

    /// Starts the thread; it opens its own connection to the state file.
    public func start() {
        let t = Thread { [self] in run() }
        t.name = "vigil-notify-\(receiver.name)"
        thread = t
        t.start()
    }

    /// New deliveries are waiting: look now instead of at the next tick.
    public func wake() {
        condition.lock()
        woken = true
        condition.signal()
        condition.unlock()
    }

    /// Asks the thread to stop after the attempt in progress.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        let store: StateStore
        do { store = try StateStore(path: statePath) } catch {
            FileHandle.standardError.write(Data("vigil: notify \(receiver.name): \(error)\n".utf8))
            return
        }
        while !isStopping {
            do {
                let wait = try deliverDue(store: store, now: Date().timeIntervalSince1970)
                if wait > 0 { sleep(seconds: wait) }
            } catch {
                FileHandle.standardError.write(Data("vigil: notify \(receiver.name): \(error)\n".utf8))
                sleep(seconds: 1)
            }
        }
    }

    /// Send times within the last minute, for `maxPerMinute`.
    private var sent: [Double] = []

    /// Sends what is due, as the receiver's grouping and rate limit allow. Returns how long to
    /// wait before looking again (0: look again at once).
    func deliverDue(store: StateStore, now: Double) throws -> Double {
        // A silence made after an alert was raised still stops its pending deliveries.
        try store.dropSilencedDeliveries(receiver: receiver.name, silences: try store.silences(now: now), now: now)
        let due = try store.dueDeliveries(receiver: receiver.name, now: now, limit: 1000)
        guard !due.isEmpty else { return 0.5 }
        var ready: [[StateStore.Delivery]] = []
        var nextReady = Double.infinity
        for group in Self.groups(due, by: receiver.groupBy) {
            // A new group waits a little for more of its kind; a retry goes at once.
            let opens = (group.map(\.alert.createdAt).min() ?? now) + receiver.groupWait
            if opens <= now || group.contains(where: { $0.attempts > 0 }) {
                ready.append(group)
            } else {
                nextReady = min(nextReady, opens)
            }
        }
        guard !ready.isEmpty else { return max(0.05, min(0.5, nextReady - now)) }
        var messages = ready
        if receiver.maxPerMinute > 0 {
            sent.removeAll { now - $0 >= 60 }
            let room = receiver.maxPerMinute - sent.count
            guard room > 0 else { return max(0.05, (sent.first ?? now) + 60 - now) }
            if messages.count > room {
                // A burst: what does not fit goes out as one digest instead of being dropped.
                messages = Array(ready.prefix(room - 1)) + [ready.dropFirst(room - 1).flatMap { $0 }]
            }
        }
        for message in messages {
            if isStopping { return 0 }
            attempt(message, store: store)
        }
        return 0
    }

    /// Deliveries grouped by the values of `labels` (each on its own without labels), in order
    /// of their oldest member.
    static func groups(_ deliveries: [StateStore.Delivery], by labels: [String]) -> [[StateStore.Delivery]] {
        guard !labels.isEmpty else { return deliveries.map { [$0] } }
        var order: [String] = []
        var members: [String: [StateStore.Delivery]] = [:]
        for d in deliveries {
            let key = labels.map { label in
                // The alert's own fields by their names; anything else is a label.
                ["rule", "severity", "subtype", "class"].contains(label)
                    ? MessageTemplate.value(label, d.alert) : (d.alert.alert.labels[label] ?? "")
            }.joined(separator: "\u{1F}")
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(d)
        }
        return order.compactMap { members[$0] }
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    private func sleep(seconds: Double) {
        condition.lock()
        if !woken && !stopping { _ = condition.wait(until: Date(timeIntervalSinceNow: seconds)) }
        woken = false
        condition.unlock()
    }

    func attempt(_ message: [StateStore.Delivery], store: StateStore) {
        guard let first = message.first else { return }
        let now = Date().timeIntervalSince1970
        let request = Notification.request(for: message, receiver: receiver, now: now)
        let result = sender.send(request, timeout: receiver.timeout)
        if receiver.maxPerMinute > 0 { sent.append(now) }
        var verdict = Self.verdict(result)
        if verdict == .delivered, receiver.kind.isRobot, case .answered(_, let body) = result {
            verdict = Notification.robotVerdict(receiver.kind, body: body)
        }
        let attempts = message.map(\.attempts).max() ?? 0
        do {
            switch verdict {
            case .delivered:
                let at = Date().timeIntervalSince1970
                for d in message { try store.markDelivered(d.id, at: at) }
                if attempts > 0 { try store.expediteRetries(receiver: receiver.name, now: now) }
            case .retry(let why):
                let retryAt = now + backoff(after: attempts + 1)
                for d in message { try store.markAttemptFailed(d.id, error: why, retryAt: retryAt) }
            case .give(let why):
                for d in message { try store.markAttemptFailed(d.id, error: why, retryAt: nil) }
            }
        } catch {
            FileHandle.standardError.write(Data("vigil: notify \(receiver.name): \(error)\n".utf8))
        }
        onAttempt?(first.id, verdict)
    }

    /// What an attempt came to.
    public enum Verdict: Equatable, Sendable {
        case delivered
        case retry(String)
        case give(String)
    }

    static func verdict(_ result: SendResult) -> Verdict {
        switch result {
        case .failed(let why): return .retry(why)
        case .answered(let status, _) where (200..<300).contains(status): return .delivered
        case .answered(let status, _) where status == 408 || status == 429 || status >= 500:
            return .retry("HTTP \(status)")
        case .answered(let status, let body):
            return .give("HTTP \(status): \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
    }

    /// Seconds to wait before attempt `n + 1`: 1, 2, 4 … capped, with ±20% jitter so that many
    /// deliveries to a receiver that is back do not arrive in one burst.
    func backoff(after attempts: Int) -> Double {
        let exact = min(maxBackoff, baseBackoff * pow(2, Double(max(0, attempts - 1))))
        return exact * Double.random(in: 0.8...1.2)
    }
}
