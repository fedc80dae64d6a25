import Foundation
import VigilRules

/// Compiles the rules again, on its own thread, when asked (SIGHUP) or when files under the
/// rule directories change, and hands a good new library to the daemon. A library that does not
/// load is refused with its errors; the daemon keeps the rules it has.
final class RuleReloader: @unchecked Sendable {
    let directories: [String]
    /// How often the directories are checked for changes (seconds).
    var checkInterval: Double = 1
    var onStarted: (@Sendable () -> Void)?
    var onLoaded: (@Sendable (RuleLibrary, [String], Double) -> Void)?
    var onFailed: (@Sendable (Error, [String]) -> Void)?

    private let condition = NSCondition()
    private var requested = false
    private var stopped = false

    init(directories: [String]) { self.directories = directories }

    func start() {
        let watcher = RuleWatcher(directories: directories)
        let t = Thread { [self] in run(watcher) }
        t.name = "vigil-rules"
        t.start()
    }

    func request() {
        condition.lock()
        requested = true
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run(_ initial: RuleWatcher) {
        var watcher = initial
        while true {
            condition.lock()
            if !requested && !stopped { _ = condition.wait(until: Date(timeIntervalSinceNow: checkInterval)) }
            let asked = requested
            let done = stopped
            requested = false
            condition.unlock()
            if done { return }
            var changed = watcher.changes()
            if !changed.isEmpty {
                // An editor or a deployment writes several files: let it finish first.
                Thread.sleep(forTimeInterval: 0.2)
                changed += watcher.changes()
            }
            guard asked || !changed.isEmpty else { continue }
            onStarted?()
            let started = Date()
            do {
                let library = try RuleLibrary.load(directories: directories)
                onLoaded?(library, Array(Set(changed)).sorted(), Date().timeIntervalSince(started))
            } catch {
                onFailed?(error, Array(Set(changed)).sorted())
            }
        }
    }
}
