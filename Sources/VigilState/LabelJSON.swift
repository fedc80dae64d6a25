import VigilDecode
import VigilScan

/// Alert labels as stored: a JSON object of strings, keys sorted. Every alert is encoded in the
/// line loop's commit and decoded again by the incident desk, so both go through the project's
/// own JSON writer and reader (`JSONOutput`, `FlatJSON`): Foundation's serializer and parser
/// cost more than the rest of either.
enum LabelJSON {
    /// `labels` as a JSON object with sorted keys.
    static func encode(_ labels: [String: String]) -> String {
        var out = JSONOutput()
        out.raw("{")
        for (n, (k, v)) in labels.sorted(by: { $0.key < $1.key }).enumerated() {
            if n > 0 { out.raw(",") }
            out.string(k)
            out.raw(":")
            out.string(v)
        }
        out.raw("}")
        return out.text
    }

    /// The labels in `text`; an object that is not all strings (or no JSON at all) gives none.
    static func decode(_ text: String) -> [String: String] { FlatJSON.stringMembers(text) ?? [:] }
}
