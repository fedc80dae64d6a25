import ArgumentParser
import Foundation
import VigilIncidents

struct IncidentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents",
        abstract: "The incident desk: list, show, assess, grade, move along, note, respond, report.",
        discussion: """
            Alerts open incidents, or join the open incident with the same class, subtype, risk or topic, and service. Each incident is graded per the guide (the more severe of importance × business loss and importance × social harm), carried from detected to closed, and every assessment, grade, action and transition is kept in its audit trail.

            Every command works on the state file named by --config, safe while the daemon runs, or on a running daemon's API with --api. Times: a date (2026-11-01), an ISO time, or Unix seconds.

            A day on the desk (add --config FILE, or --api URL):
              vigil incidents list --state open
              vigil incidents show 12
              vigil incidents assess 12 --social-harm serious --reason "reposted"
              vigil incidents grade 12 --level 2 --reason "duty officer agrees"
              vigil incidents transition 12 confirmed --reason "not a false alarm"
              vigil incidents respond 12 --reason "level-2 plan"   (dry run)
              vigil incidents note 12 --kind cause "fine-tune drifted"
              vigil incidents transition 12 closed --application A \\
                --verification V --evidence E --online-review R
              vigil incidents report 12 --kind authority --format html
              vigil incidents report --kind filing --from 2026-10-01
              vigil incidents report --kind review --lang en --format html
              vigil incidents cases --search discrimination
            """,
        subcommands: [
            List.self, Show.self, Assess.self, Grade.self, Transition.self, Note.self, Respond.self, Report.self,
            Cases.self,
        ]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List incidents, newest first.")
        @OptionGroup var options: IncidentOptions
        @Option(
            name: .long,
            help:
                "States, comma-separated: open, detected, assessing, confirmed, dismissed, contained, recovering, verifying, closed."
        )
        var state: String?
        @Option(name: .long, help: "Levels, comma-separated: 1,2.")
        var level: String?
        @Option(name: .customLong("class"), help: "content, data, attack or other.")
        var incidentClass: String?
        @Option(name: .long, help: "Only this service.")
        var service: String?
        @Option(name: .long, help: "First seen at or after this time.")
        var from: String?
        @Option(name: .long, help: "First seen before this time.")
        var to: String?
        @Option(name: .long, help: "At most this many (1–500).")
        var limit = 50
        @Option(name: .long, help: "Skip this many (pages: the answer says where the next page starts).")
        var offset = 0
        @Flag(name: .long, help: "The API's JSON answer.")
        var json = false

        func run() throws {
            let client = try options.client()
            var query = ["limit": String(limit), "offset": String(offset)]
            for (k, v) in [
                ("state", state), ("level", level), ("class", incidentClass), ("service", service), ("from", from),
                ("to", to),
            ] {
                if let v { query[k] = v }
            }
            let reply = try client.call("GET", "/v1/incidents", query: query)
            if json { return print(reply.body, terminator: "") }
            let o = client.object(reply)
            let incidents = o["incidents"] as? [[String: Any]] ?? []
            print("ID\tLEVEL\tSTATE\tCLASS/SUBTYPE\tSERVICE\tOCCURRENCES\tUSERS\tLAST SEEN\tTITLE")
            for i in incidents {
                print(
                    [
                        "\(i["id"] ?? "")", (i["level"] as? Int).map(String.init) ?? "-", "\(i["state"] ?? "")",
                        "\(i["class"] ?? "")/\(i["subtype"] ?? "")", "\(i["service"] ?? "")",
                        "\(i["occurrences"] ?? 0)",
                        "\(i["affected_users"] ?? 0)", Self.time(i["last_seen"]), "\(i["title"] ?? "")",
                    ].joined(separator: "\t"))
            }
            let total = o["total"] as? Int ?? incidents.count
            var footer = "\(incidents.count) of \(total) incident(s)"
            if let next = o["next_offset"] as? Int { footer += "; next page: --offset \(next)" }
            Stderr.write(footer + "\n")
        }

        static func time(_ value: Any?) -> String {
            guard let t = value as? Double ?? (value as? Int).map(Double.init) else { return "-" }
            return ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One incident: grade, reach, actions, notes and audit trail.")
        @OptionGroup var options: IncidentOptions
        @Argument(help: "The incident's id.") var id: Int64
        @Flag(name: .long, help: "The API's JSON answer.") var json = false

        func run() throws {
            let client = try options.client()
            let reply = try client.call("GET", "/v1/incidents/\(id)")
            if json { return print(reply.body, terminator: "") }
            let o = client.object(reply)
            let i = o["incident"] as? [String: Any] ?? [:]
            let t = List.time
            print("Incident #\(id): \(i["title"] ?? "")")
            print(
                "  class      \(i["class"] ?? "")/\(i["subtype"] ?? "")   risks \((i["risks"] as? [String])?.joined(separator: ", ") ?? "")\(i["topic"].map { "   topic \($0)" } ?? "")"
            )
            print(
                "  state      \(i["state"] ?? "")\((i["went_offline"] as? Bool) == true ? "   (service taken offline: closing needs an online review)" : "")"
            )
            print(
                "  level      \((i["level"] as? Int).map(String.init) ?? "none")\((i["level_confirmed"] as? Bool) == true ? " (confirmed)" : " (proposed)")   importance \(i["importance"] ?? "")   business loss \(i["business_loss"] ?? "-")   social harm \(i["social_harm"] ?? "-")"
            )
            print(
                "  reach      \(i["occurrences"] ?? 0) occurrence(s), \(i["affected_users"] ?? 0) affected user(s), service \(i["service"] ?? "")"
            )
            print("  seen       \(t(i["first_seen"])) … \(t(i["last_seen"]))")
            if let r = i["report_required_at"] {
                print("  REPORT     immediate report to the authority required since \(t(r))")
            }
            if let actions = o["actions"] as? [[String: Any]], !actions.isEmpty {
                print("Response actions:")
                for a in actions {
                    print(
                        "  \(a["action"] ?? "") (level \(a["level"] ?? "") plan\((a["dry_run"] as? Bool) == true ? ", dry run" : "")): \(a["state"] ?? "") \(a["outcome"] ?? "")"
                    )
                }
            }
            if let notes = o["notes"] as? [[String: Any]], !notes.isEmpty {
                print("Notes:")
                for n in notes { print("  \(t(n["at"])) \(n["actor"] ?? "") [\(n["kind"] ?? "")] \(n["text"] ?? "")") }
            }
            print("Audit trail:")
            for a in o["audit"] as? [[String: Any]] ?? [] {
                print(
                    "  \(t(a["at"])) \(a["actor"] ?? "") \(a["action"] ?? ""): \(a["detail"] ?? "")\(a["reason"].map { " — \($0)" } ?? "")"
                )
            }
        }
    }

    struct Assess: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record an assessment: the grade's inputs and the incident's reach; the level is proposed again.")
        @OptionGroup var options: IncidentOptions
        @Argument(help: "The incident's id.") var id: Int64
        @Option(name: .long, help: "Importance of the service and its data: critical, important, ordinary.")
        var importance: String?
        @Option(name: .long, help: "Business loss: critical, serious, major, minor.") var businessLoss: String?
        @Option(name: .long, help: "Social harm: critical, serious, major, ordinary.") var socialHarm: String?
        @Option(name: .long, help: "Affected users.") var affectedUsers: Int?
        @Option(name: .long, help: "Occurrences.") var occurrences: Int?
        @Option(name: .long, help: "Minutes the service was down or degraded.") var outageMinutes: Double?
        @Option(name: .long, help: "Personal-data records or secrets leaked.") var recordsLeaked: Int?
        @Option(name: .long, help: "Places the content spread to.") var spread: Int?
        @Option(name: .long, help: "Why (required; kept in the audit trail).") var reason: String = ""

        func run() throws {
            var body: [String: Any] = ["reason": reason]
            for (k, v) in [("importance", importance), ("business_loss", businessLoss), ("social_harm", socialHarm)] {
                if let v { body[k] = v }
            }
            for (k, v) in [
                ("affected_users", affectedUsers), ("occurrences", occurrences), ("records_leaked", recordsLeaked),
                ("spread", spread),
            ] {
                if let v { body[k] = v }
            }
            if let outageMinutes { body["outage_minutes"] = outageMinutes }
            let client = try options.client()
            Self.summarize(client.object(try client.call("POST", "/v1/incidents/\(id)/assess", body: body)))
        }

        static func summarize(_ o: [String: Any]) {
            let i = o["incident"] as? [String: Any] ?? [:]
            print(
                "incident \(i["id"] ?? ""): level \((i["level"] as? Int).map(String.init) ?? "none")\((i["level_confirmed"] as? Bool) == true ? " (confirmed)" : " (proposed)"), state \(i["state"] ?? ""), business loss \(i["business_loss"] ?? "-"), social harm \(i["social_harm"] ?? "-")\(i["report_required_at"] != nil ? ", IMMEDIATE REPORT REQUIRED" : "")"
            )
        }
    }

    struct Grade: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the level by hand, or confirm the proposed one (no --level). On-call hears of a change.")
        @OptionGroup var options: IncidentOptions
        @Argument(help: "The incident's id.") var id: Int64
        @Option(name: .long, help: "1 (most severe) to 4.") var level: Int?
        @Option(name: .long, help: "Why (required).") var reason: String = ""

        func run() throws {
            var body: [String: Any] = ["reason": reason]
            if let level { body["level"] = level }
            let client = try options.client()
            Assess.summarize(client.object(try client.call("POST", "/v1/incidents/\(id)/grade", body: body)))
        }
    }

    struct Transition: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Move an incident along: assessing, confirmed, dismissed, contained, recovering, verifying, closed.",
            discussion: """
                detected → assessing → confirmed → contained → recovering → verifying → closed; dismissed (a false positive) needs a reason. Closing needs a closure application, a verification note and evidence, and an online review when the response took the service offline; give them here or earlier with `note`.
                """)
        @OptionGroup var options: IncidentOptions
        @Argument(help: "The incident's id.") var id: Int64
        @Argument(help: "The state to move to.") var state: String
        @Option(name: .long, help: "Why.") var reason: String?
        @Option(name: .long, help: "Closure application (note).") var application: String?
        @Option(name: .long, help: "Verification note: how the service was retested.") var verification: String?
        @Option(name: .long, help: "Evidence (repeatable): what proves the fix.") var evidence: [String] = []
        @Option(name: .long, help: "Online review: who approved the return online.") var onlineReview: String?

        func run() throws {
            var notes: [[String: String]] = []
            if let application { notes.append(["kind": "closure_application", "text": application]) }
            if let verification { notes.append(["kind": "verification", "text": verification]) }
            for e in evidence { notes.append(["kind": "evidence", "text": e]) }
            if let onlineReview { notes.append(["kind": "online_review", "text": onlineReview]) }
            var body: [String: Any] = ["to": state]
            if let reason { body["reason"] = reason }
            if !notes.isEmpty { body["notes"] = notes }
            let client = try options.client()
            Assess.summarize(client.object(try client.call("POST", "/v1/incidents/\(id)/transition", body: body)))
        }
    }

    struct Note: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Add a note: general, cause, lesson, measure, closure_application, verification, evidence, online_review, stakeholder_notice."
        )
        @OptionGroup var options: IncidentOptions
        @Argument(help: "The incident's id.") var id: Int64
        @Argument(help: "The note's text.") var text: String
        @Option(name: .long, help: "The kind of note.") var kind: String = "general"

        func run() throws {
            let client = try options.client()
            let o = client.object(
                try client.call("POST", "/v1/incidents/\(id)/notes", body: ["kind": kind, "text": text]))
            let n = o["note"] as? [String: Any] ?? [:]
            print("note \(n["id"] ?? "") added to incident \(id) (\(n["kind"] ?? kind))")
        }
    }

    struct Respond: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Carry out the incident's response plan at its level (or the actions named); a dry run unless --live.",
            discussion:
                "Actions: restrict_topic, block_principal, restricted_mode, take_offline. Each runs the command or webhook configured under incidents.plans.actions; the outcome goes in the audit trail."
        )
        @OptionGroup var options: IncidentOptions
        @Argument(help: "The incident's id.") var id: Int64
        @Option(name: .long, help: "An action to take (repeatable; default: every step of the level's plan).")
        var action: [String] = []
        @Flag(name: .long, help: "Really do it (the configuration's dry_run otherwise decides).") var live = false
        @Option(name: .long, help: "Why (required).") var reason: String = ""

        func run() throws {
            var body: [String: Any] = ["reason": reason, "live": live]
            if !action.isEmpty { body["actions"] = action }
            let client = try options.client()
            let o = client.object(try client.call("POST", "/v1/incidents/\(id)/respond", body: body))
            for a in o["actions"] as? [[String: Any]] ?? [] {
                print(
                    "\(a["action"] ?? "")\t\(a["state"] ?? "")\t\((a["dry_run"] as? Bool) == true ? "dry run" : "live")"
                )
            }
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a report: one incident, the authority draft, the level-4 filing, or the review summary.",
            discussion: """
                --kind incident|authority need an incident id; filing|review take --from and --to (default: the last 30 days). Chinese by default (--lang en for English); Markdown, JSON, or a self-contained HTML page with charts.
                """)
        @OptionGroup var options: IncidentOptions
        @Argument(help: "The incident's id (incident and authority reports).") var id: Int64?
        @Option(name: .long, help: "incident, authority, filing or review.") var kind: String?
        @Option(name: .long, help: "md, json or html.") var format = "md"
        @Option(name: .long, help: "zh or en.") var lang = "zh"
        @Option(name: .long, help: "Period start (filing, review).") var from: String?
        @Option(name: .long, help: "Period end (filing, review).") var to: String?
        @Option(name: [.short, .long], help: "Write to this file instead of standard output.") var output: String?

        func validate() throws {
            let k = kind ?? (id == nil ? "review" : "incident")
            guard IncidentReports.Kind(rawValue: k) != nil else {
                throw ValidationError("--kind must be incident, authority, filing or review, not '\(k)'")
            }
            if (k == "incident" || k == "authority") && id == nil {
                throw ValidationError("a \(k) report needs an incident id")
            }
            if (k == "filing" || k == "review") && id != nil {
                throw ValidationError("a \(k) report covers a period: drop the id, use --from/--to")
            }
        }

        func run() throws {
            let k = kind ?? (id == nil ? "review" : "incident")
            var query = ["format": format, "lang": lang]
            let path: String
            if let id {
                path = "/v1/incidents/\(id)/report"
                query["kind"] = k
            } else {
                path = "/v1/reports/\(k)"
                if let from { query["from"] = from }
                if let to { query["to"] = to }
            }
            let client = try options.client()
            let reply = try client.call("GET", path, query: query)
            if let output {
                do { try reply.body.write(toFile: output, atomically: true, encoding: .utf8) } catch {
                    Stderr.write("vigil incidents: cannot write \(output): \(error.localizedDescription)\n")
                    throw ExitCode(ExitStatus.failure)
                }
                Stderr.write("wrote \(output)\n")
            } else {
                print(reply.body, terminator: "")
            }
        }
    }

    struct Cases: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Search the case library of closed incidents.")
        @OptionGroup var options: IncidentOptions
        @Option(name: .long, help: "Text to look for in summary, cause, measures and lessons.") var search: String?
        @Option(name: .long, help: "At most this many.") var limit = 50
        @Flag(name: .long, help: "The API's JSON answer.") var json = false

        func run() throws {
            var query = ["limit": String(limit)]
            if let search { query["search"] = search }
            let client = try options.client()
            let reply = try client.call("GET", "/v1/cases", query: query)
            if json { return print(reply.body, terminator: "") }
            for c in client.object(reply)["cases"] as? [[String: Any]] ?? [] {
                print("#\(c["incident"] ?? "") \(c["summary"] ?? "")")
                for (k, label) in [("cause", "cause"), ("measures", "measures"), ("lessons", "lessons")] {
                    if let v = c[k] as? String, !v.isEmpty {
                        print("    \(label): \(v.replacingOccurrences(of: "\n", with: "; "))")
                    }
                }
            }
        }
    }
}
