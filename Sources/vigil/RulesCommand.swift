import ArgumentParser
import VigilRules
import VigilTaxonomy

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check, test and measure rule packs.",
        discussion: "Rule packs are YAML files under a rule directory; docs/RULES.md describes them.",
        subcommands: [Check.self, Test.self, Coverage.self]
    )

    struct Options: ParsableArguments {
        @Option(
            name: .long,
            help: ArgumentHelp("A rule directory (repeatable). Default: the bundled rules.", valueName: "dir"))
        var rules: [String] = []
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load and compile every pack; report errors (file:line) and warnings.",
            discussion: "Exit status 0 when every pack compiles, 2 otherwise.")
        @OptionGroup var options: Options

        func run() throws {
            let library = try RuleDirectories.load(options.rules)
            for w in library.warnings { Stderr.write("warning: \(w)\n") }
            let set = library.ruleSet
            print(
                "\(library.packs.count) packs: \(set.keywords.count) keywords, \(set.regexes.count) regexes, \(set.cooccurrences.count) co-occurrence rules, \(set.topics.count) topics; \(set.termCount) distinct terms, \(set.automaton.bucketCount) term prefixes"
            )
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every pack's inline match:/no_match: examples.",
            discussion: "Exit status 0 when all pass, 1 when any fails, 2 when the rules do not load.")
        @OptionGroup var options: Options

        func run() throws {
            let library = try RuleDirectories.load(options.rules)
            let result = PackTester(library: library).run()
            for f in result.failures { print("FAIL \(f)") }
            print("\(result.passed) passed, \(result.failures.count) failed")
            if !result.failures.isEmpty { throw ExitCode(1) }
        }
    }

    struct Coverage: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the library against the 29 risks, the guide's topic minimums and SPEC §4a.",
            discussion: """
                Fails (exit 1) when a risk has no rule or a topic pack is below the guide's minimums
                (20 keywords, 50 should-refuse questions). The standard's larger "should" figures
                (10,000 keywords, 200 per A.1 risk, 500-question banks ...) are reported as warnings.
                """)
        @OptionGroup var options: Options

        func run() throws {
            let library = try RuleDirectories.load(options.rules)
            let report = CoverageReport(packs: library.packs)
            print("risk    keywords  regexes  co-occur  should-refuse  name")
            for line in report.risks {
                let cols = [line.keywords, line.regexes, line.cooccurrences, line.shouldRefuse].map {
                    String($0).leftPad(9)
                }
                print("\(line.risk.id)  \(cols.joined())  \(line.risk.zh)")
            }
            print("\ntopics")
            for t in report.topics {
                print(
                    "  \(t.id): \(t.keywords) keywords, \(t.shouldRefuse) should-refuse, \(t.shouldAnswer) should-answer (\(t.name))"
                )
            }
            print(
                "\n\(report.totalKeywords) keywords, \(report.totalShouldRefuse) should-refuse and \(report.totalShouldAnswer) should-answer questions"
            )
            for w in report.warnings { print("warning: \(w)") }
            for f in report.failures { print("FAIL \(f)") }
            if !report.failures.isEmpty { throw ExitCode(1) }
        }
    }
}

extension String {
    func leftPad(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
