import Foundation
import Testing
import VigilTaxonomy

@testable import VigilMonitor
@testable import VigilState

func sampleAlert(_ key: String) -> Alert {
    Alert(
        key: key, rule: "content_risk", severity: .warning, subtype: .discrimination, summary: "s",
        labels: ["request_id": key], excerpt: "e", observedAt: 1)
}

@Suite struct StateStoreTests {
    @Test func commitsAlertsOnceAndOwesEachReceiverADelivery() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let store = try StateStore(path: dir.path("v.db"))
        let cp = FileCheckpoint(source: "s", path: "/x", device: 1, inode: 2, fingerprint: [1, 2], offset: 10)
        let first = try store.commit(
            alerts: [sampleAlert("a"), sampleAlert("b")], receivers: ["r1", "r2"], checkpoint: cp, now: 5)
        #expect(first.map(\.alert.key) == ["a", "b"])
        // The same keys again (a replay after a crash) store nothing and owe nothing more.
        var later = cp
        later.offset = 20
        let again = try store.commit(
            alerts: [sampleAlert("b"), sampleAlert("c")], receivers: ["r1", "r2"], checkpoint: later, now: 6)
        #expect(again.map(\.alert.key) == ["c"])
        #expect(try store.recentAlerts().map(\.alert.key) == ["c", "b", "a"])
        #expect(try store.dueDeliveries(receiver: "r1", now: 10).map(\.alert.alert.key) == ["a", "b", "c"])
        #expect(try store.outboxCounts() == ["pending": 6])
        #expect(try store.checkpoints() == [later])
        // A second connection (as a dispatcher has) sees the same state.
        let other = try StateStore(path: dir.path("v.db"))
        #expect(try other.checkpoints() == [later])
        try store.commit(alerts: [], receivers: [], checkpoint: later, forget: true)
        #expect(try store.checkpoints().isEmpty)
    }

    @Test func commitIfFreeStoresNothingWhileAnotherConnectionWrites() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let store = try StateStore(path: dir.path("v.db"))
        let desk = try StateStore(path: dir.path("v.db"))
        let cp = FileCheckpoint(source: "s", path: "/x", device: 1, inode: 2, fingerprint: [1], offset: 10)
        var later = cp
        later.offset = 30
        let positions = [
            StateStore.FilePosition(checkpoint: cp, forget: false),
            StateStore.FilePosition(checkpoint: later, forget: false),
        ]
        try desk.database.execute("BEGIN IMMEDIATE")
        let busy = try store.commitIfFree(alerts: [sampleAlert("a")], receivers: ["r"], positions: positions)
        #expect(busy == nil)
        try desk.database.execute("COMMIT")
        #expect(try store.recentAlerts().isEmpty)
        #expect(try store.checkpoints().isEmpty)
        // Free again: all of it is stored, and the later position of the file wins.
        let stored = try store.commitIfFree(alerts: [sampleAlert("a")], receivers: ["r"], positions: positions)
        #expect(stored?.map(\.alert.key) == ["a"])
        #expect(try store.checkpoints() == [later])
        // A waiting commit still waits its turn rather than failing.
        try desk.database.execute("BEGIN IMMEDIATE")
        nonisolated(unsafe) let holder = desk  // handed over: this thread does not touch it meanwhile
        let release = Thread {
            usleep(50_000)
            try? holder.database.execute("COMMIT")
        }
        release.start()
        #expect(try store.commit(alerts: [sampleAlert("b")], receivers: ["r"]).map(\.alert.key) == ["b"])
    }

    @Test func failedAttemptsWaitAndRejectedOnesStop() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let store = try StateStore(path: dir.path("v.db"))
        try store.commit(alerts: [sampleAlert("a"), sampleAlert("b")], receivers: ["r"], now: 0)
        let due = try store.dueDeliveries(receiver: "r", now: 1)
        try store.markAttemptFailed(due[0].id, error: "HTTP 503", retryAt: 100)
        try store.markAttemptFailed(due[1].id, error: "HTTP 400", retryAt: nil)
        #expect(try store.dueDeliveries(receiver: "r", now: 50).isEmpty)
        #expect(try store.dueDeliveries(receiver: "r", now: 100).map(\.attempts) == [1])
        try store.expediteRetries(receiver: "r", now: 60)
        #expect(try store.dueDeliveries(receiver: "r", now: 60).count == 1)
        try store.markDelivered(due[0].id, at: 61)
        #expect(try store.outboxCounts() == ["delivered": 1, "failed": 1])
        #expect(try store.nextDeliveryTime() == nil)
    }
}

@Suite struct LabelJSONTests {
    @Test func roundTripsAnyText() throws {
        let labels = ["b": "quote \" backslash \\ tab\t nl\n cr\r bell\u{07} esc\u{1B}", "a": "药物X", "": "empty key"]
        let text = StateStore.json(labels)
        #expect(text.hasPrefix(#"{"":"empty key","a":"药物X","b":"#))
        #expect(StateStore.labels(text) == labels)
        #expect(text.contains(#"\u0007"#) && text.contains(#"\u001b"#))
    }

    /// Escapes land anywhere in a value, within and across the sixteen-byte steps of the plain
    /// run scan: Foundation's parser, not ours, reads every value back.
    @Test func escapesAnywhereInLongValues() throws {
        let pool: [Character] = [
            "a", "Z", "7", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{00}", "\u{1F}", "\u{7F}", "药", "😀", "é",
        ]
        var seed: UInt64 = 42
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        for _ in 0..<300 {
            let value = String((0..<next(70)).map { _ in next(4) == 0 ? pool[next(pool.count)] : "x" })
            let text = StateStore.json(["v": value])
            let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
            #expect(parsed == ["v": value], "\(text)")
        }
    }

    /// Labels written by Foundation (older state files) or by hand read as JSON says.
    @Test func readsAnyJSONObjectOfStrings() throws {
        #expect(
            StateStore.labels(#" { "a" : "x\/y" , "b":"\u836f\uD83D\uDE00\b\f" } "#) == [
                "a": "x/y", "b": "药😀\u{08}\u{0C}",
            ])
        #expect(StateStore.labels("{}") == [:])
        #expect(StateStore.labels(#"{"a":"1","a":"2"}"#) == ["a": "2"])
        let foundation = try JSONSerialization.data(withJSONObject: ["k": "v \" \\ \n 药", "z": ""])
        #expect(StateStore.labels(String(decoding: foundation, as: UTF8.self)) == ["k": "v \" \\ \n 药", "z": ""])
        // Not an object of strings: no labels, as before.
        for bad in [#"{"a":1}"#, #"["a"]"#, #"{"a":"b""#, #"{"a":"b"} x"#, "", #"{"a":"\uD83D"}"#] {
            #expect(StateStore.labels(bad) == [:], "\(bad)")
        }
    }
}
