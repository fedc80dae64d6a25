import Foundation
import Testing
import VigilIncidents
import VigilTaxonomy

@Suite struct IncidentAPITests {
    func call(
        _ api: IncidentAPI, _ method: String, _ path: String, _ body: String = "", query: [String: String] = [:]
    ) -> (Int, [String: Any]) {
        let r = api.handle(method: method, path: path, query: query, body: Array(body.utf8), defaultActor: "tester")
        return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]) ?? [:])
    }

    func errorCode(_ o: [String: Any]) -> String? { (o["error"] as? [String: Any])?["code"] as? String }

    @Test func clearErrorsThatChangeNothing() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try store.take([contentAlert("a")])
        let api = IncidentAPI(store: store)
        let before = try store.audit(1)
        var (status, o) = call(api, "GET", "/v1/incidents/42")
        #expect(status == 404 && errorCode(o) == "not_found")
        (status, o) = call(api, "POST", "/v1/incidents/1/grade", "{not json")
        #expect(status == 400 && errorCode(o) == "invalid")
        (status, o) = call(api, "POST", "/v1/incidents/1/grade", #"{"level": 7, "reason": "x"}"#)
        #expect(status == 400)
        (status, o) = call(api, "POST", "/v1/incidents/1/grade", #"{"level": "two", "reason": "x"}"#)
        #expect(status == 400)
        (status, o) = call(api, "POST", "/v1/incidents/1/grade", #"{"level": 2, "reason": "x", "colour": "red"}"#)
        #expect(status == 400 && ((o["error"] as? [String: Any])?["message"] as? String)?.contains("colour") == true)
        (status, o) = call(api, "POST", "/v1/incidents/1/transition", #"{"to": "closed"}"#)
        #expect(status == 409 && errorCode(o) == "conflict")
        (status, o) = call(api, "POST", "/v1/incidents/1/transition", #"{"to": "sideways"}"#)
        #expect(status == 400)
        (status, _) = call(api, "GET", "/v1/incidents/1/grade")
        #expect(status == 405)
        (status, _) = call(api, "GET", "/v1/incidents/abc")
        #expect(status == 400)
        #expect(try store.audit(1) == before)
        #expect(try store.incident(1).level == .four)
    }

    @Test func operationsAnswerWithTheIncident() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try store.take([contentAlert("a")])
        let api = IncidentAPI(store: store)
        var (status, o) = call(api, "POST", "/v1/incidents/1/assess", #"{"social_harm": "major", "reason": "press"}"#)
        #expect(status == 200)
        #expect((o["incident"] as? [String: Any])?["level"] as? Int == 3)
        (status, o) = call(api, "POST", "/v1/incidents/1/notes", #"{"kind": "cause", "text": "drift"}"#)
        #expect(status == 201)
        (status, o) = call(
            api, "POST", "/v1/incidents/1/transition",
            #"{"to": "dismissed", "reason": "QA traffic", "notes": [{"kind": "evidence", "text": "ticket 7"}]}"#)
        #expect(status == 200 && (o["incident"] as? [String: Any])?["state"] as? String == "dismissed")
        (status, o) = call(api, "GET", "/v1/incidents/1")
        let audit = o["audit"] as? [[String: Any]] ?? []
        #expect(audit.contains { ($0["actor"] as? String) == "tester" && ($0["reason"] as? String) == "QA traffic" })
        #expect((o["notes"] as? [[String: Any]])?.count == 2)
    }

    @Test func listsPageAndFilter() throws {
        let file = try TempStateFile()
        let store = try file.store()
        let risks = ["A.2.a", "A.2.b", "A.2.c", "A.2.d", "A.2.e"]
        try store.take(
            risks.enumerated().map { contentAlert("k\($0.offset)", risk: $0.element, at: Double($0.offset)) })
        try store.grade(5, level: .three, actor: "x", reason: "r")
        let api = IncidentAPI(store: store)
        var (status, o) = call(api, "GET", "/v1/incidents", query: ["limit": "2"])
        #expect(status == 200 && o["total"] as? Int == 5 && o["next_offset"] as? Int == 2)
        #expect((o["incidents"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [5, 4])
        (_, o) = call(api, "GET", "/v1/incidents", query: ["limit": "2", "offset": "4"])
        #expect(o["next_offset"] == nil && (o["incidents"] as? [[String: Any]])?.count == 1)
        (_, o) = call(api, "GET", "/v1/incidents", query: ["level": "3"])
        #expect(o["total"] as? Int == 1)
        (status, _) = call(api, "GET", "/v1/incidents", query: ["limit": "0"])
        #expect(status == 400)
        (status, _) = call(api, "GET", "/v1/incidents", query: ["state": "napping"])
        #expect(status == 400)
    }

    @Test func reportsInEveryFormatAndLanguage() throws {
        let file = try TempStateFile()
        let store = try file.store()
        try store.take([contentAlert("a", at: 1_780_000_000), contentAlert("b", risk: "A.1.g", at: 1_780_000_100)])
        try store.grade(2, level: .two, actor: "lead", reason: "spread")
        try store.recordRefusalRates(["drug-x": (refused: 48, total: 50)], at: 1_780_000_000)
        try store.recordRefusalRates(["drug-x": (refused: 40, total: 50)], at: 1_780_000_600)
        let api = IncidentAPI(store: store)
        func get(_ path: String, _ query: [String: String]) -> IncidentAPI.Reply {
            api.handle(method: "GET", path: path, query: query, body: [], defaultActor: "t")
        }
        let period = ["from": "1779990000", "to": "1780010000"]
        let filing = get("/v1/reports/filing", period.merging(["format": "json"]) { $1 })
        let filed =
            (try JSONSerialization.jsonObject(with: Data(filing.body.utf8)) as? [String: Any])?["incidents"]
            as? [[String: Any]]
        #expect(filed?.compactMap { $0["id"] as? Int } == [1])  // level 4 only
        let md = get("/v1/reports/filing", period)
        #expect(md.contentType.hasPrefix("text/markdown") && md.body.contains("四级") && md.body.contains("歧视"))
        let review = get("/v1/reports/review", period.merging(["format": "html", "lang": "en"]) { $1 })
        #expect(
            review.body.hasPrefix("<!DOCTYPE html>") && review.body.contains("<svg")
                && review.body.contains("Repeat offenders"))
        #expect(review.body.contains("drug-x") && review.body.contains("polyline"))
        #expect(!review.body.contains("<script"))
        let authority = get("/v1/incidents/2/report", ["kind": "authority"])
        #expect(authority.body.contains("已采取的措施") && authority.body.contains("建议"))
        let en = get("/v1/incidents/2/report", ["lang": "en"])
        #expect(en.body.contains("Audit trail") && en.body.contains("level 2"))
        #expect(get("/v1/incidents/2/report", ["format": "pdf"]).status == 400)
        #expect(get("/v1/reports/yearly", [:]).status == 404)
    }
}
