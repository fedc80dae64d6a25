import Foundation
import VigilScan

/// The daemon's latest figures, published by the loop a few times a second and read by the
/// HTTP API's threads.
final class StatusBoard: @unchecked Sendable {
    struct Snapshot: Sendable {
        var heartbeat = 0.0
        var caughtUpAt = 0.0
        /// Whether the loop read lines since it last ran out of input: it has a backlog.
        var behind = false
        var sources: [String: ScanSummary] = [:]
        var lag: [String: [(path: String, bytes: Int64)]] = [:]
        var alertsByRule: [String: Int] = [:]
        var silenced = 0
        var deferredCommits = 0
        var refusalRates: [String: (refused: Int, total: Int)] = [:]
        var orphanInputs = 0
        var orphanOutputs = 0
        var pendingInputs = 0
        var principals = 0
        var ingestQueue = 0
    }

    private let lock = NSLock()
    private var current = Snapshot()
    private var ready = false
    let startedAt = Date().timeIntervalSince1970

    func publish(_ s: Snapshot) {
        lock.lock()
        current = s
        lock.unlock()
    }

    func markReady() {
        lock.lock()
        ready = true
        lock.unlock()
    }

    var snapshot: (Snapshot, Bool) {
        lock.lock()
        defer { lock.unlock() }
        return (current, ready)
    }
}
