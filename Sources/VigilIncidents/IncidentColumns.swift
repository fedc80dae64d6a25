import Foundation

/// The two JSON columns of an incident row, `risks` and `assessed`. The desk reads and writes
/// the incidents that a batch of alerts joins once per batch, and Foundation's JSON coders cost
/// more than the rest of that, so the common forms (risk ids that need no escaping, nothing
/// assessed yet) are written and read directly; anything else goes through Foundation.
enum IncidentColumns {
    static func risks(_ risks: [String]) -> String {
        if risks.allSatisfy(isPlain) { return "[" + risks.map { "\"" + $0 + "\"" }.joined(separator: ",") + "]" }
        return String(decoding: (try? JSONEncoder().encode(risks)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func risks(from text: String) -> [String] {
        if text == "[]" { return [] }
        if text.utf8.count >= 4, text.hasPrefix("[\""), text.hasSuffix("\"]"), !text.contains("\\") {
            let inner = text.dropFirst(2).dropLast(2)
            let parts = inner.split(separator: "\",\"", omittingEmptySubsequences: false).map(String.init)
            if parts.allSatisfy(isPlain) { return parts }
        }
        return (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    static func assessed(_ facts: AssessedFacts) -> String {
        if facts == AssessedFacts() { return "{}" }
        return String(decoding: (try? JSONEncoder().encode(facts)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func assessed(from text: String) -> AssessedFacts {
        if text == "{}" { return AssessedFacts() }
        return (try? JSONDecoder().decode(AssessedFacts.self, from: Data(text.utf8))) ?? AssessedFacts()
    }

    /// A string JSON writes as itself between quotes.
    private static func isPlain(_ s: String) -> Bool {
        s.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }
}
