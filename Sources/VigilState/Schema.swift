/// The state file's tables, created or upgraded in place (`PRAGMA user_version` is the version).
enum Schema {
    static let version = 2

    static func migrate(_ db: Database) throws(StateError) {
        let current = try db.prepare("PRAGMA user_version").query().first?.first?.int ?? 0
        guard current < version else {
            if current > version {
                throw StateError(
                    "\(db.path) was written by a newer Vigil (schema \(current), this one knows \(version)); upgrade Vigil or move the file away"
                )
            }
            return
        }
        if current == 1 {
            // Version 2 added silences; alerts remember the silence that muted them.
            try db.execute("ALTER TABLE alerts ADD COLUMN silenced_by INTEGER")
        }
        // Each step is idempotent, so a file at any earlier version ends at the current one.
        try db.execute(
            """
            BEGIN;
            CREATE TABLE IF NOT EXISTS checkpoints (
              source TEXT NOT NULL, device INTEGER NOT NULL, inode INTEGER NOT NULL,
              path TEXT NOT NULL, fingerprint BLOB NOT NULL, offset INTEGER NOT NULL, updated_at REAL NOT NULL,
              PRIMARY KEY (source, device, inode));
            CREATE TABLE IF NOT EXISTS alerts (
              id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, rule TEXT NOT NULL, severity TEXT NOT NULL,
              subtype TEXT NOT NULL, incident_class TEXT NOT NULL, summary TEXT NOT NULL, labels TEXT NOT NULL,
              excerpt TEXT, observed_at REAL NOT NULL, created_at REAL NOT NULL, silenced_by INTEGER);
            CREATE TABLE IF NOT EXISTS outbox (
              id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL REFERENCES alerts(id), receiver TEXT NOT NULL,
              state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
              attempts INTEGER NOT NULL, next_at REAL NOT NULL, last_error TEXT, delivered_at REAL,
              UNIQUE (alert_id, receiver));
            CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_at);
            CREATE TABLE IF NOT EXISTS silences (
              id INTEGER PRIMARY KEY, matchers TEXT NOT NULL, starts_at REAL NOT NULL, ends_at REAL NOT NULL,
              created_by TEXT NOT NULL, comment TEXT NOT NULL, created_at REAL NOT NULL);
            PRAGMA user_version = \(version);
            COMMIT;
            """)
    }
}
