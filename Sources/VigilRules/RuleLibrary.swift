import VigilMatch

/// Loaded packs compiled into one `RuleSet`, with the way back from each rule to its pack.
public final class RuleLibrary: Sendable {
    public let packs: [RulePack]
    public let ruleSet: RuleSet
    /// Things that work but deserve a look (e.g. a regex that must run on every text).
    public let warnings: [RuleError]

    /// Loads and compiles the packs under `directories`.
    /// - Throws: `RuleErrors` with every problem, each naming its file and line.
    public static func load(directories: [String]) throws(RuleErrors) -> RuleLibrary {
        let (packs, loadErrors) = PackLoader().loadCollectingErrors(directories: directories)
        let library: RuleLibrary
        do {
            library = try RuleLibrary(packs: packs)
        } catch {
            // Report what loading and compiling found, together.
            throw RuleErrors(errors: loadErrors + error.errors)
        }
        if !loadErrors.isEmpty { throw RuleErrors(errors: loadErrors) }
        return library
    }

    public init(packs: [RulePack]) throws(RuleErrors) {
        self.packs = packs
        let builder = RuleSetBuilder()
        builder.precompile(packs.flatMap { $0.regexes.map(\.pattern) })
        builder.reserveTerms(packs.reduce(0) { $0 + $1.keywords.count })
        var errors: [RuleError] = []
        var warnings: [RuleError] = []
        for (index, pack) in packs.enumerated() {
            func origin(_ l: SourceLocation) -> RuleOrigin { RuleOrigin(pack: index, file: l.file, line: l.line) }
            func window(_ s: Signal) -> Int? { s == .refusal ? pack.refusalWindow : nil }
            for k in pack.keywords {
                if !builder.addKeyword(
                    k.term, id: "\(pack.id):\(k.term)", signal: k.signal, origin: origin(k.location), allow: k.allow,
                    withinFirst: window(k.signal))
                {
                    errors.append(RuleError(k.location, "keyword '\(k.term)' is empty after normalization"))
                }
                if k.foldRepeats {
                    builder.addRepeatFolded(
                        k.term, id: "\(pack.id):\(k.term)", signal: k.signal, origin: origin(k.location))
                }
            }
            for r in pack.regexes {
                do {
                    let prefilter = try builder.addRegex(
                        r.pattern, id: r.id, signal: r.signal, origin: origin(r.location), validator: r.validator,
                        literals: r.literals, withinFirst: window(r.signal))
                    if prefilter.runsAlways {
                        warnings.append(
                            RuleError(
                                r.location,
                                "regex \(r.id) has no literal or digit prefilter, so it runs on every text; give literals: if it has a required word"
                            ))
                    }
                } catch {
                    errors.append(RuleError(r.location, "regex \(r.id) does not compile: \(error)"))
                }
            }
            for c in pack.cooccurrences {
                builder.addCooccurrence(
                    c.terms, id: c.id, signal: c.signal, origin: origin(c.location), window: c.window)
            }
            for a in pack.allows { builder.addAllow(a.term, pack: index, near: a.near, only: a.only) }
            if let t = pack.topic {
                builder.addTopic(id: t.id, keywords: t.keywords, minKeywords: t.minKeywords, origin: origin(t.location))
            }
        }
        if !errors.isEmpty { throw RuleErrors(errors: errors) }
        do {
            ruleSet = try builder.build()
        } catch {
            throw RuleErrors(errors: [RuleError(SourceLocation(file: "(rule set)", line: 0), "\(error)")])
        }
        self.warnings = warnings
    }

    /// The pack a rule came from.
    public func pack(of rule: RuleRef) -> Int { describe(rule).pack }

    /// What a rule's hit means.
    public func signal(of rule: RuleRef) -> Signal { describe(rule).signal }

    /// The rule's id, as findings show it.
    public func id(of rule: RuleRef) -> String { describe(rule).id }

    private func describe(_ rule: RuleRef) -> (pack: Int, signal: Signal, id: String) {
        let set = ruleSet
        switch rule {
        case .keyword(let k):
            return (set.keywords[Int(k)].origin.pack, set.keywords[Int(k)].signal, set.keywords[Int(k)].id)
        case .regex(let k): return (set.regexes[Int(k)].origin.pack, set.regexes[Int(k)].signal, set.regexes[Int(k)].id)
        case .cooccurrence(let k):
            return (
                set.cooccurrences[Int(k)].origin.pack, set.cooccurrences[Int(k)].signal, set.cooccurrences[Int(k)].id
            )
        case .repeatFolded(let k):
            return (set.repeatFolded[Int(k)].origin.pack, set.repeatFolded[Int(k)].signal, set.repeatFolded[Int(k)].id)
        }
    }
}
