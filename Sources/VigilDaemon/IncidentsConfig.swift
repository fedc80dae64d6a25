import VigilIncidents
import VigilTaxonomy
import Yams

/// The `incidents:` block of the configuration (systemd/vigil.yaml describes every key).
extension Reader {
    mutating func incidents(_ node: Node, into c: inout DaemonConfig) {
        let keys: Set<String> = [
            "enabled", "services", "group_window", "ignore_rules", "grading", "report", "plans",
            "refusal_sample_interval", "backlog_delay",
        ]
        for (key, _, v) in mapping(node, "incidents", allowed: keys) {
            switch key {
            case "enabled":
                guard let b = v.bool else {
                    error(v, "incidents.enabled must be true or false")
                    continue
                }
                c.incidentsEnabled = b
            case "group_window": if let n = number(v, "incidents.group_window", min: 1) { c.incidents.groupWindow = n }
            case "refusal_sample_interval":
                if let n = number(v, "incidents.refusal_sample_interval", min: 1) { c.refusalSampleInterval = n }
            case "backlog_delay":
                if let n = number(v, "incidents.backlog_delay", min: 0) { c.incidentBacklogDelay = n }
            case "ignore_rules": c.incidents.ignoredRules = Set(strings(v, "incidents.ignore_rules"))
            case "services": c.incidents.services = services(v)
            case "grading": grading(v, into: &c.incidents.grading)
            case "report": report(v, into: &c.incidents.reportRule)
            default: plans(v, into: &c.incidents.plans)
            }
        }
    }

    mutating func enumValue<T: RawRepresentable & CaseIterable>(_ node: Node, _ key: String, _: T.Type) -> T?
    where T.RawValue == String {
        guard let s = string(node, key) else { return nil }
        guard let value = T(rawValue: s) else {
            error(node, "\(key) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not '\(s)'")
            return nil
        }
        return value
    }

    mutating func services(_ node: Node) -> [ServiceProfile] {
        guard let seq = node.sequence, !seq.isEmpty else {
            error(node, "incidents.services must be a list of {name, importance, sources}")
            return DeskPolicy().services
        }
        var out: [ServiceProfile] = []
        for item in seq {
            var name: String?
            var importance = Importance.ordinary
            var sources: [String] = []
            for (key, _, v) in mapping(item, "a service", allowed: ["name", "importance", "sources"]) {
                switch key {
                case "name": name = string(v, "name")
                case "importance":
                    importance = enumValue(v, "importance", Importance.self) ?? importance
                default: sources = strings(v, "sources")
                }
            }
            guard let name else {
                error(item, "a service needs a name")
                continue
            }
            out.append(ServiceProfile(name: name, importance: importance, sources: sources))
        }
        return out.isEmpty ? DeskPolicy().services : out
    }

    mutating func threshold(_ node: Node, _ what: String) -> GradingPolicy.Threshold {
        var t = GradingPolicy.Threshold()
        let keys: Set<String> = ["occurrences", "affected_users", "outage_minutes", "records_leaked", "spread"]
        for (key, _, v) in mapping(node, what, allowed: keys) {
            guard let n = number(v, "\(what).\(key)", min: 0) else { continue }
            switch key {
            case "occurrences": t.occurrences = Int(n)
            case "affected_users": t.affectedUsers = Int(n)
            case "outage_minutes": t.outageMinutes = n
            case "records_leaked": t.recordsLeaked = Int(n)
            default: t.spread = Int(n)
            }
        }
        return t
    }

    mutating func grading(_ node: Node, into g: inout GradingPolicy) {
        for (key, _, v) in mapping(node, "incidents.grading", allowed: ["business_loss", "social_harm"]) {
            if key == "business_loss" {
                for (tier, _, t) in mapping(
                    v, "incidents.grading.business_loss", allowed: ["critical", "serious", "major"])
                {
                    if let loss = BusinessLoss(rawValue: tier) {
                        g.businessLoss[loss] = threshold(t, "incidents.grading.business_loss.\(tier)")
                    }
                }
            } else {
                for (tier, _, t) in mapping(
                    v, "incidents.grading.social_harm", allowed: ["critical", "serious", "major"])
                {
                    if let harm = SocialHarm(rawValue: tier) {
                        g.socialHarm[harm] = threshold(t, "incidents.grading.social_harm.\(tier)")
                    }
                }
            }
        }
    }

    mutating func report(_ node: Node, into r: inout ReportRule) {
        let keys: Set<String> = ["min_level", "min_occurrences", "window", "min_affected_users"]
        for (key, _, v) in mapping(node, "incidents.report", allowed: keys) {
            switch key {
            case "min_level":
                guard let n = number(v, "incidents.report.min_level", min: 1), let level = Level(rawValue: Int(n))
                else {
                    continue
                }
                r.minLevel = level
            case "min_occurrences":
                if let n = number(v, "incidents.report.min_occurrences", min: 1) { r.minOccurrences = Int(n) }
            case "window": if let n = number(v, "incidents.report.window", min: 1) { r.windowSeconds = n }
            default: if let n = number(v, "incidents.report.min_affected_users", min: 0) { r.minAffectedUsers = Int(n) }
            }
        }
    }

    mutating func plans(_ node: Node, into p: inout ResponsePlans) {
        let keys: Set<String> = ["dry_run", "automatic", "timeout", "levels", "actions"]
        for (key, _, v) in mapping(node, "incidents.plans", allowed: keys) {
            switch key {
            case "dry_run", "automatic":
                guard let b = v.bool else {
                    error(v, "incidents.plans.\(key) must be true or false")
                    continue
                }
                if key == "dry_run" { p.dryRun = b } else { p.automatic = b }
            case "timeout": if let n = number(v, "incidents.plans.timeout", min: 1) { p.timeout = n }
            case "levels":
                for (name, k, steps) in mapping(v, "incidents.plans.levels", allowed: ["1", "2", "3", "4"]) {
                    guard let level = Int(name).flatMap(Level.init(rawValue:)) else {
                        error(k, "plan levels are 1, 2, 3 and 4")
                        continue
                    }
                    var out: [PlanStep] = []
                    let what = "incidents.plans.levels.\(name)"
                    for (when, _, list) in mapping(steps, what, allowed: ["immediate", "manual"]) {
                        for action in strings(list, "\(what).\(when)") {
                            guard let a = ResponseAction(rawValue: action) else {
                                error(
                                    list,
                                    "\(what).\(when): unknown action '\(action)' (\(ResponseAction.allCases.map(\.rawValue).joined(separator: ", ")))"
                                )
                                continue
                            }
                            out.append(PlanStep(a, immediate: when == "immediate"))
                        }
                    }
                    p.steps[level] = out
                }
            default:
                let names = Set(ResponseAction.allCases.map(\.rawValue))
                for (name, _, spec) in mapping(v, "incidents.plans.actions", allowed: names) {
                    guard let action = ResponseAction(rawValue: name) else { continue }
                    let what = "incidents.plans.actions.\(name)"
                    var executor: ActionExecutor?
                    var headers: [String: String] = [:]
                    var url: String?
                    for (key, _, value) in mapping(spec, what, allowed: ["command", "webhook", "headers"]) {
                        switch key {
                        case "command":
                            let argv = strings(value, "\(what).command")
                            if argv.isEmpty || !(argv[0].hasPrefix("/")) {
                                error(value, "\(what).command must be a list starting with an absolute program path")
                            } else {
                                executor = .command(argv)
                            }
                        case "webhook": url = string(value, "\(what).webhook")
                        default:
                            for (hk, hv) in value.mapping ?? [:] {
                                if let k = hk.string, let val = hv.string { headers[k] = val }
                            }
                        }
                    }
                    if let url { executor = .webhook(url: url, headers: headers) }
                    guard let executor else {
                        error(spec, "\(what) needs a command or a webhook")
                        continue
                    }
                    p.executors[action] = executor
                }
            }
        }
    }
}
