import ArgumentParser
import Foundation
import VigilRules

/// Where rules come from when `--rules` is not given: `$VIGIL_RULES`, then the rules installed
/// beside the binary (`../share/vigil/rules`), then the source tree's `rules/` (for a binary in
/// `.build/`), then `./rules`.
enum RuleDirectories {
    static func resolve(_ given: [String]) -> [String] {
        if !given.isEmpty { return given }
        if let env = ProcessInfo.processInfo.environment["VIGIL_RULES"], !env.isEmpty {
            return env.split(separator: ":").map(String.init)
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var candidates: [String] = []
        var dir = executable.deletingLastPathComponent()
        candidates.append(dir.appendingPathComponent("../share/vigil/rules").standardized.path)
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            candidates.append(dir.appendingPathComponent("rules").path)
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/rules")
        for c in candidates {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: c + "/risks", isDirectory: &isDirectory), isDirectory.boolValue {
                return [c]
            }
        }
        return ["rules"]
    }

    /// Loads the library or exits with every rule error on stderr.
    static func load(_ given: [String]) throws -> RuleLibrary {
        let directories = resolve(given)
        do {
            return try RuleLibrary.load(directories: directories)
        } catch {
            Stderr.write(
                "vigil: the rules in \(directories.joined(separator: ", ")) have \(error.errors.count) problem(s):\n")
            for e in error.errors { Stderr.write("  \(e)\n") }
            throw ExitCode(ExitStatus.failure)
        }
    }
}

enum Stderr {
    static func write(_ s: String) {
        FileHandle.standardError.write(Data(s.utf8))
    }
}
