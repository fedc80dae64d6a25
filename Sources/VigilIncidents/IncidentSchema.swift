import GRDB

/// The incident desk's tables in the daemon's state file, created and upgraded by GRDB's
/// migrator (the migrations applied are listed in `grdb_migrations`). Migrations are never
/// edited once shipped; a change is a new migration.
enum IncidentSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: incidents, audit trail, notes, notices, response actions, cases") { db in
            try db.execute(
                sql: """
                    CREATE TABLE incidents (
                      id INTEGER PRIMARY KEY,
                      grouping_key TEXT NOT NULL,
                      subtype TEXT NOT NULL,
                      incident_class TEXT NOT NULL,
                      risks TEXT NOT NULL DEFAULT '[]',
                      topic TEXT,
                      service TEXT NOT NULL,
                      title TEXT NOT NULL,
                      first_seen REAL NOT NULL,
                      last_seen REAL NOT NULL,
                      occurrences INTEGER NOT NULL DEFAULT 0,
                      affected_users INTEGER NOT NULL DEFAULT 0,
                      assessed TEXT NOT NULL DEFAULT '{}',
                      importance TEXT NOT NULL,
                      business_loss TEXT,
                      business_loss_confirmed INTEGER NOT NULL DEFAULT 0,
                      social_harm TEXT,
                      social_harm_confirmed INTEGER NOT NULL DEFAULT 0,
                      level INTEGER CHECK (level BETWEEN 1 AND 4),
                      level_confirmed INTEGER NOT NULL DEFAULT 0,
                      state TEXT NOT NULL,
                      went_offline INTEGER NOT NULL DEFAULT 0,
                      report_required_at REAL,
                      created_at REAL NOT NULL,
                      updated_at REAL NOT NULL,
                      contained_at REAL,
                      closed_at REAL);
                    CREATE INDEX incidents_by_key ON incidents (grouping_key, last_seen);
                    CREATE INDEX incidents_by_state ON incidents (state, level);

                    -- One row per alert taken in: a replayed alert finds its key here and changes nothing.
                    CREATE TABLE incident_alerts (
                      alert_key TEXT PRIMARY KEY,
                      alert_id INTEGER,
                      incident_id INTEGER NOT NULL REFERENCES incidents(id),
                      rule TEXT NOT NULL,
                      principal TEXT,
                      summary TEXT NOT NULL,
                      excerpt TEXT,
                      observed_at REAL NOT NULL);
                    CREATE INDEX incident_alerts_by_incident ON incident_alerts (incident_id, observed_at);

                    CREATE TABLE incident_principals (
                      incident_id INTEGER NOT NULL REFERENCES incidents(id),
                      principal TEXT NOT NULL,
                      occurrences INTEGER NOT NULL,
                      PRIMARY KEY (incident_id, principal));

                    CREATE TABLE incident_audit (
                      id INTEGER PRIMARY KEY,
                      incident_id INTEGER NOT NULL REFERENCES incidents(id),
                      at REAL NOT NULL,
                      actor TEXT NOT NULL,
                      action TEXT NOT NULL,
                      detail TEXT NOT NULL,
                      reason TEXT);
                    CREATE INDEX incident_audit_by_incident ON incident_audit (incident_id, id);
                    CREATE TRIGGER incident_audit_no_update BEFORE UPDATE ON incident_audit
                      BEGIN SELECT RAISE(ABORT, 'the incident audit trail is append-only'); END;
                    CREATE TRIGGER incident_audit_no_delete BEFORE DELETE ON incident_audit
                      BEGIN SELECT RAISE(ABORT, 'the incident audit trail is append-only'); END;

                    CREATE TABLE incident_notes (
                      id INTEGER PRIMARY KEY,
                      incident_id INTEGER NOT NULL REFERENCES incidents(id),
                      at REAL NOT NULL,
                      actor TEXT NOT NULL,
                      kind TEXT NOT NULL,
                      text TEXT NOT NULL);

                    -- What on-call must hear about (a level change, the immediate-report rule met); the
                    -- daemon turns each into an alert for the receivers and marks it raised.
                    CREATE TABLE incident_notices (
                      id INTEGER PRIMARY KEY,
                      incident_id INTEGER NOT NULL REFERENCES incidents(id),
                      kind TEXT NOT NULL,
                      summary TEXT NOT NULL,
                      created_at REAL NOT NULL,
                      raised_at REAL);

                    CREATE TABLE response_actions (
                      id INTEGER PRIMARY KEY,
                      incident_id INTEGER NOT NULL REFERENCES incidents(id),
                      level INTEGER NOT NULL,
                      action TEXT NOT NULL,
                      state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
                      dry_run INTEGER NOT NULL,
                      requested_by TEXT NOT NULL,
                      requested_at REAL NOT NULL,
                      command TEXT,
                      outcome TEXT,
                      finished_at REAL,
                      UNIQUE (incident_id, level, action, dry_run));

                    -- How far the desk has read the daemon's alerts table.
                    CREATE TABLE desk_cursor (name TEXT PRIMARY KEY, alert_id INTEGER NOT NULL);

                    -- Refusal rate per hot topic over time, sampled by the daemon, for the review report.
                    CREATE TABLE refusal_samples (
                      topic TEXT NOT NULL,
                      at REAL NOT NULL,
                      refused INTEGER NOT NULL,
                      answers INTEGER NOT NULL,
                      PRIMARY KEY (topic, at));

                    CREATE TABLE cases (
                      incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),
                      created_at REAL NOT NULL,
                      summary TEXT NOT NULL,
                      cause TEXT NOT NULL,
                      measures TEXT NOT NULL,
                      lessons TEXT NOT NULL,
                      record TEXT NOT NULL);
                    """)
        }
        return migrator
    }
}
