import Crypto
import Foundation
import VigilMonitor
import VigilState

/// An HTTP request ready to send: body and headers, signed when the receiver has a secret.
public struct OutgoingRequest: Sendable, Equatable {
    public var url: String
    public var headers: [String: String]
    public var body: [UInt8]
    /// POST for every delivery; the CLI also sends GET to the daemon's API.
    public var method = "POST"

    public init(url: String, headers: [String: String], body: [UInt8], method: String = "POST") {
        self.url = url
        self.headers = headers
        self.body = body
        self.method = method
    }
}

/// Vigil's generic webhook: one alert per request, as JSON.
///
/// Signature: `X-Vigil-Signature: sha256=HEX`, the HMAC-SHA256 with the receiver's secret of
/// the `X-Vigil-Timestamp` value (Unix seconds), a full stop, and the raw body. A receiver
/// recomputes it and rejects stale timestamps to stop replays. `X-Vigil-Alert-Key` is the same
/// for every delivery of one alert: a receiver that saw it before can drop the repeat (an
/// alert is delivered at least once; a crash between sending and recording can repeat it).
public enum WebhookPayload {
    public static let version = "1"

    public static func request(for delivery: StateStore.Delivery, receiver: Receiver, now: Double) -> OutgoingRequest {
        let stored = delivery.alert
        let a = stored.alert
        var alert = a.jsonObject
        alert["id"] = stored.id
        alert["observed_at"] = iso8601(a.observedAt)
        alert["raised_at"] = iso8601(stored.createdAt)
        let object: [String: Any] = [
            "version": version, "receiver": receiver.name, "delivery": delivery.id, "attempt": delivery.attempts + 1,
            "alert": alert,
        ]
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { Array($0) } ?? []
        return signed(body, receiver: receiver, now: now, key: a.key)
    }

    /// Several alerts in one request (a group, or a digest of a burst): `alerts` instead of
    /// `alert`, signed the same way. The alert key header is absent; each alert carries its key.
    public static func request(group: [StateStore.Delivery], receiver: Receiver, now: Double) -> OutgoingRequest {
        let alerts = group.map { d -> [String: Any] in
            var alert = d.alert.alert.jsonObject
            alert["id"] = d.alert.id
            alert["observed_at"] = iso8601(d.alert.alert.observedAt)
            alert["raised_at"] = iso8601(d.alert.createdAt)
            return alert
        }
        let object: [String: Any] = [
            "version": version, "receiver": receiver.name, "deliveries": group.map(\.id), "alerts": alerts,
        ]
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { Array($0) } ?? []
        return signed(body, receiver: receiver, now: now, key: nil)
    }

    static func signed(_ body: [UInt8], receiver: Receiver, now: Double, key: String?) -> OutgoingRequest {
        let timestamp = String(Int(now))
        var headers = receiver.headers
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = "vigil"
        headers["X-Vigil-Timestamp"] = timestamp
        if let key { headers["X-Vigil-Alert-Key"] = key }
        if let secret = receiver.secret, !secret.isEmpty {
            headers["X-Vigil-Signature"] = "sha256=" + signature(secret: secret, timestamp: timestamp, body: body)
        }
        return OutgoingRequest(url: receiver.url, headers: headers, body: body)
    }

    /// Hex HMAC-SHA256 of `timestamp + "." + body` under `secret`.
    public static func signature(secret: String, timestamp: String, body: [UInt8]) -> String {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: Array(secret.utf8)))
        mac.update(data: Array(timestamp.utf8) + [0x2E])
        mac.update(data: body)
        return mac.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func iso8601(_ t: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: t))
    }
}
