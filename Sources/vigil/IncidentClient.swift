import ArgumentParser
import Foundation
import VigilDaemon
import VigilIncidents
import VigilNotify

/// Where `vigil incidents` sends its requests: the running daemon's API (`--api`), or the same
/// handler run here against the state file the configuration names.
struct IncidentClient {
    enum Transport {
        case local(IncidentAPI, ActionRunner, IncidentStore)
        case remote(URL, token: String?)
    }
    let transport: Transport
    let actor: String

    /// The JSON answer of a successful request, or exit with the error's message.
    func call(_ method: String, _ path: String, query: [String: String] = [:], body: [String: Any]? = nil) throws
        -> IncidentAPI.Reply
    {
        let bytes = body.map { Array(jsonText($0).utf8) } ?? []
        let reply: IncidentAPI.Reply
        switch transport {
        case .local(let api, let runner, let store):
            reply = api.handle(method: method, path: path, query: query, body: bytes, defaultActor: actor)
            // Without a daemon nobody else would carry out what a change asked for.
            if method == "POST" && (200..<300).contains(reply.status) { runPendingActions(store, runner) }
        case .remote(let base, let token):
            reply = try send(base, method, path, query, bytes, token)
        }
        guard (200..<300).contains(reply.status) else {
            let message =
                (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])
                .flatMap { ($0["error"] as? [String: Any])?["message"] as? String } ?? reply.body
            Stderr.write("vigil incidents: \(message.trimmingCharacters(in: .whitespacesAndNewlines))\n")
            throw ExitCode(ExitStatus.failure)
        }
        return reply
    }

    func object(_ reply: IncidentAPI.Reply) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any]) ?? [:]
    }

    private func runPendingActions(_ store: IncidentStore, _ runner: ActionRunner) {
        guard let claimed = try? store.claimPendingActions() else { return }
        for action in claimed {
            guard let incident = try? store.incident(action.incidentID) else { continue }
            let who = ((try? store.principals(of: incident.id, limit: 20)) ?? []).map(\.principal)
            let outcome = runner.run(action, incident: incident, principals: who)
            try? store.finishAction(
                action.id, succeeded: outcome.succeeded, command: outcome.command, outcome: outcome.detail)
            Stderr.write(
                "response action \(action.action.rawValue)\(action.dryRun ? " (dry run)" : ""): \(outcome.detail)\n")
        }
    }

    private func send(
        _ base: URL, _ method: String, _ path: String, _ query: [String: String], _ body: [UInt8], _ token: String?
    ) throws -> IncidentAPI.Reply {
        var components = URLComponents(url: base.appendingPathComponent(path), resolvingAgainstBaseURL: false)
        if !query.isEmpty {
            components?.queryItems = query.sorted { $0.key < $1.key }.map {
                URLQueryItem(name: $0.key, value: $0.value)
            }
        }
        guard let url = components?.url else {
            Stderr.write("vigil incidents: cannot make an address from \(base) and \(path)\n")
            throw ExitCode(ExitStatus.failure)
        }
        var headers = ["X-Vigil-Actor": actor]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        if !body.isEmpty { headers["Content-Type"] = "application/json" }
        let request = OutgoingRequest(url: url.absoluteString, headers: headers, body: body, method: method)
        switch URLSessionSender().send(request, timeout: 30) {
        case .answered(let status, let answer):
            // The CLI prints or parses the body; it does not look at the content type.
            return IncidentAPI.Reply(status: status, contentType: "", body: String(decoding: answer, as: UTF8.self))
        case .failed(let why):
            Stderr.write("vigil incidents: no answer from \(base): \(why)\n")
            throw ExitCode(ExitStatus.failure)
        }
    }
}

/// Options every `vigil incidents` command takes.
struct IncidentOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("The daemon's configuration file (state file, services, plans).", valueName: "file"))
    var config: String = "/etc/vigil/vigil.yaml"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Talk to a running daemon's API instead of opening the state file, e.g. http://127.0.0.1:9464.",
            valueName: "url"))
    var api: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read the API's bearer token from this file (default: the configuration's).", valueName: "file"))
    var tokenFile: String?

    @Option(name: .long, help: "Who is acting, for the audit trail (default: $SUDO_USER or $USER).")
    var actor: String =
        ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"]
        ?? getpwuid(getuid()).flatMap { String(validatingCString: $0.pointee.pw_name) } ?? "unknown"

    func client() throws -> IncidentClient {
        var token: String?
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                Stderr.write("vigil incidents: cannot read --token-file \(tokenFile)\n")
                throw ExitCode(ExitStatus.failure)
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let api {
            guard let url = URL(string: api), url.scheme == "http" || url.scheme == "https" else {
                throw ValidationError("--api takes an http:// address, not '\(api)'")
            }
            // The configuration only lends its token here; the daemon reads its own.
            let configured = (try? ConfigLoader().load(path: config))?.http?.token
            return IncidentClient(transport: .remote(url, token: token ?? configured), actor: actor)
        }
        let cfg = try ConfigurationFile.loadWithState(config, for: "incidents")
        do {
            let store = try IncidentStore(path: cfg.statePath, policy: cfg.incidents)
            return IncidentClient(
                transport: .local(IncidentAPI(store: store), ActionRunner(plans: cfg.incidents.plans), store),
                actor: actor)
        } catch {
            Stderr.write("vigil incidents: \(error)\n")
            throw ExitCode(ExitStatus.failure)
        }
    }
}
