import Foundation
import Testing
import VigilDecode
import VigilScan

@testable import VigilDaemon
@testable import VigilMonitor
@testable import VigilNotify

@Suite struct ContentAlertTests {
    let origin = RecordOrigin(source: "g", position: "1:2@0", location: "x, byte 0")

    func findings(_ direction: Direction) -> TextFindings {
        var f = TextFindings(direction: direction)
        f.requestID = "r-1"
        f.risks = [.init(signal: "A.1.g", rule: "risks.a1g.kw", excerpt: "药物X")]
        f.attacks = [.init(signal: "sqli", rule: "attacks.sqli", excerpt: "' OR 1=1")]
        f.pii = [.init(signal: "cn_id", rule: "pii.cn_id", excerpt: "11**************2X")]
        return f
    }

    @Test func originsJoinTheirTextOnlyWhenAsked() {
        let file = RecordOrigin(source: "f", positionBase: "1:2@", locationBase: "app.jsonl, byte ", index: 2190)
        #expect(file.position == "1:2@2190" && file.location == "app.jsonl, byte 2190")
        let posted = RecordOrigin(source: "h", positionBase: "http", locationBase: "posted batch, line ").numbered(3)
        #expect(posted.position == "http" && posted.location == "posted batch, line 3")
        #expect(file.numbered(4).location == "app.jsonl, byte 21904")
    }

    @Test func outputsRaiseContentAndLeakAlerts() {
        let alerts = ContentAlerts().alerts(for: findings(.output), origin: origin, observedAt: 1)
        #expect(alerts.map(\.rule) == ["content_risk", "data_leak"])
        #expect(alerts[0].subtype == .falseHarmful && alerts[0].severity == .critical)
        #expect(alerts[1].subtype == .leak && alerts[1].excerpt == "11**************2X")
        #expect(alerts[0].labels["request_id"] == "r-1")
        #expect(Set(alerts.map(\.key)).count == 2)
    }

    @Test func inputsRaiseAttackAlertsOnly() {
        let alerts = ContentAlerts().alerts(for: findings(.input), origin: origin, observedAt: 1)
        #expect(alerts.map(\.rule) == ["input_attack"])
        #expect(alerts[0].subtype == .vulnerabilityExploit)
    }

    @Test func disabledRulesRaiseNothing() {
        var rules = ContentAlerts()
        rules.enabled = ["data_leak"]
        #expect(rules.alerts(for: findings(.output), origin: origin, observedAt: 1).map(\.rule) == ["data_leak"])
    }

    @Test func deliveryVerdicts() {
        #expect(OutboxDispatcher.verdict(.answered(status: 204, body: [])) == .delivered)
        #expect(OutboxDispatcher.verdict(.answered(status: 503, body: [])) == .retry("HTTP 503"))
        #expect(OutboxDispatcher.verdict(.answered(status: 429, body: [])) == .retry("HTTP 429"))
        #expect(OutboxDispatcher.verdict(.failed("refused")) == .retry("refused"))
        if case .give = OutboxDispatcher.verdict(.answered(status: 404, body: Array("no".utf8))) {
        } else {
            Issue.record("a 404 is not retried")
        }
        let d = OutboxDispatcher(receiver: Receiver(name: "r", url: "http://127.0.0.1:1/"), statePath: "/nonexistent")
        d.maxBackoff = 60
        #expect((0.8...1.2).contains(d.backoff(after: 1)))
        #expect((6.4...9.6).contains(d.backoff(after: 4)))
        #expect(d.backoff(after: 30) <= 72)
    }

    @Test func signatureIsHMACOverTimestampDotBody() {
        // Computed independently: python3 hmac.new(b"k", b'1700000000.{"a":1}', sha256).
        #expect(
            WebhookPayload.signature(secret: "k", timestamp: "1700000000", body: Array(#"{"a":1}"#.utf8))
                == "1b6ad1bc9bf48c52ce01939866d5877c6cc4e87ddad27e16673cb8c4964394a3")
    }
}

@Suite struct ConfigTests {
    @Test func readsEveryKey() throws {
        let c = try ConfigLoader().parse(
            """
            state_dir: st
            rules: [r1, /abs/r2]
            max_line_bytes: 4096
            poll_interval: 0.1
            print_alerts: json
            outbox: {max_backoff: 30}
            alerts:
              data_leak: {enabled: false}
            sources:
              - {name: gw, type: file, paths: ["logs/*.jsonl"], format: openai-exchange, start_at: end}
              - {name: pipe, type: stdin, format: plain, direction: input}
            receivers:
              - {name: oncall, type: webhook, url: "https://example.com/h", secret: abc, timeout: 3, headers: {X-A: b}}
            """, file: "/etc/vigil/vigil.yaml")
        #expect(c.stateDirectory == "/etc/vigil/st")
        #expect(c.ruleDirectories == ["/etc/vigil/r1", "/abs/r2"])
        #expect(c.maxLineBytes == 4096 && c.pollInterval == 0.1 && c.printAlerts == "json" && c.maxBackoff == 30)
        #expect(c.disabledAlerts == ["data_leak"])
        #expect(c.sources.map(\.name) == ["gw", "pipe"])
        #expect(c.sources[0].paths == ["/etc/vigil/logs/*.jsonl"] && c.sources[0].startAtEnd)
        #expect(c.sources[1].format == .plain(.input))
        #expect(
            c.receivers == [
                Receiver(name: "oncall", url: "https://example.com/h", secret: "abc", timeout: 3, headers: ["X-A": "b"])
            ])
        #expect(c.statePath == "/etc/vigil/st/vigil.db")
    }

    @Test func alertRulesTakeSeverityAndClass() throws {
        let c = try ConfigLoader().parse(
            """
            alerts:
              principal_polling: {severity: critical, subtype: denial-of-service}
              traffic_drop: {enabled: false}
            """, file: "a.yaml")
        #expect(c.alertPolicies["principal_polling"] == AlertPolicy(severity: .critical, subtype: .denialOfService))
        #expect(c.disabledAlerts == ["traffic_drop"])
        var alert = Alert(
            key: "k", rule: "principal_polling", severity: .warning, subtype: .socialEngineering, summary: "",
            labels: [:], observedAt: 0)
        c.alertPolicies["principal_polling"]?.apply(to: &alert)
        #expect(alert.severity == .critical && alert.incidentClass == .attack && alert.subtype == .denialOfService)
        do {
            _ = try ConfigLoader().parse(
                "alerts:\n  data_leak: {severity: loud, subtype: nope}\n  made_up: {}\n", file: "b.yaml")
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("b.yaml:2: alerts.data_leak.severity must be info, warning or critical"))
            #expect(error.description.contains("b.yaml:2: alerts.data_leak.subtype must be one of"))
            #expect(error.description.contains("b.yaml:3: unknown key 'made_up' in alerts"))
        }
    }

    @Test func reportsEveryProblemWithItsLine() {
        do {
            _ = try ConfigLoader().parse(
                """
                sources:
                  - name: a
                    type: file
                  - name: a
                    type: stdin
                    format: nope
                print_alerts: loud
                """, file: "c.yaml")
            Issue.record("an invalid configuration was accepted")
        } catch {
            let text = error.description
            #expect(text.contains("c.yaml:2: file source 'a' needs paths"), "\(text)")
            #expect(text.contains("c.yaml:6: unknown format 'nope'"), "\(text)")
            #expect(text.contains("c.yaml:7: print_alerts must be text, json or none"), "\(text)")
        }
    }
}
