import ArgumentParser
import Foundation
import VigilDaemon

/// The daemon's configuration as every command reads it: each problem is listed with its file
/// and line on standard error, and the command exits with status 2.
enum ConfigurationFile {
    static func load(_ path: String, for command: String) throws -> DaemonConfig {
        do { return try ConfigLoader().load(path: path) } catch {
            Stderr.write("vigil \(command): the configuration has \(error.errors.count) problem(s):\n")
            for e in error.errors { Stderr.write("  \(e)\n") }
            throw ExitCode(ExitStatus.failure)
        }
    }

    /// The configuration, for a command that reads the state file the daemon wrote.
    static func loadWithState(_ path: String, for command: String) throws -> DaemonConfig {
        let config = try load(path, for: command)
        guard FileManager.default.fileExists(atPath: config.statePath) else {
            Stderr.write("vigil \(command): no state file at \(config.statePath) (has the daemon run yet?)\n")
            throw ExitCode(ExitStatus.failure)
        }
        return config
    }
}
