import Foundation

/// Structured log lines on standard error: `level=… msg="…" key=value`. Under systemd
/// (`JOURNAL_STREAM` set) each line starts with its syslog priority (`<6>`), which journald
/// reads as the entry's level.
public struct Log: Sendable {
    public enum Level: Int, Sendable {
        case error = 3
        case warning = 4
        case info = 6
        case debug = 7
        var name: String {
            switch self {
            case .error: return "error"
            case .warning: return "warning"
            case .info: return "info"
            case .debug: return "debug"
            }
        }
    }

    let journal = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil
    public var minimum: Level = .info

    public init() {}

    public func callAsFunction(_ level: Level, _ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        guard level.rawValue <= minimum.rawValue else { return }
        var line = journal ? "<\(level.rawValue)>" : ""
        line += "level=\(level.name) msg=\(Self.quote(message))"
        for (k, v) in fields { line += " \(k)=\(Self.quote(v))" }
        line += "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func quote(_ s: String) -> String {
        if !s.isEmpty && !s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) { return s }
        return "\""
            + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
