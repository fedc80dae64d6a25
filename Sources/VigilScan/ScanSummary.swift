/// Counts over a whole scan; workers keep their own and the totals are merged at the end.
public struct ScanSummary: Sendable, Equatable {
    public var lines = 0
    public var bytes = 0
    public var inputs = 0
    public var outputs = 0
    public var refusals = 0
    /// Lines that did not yield a record, by reason label (`invalid_json`, `invalid_utf8`, …).
    public var decodeErrors: [String: Int] = [:]
    /// Records (texts) with at least one hit, per risk id / attack kind / PII kind / topic id.
    public var risks: [String: Int] = [:]
    public var attacks: [String: Int] = [:]
    public var pii: [String: Int] = [:]
    public var topics: [String: Int] = [:]
    /// Texts with any risk, attack or PII finding.
    public var textsWithFindings = 0
    public var regexRuns = 0
    public var regexLimitHits = 0
    public var literalHits = 0
    /// Runs per regex (index into the rule set's regexes).
    public var runsPerRegex: [Int] = []
    /// Time per regex, when profiling.
    public var nanosPerRegex: [UInt64] = []

    public init() {}

    public var records: Int { inputs + outputs }
    public var undecodable: Int { decodeErrors.values.reduce(0, +) }

    public mutating func merge(_ other: ScanSummary) {
        lines += other.lines
        bytes += other.bytes
        inputs += other.inputs
        outputs += other.outputs
        refusals += other.refusals
        textsWithFindings += other.textsWithFindings
        regexRuns += other.regexRuns
        regexLimitHits += other.regexLimitHits
        literalHits += other.literalHits
        if runsPerRegex.count < other.runsPerRegex.count {
            runsPerRegex += Array(repeating: 0, count: other.runsPerRegex.count - runsPerRegex.count)
        }
        for (i, n) in other.runsPerRegex.enumerated() { runsPerRegex[i] += n }
        if nanosPerRegex.count < other.nanosPerRegex.count {
            nanosPerRegex += Array(repeating: 0, count: other.nanosPerRegex.count - nanosPerRegex.count)
        }
        for (i, n) in other.nanosPerRegex.enumerated() { nanosPerRegex[i] += n }
        decodeErrors.merge(other.decodeErrors, uniquingKeysWith: +)
        risks.merge(other.risks, uniquingKeysWith: +)
        attacks.merge(other.attacks, uniquingKeysWith: +)
        pii.merge(other.pii, uniquingKeysWith: +)
        topics.merge(other.topics, uniquingKeysWith: +)
    }
}
