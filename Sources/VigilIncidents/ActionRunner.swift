import Foundation
import VigilTaxonomy

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Carries out response actions through the commands and webhooks the plans configure, or, in a
/// dry run, says what it would do. Runs on the desk's thread; each action is bounded by the
/// plans' timeout.
public struct ActionRunner: Sendable {
    public var plans: ResponsePlans

    public init(plans: ResponsePlans) { self.plans = plans }

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
        guard let target = URL(string: url) else {
            return Outcome(succeeded: false, command: "POST \(url)", detail: "not a valid address")
        }
        var request = URLRequest(url: target, timeoutInterval: plans.timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        request.httpBody = try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                box.set(Outcome(succeeded: false, command: "POST \(url)", detail: error.localizedDescription))
            } else {
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                let text = String(decoding: (data ?? Data()).prefix(300), as: UTF8.self)
                box.set(
                    Outcome(
                        succeeded: (200..<300).contains(status), command: "POST \(url)",
                        detail: "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)")))
            }
            done.signal()
        }.resume()
        if done.wait(timeout: .now() + plans.timeout + 1) == .timedOut {
            return Outcome(succeeded: false, command: "POST \(url)", detail: "timed out after \(Int(plans.timeout)) s")
        }
        return box.get() ?? Outcome(succeeded: false, command: "POST \(url)", detail: "no answer")
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: ActionRunner.Outcome?
    func set(_ v: ActionRunner.Outcome) { lock.withLock { value = v } }
    func get() -> ActionRunner.Outcome? { lock.withLock { value } }
}
