import Crypto
import Foundation
import VigilState

/// One message to a receiver, carrying one or more alerts, in the receiver's format.
public enum Notification {
    /// The request for `deliveries` (one group, or a digest of several).
    public static func request(for deliveries: [StateStore.Delivery], receiver: Receiver, now: Double)
        -> OutgoingRequest
    {
        switch receiver.kind {
        case .webhook:
            if deliveries.count == 1 { return WebhookPayload.request(for: deliveries[0], receiver: receiver, now: now) }
            return WebhookPayload.request(group: deliveries, receiver: receiver, now: now)
        case .alertmanager: return alertmanager(deliveries, receiver, now)
        case .dingtalk, .feishu, .wecom: return robot(deliveries, receiver, now)
        }
    }

    // MARK: Alertmanager (webhook payload version 4)

    static func alertmanager(_ deliveries: [StateStore.Delivery], _ receiver: Receiver, _ now: Double)
        -> OutgoingRequest
    {
        let alerts = deliveries.map(\.alert)
        let labelSets = alerts.map { labels(of: $0) }
        var common = labelSets.first ?? [:]
        for set in labelSets.dropFirst() { common = common.filter { set[$0.key] == $0.value } }
        let groupLabels = Dictionary(
            uniqueKeysWithValues: receiver.groupBy.compactMap { k in common[k].map { (k, $0) } })
        let groupKey =
            "{}:{" + groupLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ", ")
            + "}"
        let body: [String: Any] = [
            "version": "4", "groupKey": groupKey, "truncatedAlerts": 0, "status": "firing", "receiver": receiver.name,
            "groupLabels": groupLabels, "commonLabels": common, "commonAnnotations": [String: String](),
            "externalURL": "",
            "alerts": zip(alerts, labelSets).map { stored, labels -> [String: Any] in
                var annotations = ["summary": stored.alert.summary]
                if let e = stored.alert.excerpt { annotations["excerpt"] = e }
                return [
                    "status": "firing", "labels": labels, "annotations": annotations,
                    "startsAt": WebhookPayload.iso8601(stored.alert.observedAt), "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "", "fingerprint": fingerprint(stored.alert.key),
                ]
            },
        ]
        var headers = receiver.headers
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = "vigil"
        return OutgoingRequest(url: receiver.url, headers: headers, body: json(body))
    }

    /// Alertmanager-style labels: `alertname` is the rule; the rest as Vigil has them.
    static func labels(of s: StateStore.StoredAlert) -> [String: String] {
        var l = s.alert.labels
        l["alertname"] = s.alert.rule
        l["severity"] = s.alert.severity.rawValue
        l["incident_class"] = s.alert.incidentClass.rawValue
        l["subtype"] = s.alert.subtype.rawValue
        l["rule"] = s.alert.rule
        return l
    }

    static func fingerprint(_ key: String) -> String {
        SHA256.hash(data: Array(key.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: Group robots

    /// Longest message text each robot takes (bytes, with room to spare).
    static func limit(_ kind: Receiver.Kind) -> Int {
        switch kind {
        case .wecom: return 4000
        case .dingtalk: return 18_000
        default: return 30_000
        }
    }

    /// The message text: one alert as the template says, or a digest that lists them all,
    /// cut at the robot's size limit with a count of what was left out.
    public static func robotText(_ deliveries: [StateStore.Delivery], _ receiver: Receiver) -> (
        title: String, text: String
    ) {
        let template = receiver.template ?? MessageTemplate.standard
        let parts = deliveries.map { MessageTemplate.render(template, $0.alert) }
        let title =
            deliveries.count == 1
            ? "Vigil: \(deliveries[0].alert.alert.summary)"
            : "Vigil: \(deliveries.count) alerts"
        var text = deliveries.count == 1 ? "" : "**Vigil: \(deliveries.count) alerts**\n\n"
        let budget = limit(receiver.kind) - 200
        for (n, part) in parts.enumerated() {
            if text.utf8.count + part.utf8.count > budget {
                text += "\n… and \(parts.count - n) more (vigil alerts lists them all)"
                break
            }
            text += part + "\n\n"
        }
        return (title, text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func robot(_ deliveries: [StateStore.Delivery], _ receiver: Receiver, _ now: Double) -> OutgoingRequest {
        let (title, text) = robotText(deliveries, receiver)
        var url = receiver.url
        var body: [String: Any]
        switch receiver.kind {
        case .dingtalk:
            body = ["msgtype": "markdown", "markdown": ["title": title, "text": text]]
            if let secret = receiver.secret, !secret.isEmpty {
                let timestamp = String(Int64(now * 1000))
                let sign = dingTalkSign(secret: secret, timestamp: timestamp)
                url += (url.contains("?") ? "&" : "?") + "timestamp=\(timestamp)&sign=\(sign)"
            }
        case .feishu:
            body = ["msg_type": "text", "content": ["text": text]]
            if let secret = receiver.secret, !secret.isEmpty {
                let timestamp = String(Int64(now))
                body["timestamp"] = timestamp
                body["sign"] = feishuSign(secret: secret, timestamp: timestamp)
            }
        default:
            body = ["msgtype": "markdown", "markdown": ["content": text]]
        }
        var headers = receiver.headers
        headers["Content-Type"] = "application/json; charset=utf-8"
        headers["User-Agent"] = "vigil"
        return OutgoingRequest(url: url, headers: headers, body: json(body))
    }

    /// DingTalk: Base64 of HMAC-SHA256 under the secret of `timestamp + "\n" + secret`
    /// (timestamp in milliseconds), URL-encoded.
    public static func dingTalkSign(secret: String, timestamp: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array((timestamp + "\n" + secret).utf8), using: SymmetricKey(data: Array(secret.utf8)))
        let base64 = Data(mac).base64EncodedString()
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return base64.addingPercentEncoding(withAllowedCharacters: allowed) ?? base64
    }

    /// Feishu: Base64 of HMAC-SHA256 whose *key* is `timestamp + "\n" + secret` (seconds) over
    /// an empty message.
    public static func feishuSign(secret: String, timestamp: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: [UInt8](), using: SymmetricKey(data: Array((timestamp + "\n" + secret).utf8)))
        return Data(mac).base64EncodedString()
    }

    /// Whether a robot's answer (HTTP 200 either way) accepted the message: its body's error
    /// code is 0. Rate-limit codes are retried; other codes mean the message or the robot is
    /// wrong and are recorded as failed.
    static func robotVerdict(_ kind: Receiver.Kind, body: [UInt8]) -> OutboxDispatcher.Verdict {
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        let code = (object["errcode"] ?? object["code"] ?? object["StatusCode"]) as? Int
        let message = (object["errmsg"] ?? object["msg"] ?? object["StatusMessage"]) as? String ?? ""
        guard let code else {
            return .give("no error code in the answer: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        if code == 0 { return .delivered }
        // DingTalk 130101, WeCom 45009 and 45033, Feishu 11232 and 9499 (too many requests).
        if [130_101, 45009, 45033, 11232, 9499].contains(code) { return .retry("rate limited: \(code) \(message)") }
        return .give("rejected: \(code) \(message)")
    }

    static func json(_ object: [String: Any]) -> [UInt8] {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { Array($0) } ?? []
    }
}
