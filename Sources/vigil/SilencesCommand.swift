import ArgumentParser
import Foundation
import VigilDaemon
import VigilMonitor
import VigilState

struct SilencesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silences",
        abstract: "Mute alerts for a while: add, list and expire silences.",
        discussion: """
            A silenced alert is still stored (vigil alerts shows it, with the silence's id), but no receiver is paged for it. The running daemon picks up a change within a second; pending deliveries of alerts a new silence matches are dropped too.

            Matchers, all of which must hold: name=value, name!=value, name=~regex, name!~regex (regexes match the whole value). Names are alert labels (signal, source, request_id, user_id, client_ip, principal, topic, match_rule, …) and rule, severity, subtype, class.

            Examples:
              vigil silences add --config vigil.yaml --match rule=principal_polling --match 'client_ip=~10\\.0\\..*' --for 2h --comment "load test"
              vigil silences list --config vigil.yaml
              vigil silences expire --config vigil.yaml 3
            """,
        subcommands: [Add.self, List.self, Expire.self]
    )

    struct Options: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp("The daemon's configuration file.", valueName: "file"))
        var config: String = "/etc/vigil/vigil.yaml"

        func store() throws -> StateStore {
            let loaded = try ConfigurationFile.load(config, for: "silences")
            do {
                try FileManager.default.createDirectory(
                    atPath: loaded.stateDirectory, withIntermediateDirectories: true)
                return try StateStore(path: loaded.statePath)
            } catch {
                Stderr.write("vigil silences: \(error)\n")
                throw ExitCode(ExitStatus.failure)
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a silence.")
        @OptionGroup var options: Options
        @Option(
            name: .long,
            help: ArgumentHelp(
                "A matcher (repeatable): name=value, name!=value, name=~regex, name!~regex.", valueName: "matcher"))
        var match: [String] = []
        @Option(name: .customLong("for"), help: ArgumentHelp("How long: 90s, 30m, 2h, 1d.", valueName: "duration"))
        var duration: String = "1h"
        @Option(name: .long, help: "Why (shown in the list).")
        var comment: String = ""
        @Option(name: .long, help: "Who (default: $USER).")
        var author: String = ProcessInfo.processInfo.environment["USER"] ?? "unknown"

        func validate() throws {
            guard !match.isEmpty else { throw ValidationError("give at least one --match") }
            guard DurationText.seconds(duration) != nil else {
                throw ValidationError("--for takes a number with s, m, h or d (e.g. 30m), not '\(duration)'")
            }
        }

        func run() throws {
            var matchers: [Silence.Matcher] = []
            for m in match {
                do { matchers.append(try Silence.Matcher(parsing: m)) } catch {
                    throw ValidationError("--match: \(error)")
                }
            }
            let now = Date().timeIntervalSince1970
            let silence = Silence(
                matchers: matchers, startsAt: now, endsAt: now + (DurationText.seconds(duration) ?? 3600),
                createdBy: author,
                comment: comment)
            let id = try options.store().addSilence(silence, now: now)
            print(
                "silence \(id) added until \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: silence.endsAt)))"
            )
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List silences that have not ended (--all: every one).")
        @OptionGroup var options: Options
        @Flag(name: .long, help: "Include ended silences.")
        var all = false

        func run() throws {
            let now = Date().timeIntervalSince1970
            let format = ISO8601DateFormatter()
            for s in try options.store().silences(now: now, all: all) {
                let state = s.isActive(at: now) ? "active" : (s.endsAt <= now ? "ended" : "pending")
                print(
                    "\(s.id)\t\(state)\tuntil \(format.string(from: Date(timeIntervalSince1970: s.endsAt)))\t\(s.matchers.map(\.description).joined(separator: " "))\t\(s.createdBy)\t\(s.comment)"
                )
            }
        }
    }

    struct Expire: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a silence now.")
        @OptionGroup var options: Options
        @Argument(help: "The silence's id (from list).")
        var id: Int64

        func run() throws {
            guard try options.store().expireSilence(id) else {
                Stderr.write("vigil silences: no running silence \(id)\n")
                throw ExitCode(ExitStatus.failure)
            }
            print("silence \(id) expired")
        }
    }
}
