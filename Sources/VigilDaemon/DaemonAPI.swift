import Foundation
import VigilDecode
import VigilIncidents
import VigilMonitor
import VigilServer
import VigilState

/// The HTTP API: `POST /v1/ingest`, `GET /v1/alerts`, `/healthz`, `/readyz`, `/metrics`
/// (docs/API.md).
extension Daemon {
    func handle(_ request: HTTPRequest) -> HTTPResponse {
        switch (request.method, request.path) {
        case ("GET", "/healthz"):
            let (s, _) = status.snapshot
            // The loop publishes four times a second; a stale heartbeat means it is stuck.
            let age = Date().timeIntervalSince1970 - s.heartbeat
            return age < 10 ? .text(200, "ok\n") : .text(503, "the processing loop has not run for \(Int(age)) s\n")
        case ("GET", "/readyz"):
            return status.snapshot.1 ? .text(200, "ready\n") : .text(503, "starting\n")
        case ("GET", "/metrics"):
            return HTTPResponse.text(200, metricsText(), headers: ["Content-Type": PrometheusText.contentType])
        case ("POST", "/v1/ingest"):
            return authorized(request) ?? ingest(request)
        case ("GET", "/v1/alerts"):
            return authorized(request) ?? alerts(request)
        case ("GET", "/v1/silences"), ("POST", "/v1/silences"):
            return authorized(request) ?? silences(request)
        case ("DELETE", let path) where path.hasPrefix("/v1/silences/"):
            return authorized(request) ?? expireSilence(path)
        case (_, let path) where IncidentAPI.serves(path):
            return authorized(request) ?? incidents(request)
        case (_, "/healthz"), (_, "/readyz"), (_, "/metrics"), (_, "/v1/ingest"), (_, "/v1/alerts"),
            (_, "/v1/silences"):
            return .text(405, "method not allowed\n")
        default:
            return .text(404, "no such endpoint; see docs/API.md\n")
        }
    }

    /// nil when the request may proceed; a 401 otherwise.
    private func authorized(_ request: HTTPRequest) -> HTTPResponse? {
        guard let token = config.http?.token, !token.isEmpty else { return nil }
        let given = request.headers["authorization"] ?? ""
        let expected = "Bearer " + token
        // Constant-time comparison: the answer time must not tell how much of a guess was right.
        let a = Array(given.utf8)
        let b = Array(expected.utf8)
        var diff = a.count ^ b.count
        for i in 0..<min(a.count, b.count) { diff |= Int(a[i] ^ b[i]) }
        if diff == 0 { return nil }
        return .text(401, "missing or wrong bearer token\n", headers: ["WWW-Authenticate": "Bearer"])
    }

    /// `/v1/incidents…`, `/v1/reports/…`, `/v1/cases`: the incident desk (docs/INCIDENTS.md).
    private func incidents(_ request: HTTPRequest) -> HTTPResponse {
        guard let api = incidentAPI else {
            return .json(
                404, ["error": ["code": "not_found", "message": "the incident desk is off (incidents.enabled: false)"]])
        }
        let reply = api.handle(
            method: request.method, path: request.path, query: request.query, body: request.body,
            defaultActor: request.headers["x-vigil-actor"] ?? "api")
        // A change may have queued notices or response actions: the desk looks at once.
        if request.method == "POST" { desk?.wake() }
        return HTTPResponse(
            status: reply.status, headers: ["Content-Type": reply.contentType], body: Array(reply.body.utf8))
    }

    private func ingest(_ request: HTTPRequest) -> HTTPResponse {
        let httpSources = config.sources.filter { $0.kind == .http }.map(\.name)
        let source: String
        if let named = request.query["source"] {
            guard httpSources.contains(named) else {
                return .json(404, ["error": "no http source named \(named)", "sources": httpSources])
            }
            source = named
        } else {
            guard httpSources.count == 1 else {
                return .json(
                    400, ["error": "say which source with ?source=NAME", "sources": httpSources])
            }
            source = httpSources[0]
        }
        let batch = LineBatch(splitting: request.body, maxLineBytes: config.maxLineBytes)
        let item = IngestQueue.Item(source: source, batch: batch)
        guard ingest.offer(item) else {
            return .json(429, ["error": "the pipeline is full; retry later"], headers: ["Retry-After": "1"])
        }
        wakeLoop()
        guard item.wait(timeout: 60) else {
            return .json(503, ["error": "not processed within 60 s; retrying is safe"], headers: ["Retry-After": "5"])
        }
        let o = item.outcome
        if let e = o.error { return .json(500, ["error": e]) }
        return .json(200, ["lines": o.lines, "not_decoded": o.notDecoded, "alerts": o.alerts])
    }

    private func alerts(_ request: HTTPRequest) -> HTTPResponse {
        let limit = min(10_000, Int(request.query["limit"] ?? "") ?? 100)
        do {
            let store = try StateStore(path: config.statePath)
            let list = try store.recentAlerts(limit: limit).map { s -> [String: Any] in
                var o = s.alert.jsonObject
                o["id"] = s.id
                o["raised_at"] = s.createdAt
                return o
            }
            return .json(200, ["alerts": list])
        } catch {
            return .json(500, ["error": "\(error)"])
        }
    }

    private func silences(_ request: HTTPRequest) -> HTTPResponse {
        do {
            let store = try StateStore(path: config.statePath)
            let now = Date().timeIntervalSince1970
            if request.method == "GET" {
                let list = try store.silences(now: now, all: request.query["all"] == "true").map { s -> [String: Any] in
                    [
                        "id": s.id, "matchers": s.matchers.map(\.description), "starts_at": s.startsAt,
                        "ends_at": s.endsAt,
                        "created_by": s.createdBy, "comment": s.comment, "active": s.isActive(at: now),
                    ]
                }
                return .json(200, ["silences": list])
            }
            guard let body = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any],
                let texts = body["matchers"] as? [String], !texts.isEmpty
            else {
                return .json(
                    400,
                    ["error": "send {\"matchers\": [\"name=value\", ...], \"duration\": \"2h\", \"comment\": \"...\"}"])
            }
            var matchers: [Silence.Matcher] = []
            for t in texts {
                do { matchers.append(try Silence.Matcher(parsing: t)) } catch {
                    return .json(400, ["error": error.description])
                }
            }
            let seconds =
                (body["duration"] as? String).flatMap(DurationText.seconds) ?? (body["duration"] as? Double) ?? 3600
            let silence = Silence(
                matchers: matchers, startsAt: now, endsAt: (body["ends_at"] as? Double) ?? now + seconds,
                createdBy: body["created_by"] as? String ?? "api", comment: body["comment"] as? String ?? "")
            let id = try store.addSilence(silence, now: now)
            return .json(200, ["id": id, "ends_at": silence.endsAt])
        } catch {
            return .json(500, ["error": "\(error)"])
        }
    }

    private func expireSilence(_ path: String) -> HTTPResponse {
        guard let id = Int64(path.dropFirst("/v1/silences/".count)) else {
            return .json(404, ["error": "no such silence"])
        }
        do {
            return try StateStore(path: config.statePath).expireSilence(id)
                ? .json(200, ["id": id, "expired": true]) : .json(404, ["error": "no running silence \(id)"])
        } catch {
            return .json(500, ["error": "\(error)"])
        }
    }

    func metricsText() -> String {
        let (s, ready) = status.snapshot
        var m = PrometheusText()
        m.family("vigil_up", "gauge", "1 while the daemon runs; ready says whether start-up finished.")
        m.sample("vigil_up", [("ready", ready ? "true" : "false")], 1)
        m.family("vigil_start_time_seconds", "gauge", "When the daemon started (Unix time).")
        m.sample("vigil_start_time_seconds", [], status.startedAt)
        m.family(
            "vigil_caught_up_time_seconds", "gauge",
            "When the daemon last finished all the input it had read (Unix time; 0 before any).")
        m.sample("vigil_caught_up_time_seconds", [], s.caughtUpAt)
        let sources = s.sources.sorted { $0.key < $1.key }
        m.family("vigil_lines_total", "counter", "Lines read, per source.")
        for (name, sum) in sources { m.sample("vigil_lines_total", [("source", name)], Double(sum.lines)) }
        m.family("vigil_bytes_total", "counter", "Bytes read, per source.")
        for (name, sum) in sources { m.sample("vigil_bytes_total", [("source", name)], Double(sum.bytes)) }
        m.family("vigil_records_total", "counter", "Texts scanned, per source and direction.")
        for (name, sum) in sources {
            m.sample("vigil_records_total", [("source", name), ("direction", "input")], Double(sum.inputs))
            m.sample("vigil_records_total", [("source", name), ("direction", "output")], Double(sum.outputs))
        }
        m.family("vigil_decode_errors_total", "counter", "Lines or fields that could not be decoded, by reason.")
        for (name, sum) in sources {
            for (reason, n) in sum.decodeErrors.sorted(by: { $0.key < $1.key }) {
                m.sample("vigil_decode_errors_total", [("source", name), ("reason", reason)], Double(n))
            }
        }
        m.family("vigil_source_lag_bytes", "gauge", "Bytes written to a followed file and not processed yet.")
        for (name, files) in s.lag.sorted(by: { $0.key < $1.key }) {
            for f in files {
                m.sample("vigil_source_lag_bytes", [("source", name), ("path", f.path)], Double(f.bytes))
            }
        }
        m.family("vigil_matches_total", "counter", "Texts with a finding, per kind (risk, attack, pii, topic) and id.")
        var byKind: [String: [String: Int]] = [:]
        for (_, sum) in sources {
            for (id, n) in sum.risks { byKind["risk", default: [:]][id, default: 0] += n }
            for (id, n) in sum.attacks { byKind["attack", default: [:]][id, default: 0] += n }
            for (id, n) in sum.pii { byKind["pii", default: [:]][id, default: 0] += n }
            for (id, n) in sum.topics { byKind["topic", default: [:]][id, default: 0] += n }
        }
        for (kind, ids) in byKind.sorted(by: { $0.key < $1.key }) {
            for (id, n) in ids.sorted(by: { $0.key < $1.key }) {
                m.sample("vigil_matches_total", [("kind", kind), ("id", id)], Double(n))
            }
        }
        m.family("vigil_refusals_total", "counter", "Outputs classified as refusals, per source.")
        for (name, sum) in sources { m.sample("vigil_refusals_total", [("source", name)], Double(sum.refusals)) }
        m.family(
            "vigil_topic_refusal_rate", "gauge",
            "Refused share of answers to hot-topic questions within the tracker's window.")
        m.family("vigil_topic_answers", "gauge", "Answers to hot-topic questions within the tracker's window.")
        for (topic, r) in s.refusalRates.sorted(by: { $0.key < $1.key }) {
            m.sample(
                "vigil_topic_refusal_rate", [("topic", topic)], r.total > 0 ? Double(r.refused) / Double(r.total) : .nan
            )
            m.sample("vigil_topic_answers", [("topic", topic)], Double(r.total))
        }
        m.family("vigil_alerts_total", "counter", "Alerts raised since start, per alert rule.")
        for (rule, n) in s.alertsByRule.sorted(by: { $0.key < $1.key }) {
            m.sample("vigil_alerts_total", [("rule", rule)], Double(n))
        }
        m.family("vigil_alerts_silenced_total", "counter", "Alerts raised since start that a silence muted.")
        m.sample("vigil_alerts_silenced_total", [], Double(s.silenced))
        m.family(
            "vigil_state_commits_deferred_total", "counter",
            "Commits of alerts and file positions put off to the next one because the incident desk was writing.")
        m.sample("vigil_state_commits_deferred_total", [], Double(s.deferredCommits))
        m.family("vigil_correlation_pending", "gauge", "Inputs waiting for their output.")
        m.sample("vigil_correlation_pending", [], Double(s.pendingInputs))
        m.family("vigil_correlation_orphans_total", "counter", "Inputs never answered and outputs without their input.")
        m.sample("vigil_correlation_orphans_total", [("kind", "input")], Double(s.orphanInputs))
        m.sample("vigil_correlation_orphans_total", [("kind", "output")], Double(s.orphanOutputs))
        m.family("vigil_principals_tracked", "gauge", "Principals (user ids, client IPs) the trackers hold.")
        m.sample("vigil_principals_tracked", [], Double(s.principals))
        m.family("vigil_ingest_queue_depth", "gauge", "Posted batches waiting for the processing loop.")
        m.sample("vigil_ingest_queue_depth", [], Double(s.ingestQueue))
        m.family(
            "vigil_outbox_deliveries", "gauge", "Deliveries in the outbox, by state (failed = given up after a 4xx).")
        let stored = metricsState.read()
        let counts = stored?.outbox ?? [:]
        for state in ["pending", "delivered", "failed"] {
            m.sample("vigil_outbox_deliveries", [("state", state)], Double(counts[state] ?? 0))
        }
        m.family("vigil_outbox_attempt_failures_total", "counter", "Delivery attempts that failed, per receiver.")
        for (receiver, n) in deliveryFailures.sorted(by: { $0.key < $1.key }) {
            m.sample("vigil_outbox_attempt_failures_total", [("receiver", receiver)], Double(n))
        }
        if let desk {
            let (taken, opened) = desk.counts
            m.family(
                "vigil_incident_alerts_taken_total", "counter", "Alerts the incident desk has taken in since start.")
            m.sample("vigil_incident_alerts_taken_total", [], Double(taken))
            m.family("vigil_incidents_opened_total", "counter", "Incidents opened since start.")
            m.sample("vigil_incidents_opened_total", [], Double(opened))
        }
        if let api = incidentAPI, let newest = stored?.newestAlertID {
            m.family(
                "vigil_incident_desk_lag_alerts", "gauge", "Alerts stored that the incident desk has not taken in yet.")
            m.sample("vigil_incident_desk_lag_alerts", [], Double(max(0, newest - api.cursor())))
        }
        if let api = incidentAPI {
            m.family("vigil_incidents_open", "gauge", "Open incidents (neither closed nor dismissed), by level.")
            for (level, n) in api.openByLevel().sorted(by: { $0.key < $1.key }) {
                m.sample("vigil_incidents_open", [("level", level)], Double(n))
            }
        }
        m.family("vigil_rule_reloads_total", "counter", "Rule reloads, by result.")
        m.sample("vigil_rule_reloads_total", [("result", "success")], Double(reloads.success))
        m.sample("vigil_rule_reloads_total", [("result", "failure")], Double(reloads.failure))
        return m.text
    }
}

/// Durations as operators write them: 90s, 30m, 2h, 1d (a bare number is seconds).
public enum DurationText {
    public static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let last = text.last else { return nil }
        if let unit = units[last], let n = Double(text.dropLast()), n > 0 { return n * unit }
        if let n = Double(text), n > 0 { return n }
        return nil
    }
}
