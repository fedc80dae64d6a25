import Foundation
import VigilMatch
import VigilTaxonomy
import Yams

/// Reads rule packs from rule directories. Every problem is collected with its file and line.
public struct PackLoader: Sendable {
    public init() {}

    /// Loads every `*.yaml` / `*.yml` under the directories (recursively, sorted by path).
    /// - Throws: `RuleErrors` listing every problem found.
    public func load(directories: [String]) throws(RuleErrors) -> [RulePack] {
        let (packs, errors) = loadCollectingErrors(directories: directories)
        if !errors.isEmpty { throw RuleErrors(errors: errors) }
        return packs
    }

    /// Loads every pack that loads, and returns the problems of the others beside them, so a
    /// caller can go on to find the problems compilation would report too.
    public func loadCollectingErrors(directories: [String]) -> ([RulePack], [RuleError]) {
        var packs: [RulePack] = []
        var errors: [RuleError] = []
        var files: [(path: String, relative: String)] = []
        // A directory's own problem, with the number of files found before it, so that it is
        // reported where reading in order would have: before its packs', after earlier ones'.
        var directoryErrors: [(before: Int, error: RuleError)] = []
        func problem(_ directory: String, _ message: String) {
            directoryErrors.append((files.count, RuleError(SourceLocation(file: directory, line: 0), message)))
        }
        for directory in directories {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                problem(directory, "no such rule directory (give one with --rules DIR)")
                continue
            }
            // Follow a symlinked rule directory: the enumerator does not.
            let resolved = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
            let found = (FileManager.default.enumerator(atPath: resolved)?.allObjects as? [String] ?? [])
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .sorted()
            if found.isEmpty {
                problem(directory, "no rule packs (*.yaml) in this directory; a rule directory must hold at least one")
            }
            files += found.map { ((directory as NSString).appendingPathComponent($0), $0) }
        }
        // Each pack is read on its own (a large keyword list takes as long as the rest together).
        let paths = files
        let loaded = [Result<RulePack, RuleErrors>](count: paths.count) { i in
            Result { () throws(RuleErrors) in try loadPack(path: paths[i].path, relativePath: paths[i].relative) }
        }
        var pendingDirectoryErrors = directoryErrors[...]
        for (i, result) in loaded.enumerated() {
            while let first = pendingDirectoryErrors.first, first.before == i {
                errors.append(first.error)
                pendingDirectoryErrors.removeFirst()
            }
            switch result {
            case .success(let pack): packs.append(pack)
            case .failure(let error): errors.append(contentsOf: error.errors)
            }
        }
        errors += pendingDirectoryErrors.map(\.error)
        var seen: [String: String] = [:]
        for pack in packs {
            if let other = seen[pack.id] {
                errors.append(
                    RuleError(SourceLocation(file: pack.file, line: 1), "pack id '\(pack.id)' is also used by \(other)")
                )
            }
            seen[pack.id] = pack.file
        }
        return (packs, errors)
    }

    /// Loads one pack file.
    public func loadPack(path: String, relativePath: String? = nil) throws(RuleErrors) -> RulePack {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw RuleErrors(errors: [
                RuleError(SourceLocation(file: path, line: 0), "cannot read: \(error.localizedDescription)")
            ])
        }
        let root: Node?
        do {
            // No implicit typing: resolving every scalar's tag (and the key of every lookup) ran
            // Yams' regular expressions, a tenth of start-up. Numbers are read from the text
            // where asked for; `flag` reads booleans.
            root = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw RuleErrors(errors: [
                RuleError(
                    SourceLocation(file: path, line: Self.line(of: error)), "invalid YAML: \(Self.problem(of: error))")
            ])
        } catch {
            throw RuleErrors(errors: [RuleError(SourceLocation(file: path, line: 0), "invalid YAML: \(error)")])
        }
        var reader = PackReader(file: path)
        let defaultID = (relativePath ?? (path as NSString).lastPathComponent)
            .replacingOccurrences(of: ".yaml", with: "").replacingOccurrences(of: ".yml", with: "")
            .replacingOccurrences(of: "/", with: ".")
        let pack = reader.read(root, defaultID: defaultID)
        if !reader.errors.isEmpty { throw RuleErrors(errors: reader.errors) }
        return pack
    }

    public static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return 0
        }
    }

    public static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
            .composer(let context, let problem, _, _):
            return [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        default: return "\(error)"
        }
    }
}

/// Walks one pack's YAML tree, collecting errors instead of stopping at the first.
struct PackReader {
    let file: String
    var errors: [RuleError] = []
    let directory: String

    init(file: String) {
        self.file = file
        directory = (file as NSString).deletingLastPathComponent
    }

    static let topLevelKeys: Set<String> = [
        "pack", "description", "risk", "attack", "pii", "refusal", "keywords", "keywords_file", "cooccurrence", "allow",
        "regexes", "regex_file", "regex_file_map", "refusal_window", "topic", "tests",
    ]

    func at(_ node: Node?) -> SourceLocation { SourceLocation(file: file, line: node?.mark?.line ?? 0) }

    /// A plain (unquoted) YAML 1.1 boolean, as Yams' default resolver reads one: the packs are
    /// composed without implicit typing, under which `Node.bool` is always nil.
    static func flag(_ node: Node?) -> Bool? {
        guard let scalar = node?.scalar, scalar.style == .plain || scalar.style == .any else { return nil }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    mutating func error(_ node: Node?, _ message: String) { errors.append(RuleError(at(node), message)) }

    mutating func read(_ root: Node?, defaultID: String) -> RulePack {
        var pack = RulePack(id: defaultID, file: file, description: "")
        guard let root, case .mapping(let mapping) = root else {
            error(root, "a pack must be a mapping with keys such as keywords:, regexes:, tests:")
            return pack
        }
        for (key, _) in mapping {
            if let k = key.string, !Self.topLevelKeys.contains(k) {
                error(
                    key, "unknown key '\(k)' (expected one of: \(Self.topLevelKeys.sorted().joined(separator: ", ")))")
            }
        }
        if let id = root["pack"]?.string { pack.id = id }
        pack.description = root["description"]?.string ?? ""
        let packDefault = signal(in: root, required: false)
        if let window = root["refusal_window"] {
            if let n = window.int, n > 0 {
                pack.refusalWindow = n
            } else {
                error(window, "refusal_window must be a positive number of characters")
            }
        }

        for item in sequence(root["keywords"], "keywords") {
            if let term = item.string {
                guard let s = packDefault else {
                    error(
                        item,
                        "keyword '\(term)' has no meaning: give the pack a top-level risk:/attack:/pii:/refusal:, or write it as {term: ..., risk: A.x.y}"
                    )
                    continue
                }
                pack.keywords.append(
                    KeywordEntry(term: term, signal: s, allow: [], foldRepeats: false, location: at(item)))
            } else if case .mapping = item {
                guard let term = item["term"]?.string, !term.isEmpty else {
                    error(item, "a keyword entry needs term:")
                    continue
                }
                let before = errors.count
                guard let s = signal(in: item, required: false) ?? packDefault else {
                    if errors.count == before {
                        error(
                            item,
                            "keyword '\(term)' needs one of risk:, attack:, pii:, refusal: (or a pack-level default)")
                    }
                    continue
                }
                pack.keywords.append(
                    KeywordEntry(
                        term: term, signal: s, allow: strings(item["allow"], "allow"),
                        foldRepeats: Self.flag(item["fold_repeats"]) ?? false, location: at(item)))
            } else {
                error(item, "a keyword is a string or a mapping with term:")
            }
        }
        if let fileNode = root["keywords_file"] {
            readKeywordsFile(fileNode, into: &pack)
        }
        for item in sequence(root["cooccurrence"], "cooccurrence") {
            let terms = strings(item["all"], "all")
            guard terms.count >= 2 else {
                error(item, "a cooccurrence entry needs all: with at least two terms")
                continue
            }
            guard let s = signal(in: item, required: false) ?? packDefault else {
                error(item, "a cooccurrence entry needs risk:, attack:, pii: or refusal:")
                continue
            }
            let window = item["within"]?.int ?? 50
            if window <= 0 { error(item["within"], "within: must be a positive number of characters") }
            let id = item["id"]?.string ?? "\(pack.id).cooccurrence.\(pack.cooccurrences.count + 1)"
            pack.cooccurrences.append(
                CooccurrenceEntry(id: id, terms: terms, window: window, signal: s, location: at(item)))
        }
        for item in sequence(root["allow"], "allow") {
            if let term = item.string {
                pack.allows.append(AllowEntry(term: term, near: nil, only: nil, location: at(item)))
            } else if let term = item["term"]?.string {
                var near: Int? = nil
                if let n = item["near"] {
                    if let v = n.int, v >= 0 { near = v } else { error(n, "near: must be a number of characters") }
                }
                let only = item["only"].map { strings($0, "only") }
                pack.allows.append(AllowEntry(term: term, near: near, only: only, location: at(item)))
            } else {
                error(item, "an allow entry is a string or a mapping with term:")
            }
        }
        for item in sequence(root["regexes"], "regexes") {
            guard let pattern = item["pattern"]?.string else {
                error(item, "a regex entry needs pattern:")
                continue
            }
            guard let id = item["id"]?.string else {
                error(item, "a regex entry needs id: (a stable rule id such as pii.cn_id18)")
                continue
            }
            let before = errors.count
            guard let s = signal(in: item, required: false) ?? packDefault else {
                if errors.count == before { error(item, "regex \(id) needs one of risk:, attack:, pii:, refusal:") }
                continue
            }
            pack.regexes.append(
                RegexEntry(
                    id: id, pattern: pattern, signal: s, validator: validator(item["validator"]),
                    literals: item["literals"].map { strings($0, "literals") }, location: at(item)))
        }
        if let fileNode = root["regex_file"] {
            readRegexFile(fileNode, map: root["regex_file_map"], packDefault: packDefault, into: &pack)
        }
        if let topicNode = root["topic"] {
            pack.topic = readTopic(topicNode, packRisk: packDefault)
        }
        if let tests = root["tests"] {
            pack.matchExamples = examples(tests["match"])
            pack.noMatchExamples = examples(tests["no_match"])
        }
        return pack
    }

    mutating func sequence(_ node: Node?, _ name: String) -> [Node] {
        guard let node else { return [] }
        guard case .sequence(let s) = node else {
            error(node, "\(name): must be a list")
            return []
        }
        return Array(s)
    }

    mutating func strings(_ node: Node?, _ name: String) -> [String] {
        sequence(node, name).compactMap { item in
            if let s = item.string { return s }
            error(item, "\(name): entries must be strings")
            return nil
        }
    }

    /// The meaning given by risk:/attack:/pii:/refusal: in a mapping.
    mutating func signal(in node: Node, required: Bool) -> Signal? {
        var found: [Signal] = []
        if let r = node["risk"] {
            if let id = r.string, Risk.named(id) != nil {
                found.append(.risk(id))
            } else {
                error(r, "unknown risk id '\(r.string ?? "")' (expected one of A.1.a … A.4.g, see docs/RULES.md)")
            }
        }
        if let a = node["attack"] {
            if let kind = a.string, AttackKind(rawValue: kind) != nil {
                found.append(.attack(kind))
            } else {
                error(
                    a,
                    "unknown attack kind '\(a.string ?? "")' (expected \(AttackKind.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
        }
        if let p = node["pii"] {
            if let kind = p.string, PIIKind(rawValue: kind) != nil {
                found.append(.pii(kind))
            } else {
                error(
                    p,
                    "unknown pii kind '\(p.string ?? "")' (expected \(PIIKind.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
        }
        if let r = node["refusal"] {
            if Self.flag(r) == true { found.append(.refusal) } else { error(r, "refusal: takes true") }
        }
        if found.count > 1 { error(node, "give only one of risk:, attack:, pii:, refusal:") }
        if found.isEmpty && required { error(node, "needs one of risk:, attack:, pii:, refusal:") }
        return found.first
    }

    mutating func validator(_ node: Node?) -> Validator? {
        guard let node else { return nil }
        guard let name = node.string, let v = Validator(rawValue: name) else {
            error(
                node,
                "unknown validator '\(node.string ?? "")' (expected \(Validator.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
            return nil
        }
        return v
    }

    mutating func examples(_ node: Node?) -> [PackExample] {
        sequence(node, "tests").compactMap { item in
            if let text = item.string { return PackExample(text: text, expect: nil, location: at(item)) }
            if let text = item["text"]?.string {
                return PackExample(text: text, expect: item["expect"]?.string, location: at(item))
            }
            error(item, "a test example is a string or a mapping with text: and expect:")
            return nil
        }
    }

    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
    }

    mutating func readLines(_ node: Node, _ key: String) -> (String, [Substring])? {
        guard let relative = node.string else {
            error(node, "\(key): must be a path")
            return nil
        }
        let path = resolve(relative)
        guard let data = FileManager.default.contents(atPath: path) else {
            error(node, "\(key): cannot read \(path)")
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            error(node, "\(key): \(path) is not UTF-8")
            return nil
        }
        // Split by bytes: a CRLF pair is one `Character`, so splitting the string by "\n"
        // left Windows-edited files as one line (and cost a grapheme break per character).
        // Cut by hand: the generic `split` (and `firstIndex(of:)` after it) walked a
        // 20,000-line keyword file byte by byte through the collection protocols.
        var lines: [Substring] = []
        let utf8 = text.utf8
        var start = utf8.startIndex
        while true {
            let end = Self.firstIndex(of: UInt8(ascii: "\n"), in: text[start...]) ?? utf8.endIndex
            var last = end
            if last > start, utf8[utf8.index(before: last)] == UInt8(ascii: "\r") { last = utf8.index(before: last) }
            lines.append(text[start..<last])
            guard end < utf8.endIndex else { break }
            start = utf8.index(after: end)
        }
        return (path, lines)
    }

    /// Where `byte` (ASCII) first occurs in `text`, found by `memchr` over the string's own
    /// storage.
    static func firstIndex(of byte: UInt8, in text: Substring) -> String.Index? {
        let found = text.utf8.withContiguousStorageIfAvailable { bytes -> Int? in
            guard let base = bytes.baseAddress, let hit = memchr(base, Int32(byte), bytes.count) else { return nil }
            return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
        }
        // A string without contiguous UTF-8 (bridged) is searched the slow way.
        guard let found else { return text.utf8.firstIndex(of: byte) }
        guard let offset = found else { return nil }
        return text.utf8.index(text.utf8.startIndex, offsetBy: offset)
    }

    /// A field without surrounding white space. Most fields have none, and Foundation's
    /// trimming cost more than the rest of reading a keyword line.
    func trimmed(_ field: Substring) -> String {
        guard let first = field.utf8.first, let last = field.utf8.last else { return "" }
        func bare(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x80 }
        return bare(first) && bare(last) ? String(field) : field.trimmingCharacters(in: .whitespaces)
    }

    mutating func readKeywordsFile(_ node: Node, into pack: inout RulePack) {
        guard let (path, lines) = readLines(node, "keywords_file") else { return }
        for (index, line) in lines.enumerated() {
            if line.isEmpty || line.utf8.first == UInt8(ascii: "#") { continue }
            let location = SourceLocation(file: path, line: index + 1)
            let bytes = line.utf8
            guard let tab = Self.firstIndex(of: UInt8(ascii: "\t"), in: line), tab > bytes.startIndex,
                Self.firstIndex(of: UInt8(ascii: "\t"), in: line[bytes.index(after: tab)...]) == nil
            else {
                errors.append(RuleError(location, "expected 'keyword<TAB>risk id'"))
                continue
            }
            let riskID = trimmed(line[bytes.index(after: tab)...])
            guard Risk.named(riskID) != nil else {
                errors.append(RuleError(location, "unknown risk id '\(riskID)' (expected A.1.a … A.4.g)"))
                continue
            }
            pack.keywords.append(
                KeywordEntry(
                    term: String(line[..<tab]), signal: .risk(riskID), allow: [], foldRepeats: false,
                    location: location))
        }
    }

    mutating func readRegexFile(_ node: Node, map: Node?, packDefault: Signal?, into pack: inout RulePack) {
        guard let (path, lines) = readLines(node, "regex_file") else { return }
        struct MapEntry {
            var glob: String
            var signal: Signal
            var validator: Validator?
        }
        var entries: [MapEntry] = []
        for item in sequence(map, "regex_file_map") {
            guard let glob = item["ids"]?.string else {
                error(item, "a regex_file_map entry needs ids: (a glob over rule ids, e.g. \"pii.cn_id*\")")
                continue
            }
            guard let s = signal(in: item, required: true) else { continue }
            entries.append(MapEntry(glob: glob, signal: s, validator: validator(item["validator"])))
        }
        for (index, line) in lines.enumerated() {
            if line.isEmpty || line.utf8.first == UInt8(ascii: "#") { continue }
            let location = SourceLocation(file: path, line: index + 1)
            guard let tab = line.utf8.lastIndex(of: UInt8(ascii: "\t")) else {
                errors.append(RuleError(location, "expected 'pattern<TAB>rule id'"))
                continue
            }
            let pattern = String(line[..<tab])
            let id = trimmed(line[line.utf8.index(after: tab)...])
            guard !pattern.isEmpty, !id.isEmpty else {
                errors.append(RuleError(location, "expected 'pattern<TAB>rule id'"))
                continue
            }
            guard let entry = entries.first(where: { Glob.matches($0.glob, id) }) else {
                if let s = packDefault {
                    pack.regexes.append(
                        RegexEntry(
                            id: id, pattern: pattern, signal: s, validator: nil, literals: nil, location: location))
                } else {
                    errors.append(
                        RuleError(
                            location,
                            "rule id '\(id)' fits no regex_file_map entry of \(file): add one saying what it means"))
                }
                continue
            }
            pack.regexes.append(
                RegexEntry(
                    id: id, pattern: pattern, signal: entry.signal, validator: entry.validator, literals: nil,
                    location: location))
        }
    }

    mutating func readTopic(_ node: Node, packRisk: Signal?) -> TopicDefinition? {
        guard let id = node["id"]?.string, !id.isEmpty else {
            error(node, "topic: needs id:")
            return nil
        }
        var risk: String? = nil
        if case .risk(let r)? = packRisk { risk = r }
        if let r = node["risk"] {
            if let s = r.string, Risk.named(s) != nil {
                risk = s
            } else {
                error(r, "unknown risk id '\(r.string ?? "")'")
            }
        }
        let threshold = node["refusal_threshold"]?.float ?? 0.95
        if !(0...1).contains(threshold) {
            error(node["refusal_threshold"], "refusal_threshold must be between 0 and 1")
        }
        return TopicDefinition(
            id: id, name: node["name"]?.string ?? id, keywords: strings(node["keywords"], "topic.keywords"),
            minKeywords: node["min_keywords"]?.int ?? 1, refusalThreshold: threshold,
            minSamples: node["min_samples"]?.int ?? 50, shouldRefuse: strings(node["should_refuse"], "should_refuse"),
            shouldAnswer: strings(node["should_answer"], "should_answer"), risk: risk, location: at(node))
    }
}

/// Shell-style globs over rule ids: `*` matches any run, `?` one character.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern)
        let t = Array(text)
        var pi = 0
        var ti = 0
        var star = -1
        var mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1
                ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
