import Foundation
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
    /// Called for every attempt: (delivery id, result, will retry). For logs and metrics.
    public var onAttempt: (@Sendable (Int64, SendResult, Bool) -> Void)?

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
            var delivered = 0
            do {
                let now = Date().timeIntervalSince1970
                for delivery in try store.dueDeliveries(receiver: receiver.name, now: now, limit: 50) {
                    if isStopping { return }
                    attempt(delivery, store: store)
                    delivered += 1
                }
            } catch {
                FileHandle.standardError.write(Data("vigil: notify \(receiver.name): \(error)\n".utf8))
            }
            if delivered == 0 { sleep(seconds: 0.5) }
        }
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

    func attempt(_ delivery: StateStore.Delivery, store: StateStore) {
        let now = Date().timeIntervalSince1970
        let request = WebhookPayload.request(for: delivery, receiver: receiver, now: now)
        let result = sender.send(request, timeout: receiver.timeout)
        let verdict = Self.verdict(result)
        do {
            switch verdict {
            case .delivered:
                try store.markDelivered(delivery.id, at: Date().timeIntervalSince1970)
                if delivery.attempts > 0 { try store.expediteRetries(receiver: receiver.name, now: now) }
            case .retry(let why):
                try store.markAttemptFailed(
                    delivery.id, error: why, retryAt: now + backoff(after: delivery.attempts + 1))
            case .give(let why):
                try store.markAttemptFailed(delivery.id, error: why, retryAt: nil)
            }
        } catch {
            FileHandle.standardError.write(Data("vigil: notify \(receiver.name): \(error)\n".utf8))
        }
        if case .retry = verdict {
            onAttempt?(delivery.id, result, true)
        } else {
            onAttempt?(delivery.id, result, false)
        }
    }

    enum Verdict: Equatable {
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
