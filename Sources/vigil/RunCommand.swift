import ArgumentParser
import Dispatch
import Foundation
import VigilDaemon

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the real-time monitor: follow logs, detect, raise alerts, page on-call.",
        discussion: """
            Follows the sources in the configuration (files like tail -F, across rotation by rename and by copytruncate; standard input from a log shipper), runs every line through the same detection as 'vigil scan', raises alerts, stores them in the state file together with how far each file was read, and delivers them to the receivers through a durable outbox.

            After a crash or kill -9 it resumes where the last commit left off: no line of a followed file is skipped, and an alert is never stored twice. Deliveries are at least once; a receiver can drop repeats by the X-Vigil-Alert-Key header.

            Start with the bundled example, which follows samples/*.jsonl and standard input:
              vigil run --config samples/vigil.yaml

            Every configuration key is described in systemd/vigil.yaml; docs/WEBHOOKS.md describes what receivers get. Logs go to standard error (level=… msg=…); new alerts are printed on standard output.

            Signals: SIGTERM or SIGINT finishes the batch in hand, commits it and exits. SIGHUP loads the rules again; so does any change of a file under the rule directories (checked every second). New rules are compiled beside the running ones and take over between two batches; rules that do not load are refused with their errors in the log, and the old ones keep running.

            Under systemd (Type=notify) it reports READY, RELOADING and STOPPING, and pings the watchdog from its processing loop.

            Exit status: 0 after a clean stop; 2 on an invalid configuration or rules, or when the state file cannot be opened.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "file"))
    var config: String = "/etc/vigil/vigil.yaml"

    @Option(
        name: .long,
        help: ArgumentHelp("Rule directories (repeatable); overrides the configuration's 'rules'.", valueName: "dir"))
    var rules: [String] = []

    @Flag(name: .long, help: "Check the configuration and rules, print what would run, and exit.")
    var check = false

    @Flag(name: .long, help: "Log debug messages too (every delivery).")
    var verbose = false

    func run() throws {
        let loaded = try ConfigurationFile.load(config, for: "run")
        let directories = RuleDirectories.resolve(rules.isEmpty ? loaded.ruleDirectories : rules)
        let library = try RuleDirectories.load(directories)
        if check {
            var lines = [
                "configuration \(config) is valid", "rules: \(library.packs.count) packs", "state: \(loaded.statePath)",
            ]
            for s in loaded.sources {
                lines.append("source \(s.name): \(s.kind.rawValue) \(s.paths.joined(separator: " "))")
            }
            for r in loaded.receivers { lines.append("receiver \(r.name): \(r.kind.rawValue) \(r.url)") }
            print(lines.joined(separator: "\n"))
            return
        }
        var log = Log()
        if verbose { log.minimum = .debug }
        Self.keepFreedMemory()
        let daemon: Daemon
        do { daemon = try Daemon(config: loaded, library: library, ruleDirectories: directories, log: log) } catch {
            Stderr.write("vigil run: \(error)\n")
            throw ExitCode(ExitStatus.failure)
        }
        let signals = Signals(stop: { daemon.stop() }, reload: { daemon.requestReload() })
        defer { withExtendedLifetime(signals) {} }
        do { try daemon.run() } catch {
            log(.error, "stopped by an error", ["error": "\(error)"])
            throw ExitCode(ExitStatus.failure)
        }
    }
}

extension RunCommand {
    /// The daemon allocates and frees a batch of about 1 MiB for every chunk it reads. With
    /// glibc's adaptive thresholds that memory goes back to the kernel and is faulted in again
    /// chunk after chunk. Up to 64 MiB of freed heap is kept instead, and only blocks over
    /// 16 MiB get a mapping of their own.
    static func keepFreedMemory() {
        #if canImport(Glibc)
            // `mallopt` and its constants are in <malloc.h>, which the Glibc module does not
            // import: the function is looked up by name, and M_MMAP_THRESHOLD (-3) and
            // M_TRIM_THRESHOLD (-1) are written out.
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(nil, "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
            _ = mallopt(-3, 16 << 20)
            _ = mallopt(-1, 64 << 20)
        #endif
    }
}

/// SIGTERM and SIGINT call `stop`, SIGHUP calls `reload`, on a dispatch queue instead of the
/// default actions (which would end the process).
final class Signals {
    private let sources: [any DispatchSourceSignal]

    init(stop: @escaping @Sendable () -> Void, reload: @escaping @Sendable () -> Void) {
        var sources: [any DispatchSourceSignal] = []
        for (sig, handler) in [(SIGTERM, stop), (SIGINT, stop), (SIGHUP, reload)] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }
}
