import Foundation
import VigilDecode
import VigilScan

/// The two JSON columns of an incident row, `risks` and `assessed`. The desk reads and writes
/// the incidents that a batch of alerts joins once per batch, and Foundation's JSON coders cost
/// more than the rest of that: risks go through the project's own JSON writer and reader, and
/// an assessment skips Foundation when nothing is assessed yet (the common case).
enum IncidentColumns {
    static func risks(_ risks: [String]) -> String {
        var out = JSONOutput()
        out.strings(risks)
        return out.text
    }

    static func risks(from text: String) -> [String] { FlatJSON.strings(text) ?? [] }

    static func assessed(_ facts: AssessedFacts) -> String {
        if facts == AssessedFacts() { return "{}" }
        return String(decoding: (try? JSONEncoder().encode(facts)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func assessed(from text: String) -> AssessedFacts {
        if text == "{}" { return AssessedFacts() }
        return (try? JSONDecoder().decode(AssessedFacts.self, from: Data(text.utf8))) ?? AssessedFacts()
    }
}
