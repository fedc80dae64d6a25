import Foundation
import Testing

@testable import VigilMonitor
@testable import VigilNotify
@testable import VigilState

func delivery(_ id: Int64, rule: String = "content_risk", labels: [String: String] = [:]) -> StateStore.Delivery {
    let alert = Alert(
        key: "k\(id)", rule: rule, severity: .warning, subtype: .discrimination, summary: "summary \(id)",
        labels: labels, excerpt: "excerpt \(id)", observedAt: 1_700_000_000)
    return StateStore.Delivery(
        id: id, receiver: "r", attempts: 0,
        alert: StateStore.StoredAlert(id: id, alert: alert, createdAt: 1_700_000_000))
}

@Suite struct NotifyTests {
    @Test func robotSignaturesMatchTheVendorsSchemes() {
        // Computed independently with python3's hmac, hashlib, base64 and urllib.
        #expect(
            Notification.dingTalkSign(secret: "SEC123", timestamp: "1700000000000")
                == "lkcPI1uoxBY1gUnCnnPH1Kkru0Hqjo7rFpA3haIVhEQ%3D")
        #expect(
            Notification.feishuSign(secret: "SEC123", timestamp: "1700000000")
                == "j/tImR0k8vYXRsYw0+GHVQkV1v/J/8obOuMU7PE/KDo=")
    }

    @Test func robotAnswersAreReadFromTheirBodies() {
        #expect(Notification.robotVerdict(.dingtalk, body: Array(#"{"errcode":0,"errmsg":"ok"}"#.utf8)) == .delivered)
        #expect(Notification.robotVerdict(.feishu, body: Array(#"{"code":0,"msg":"success"}"#.utf8)) == .delivered)
        #expect(Notification.robotVerdict(.feishu, body: Array(#"{"StatusCode":0}"#.utf8)) == .delivered)
        if case .retry = Notification.robotVerdict(
            .dingtalk, body: Array(#"{"errcode":130101,"errmsg":"send too fast"}"#.utf8))
        {
        } else {
            Issue.record("a rate-limited message is retried")
        }
        if case .give(let why) = Notification.robotVerdict(
            .wecom, body: Array(#"{"errcode":93000,"errmsg":"invalid webhook url"}"#.utf8))
        {
            #expect(why.contains("93000"))
        } else {
            Issue.record("a rejected message is not retried")
        }
        if case .give = Notification.robotVerdict(.wecom, body: Array("<html>".utf8)) {
        } else {
            Issue.record("an answer without an error code is not success")
        }
    }

    @Test func aDigestStaysWithinTheRobotsLimit() {
        let many = (1...200).map { delivery(Int64($0), labels: ["request_id": "r\($0)"]) }
        let receiver = Receiver(name: "w", kind: .wecom, url: "http://127.0.0.1/")
        let (title, text) = Notification.robotText(many, receiver)
        #expect(title == "Vigil: 200 alerts")
        #expect(text.utf8.count <= 4000)
        #expect(text.contains("more (vigil alerts lists them all)"))
        #expect(text.contains("request: r1;"))
    }

    @Test func templatesFillFieldsAndLabels() {
        let d = delivery(7, labels: ["user_id": "u9"])
        #expect(
            MessageTemplate.render("{{severity}}|{{rule}}|{{labels.user_id}}|{{labels.none}}|{{nope}}|{{id}}", d.alert)
                == "warning|content_risk|u9|||7")
        #expect(MessageTemplate.render("unclosed {{summary", d.alert) == "unclosed {{summary")
    }

    @Test func groupingByLabels() {
        let ds = [
            delivery(1, labels: ["signal": "A"]), delivery(2, rule: "input_attack", labels: ["signal": "A"]),
            delivery(3, labels: ["signal": "A"]), delivery(4, labels: ["signal": "B"]),
        ]
        #expect(OutboxDispatcher.groups(ds, by: []).map { $0.map(\.id) } == [[1], [2], [3], [4]])
        #expect(OutboxDispatcher.groups(ds, by: ["rule"]).map { $0.map(\.id) } == [[1, 3, 4], [2]])
        #expect(OutboxDispatcher.groups(ds, by: ["rule", "signal"]).map { $0.map(\.id) } == [[1, 3], [2], [4]])
    }

    @Test func alertmanagerVersion4Payload() throws {
        let receiver = Receiver(name: "am", kind: .alertmanager, url: "http://127.0.0.1/", groupBy: ["rule"])
        let request = Notification.request(
            for: [delivery(1, labels: ["signal": "A"]), delivery(2, labels: ["signal": "B"])], receiver: receiver,
            now: 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        #expect(json["version"] as? String == "4")
        #expect(json["groupLabels"] as? [String: String] == ["rule": "content_risk"])
        #expect((json["commonLabels"] as? [String: String])?["signal"] == nil, "differing labels are not common")
        #expect((json["alerts"] as? [[String: Any]])?.count == 2)
        #expect(json["groupKey"] as? String == #"{}:{rule="content_risk"}"#)
    }

    @Test func kindDefaults() {
        let robot = Receiver(name: "d", kind: .dingtalk, url: "http://127.0.0.1/")
        #expect(robot.maxPerMinute == 20 && robot.groupBy == ["rule", "signal"] && robot.groupWait == 5)
        let hook = Receiver(name: "h", url: "http://127.0.0.1/")
        #expect(hook.maxPerMinute == 0 && hook.groupBy.isEmpty && hook.groupWait == 0)
    }
}
