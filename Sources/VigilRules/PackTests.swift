import VigilMatch

/// The outcome of one inline example.
public struct ExampleFailure: Sendable, CustomStringConvertible {
    public var pack: String
    public var example: PackExample
    public var shouldMatch: Bool
    /// What the pack's rules reported for the text.
    public var found: [String]
    public var description: String {
        let what = found.isEmpty ? "nothing" : found.joined(separator: ", ")
        if shouldMatch {
            let wanted = example.expect.map { "'\($0)'" } ?? "a finding"
            return "\(example.location): [\(pack)] expected \(wanted) for \"\(example.text)\", got \(what)"
        }
        return "\(example.location): [\(pack)] expected no finding for \"\(example.text)\", got \(what)"
    }
}

/// Runs every pack's `match:` / `no_match:` examples against the whole compiled library.
public struct PackTester {
    public let library: RuleLibrary
    public init(library: RuleLibrary) { self.library = library }

    public struct Result: Sendable {
        public var passed = 0
        public var failures: [ExampleFailure] = []
    }

    public func run() -> Result {
        let scanner = Scanner(rules: library.ruleSet)
        var result = Result()
        for (index, pack) in library.packs.enumerated() {
            for example in pack.matchExamples {
                let found = findings(of: index, in: example.text, scanner: scanner)
                let ok = example.expect.map { found.contains($0) } ?? !found.isEmpty
                if ok {
                    result.passed += 1
                } else {
                    result.failures.append(
                        ExampleFailure(pack: pack.id, example: example, shouldMatch: true, found: found))
                }
            }
            for example in pack.noMatchExamples {
                let found = findings(of: index, in: example.text, scanner: scanner)
                if found.isEmpty {
                    result.passed += 1
                } else {
                    result.failures.append(
                        ExampleFailure(pack: pack.id, example: example, shouldMatch: false, found: found))
                }
            }
        }
        return result
    }

    /// Everything pack `index` reports for `text`: signal values, rule ids, topic ids and
    /// `refusal`.
    func findings(of index: Int, in text: String, scanner: Scanner) -> [String] {
        scanner.scan(text)
        var found: [String] = []
        func add(_ s: String) { if !found.contains(s) { found.append(s) } }
        for i in 0..<scanner.matches.count {
            let m = scanner.matches[i]
            guard library.pack(of: m.rule) == index else { continue }
            switch library.signal(of: m.rule) {
            case .risk(let id): add(id)
            case .attack(let kind): add(kind)
            case .pii(let kind): add(kind)
            case .refusal: add("refusal")
            }
            add(library.id(of: m.rule))
        }
        if let rule = scanner.refusalRule, library.pack(of: rule) == index {
            add("refusal")
            add(library.id(of: rule))
        }
        for t in 0..<scanner.topics.count {
            let topic = library.ruleSet.topics[Int(scanner.topics[t])]
            if topic.origin.pack == index { add(topic.id) }
        }
        return found
    }
}
