import Foundation
import VigilIncidents
import VigilMonitor
import VigilTaxonomy

/// A state file in a fresh temporary directory, removed when the test ends.
final class TempStateFile {
    let directory: URL
    var path: String { directory.appendingPathComponent("vigil.db").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "vigil-incidents-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func store(_ policy: DeskPolicy = DeskPolicy()) throws -> IncidentStore {
        try IncidentStore(path: path, policy: policy)
    }
}

/// A content alert on an output, as the daemon raises it for risk `risk`.
func contentAlert(
    _ key: String, risk: String = "A.2.e", user: String? = "u-1", source: String = "gateway", at: Double = 1_000_000
) -> Alert {
    var labels = ["source": source, "signal": risk, "direction": "output", "match_rule": "kw"]
    if let user { labels["user_id"] = user }
    return Alert(
        key: key, rule: "content_risk", severity: .warning, subtype: Risk.named(risk)?.defaultSubtype ?? .other,
        summary: "Output hit risk \(risk)", labels: labels, excerpt: "…", observedAt: at)
}

extension DeskPolicy {
    static func with(_ body: (inout DeskPolicy) -> Void) -> DeskPolicy {
        var p = DeskPolicy()
        body(&p)
        return p
    }
}
