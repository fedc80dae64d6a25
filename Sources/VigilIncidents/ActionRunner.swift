import Foundation
import VigilNotify
import VigilTaxonomy

/// Carries out response actions through the commands and webhooks the plans configure, or, in a
/// dry run, says what it would do. Runs on the desk's thread; each action is bounded by the
/// plans' timeout.
public struct ActionRunner: Sendable {
    public var plans: ResponsePlans
    /// How webhook actions are sent: the same sender the receivers use.
    let sender: any HTTPSending

    public init(plans: ResponsePlans, sender: any HTTPSending = URLSessionSender()) {
        self.plans = plans
        self.sender = sender
    }

    /// The outcome of one action: whether it succeeded, what was run, and what came back.
    public struct Outcome: Sendable, Equatable {
        public var succeeded: Bool
        public var command: String
        public var detail: String
    }

    public func run(_ a: ActionRecord, incident: Incident, principals: [String]) -> Outcome {
        let values: [String: String] = [
            "incident": String(incident.id), "level": String(a.level.rawValue), "service": incident.service,
            "topic": incident.topic ?? "", "risk": incident.risks.first ?? "",
            "principals": principals.joined(separator: ","),
            "action": a.action.rawValue,
        ]
        func fill(_ s: String) -> String {
            var out = s
            for (k, v) in values { out = out.replacingOccurrences(of: "{\(k)}", with: v) }
            return out
        }
        guard let executor = plans.executors[a.action] else {
            let what = "no command or webhook configured for \(a.action.rawValue)"
            return a.dryRun
                ? Outcome(succeeded: true, command: "", detail: "dry run: \(what); nothing would run")
                : Outcome(succeeded: false, command: "", detail: what)
        }
        switch executor {
        case .command(let argv):
            let filled = argv.map(fill)
            let line = filled.joined(separator: " ")
            if a.dryRun { return Outcome(succeeded: true, command: line, detail: "dry run: would run \(line)") }
            return runCommand(filled, line: line, environment: values)
        case .webhook(let url, let headers):
            var body: [String: Any] = values
            body["dry_run"] = false
            body["risks"] = incident.risks
            if a.dryRun {
                return Outcome(succeeded: true, command: "POST \(url)", detail: "dry run: would POST to \(url)")
            }
            return post(url: url, headers: headers, body: body)
        }
    }

    private func runCommand(_ argv: [String], line: String, environment: [String: String]) -> Outcome {
        guard let program = argv.first else { return Outcome(succeeded: false, command: line, detail: "empty command") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = Array(argv.dropFirst())
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env["VIGIL_\(k.uppercased())"] = v }
        process.environment = env
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch {
            return Outcome(
                succeeded: false, command: line, detail: "cannot start \(program): \(error.localizedDescription)")
        }
        if done.wait(timeout: .now() + plans.timeout) == .timedOut {
            process.terminate()
            _ = done.wait(timeout: .now() + 2)
            return Outcome(succeeded: false, command: line, detail: "timed out after \(Int(plans.timeout)) s")
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile().prefix(500), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let status = process.terminationStatus
        return Outcome(
            succeeded: status == 0, command: line,
            detail: "exit status \(status)" + (text.isEmpty ? "" : ": \(text)"))
    }

    private func post(url: String, headers: [String: String], body: [String: Any]) -> Outcome {
        var all = headers
        all["Content-Type"] = "application/json"
        let json = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        switch sender.send(OutgoingRequest(url: url, headers: all, body: Array(json)), timeout: plans.timeout) {
        case .answered(let status, let answer):
            let text = String(decoding: answer.prefix(300), as: UTF8.self)
            return Outcome(
                succeeded: (200..<300).contains(status), command: "POST \(url)",
                detail: "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)"))
        case .failed(let why):
            return Outcome(succeeded: false, command: "POST \(url)", detail: why)
        }
    }
}
