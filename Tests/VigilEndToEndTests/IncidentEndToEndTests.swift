// End-to-end tests of the incident desk: log lines through the real daemon open incidents in
// the real state file; `vigil incidents` (on the file and over the daemon's HTTP API) assesses,
// grades, moves and reports them; a loopback receiver gets the re-notifications.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The guide's drug-X case: a false claim that drug X killed patients in clinical trials.
func drugXOutput(_ id: String, user: String = "u-1") -> String {
    gateway(id, "output", "网传药物X在临床试验中导致多名患者死亡，副作用严重，建议立即停用。")
        .replacingOccurrences(of: "\"u-1\"", with: "\"\(user)\"")
}

/// A daemon configuration with an `incidents:` block and, when asked, the HTTP API.
func incidentConfig(
    _ tmp: TempDir, importance: String, receiver: WebhookReceiver? = nil, port: UInt16? = nil, token: String = "t0ken"
) throws -> URL {
    var yaml = try String(contentsOf: try daemonConfig(tmp, receiver: receiver), encoding: .utf8)
    yaml += """
        incidents:
          services:
            - name: chat
              importance: \(importance)
              sources: [gateway]

        """
    if let port {
        yaml += """
            http:
              listen: 127.0.0.1:\(port)
              token: \(token)

            """
    }
    return try tmp.write("vigil.yaml", Data(yaml.utf8))
}

/// `vigil incidents list --json` on the configuration's state file.
func listedIncidents(_ config: URL) throws -> [[String: Any]] {
    let run = try vigil(["incidents", "list", "--config", config.path, "--json"])
    guard run.status == 0 else { return [] }
    let o = (try? JSONSerialization.jsonObject(with: run.stdout)) as? [String: Any]
    return o?["incidents"] as? [[String: Any]] ?? []
}

func shownIncident(_ config: URL, _ id: Int) throws -> [String: Any] {
    let run = try vigil(["incidents", "show", String(id), "--config", config.path, "--json"])
    return (try? JSONSerialization.jsonObject(with: run.stdout)) as? [String: Any] ?? [:]
}

@Suite("incident desk", .serialized, .timeLimit(.minutes(5)))
struct IncidentDeskEndToEndTests {
    @Test func discriminationCaseBecomesALevelFourIncidentInTheFilingReport() throws {
        try TempDir.with { tmp in
            let config = try incidentConfig(tmp, importance: "ordinary")
            let daemon = try DaemonProcess(config: config, dir: tmp.url)
            defer { daemon.stop() }
            try append(tmp.path("logs/app.jsonl"), [harmless("h-1"), riskyOutput("d-1")])
            var incident: [String: Any] = [:]
            #expect(
                try eventually {
                    incident = try listedIncidents(config).first ?? [:]
                    return incident["level"] != nil
                }, "\(daemon.err)")
            #expect(incident["class"] as? String == "content")
            #expect(incident["subtype"] as? String == "discrimination")
            #expect(incident["risks"] as? [String] == ["A.2.e"])
            #expect(incident["importance"] as? String == "ordinary")
            #expect(incident["social_harm"] as? String == "ordinary")
            #expect(incident["level"] as? Int == 4)
            #expect(incident["service"] as? String == "chat")
            let id = try #require(incident["id"] as? Int)
            let now = Date().timeIntervalSince1970
            let filing = try vigil([
                "incidents", "report", "--kind", "filing", "--format", "json", "--config", config.path,
                "--from", String(Int(now - 86400)), "--to", String(Int(now + 86400)),
            ])
            #expect(filing.status == 0, "\(filing.err)")
            let filed = ((try? JSONSerialization.jsonObject(with: filing.stdout)) as? [String: Any])?["incidents"]
            #expect((filed as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [id])
            let text = try vigil([
                "incidents", "report", "--kind", "filing", "--config", config.path, "--from", String(Int(now - 86400)),
            ])
            #expect(text.out.contains("四级") && text.out.contains("歧视性信息生成"))
        }
    }

    @Test func drugXCaseIsLevelTwoFiresItsPlanAndClosesOnlyAfterReviewAndVerification() throws {
        try TempDir.with { tmp in
            let receiver = try WebhookReceiver()
            defer { receiver.stop() }
            let port = freePort()
            let config = try incidentConfig(tmp, importance: "important", receiver: receiver, port: port)
            let daemon = try DaemonProcess(config: config, dir: tmp.url)
            defer { daemon.stop() }
            let api = "http://127.0.0.1:\(port)"
            #expect(eventually { http("GET", api + "/readyz").status == 200 }, "\(daemon.err)")
            try append(tmp.path("logs/app.jsonl"), [gateway("x-1", "input", "药物X安全吗？"), drugXOutput("x-1")])
            var incident: [String: Any] = [:]
            #expect(
                try eventually {
                    incident = try listedIncidents(config).first { $0["subtype"] as? String == "false-harmful" } ?? [:]
                    return incident["level"] != nil
                }, "\(daemon.err)")
            #expect(incident["class"] as? String == "content")
            #expect((incident["risks"] as? [String])?.contains("A.1.g") == true)
            #expect(incident["level"] as? Int == 4)  // important service, nothing assessed yet
            let id = try #require(incident["id"] as? Int)
            // The duty officer assesses social harm as serious, over the daemon's API.
            let remote = ["--config", config.path, "--api", api, "--actor", "duty-officer"]
            let assess = try vigil(
                [
                    "incidents", "assess", String(id), "--social-harm", "serious", "--reason",
                    "reposted on two platforms",
                ]
                    + remote)
            #expect(assess.status == 0, "\(assess.err)")
            #expect(assess.out.contains("level 2"))
            // The level change re-notifies on-call, and the level-2 plan runs (a dry run).
            #expect(
                eventually {
                    receiver.accepted.contains {
                        ($0.json?["alert"] as? [String: Any])?["rule"] as? String == "incident_level_changed"
                    }
                }, "\(daemon.err)")
            var shown: [String: Any] = [:]
            #expect(
                try eventually {
                    shown = try shownIncident(config, id)
                    let actions = shown["actions"] as? [[String: Any]] ?? []
                    return actions.count == 3 && actions.allSatisfy { $0["state"] as? String == "done" }
                }, "\(daemon.err)")
            let actions = shown["actions"] as? [[String: Any]] ?? []
            #expect(actions.allSatisfy { $0["dry_run"] as? Bool == true && $0["level"] as? Int == 2 })
            #expect(
                Set(actions.compactMap { $0["action"] as? String }) == [
                    "restrict_topic", "restricted_mode", "take_offline",
                ])
            #expect((shown["incident"] as? [String: Any])?["went_offline"] as? Bool == true)
            let audit = shown["audit"] as? [[String: Any]] ?? []
            #expect(
                audit.contains { $0["actor"] as? String == "duty-officer" && $0["action"] as? String == "assessed" })
            // Along the lifecycle; closing needs the online review and the verification.
            let local = ["--config", config.path, "--actor", "incident-lead"]
            for state in ["confirmed", "contained", "recovering", "verifying"] {
                let moved = try vigil(["incidents", "transition", String(id), state, "--reason", "plan step"] + local)
                #expect(moved.status == 0, "\(moved.err)")
            }
            let early = try vigil(
                [
                    "incidents", "transition", String(id), "closed", "--application", "fixed and retested",
                    "--verification", "300 should-refuse questions refused at 99%", "--evidence", "retest-report.html",
                ] + local)
            #expect(early.status == 2)
            #expect(early.err.contains("online review"))
            #expect((try shownIncident(config, id)["incident"] as? [String: Any])?["state"] as? String == "verifying")
            let closed = try vigil(
                [
                    "incidents", "transition", String(id), "closed", "--application", "fixed and retested",
                    "--verification", "300 should-refuse questions refused at 99%", "--evidence", "retest-report.html",
                    "--online-review", "approved by the review board", "--reason", "back online",
                ] + local)
            #expect(closed.status == 0, "\(closed.err)")
            let cases = try vigil(["incidents", "cases", "--json", "--search", "A.1.g"] + local)
            let found = ((try? JSONSerialization.jsonObject(with: cases.stdout)) as? [String: Any])?["cases"]
            #expect((found as? [[String: Any]])?.compactMap { $0["incident"] as? Int } == [id])
            let report = try vigil(["incidents", "report", String(id), "--format", "html", "--lang", "en"] + local)
            #expect(report.out.contains("take_offline") && report.out.contains("online_review"))
        }
    }

    @Test func aRestartMidIncidentKeepsEveryIncidentCountAndAuditEntry() throws {
        try TempDir.with { tmp in
            let config = try incidentConfig(tmp, importance: "ordinary")
            let log = tmp.path("logs/app.jsonl")
            var daemon = try DaemonProcess(config: config, dir: tmp.url)
            try append(log, [riskyOutput("r-1"), riskyOutput("r-2"), riskyOutput("r-3")])
            #expect(
                try eventually { (try listedIncidents(config).first?["occurrences"] as? Int) == 3 }, "\(daemon.err)")
            let note = try vigil(["incidents", "note", "1", "--kind", "cause", "prompt drift", "--config", config.path])
            #expect(note.status == 0, "\(note.err)")
            let before = try shownIncident(config, 1)
            daemon.signal(SIGKILL)
            daemon.wait()
            daemon = try DaemonProcess(config: config, dir: tmp.url)
            defer { daemon.stop() }
            try append(log, [riskyOutput("r-4")])
            #expect(
                try eventually { (try listedIncidents(config).first?["occurrences"] as? Int) == 4 }, "\(daemon.err)")
            let after = try shownIncident(config, 1)
            #expect(try listedIncidents(config).count == 1)
            let auditBefore = (before["audit"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
            let auditAfter = (after["audit"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
            #expect(!auditBefore.isEmpty && Array(auditAfter.prefix(auditBefore.count)) == auditBefore)
            #expect((after["notes"] as? [[String: Any]])?.first?["text"] as? String == "prompt drift")
        }
    }

    @Test func theAPIRefusesBadTokensAndMalformedRequestsWithoutChangingAnything() throws {
        try TempDir.with { tmp in
            let port = freePort()
            let config = try incidentConfig(tmp, importance: "ordinary", port: port)
            let daemon = try DaemonProcess(config: config, dir: tmp.url)
            defer { daemon.stop() }
            let api = "http://127.0.0.1:\(port)"
            #expect(eventually { http("GET", api + "/readyz").status == 200 }, "\(daemon.err)")
            try append(tmp.path("logs/app.jsonl"), [riskyOutput("b-1")])
            #expect(try eventually { try listedIncidents(config).count == 1 }, "\(daemon.err)")
            let auth = ["Authorization": "Bearer t0ken", "Content-Type": "application/json"]
            let before = http("GET", api + "/v1/incidents/1", headers: auth).text
            let grade = Data(#"{"level": 1, "reason": "x"}"#.utf8)
            #expect(
                http("POST", api + "/v1/incidents/1/grade", headers: ["Authorization": "Bearer nope"], body: grade)
                    .status == 401)
            #expect(http("GET", api + "/v1/incidents").status == 401)
            let malformed = http("POST", api + "/v1/incidents/1/grade", headers: auth, body: Data("{level: 1".utf8))
            #expect(malformed.status == 400)
            #expect((malformed.json?["error"] as? [String: Any])?["message"] as? String != nil)
            #expect(http("POST", api + "/v1/incidents/77/grade", headers: auth, body: grade).status == 404)
            let invalid = http(
                "POST", api + "/v1/incidents/1/transition", headers: auth, body: Data(#"{"to": "closed"}"#.utf8))
            #expect(invalid.status == 409)
            #expect(http("GET", api + "/v1/incidents/1", headers: auth).text == before)
            let bad = try vigil([
                "incidents", "grade", "1", "--level", "1", "--reason", "x", "--config", config.path, "--api", api,
                "--token-file", "/nonexistent",
            ])
            #expect(bad.status == 2)
            let page = http("GET", api + "/v1/incidents?limit=1", headers: auth).json
            #expect(page?["total"] as? Int == 1)
            let metrics = http("GET", api + "/metrics").text
            #expect(metrics.contains("vigil_incidents_open{level=\"4\"} 1"))
            #expect(metrics.contains("vigil_incident_desk_lag_alerts 0"))
        }
    }

    @Test func aLiveWebhookActionReachesTheGatewayAndIsRecorded() throws {
        try TempDir.with { tmp in
            let gatewayAdmin = try WebhookReceiver()
            defer { gatewayAdmin.stop() }
            var yaml = try String(contentsOf: try incidentConfig(tmp, importance: "ordinary"), encoding: .utf8)
            yaml += """
                  plans:
                    dry_run: false
                    actions:
                      block_principal:
                        webhook: \(gatewayAdmin.url)
                        headers: {X-Token: admin-secret}

                """
            let config = try tmp.write("vigil.yaml", Data(yaml.utf8))
            let daemon = try DaemonProcess(config: config, dir: tmp.url)
            defer { daemon.stop() }
            try append(tmp.path("logs/app.jsonl"), [riskyOutput("w-1")])
            #expect(try eventually { try listedIncidents(config).count == 1 }, "\(daemon.err)")
            let respond = try vigil([
                "incidents", "respond", "1", "--reason", "user keeps asking", "--config", config.path,
            ])
            #expect(respond.status == 0, "\(respond.err)")
            #expect(respond.out.contains("block_principal"))
            // The CLI runs what it asked for; the daemon's desk may claim it first.
            #expect(eventually(10) { !gatewayAdmin.accepted.isEmpty })
            let call = try #require(gatewayAdmin.accepted.first)
            #expect(call.headers["x-token"] == "admin-secret")
            #expect(call.json?["action"] as? String == "block_principal")
            #expect(call.json?["principals"] as? String == "u-1")
            #expect(call.json?["incident"] as? String == "1")
            var actions: [[String: Any]] = []
            #expect(
                try eventually(10) {
                    actions = try shownIncident(config, 1)["actions"] as? [[String: Any]] ?? []
                    return actions.first?["state"] as? String == "done"
                })
            #expect(actions.first?["dry_run"] as? Bool == false)
            #expect((actions.first?["outcome"] as? String)?.hasPrefix("HTTP 200") == true)
        }
    }

    @Test func aSilenceMutesTheDesksNoticesButKeepsThem() throws {
        try TempDir.with { tmp in
            let receiver = try WebhookReceiver()
            defer { receiver.stop() }
            let config = try incidentConfig(tmp, importance: "ordinary", receiver: receiver)
            let daemon = try DaemonProcess(config: config, dir: tmp.url)
            defer { daemon.stop() }
            try append(tmp.path("logs/app.jsonl"), [riskyOutput("s-1")])
            #expect(try eventually { try listedIncidents(config).count == 1 }, "\(daemon.err)")
            let silence = try vigil([
                "silences", "add", "--config", config.path, "--match", "rule=incident_level_changed", "--for", "1h",
            ])
            #expect(silence.status == 0, "\(silence.err)")
            let grade = try vigil([
                "incidents", "grade", "1", "--level", "3", "--reason", "wider", "--config", config.path,
            ])
            #expect(grade.status == 0, "\(grade.err)")
            var notice: [String: Any]?
            #expect(
                try eventually {
                    let run = try vigil(["alerts", "--json", "--config", config.path])
                    notice = run.out.split(separator: "\n").compactMap {
                        (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
                    }.first { $0["rule"] as? String == "incident_level_changed" }
                    return notice != nil
                }, "\(daemon.err)")
            #expect(notice?["silenced_by"] != nil)
            #expect((notice?["labels"] as? [String: String])?["level"] == "3")
            usleep(500_000)
            #expect(
                !receiver.accepted.contains {
                    ($0.json?["alert"] as? [String: Any])?["rule"] as? String == "incident_level_changed"
                })
            #expect(
                receiver.accepted.contains {
                    ($0.json?["alert"] as? [String: Any])?["rule"] as? String == "content_risk"
                })
        }
    }
}
