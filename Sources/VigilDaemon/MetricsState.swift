import Foundation
import VigilState

/// The state-file connection `/metrics` reads through: opened on the first scrape and kept, so
/// a scrape costs two small queries rather than opening and checking the database each time.
/// Scrapes come from the HTTP server's threads, one at a time through the lock.
final class MetricsState: @unchecked Sendable {
    private let path: String
    private let lock = NSLock()
    private var store: StateStore?

    init(path: String) { self.path = path }

    /// Deliveries in the outbox by state, and the newest alert's id (nil when the file cannot be read).
    func read() -> (outbox: [String: Int], newestAlertID: Int64)? {
        lock.withLock {
            if store == nil { store = try? StateStore(path: path) }
            guard let store else { return nil }
            do {
                return (try store.outboxCounts(), try store.newestAlertID())
            } catch {
                // Opened again on the next scrape.
                self.store = nil
                return nil
            }
        }
    }
}
