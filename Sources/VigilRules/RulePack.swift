import VigilMatch

/// A place in a rule file, for messages that point at the line to fix.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }
    public var description: String { "\(file):\(line)" }
}

/// A keyword entry of a pack.
public struct KeywordEntry: Sendable {
    public var term: String
    public var signal: Signal
    public var allow: [String]
    public var foldRepeats: Bool
    public var location: SourceLocation
}

/// A regex entry of a pack (inline, or a line of a `regex_file`).
public struct RegexEntry: Sendable {
    public var id: String
    public var pattern: String
    public var signal: Signal
    public var validator: Validator?
    public var literals: [String]?
    public var location: SourceLocation
}

public struct CooccurrenceEntry: Sendable {
    public var id: String
    public var terms: [String]
    public var window: Int
    public var signal: Signal
    public var location: SourceLocation
}

public struct AllowEntry: Sendable {
    public var term: String
    public var near: Int?
    /// Suppress only hits meaning one of these (risk ids, attack or PII kinds); nil = all.
    public var only: [String]?
    public var location: SourceLocation
}

/// A hot topic defined by a pack.
public struct TopicDefinition: Sendable {
    public var id: String
    public var name: String
    public var keywords: [String]
    public var minKeywords: Int
    public var refusalThreshold: Double
    public var minSamples: Int
    public var shouldRefuse: [String]
    public var shouldAnswer: [String]
    public var risk: String?
    public var location: SourceLocation
}

/// One inline example of a pack.
public struct PackExample: Sendable {
    public var text: String
    /// A risk id, attack or PII kind, rule id, topic id or `refusal`; nil = any finding of the pack.
    public var expect: String?
    public var location: SourceLocation
}

/// One rule pack file, as loaded.
public struct RulePack: Sendable {
    public var id: String
    public var file: String
    public var description: String
    public var keywords: [KeywordEntry] = []
    public var regexes: [RegexEntry] = []
    public var cooccurrences: [CooccurrenceEntry] = []
    public var allows: [AllowEntry] = []
    public var topic: TopicDefinition?
    /// Refusal entries count only within the first this many characters.
    public var refusalWindow: Int = 200
    public var matchExamples: [PackExample] = []
    public var noMatchExamples: [PackExample] = []
}

/// A problem in a rule file.
public struct RuleError: Error, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }
    public var description: String { "\(location): \(message)" }
}

/// Several rule errors, reported together so an operator can fix them in one go.
public struct RuleErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [RuleError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
