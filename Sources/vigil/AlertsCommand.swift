import ArgumentParser
import Foundation
import VigilDaemon
import VigilState

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List the alerts the daemon has stored, and what is owed to receivers.",
        discussion: """
            Reads the state file named by the configuration (state_dir/vigil.db); safe while the daemon runs.

            Examples:
              vigil alerts --config /etc/vigil/vigil.yaml
              vigil alerts --config samples/vigil.yaml --json --limit 1000
            """
    )

    @Option(name: .long, help: ArgumentHelp("The daemon's configuration file.", valueName: "file"))
    var config: String = "/etc/vigil/vigil.yaml"

    @Option(name: .long, help: "Show at most this many alerts, newest first.")
    var limit: Int = 50

    @Flag(name: .long, help: "One JSON object per alert instead of a table.")
    var json = false

    func run() throws {
        let loaded = try ConfigurationFile.loadWithState(config, for: "alerts")
        let store: StateStore
        let alerts: [StateStore.StoredAlert]
        let outbox: [String: Int]
        do {
            store = try StateStore(path: loaded.statePath)
            alerts = try store.recentAlerts(limit: limit)
            outbox = try store.outboxCounts()
        } catch {
            Stderr.write("vigil alerts: \(error)\n")
            throw ExitCode(ExitStatus.failure)
        }
        if json {
            for s in alerts {
                var object = s.alert.jsonObject
                object["id"] = s.id
                object["raised_at"] = s.createdAt
                if let silence = s.silencedBy { object["silenced_by"] = silence }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
            return
        }
        for s in alerts {
            let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: s.createdAt))
            print(
                "\(s.id)\t\(when)\t\(s.alert.severity.rawValue)\t\(s.alert.rule)\t\(s.alert.incidentClass.rawValue)/\(s.alert.subtype.rawValue)\t\(s.alert.summary)\(s.silencedBy.map { "\t(silenced by #\($0))" } ?? "")"
            )
        }
        let owed = ["pending", "delivered", "failed"].map { "\($0) \(outbox[$0] ?? 0)" }.joined(separator: ", ")
        Stderr.write("\(alerts.count) alert(s) shown; deliveries: \(owed)\n")
    }
}
