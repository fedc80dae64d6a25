import Foundation
import VigilRules
import VigilScan
import VigilTaxonomy

/// Renders a scan summary for people and for scripts.
enum SummaryText {
    static func n(_ v: Int) -> String {
        let s = String(v)
        var out = ""
        for (i, c) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    static func render(_ s: ScanSummary, library: RuleLibrary, seconds: Double, loadSeconds: Double) -> String {
        var t = "\nvigil scan summary\n"
        t +=
            "  lines        \(n(s.lines)) (\(n(s.bytes)) bytes) in \(String(format: "%.2f", seconds)) s, rules loaded in \(String(format: "%.2f", loadSeconds)) s\n"
        t += "  records      \(n(s.records)): \(n(s.inputs)) inputs, \(n(s.outputs)) outputs\n"
        if s.undecodable > 0 {
            let reasons = s.decodeErrors.sorted { $0.key < $1.key }.map { "\($0.key) \(n($0.value))" }.joined(
                separator: ", ")
            t += "  not decoded  \(n(s.undecodable)) (\(reasons))\n"
        } else {
            t += "  not decoded  0\n"
        }
        t += "  findings     \(n(s.textsWithFindings)) texts with a risk, attack or personal data\n"
        for (label, counts) in [("risks", s.risks), ("attacks", s.attacks), ("pii", s.pii), ("topics", s.topics)]
        where !counts.isEmpty {
            let list = counts.sorted { $0.key < $1.key }.map { "\($0.key) \(n($0.value))" }.joined(separator: ", ")
            t += "  " + label.padding(toLength: 13, withPad: " ", startingAt: 0) + list + "\n"
        }
        if s.outputs > 0 {
            t +=
                "  refusals     \(n(s.refusals)) of \(n(s.outputs)) outputs (\(String(format: "%.1f", 100 * Double(s.refusals) / Double(s.outputs)))%)\n"
        }
        if s.regexLimitHits > 0 {
            t += "  regex limit  \(n(s.regexLimitHits)) regex runs stopped by the match limit (counted as no match)\n"
        }
        let profiled = s.nanosPerRegex.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }
        if !profiled.isEmpty {
            t += "  slowest regexes (time, runs):\n"
            for (i, nanos) in profiled.prefix(10) {
                let rule = library.ruleSet.regexes[i]
                let ms = String(format: "%8.1f", Double(nanos) / 1e6)
                t +=
                    "    \(ms) ms \(n(s.runsPerRegex[i]).leftPad(10))  \(rule.id)  (\(rule.origin.file):\(rule.origin.line))\n"
            }
        }
        if seconds > 0 {
            t +=
                "  speed        \(String(format: "%.1f", Double(s.bytes) / seconds / 1e6)) MB/s, \(n(Int(Double(s.lines) / seconds))) lines/s\n"
        }
        return t
    }

    static func json(_ s: ScanSummary, library: RuleLibrary, seconds: Double, loadSeconds: Double) -> String {
        var busiest: [String: Int] = [:]
        for (i, n) in s.runsPerRegex.enumerated().sorted(by: { $0.element > $1.element }).prefix(10) where n > 0 {
            busiest[library.ruleSet.regexes[i].id] = n
        }
        let object: [String: Any] = [
            "lines": s.lines, "bytes": s.bytes, "records": s.records, "inputs": s.inputs, "outputs": s.outputs,
            "refusals": s.refusals, "texts_with_findings": s.textsWithFindings, "decode_errors": s.decodeErrors,
            "risks": s.risks, "attacks": s.attacks, "pii": s.pii, "topics": s.topics, "regex_runs": s.regexRuns,
            "literal_hits": s.literalHits,
            "regex_limit_hits": s.regexLimitHits, "busiest_regexes": busiest, "seconds": seconds,
            "load_seconds": loadSeconds,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
