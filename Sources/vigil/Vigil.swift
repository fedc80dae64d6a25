import ArgumentParser
import Foundation

@main
struct Vigil: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Security monitor and incident desk for generative-AI services.",
        discussion: """
            Vigil reads what goes into and comes out of a model, matches it against keyword
            libraries and PCRE2 rules for the 29 content risks of GB/T 45654, prompt attacks,
            personal data and refusals, and reports what it finds.

            Start with:
              vigil scan samples/gateway.jsonl          findings for people, then a summary
              vigil scan --output jsonl logs/*.jsonl    one JSON object per record
              vigil rules test                          prove every rule pack on its examples
              vigil rules coverage                      the library against the standard's figures
            """,
        version: "0.1.0",
        subcommands: [
            RunCommand.self, AlertsCommand.self, SilencesCommand.self, IncidentsCommand.self, ScanCommand.self,
            RulesCommand.self,
        ]
    )

    /// Runs the command line, mapping usage errors to status 2 as `--help` documents
    /// (ArgumentParser's own code for them is 64).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                Stderr.write(fullMessage(for: error) + "\n")
                Foundation.exit(ExitStatus.failure)
            }
            exit(withError: error)
        }
    }
}

/// Exit codes, documented in `vigil scan --help` and docs/FINDINGS.md.
enum ExitStatus {
    static let clean: Int32 = 0
    static let findings: Int32 = 1
    static let failure: Int32 = 2
    static let undecodable: Int32 = 3
}
