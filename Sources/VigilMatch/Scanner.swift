#if canImport(Glibc)
    import Glibc
#endif

/// A rule that fired, as an index into its `RuleSet` list.
public enum RuleRef: Hashable, Sendable, BitwiseCopyable {
    case keyword(Int32)
    case regex(Int32)
    case cooccurrence(Int32)
    case repeatFolded(Int32)
}

/// One finding in the current text: which rule, and where (normalized scalar indices).
public struct Match: Sendable, BitwiseCopyable {
    public var rule: RuleRef
    public var start: Int32
    public var end: Int32
}

/// Per-record counters a caller adds to its summary.
public struct ScanCounters: Sendable, Equatable {
    /// Regex runs stopped by the match or depth limit.
    public var regexLimitHits = 0
    /// Regexes run.
    public var regexRuns = 0
    /// Literal occurrences the automaton reported (keywords, allow and topic terms, regex gates).
    public var literalHits = 0
    /// Runs per regex rule (index into `RuleSet.regexes`), for finding weak prefilters.
    public var runsPerRegex: [Int] = []
    /// Nanoseconds per regex rule, when the scanner profiles (`Scanner.profiling`).
    public var nanosPerRegex: [UInt64] = []
    public init() {}
}

/// Scans texts against a `RuleSet`. Owns all per-record buffers, so one scanner serves one
/// thread; create one per worker. After `scan`, `matches`, `topics` and `isRefusal` describe the
/// text until the next call.
public final class Scanner {
    public let rules: RuleSet
    public let text = NormalizedText()
    public let matches = GrowableBuffer<Match>(capacity: 64)
    /// Indices into `rules.topics` of the topics the text is on.
    public let topics = GrowableBuffer<Int32>(capacity: 8)
    public private(set) var isRefusal = false
    /// The refusal rule that decided `isRefusal`, when it is true.
    public private(set) var refusalRule: RuleRef?
    public var counters = ScanCounters()

    private let hits = GrowableBuffer<LiteralHit>(capacity: 256)
    private let allowHits = GrowableBuffer<(rule: Int32, start: Int32, end: Int32)>(capacity: 16)
    private let coHits = GrowableBuffer<(rule: Int32, slot: Int32, start: Int32, end: Int32)>(capacity: 16)
    private let topicTerms = GrowableBuffer<(topic: Int32, term: Int32)>(capacity: 16)
    private let queue = GrowableBuffer<Int32>(capacity: 32)
    /// The literal automaton's symbols for the current text.
    private let symbols = GrowableBuffer<UInt16>(capacity: 1024)
    private let candidates = GrowableBuffer<Int32>(capacity: 1024)
    private var checkingRefusal = true
    private var stamp: UInt32 = 0
    private let scratch: RegexScratch
    private let maxMatchesPerRule = 8

    // The rule set's tables read for every text and every literal hit, copied into buffers this
    // scanner owns: read through the rule set's arrays, each access retained and released them.
    private let normalizer: Normalizer
    private let automaton: LiteralAutomaton
    /// Per term, where its uses start in `uses` and its length, side by side: a literal hit
    /// reads one cache line for both (two arrays were two misses), and its uses end where the
    /// next term's start. One entry more than there are terms.
    private let termEntries: UnsafeMutableBufferPointer<(useStart: Int32, length: Int32)>
    private let uses: UnsafeMutableBufferPointer<TermUse>
    private let ungatedRegexes: UnsafeMutableBufferPointer<Int32>
    private let regexDigitGate: UnsafeMutableBufferPointer<Int32>
    private let regexAlphanumericGate: UnsafeMutableBufferPointer<Int32>
    private let regexNeedsSecond: UnsafeMutableBufferPointer<Bool>
    /// Per regex, what may stand next to its first and second gate literals in a match: a hit
    /// with other neighbours does not count (nil: any hit counts).
    private let regexNeighbours: UnsafeMutableBufferPointer<LiteralNeighbours?>
    private let regexSecondNeighbours: UnsafeMutableBufferPointer<LiteralNeighbours?>
    /// Per regex, literals a match holds a bounded distance after its first gate literal.
    private let followers: FollowerTable
    private let regexIsRefusal: UnsafeMutableBufferPointer<Bool>
    /// Regexes searched only near their literals (see `runRegexes`): bounded, with derived literals.
    private let regexWindowed: UnsafeMutableBufferPointer<Bool>
    /// Per regex searched only near the text's long digit runs, its longest match; else -1
    /// (`RuleSet.regexDigitRunReach`).
    private let regexDigitRunReach: UnsafeMutableBufferPointer<Int32>
    /// The current text's runs of at least `RegexPrefilter.minimumDigitRun` ASCII digits, as
    /// start and end scalar indices one after the other; found when a regex first asks
    /// (`digitRunsStamp`), since few texts hold such a run.
    private let digitRuns = GrowableBuffer<Int32>(capacity: 16)
    private var digitRunsStamp: UInt32 = 0
    /// Per regex, the scalar before which a match must start to count (`withinFirst`), or -1.
    private let regexWithinFirst: UnsafeMutableBufferPointer<Int32>
    /// Where each windowed regex's gating literals start in the current text, in order.
    private let gateHits = GrowableBuffer<(regex: Int32, start: Int32)>(capacity: 64)
    // Per regex, for the current text (valid where the stamp is the current one).
    private let regexStamp: UnsafeMutableBufferPointer<UInt32>
    private let regexSecondStamp: UnsafeMutableBufferPointer<UInt32>
    /// Where the last literal that gates each regex starts (valid with `regexStamp`).
    private let regexLastStart: UnsafeMutableBufferPointer<Int32>
    /// The regexes' compiled programs and validators, owned here: read through the rule set's
    /// arrays, each search retained and released the regex.
    private let regexPrograms: UnsafeMutableBufferPointer<Regex.Program>
    /// Per regex, the program without its skip group (nil when it has none), searched when the
    /// text holds none of the group's guard literals (`skipGuardStamp` is not the current stamp).
    private let programsWithoutSkip: UnsafeMutableBufferPointer<Regex.Program?>
    private let skipGuardStamp: UnsafeMutableBufferPointer<UInt32>
    /// Per regex, the reach of its program without the skip group (-1 when none): the stretch
    /// searched before a literal when that program is. Sized for the whole pattern, whose group
    /// can span 202 characters of quoted text, a stretch held nearly every text whole.
    private let reachWithoutSkip: UnsafeMutableBufferPointer<Int32>
    private let regexValidators: UnsafeMutableBufferPointer<Validator?>

    public init(rules: RuleSet, matchLimit: UInt32 = 200_000) {
        self.rules = rules
        normalizer = rules.normalizer
        automaton = rules.automaton
        termEntries = Self.copy(
            rules.useStart.indices.map {
                (rules.useStart[$0], $0 < rules.termLengths.count ? rules.termLengths[$0] : 0)
            })
        uses = Self.copy(rules.uses)
        ungatedRegexes = Self.copy(rules.ungatedRegexes)
        regexDigitGate = Self.copy(rules.regexDigitGate)
        regexAlphanumericGate = Self.copy(rules.regexAlphanumericGate)
        regexNeedsSecond = Self.copy(rules.regexNeedsSecond)
        regexNeighbours = Self.copy(rules.regexNeighbours)
        regexSecondNeighbours = Self.copy(rules.regexSecondNeighbours)
        followers = FollowerTable(rules.regexFollowers)
        regexIsRefusal = Self.copy(rules.regexIsRefusal)
        regexWindowed = Self.copy(
            rules.regexReach.indices.map {
                (rules.regexReach[$0] >= 0 || rules.regexReachWithoutSkip[$0] >= 0) && rules.regexLiteralsInMatch[$0]
            })
        regexDigitRunReach = Self.copy(rules.regexDigitRunReach)
        regexWithinFirst = Self.copy(rules.regexes.map { Int32(clamping: $0.withinFirst ?? -1) })
        let regexCount = rules.regexes.count
        regexStamp = Self.copy(Array(repeating: 0, count: regexCount))
        regexSecondStamp = Self.copy(Array(repeating: 0, count: regexCount))
        regexLastStart = Self.copy(Array(repeating: 0, count: regexCount))
        regexPrograms = Self.copy(rules.regexObjects.map(\.program))
        programsWithoutSkip = Self.copy(rules.regexesWithoutSkip.map { $0?.program })
        skipGuardStamp = Self.copy(Array(repeating: 0, count: regexCount))
        reachWithoutSkip = Self.copy(rules.regexReachWithoutSkip)
        regexValidators = Self.copy(rules.regexValidators)
        scratch = RegexScratch(matchLimit: matchLimit)
        counters.runsPerRegex = Array(repeating: 0, count: regexCount)
        counters.nanosPerRegex = Array(repeating: 0, count: regexCount)
    }

    /// A buffer the caller owns and deallocates, holding `array`'s elements.
    static func copy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, array.count))
        _ = buffer.initialize(from: array)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<array.count])
    }

    deinit {
        for buffer in [
            ungatedRegexes, regexDigitGate, regexAlphanumericGate, regexLastStart,
        ] {
            buffer.baseAddress?.deallocate()
        }
        uses.baseAddress?.deallocate()
        termEntries.baseAddress?.deallocate()
        regexNeedsSecond.baseAddress?.deallocate()
        regexNeighbours.baseAddress?.deallocate()
        regexSecondNeighbours.baseAddress?.deallocate()
        regexIsRefusal.baseAddress?.deallocate()
        regexWindowed.baseAddress?.deallocate()
        regexDigitRunReach.baseAddress?.deallocate()
        regexWithinFirst.baseAddress?.deallocate()
        regexStamp.baseAddress?.deallocate()
        regexSecondStamp.baseAddress?.deallocate()
        regexPrograms.baseAddress?.deallocate()
        programsWithoutSkip.baseAddress?.deallocate()
        skipGuardStamp.baseAddress?.deallocate()
        reachWithoutSkip.baseAddress?.deallocate()
        regexValidators.baseAddress?.deallocate()
    }

    /// Measure the time each regex takes (costs two clock reads per regex run).
    public var profiling = false

    /// Normalizes and scans one text. Invalid UTF-8 is scanned as U+FFFD; `text.firstInvalidUTF8`
    /// tells the caller to report it.
    /// - Parameters:
    ///   - refusalCheck: classify the text as a refusal or not (for outputs).
    ///   - hashingLetters: compute `text.letterHash` (for inputs whose prompts are tracked).
    public func scan(_ original: UnsafeBufferPointer<UInt8>, refusalCheck: Bool = true, hashingLetters: Bool = false) {
        checkingRefusal = refusalCheck
        normalizer.normalize(original, into: text, hashingLetters: hashingLetters, symbolTable: automaton.symbolTable)
        matches.removeAll()
        topics.removeAll()
        isRefusal = false
        refusalRule = nil
        hits.removeAll()
        allowHits.removeAll()
        coHits.removeAll()
        topicTerms.removeAll()
        gateHits.removeAll()
        automaton.scan(text, into: hits, symbols: symbols, candidates: candidates)
        counters.literalHits &+= hits.count
        queue.removeAll()
        stamp &+= 1
        if stamp == 0 {
            for i in regexStamp.indices {
                regexStamp[i] = 0
                regexSecondStamp[i] = 0
                skipGuardStamp[i] = 0
            }
            digitRunsStamp = 0
            stamp = 1
        }
        if hits.count > 0 { collectLiteralHits() }
        if let repeatAutomaton = rules.repeatAutomaton { scanRepeatFolded(repeatAutomaton) }
        let digitRun = Int32(text.longestDigitRun)
        let alphanumericRun = Int32(text.longestAlphanumericRun)
        for r in ungatedRegexes
        where regexDigitGate[Int(r)] <= digitRun && regexAlphanumericGate[Int(r)] <= alphanumericRun
            && (checkingRefusal || !regexIsRefusal[Int(r)])
        {
            queue.append(r)
        }
        if queue.count > 0 { runRegexes() }
        if coHits.count > 0 { evaluateCooccurrences() }
        if topicTerms.count > 0 { evaluateTopics() }
        if matches.count > 0 { applySuppressionAndWindows(refusalCheck: refusalCheck) }
    }

    /// Convenience for tests and rule checks.
    public func scan(_ string: String, refusalCheck: Bool = true) {
        var copy = string
        copy.withUTF8 { scan($0, refusalCheck: refusalCheck) }
    }

    private func collectLiteralHits() {
        let digitRun = Int32(text.longestDigitRun)
        let alphanumericRun = Int32(text.longestAlphanumericRun)
        let scalars = UnsafePointer(text.scalars.base)
        let scalarCount = text.scalars.count
        for h in 0..<hits.count {
            let hit = hits[h]
            let end = hit.end + 1
            let term = termEntries[Int(hit.term)]
            let start = end - term.length
            for u in Int(term.useStart)..<Int(termEntries[Int(hit.term) + 1].useStart) {
                switch uses[u] {
                case .keyword(let k):
                    matches.append(Match(rule: .keyword(k), start: start, end: end))
                case .allow(let a):
                    allowHits.append((a, start, end))
                case .cooccurrence(let rule, let slot):
                    coHits.append((rule, slot, start, end))
                case .topic(let t):
                    topicTerms.append((t, hit.term))
                case .regexLiteral(let r):
                    if let n = regexNeighbours[Int(r)],
                        !n.admit(scalars, count: scalarCount, start: Int(start), end: Int(end))
                    {
                        continue
                    }
                    if !followers.admits(
                        regex: Int(r), scalars, count: scalarCount, end: Int(end), normalizer: normalizer)
                    {
                        continue
                    }
                    if regexWindowed[Int(r)] { gateHits.append((r, start)) }
                    if regexStamp[Int(r)] == stamp {
                        if start > regexLastStart[Int(r)] { regexLastStart[Int(r)] = start }
                    } else {
                        regexStamp[Int(r)] = stamp
                        regexLastStart[Int(r)] = start
                        if !regexNeedsSecond[Int(r)] || regexSecondStamp[Int(r)] == stamp {
                            enqueue(r, digitRun: digitRun, alphanumericRun: alphanumericRun)
                        }
                    }
                case .regexSecondLiteral(let r):
                    if let n = regexSecondNeighbours[Int(r)],
                        !n.admit(scalars, count: scalarCount, start: Int(start), end: Int(end))
                    {
                        continue
                    }
                    if regexSecondStamp[Int(r)] != stamp {
                        regexSecondStamp[Int(r)] = stamp
                        if regexStamp[Int(r)] == stamp {
                            enqueue(r, digitRun: digitRun, alphanumericRun: alphanumericRun)
                        }
                    }
                case .skipGuard(let r):
                    skipGuardStamp[Int(r)] = stamp
                }
            }
        }
    }

    private static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }

    @inline(__always)
    private func enqueue(_ r: Int32, digitRun: Int32, alphanumericRun: Int32) {
        if regexDigitGate[Int(r)] <= digitRun && regexAlphanumericGate[Int(r)] <= alphanumericRun
            && (checkingRefusal || !regexIsRefusal[Int(r)])
        {
            queue.append(r)
        }
    }

    private let collapsed = GrowableBuffer<UInt32>(capacity: 1024)
    private let collapsedIndex = GrowableBuffer<Int32>(capacity: 1024)

    /// Runs the repeat-folded keywords over the text with runs of one character collapsed.
    private func scanRepeatFolded(_ automaton: LiteralAutomaton) {
        collapsed.removeAll()
        collapsedIndex.removeAll()
        let count = text.scalars.count
        var previous: UInt32 = 0xFFFF_FFFF
        for i in 0..<count {
            let s = normalizer.foldCase(text.scalars[i])
            if s != previous {
                collapsed.append(s)
                collapsedIndex.append(Int32(i))
                previous = s
            }
        }
        hits.removeAll()
        automaton.scan(collapsed.buffer, into: hits, symbols: symbols, candidates: candidates)
        for h in 0..<hits.count {
            let hit = hits[h]
            let first = Int(hit.end) + 1 - Int(automaton.termLengths[Int(hit.term)])
            let start = collapsedIndex[first]
            let end = Int(hit.end) + 1 < collapsedIndex.count ? collapsedIndex[Int(hit.end) + 1] : Int32(count)
            matches.append(Match(rule: .repeatFolded(hit.term), start: start, end: end))
        }
    }

    private func runRegexes() {
        // Rule order, not hit order, so output is the same whatever order literals were found in.
        if queue.count > 1 {
            var pending = UnsafeMutableBufferPointer(start: queue.base, count: queue.count)
            pending.sort()
        }
        // Once a refusal phrase stands (in its window, not allowed away), the verdict is made
        // and the first such match in rule order names the rule: later refusal rules are not
        // searched. Matches found before the regexes (keywords) are looked at once, when the
        // first refusal rule comes up.
        var refusalLookedAt = false
        var refusalDecided = false
        for q in 0..<queue.count {
            let r = queue[q]
            let refusal = regexIsRefusal[Int(r)]
            if refusal {
                if !refusalLookedAt {
                    refusalLookedAt = true
                    refusalDecided = refusalStands(from: 0)
                }
                if refusalDecided { continue }
            }
            let before = matches.count
            run(r)
            if refusal && matches.count > before && refusalStands(from: before) { refusalDecided = true }
        }
    }

    /// Whether one of the matches from index `first` on is a refusal phrase that stands.
    private func refusalStands(from first: Int) -> Bool {
        for i in first..<matches.count {
            let (signal, stands) = verdict(on: matches[i])
            if stands && signal == .refusal { return true }
        }
        return false
    }

    /// Searches regex `r` where its gate allows.
    private func run(_ r: Int32) {
        let started = profiling ? Self.now() : 0
        defer { if profiling { counters.nanosPerRegex[Int(r)] &+= Self.now() &- started } }
        let gated = regexStamp[Int(r)] == stamp
        // A match that starts past the rule's window is dropped later (refusal phrases count
        // only near the start of an output), so no search starts there.
        let within = Int(regexWithinFirst[Int(r)])
        let lastStart = within < 0 || within > text.scalars.count ? Int.max : within - 1
        if lastStart < 0 { return }
        // Under the same condition as `search` takes the program without the skip group.
        let withoutSkip = skipGuardStamp[Int(r)] != stamp ? Int(reachWithoutSkip[Int(r)]) : -1
        let reach = withoutSkip >= 0 ? withoutSkip : Int(rules.regexReach[Int(r)])
        if gated && regexWindowed[Int(r)] && reach >= 0 {
            // A match holds one of the literals derived from the pattern and starts at most
            // `reach` characters before it: only those stretches are searched, each with
            // PCRE2's offset limit at the occurrence, instead of everything from the first
            // occurrence to the last.
            var stretches = Stretches()
            for h in 0..<gateHits.count where gateHits[h].regex == r {
                let low = max(0, Int(gateHits[h].start) - reach)
                if low > lastStart { break }
                guard addStretch(r, low, min(Int(gateHits[h].start), lastStart), &stretches) else { break }
            }
            searchLastStretch(r, &stretches)
            return
        }
        let digitReach = Int(regexDigitRunReach[Int(r)])
        if !gated && digitReach >= 0 {
            // Gated by a digit run alone: every match holds a run of at least the gate's
            // length within its longest match, so it starts at most that far before a
            // text digit run so long, and not after the run's last digit.
            if digitRunsStamp != stamp { findDigitRuns() }
            let shortest = Int(regexDigitGate[Int(r)])
            var stretches = Stretches()
            for k in stride(from: 0, to: digitRuns.count, by: 2) {
                let (first, end) = (Int(digitRuns[k]), Int(digitRuns[k &+ 1]))
                guard end - first >= shortest else { continue }
                let low = max(0, first - digitReach)
                if low > lastStart { break }
                guard addStretch(r, low, min(end - 1, lastStart), &stretches) else { break }
            }
            searchLastStretch(r, &stretches)
            return
        }
        // Unbounded, but gated by literals derived from the pattern: every match still holds
        // one, so none starts after the last of them, and the search stops there instead of at
        // the end of the text. Hand-given literals may be context outside the match, and some
        // regexes have no gate: those search the whole text.
        var startLimit =
            gated && rules.regexLiteralsInMatch[Int(r)] ? Int(text.utf8Offsets[Int(regexLastStart[Int(r)])]) : nil
        if lastStart != Int.max { startLimit = min(startLimit ?? Int.max, Int(text.utf8Offsets[lastStart])) }
        var state = SearchState()
        search(r, limit: startLimit, &state)
    }

    /// Stretches of start positions (scalar indices) searched one regex at a time, in order,
    /// each merged with the one before where they touch or overlap.
    private struct Stretches {
        var open: (low: Int, high: Int)?
        var state = SearchState()
        var searching = true
    }

    /// Adds starts `low...high` to the stretches of regex `r`, searching the open stretch first
    /// when this one does not touch it; false once the regex needs no more searching.
    private func addStretch(_ r: Int32, _ low: Int, _ high: Int, _ stretches: inout Stretches) -> Bool {
        if let open = stretches.open, low <= open.high + 1 {
            stretches.open = (open.low, max(open.high, high))
            return true
        }
        if let done = stretches.open {
            stretches.searching = search(r, from: done.low, limit: done.high, &stretches.state)
            if !stretches.searching { return false }
        }
        stretches.open = (low, high)
        return true
    }

    /// Searches the last open stretch, unless the regex needs no more searching.
    private func searchLastStretch(_ r: Int32, _ stretches: inout Stretches) {
        if stretches.searching, let last = stretches.open {
            search(r, from: last.low, limit: last.high, &stretches.state)
        }
    }

    /// Lists the current text's runs of `RegexPrefilter.minimumDigitRun` or more ASCII digits
    /// in `digitRuns`.
    private func findDigitRuns() {
        digitRunsStamp = stamp
        digitRuns.removeAll()
        let scalars = text.scalars.base
        let count = text.scalars.count
        var i = 0
        while i < count {
            guard scalars[i] &- 0x30 < 10 else {
                i &+= 1
                continue
            }
            let first = i
            while i < count && scalars[i] &- 0x30 < 10 { i &+= 1 }
            if i - first >= RegexPrefilter.minimumDigitRun {
                digitRuns.append(Int32(truncatingIfNeeded: first))
                digitRuns.append(Int32(truncatingIfNeeded: i))
            }
        }
    }

    /// Where a regex's search has got to in the current text, and how many matches it kept.
    private struct SearchState {
        var from = 0
        var found = 0
    }

    /// Searches regex `r` for matches starting between scalar `from` and scalar `limit` (at the
    /// earliest where an earlier stretch left off); false when the regex needs no more searching.
    @discardableResult
    private func search(_ r: Int32, from low: Int, limit high: Int, _ state: inout SearchState) -> Bool {
        state.from = max(state.from, Int(text.utf8Offsets[low]))
        return search(r, limit: Int(text.utf8Offsets[high]), &state)
    }

    /// Searches regex `r` from `state.from`, for matches starting no later than byte `startLimit`
    /// (anywhere when nil); false when the regex needs no more searching (a match without a
    /// validator, enough matches, or PCRE2 gave up).
    @discardableResult
    private func search(_ r: Int32, limit startLimit: Int?, _ state: inout SearchState) -> Bool {
        let bytes = text.utf8.buffer
        var regex = regexPrograms[Int(r)]
        if skipGuardStamp[Int(r)] != stamp, let withoutSkip = programsWithoutSkip[Int(r)] { regex = withoutSkip }
        let validator = regexValidators[Int(r)]
        while state.from <= bytes.count {
            guard state.found < maxMatchesPerRule else { return false }
            if let startLimit, state.from > startLimit { return true }
            counters.regexRuns += 1
            counters.runsPerRegex[Int(r)] += 1
            let outcome = regex.firstMatch(in: bytes, from: state.from, startLimit: startLimit, scratch: scratch)
            guard case .match(let range) = outcome else {
                if outcome == .limitExceeded {
                    counters.regexLimitHits += 1
                    return false
                }
                return true
            }
            let accepted = validator.map { v in v.accepts(UnsafeBufferPointer(rebasing: bytes[range])) } ?? true
            if accepted {
                let start = text.scalarIndex(atUTF8Offset: range.lowerBound)
                let end = range.isEmpty ? start : text.scalarIndex(atUTF8Offset: range.upperBound - 1) + 1
                matches.append(Match(rule: .regex(r), start: Int32(start), end: Int32(end)))
                state.found += 1
                if validator == nil { return false }
            }
            state.from = range.isEmpty ? range.upperBound + 1 : range.upperBound
            // Keep searching on a whole character.
            while state.from < bytes.count, bytes[state.from] & 0xC0 == 0x80 { state.from += 1 }
        }
        return false
    }

    private func evaluateCooccurrences() {
        // Usually one common word of a rule occurs alone: a bitmask of the slots seen rules that
        // out without allocating. Only a rule with every slot present gets the window search.
        var checked: (Int32, Int32, Int32, Int32) = (-1, -1, -1, -1)
        for i in 0..<coHits.count {
            let rule = coHits[i].rule
            if rule == checked.0 || rule == checked.1 || rule == checked.2 || rule == checked.3 { continue }
            checked = (rule, checked.0, checked.1, checked.2)
            let needed = rules.cooccurrences[Int(rule)].terms.count
            let window = rules.cooccurrences[Int(rule)].window
            var seenSlots: UInt64 = 0
            for j in i..<coHits.count where coHits[j].rule == rule { seenSlots |= 1 << UInt64(coHits[j].slot & 63) }
            guard seenSlots.nonzeroBitCount >= needed else { continue }
            var occurrences: [(slot: Int32, start: Int32, end: Int32)] = []
            for j in i..<coHits.count where coHits[j].rule == rule {
                occurrences.append((coHits[j].slot, coHits[j].start, coHits[j].end))
            }
            occurrences.sort { $0.start < $1.start }
            search: for first in occurrences.indices {
                var slots: UInt64 = 0
                var last = occurrences[first].end
                for k in first..<occurrences.count {
                    if Int(max(last, occurrences[k].end) - occurrences[first].start) > window { break }
                    slots |= 1 << UInt64(occurrences[k].slot & 63)
                    last = max(last, occurrences[k].end)
                    if slots.nonzeroBitCount == needed {
                        matches.append(Match(rule: .cooccurrence(rule), start: occurrences[first].start, end: last))
                        break search
                    }
                }
            }
        }
        coHits.removeAll()
    }

    private func evaluateTopics() {
        var perTopic: [Int32: Set<Int32>] = [:]
        for i in 0..<topicTerms.count { perTopic[topicTerms[i].topic, default: []].insert(topicTerms[i].term) }
        for (topic, terms) in perTopic.sorted(by: { $0.key < $1.key })
        where terms.count >= rules.topics[Int(topic)].minKeywords {
            topics.append(topic)
        }
        topicTerms.removeAll()
    }

    /// Drops matches that an allow term covers and refusal phrases outside their window;
    /// decides the refusal verdict.
    private func applySuppressionAndWindows(refusalCheck: Bool) {
        var kept = 0
        for i in 0..<matches.count {
            let m = matches[i]
            let (signal, stands) = verdict(on: m)
            if !stands { continue }
            if signal == .refusal {
                if refusalCheck && !isRefusal {
                    isRefusal = true
                    refusalRule = m.rule
                }
                continue
            }
            matches[kept] = m
            kept += 1
        }
        matches.count = kept
    }

    /// A match's signal, and whether it stands: inside its rule's window and not allowed away.
    private func verdict(on m: Match) -> (signal: Signal, stands: Bool) {
        var pack = 0
        var allowTerms: [Int32] = []
        var withinFirst: Int? = nil
        let signal: Signal
        switch m.rule {
        case .keyword(let k):
            let r = rules.keywords[Int(k)]
            pack = r.origin.pack
            allowTerms = r.allowTerms
            withinFirst = r.withinFirst
            signal = r.signal
        case .regex(let k):
            let r = rules.regexes[Int(k)]
            pack = r.origin.pack
            withinFirst = r.withinFirst
            signal = r.signal
        case .cooccurrence(let k):
            pack = rules.cooccurrences[Int(k)].origin.pack
            signal = rules.cooccurrences[Int(k)].signal
        case .repeatFolded(let k):
            pack = rules.repeatFolded[Int(k)].origin.pack
            signal = rules.repeatFolded[Int(k)].signal
        }
        if let limit = withinFirst, Int(m.start) >= limit { return (signal, false) }
        return (signal, !suppressed(m, pack: pack, allowTerms: allowTerms, signal: signal))
    }

    private func suppressed(_ m: Match, pack: Int, allowTerms: [Int32], signal: Signal) -> Bool {
        guard allowHits.count > 0 else { return false }
        let packHasAllows = rules.packsWithAllows.contains(pack)
        if allowTerms.isEmpty && !packHasAllows { return false }
        for i in 0..<allowHits.count {
            let a = allowHits[i]
            let allow = rules.allows[Int(a.rule)]
            let inside = a.start <= m.start && m.end <= a.end
            if inside && allowTerms.contains(allow.term) { return true }
            guard allow.pack == pack else { continue }
            if let only = allow.only, !only.contains(signal.value) { continue }
            if let near = allow.near {
                let gap = a.end <= m.start ? m.start - a.end : (m.end <= a.start ? a.start - m.end : 0)
                if Int(gap) <= near { return true }
            } else if inside {
                return true
            }
        }
        return false
    }
}
