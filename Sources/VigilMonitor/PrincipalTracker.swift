import CVigilSIMD
import VigilScan
import VigilTaxonomy

/// Watches each principal (user id, client IP, API key; a key is shown masked) that sends inputs:
/// - `principal_risk_streak`: inputs hitting a risk `inARow` times in a row (3), and
///   `principal_risk_daily`: `perDay` times within a day (5), the figures after which the
///   standard says to suspend the user (SPEC §4a); the alert names the principal;
/// - `principal_polling`: more than `ceilingPerMinute` requests in a minute, or more than
///   `baselineFactor` times the principal's own usual rate (an EWMA of its past minutes);
/// - `principal_repeated_prompt`: the same or nearly the same prompt (equal after dropping
///   digits, spacing, punctuation and case) `repeatCount` times within `repeatWindow` seconds.
/// State per principal is small and bounded: idle principals are forgotten after a day, and at
/// most `capacity` are tracked (the longest idle go first).
public struct PrincipalTracker: Sendable {
    public var inARow = 3
    public var perDay = 5
    public var ceilingPerMinute = 120
    public var baselineFactor = 5.0
    public var minPerMinute = 30
    public var repeatCount = 10
    public var repeatWindow: Double = 600
    public var capacity = 100_000
    public var enabled: Set<String> = [
        "principal_risk_streak", "principal_risk_daily", "principal_polling", "principal_repeated_prompt",
    ]
    {
        didSet {
            polling = enabled.contains("principal_polling")
            prompts = enabled.contains("principal_repeated_prompt")
        }
    }
    // Looked up once, not per record.
    private var polling = true
    private var prompts = true

    /// What is kept per principal: a value in `states`, its slot found through `index`. The
    /// recent prompts' full hashes, counts and times live beside it in `recentPrompts`
    /// (`promptSlots` entries per state), so a record touches a few cache lines, not a graph of
    /// small objects. 128 bytes, what every input reads: the fields every input touches in the
    /// first 64 (counts in 32 bits), the prompt tags in the other; the day's window of risky
    /// inputs, which few principals have, is kept apart (`riskDays`). At 224 bytes, with that
    /// window inside, a state spread over four or five cache lines, each a miss.
    struct State {
        var kind: UInt8
        var nextPromptSlot: UInt8 = 0
        var streak: Int32 = 0
        var id: String
        /// Minutes and days since the epoch.
        var minute = Int32.min
        var minuteCount: Int32 = 0
        var minutesSeen: Int32 = 0
        var pollingAlertMinute = Int32.min
        var dailyAlertDay = Int32.min
        var baseline = 0.0
        var lastSeen = 0.0
        /// 16 bits of each remembered prompt's hash, beside the rest of the state, so that a
        /// prompt not seen before is told so from the state's own cache lines.
        var promptTags = PromptTags(repeating: 0)

        init(kind: UInt8, id: String) {
            self.kind = kind
            self.id = id
        }
    }

    private var states: [State] = []
    /// Per slot whose principal sent a risky input: the day's window of those inputs.
    private var riskDays: [Int: SlidingWindow] = [:]
    /// Slots of `states` freed by forgetting, reused before the arrays grow.
    private var freeSlots: [Int] = []
    private var index = PrincipalIndex()
    /// Per state, `promptSlots` entries: the last distinct prompts, their counts and first sight.
    private var recentPrompts = PromptMemory()

    /// A principal's prompt tags; their count is how many distinct recent prompts it remembers.
    /// A vector, so that looking for a tag is one comparison of all of them, not a loop.
    typealias PromptTags = SIMD32<UInt16>
    static let promptSlots = PromptTags.scalarCount

    public init() {}

    /// Principals being tracked.
    public var tracked: Int { index.count }

    /// A text's user and client hashed ahead of its turn, so that what `observe(input:)` reads
    /// for them is loading while the texts before it are raised (see `lookahead(_:)`).
    public struct Lookahead: Sendable {
        /// 0 when not hashed ahead.
        fileprivate var user: UInt64 = 0
        fileprivate var client: UInt64 = 0

        public init() {}
    }

    /// The first of three steps ahead of `observe(input:)`, some texts before it: hashes the
    /// text's user and client and starts loading their index entries. Then
    /// `prefetchStates(_:)` a few texts before it, and `prefetchPrompts(_:)` one before.
    /// Mutating only so that a tracker held in a class's `var` is not copied for the call.
    /// Each only starts loads (prefetches, which never wait): the principals' states are
    /// cache misses (the median principal is seen again thousands of inputs later), and read
    /// in turn by `observe`, each miss waited for the one before.
    public mutating func lookahead(_ f: borrowing TextFindings) -> Lookahead {
        var a = Lookahead()
        guard f.direction == .input else { return a }
        if let id = f.userID, !id.isEmpty {
            a.user = Self.hash(0, id)
            index.prefetch(a.user)
        }
        if let id = f.clientIP, !id.isEmpty {
            a.client = Self.hash(1, id)
            index.prefetch(a.client)
        }
        return a
    }

    /// Starts loading the states whose index entries `lookahead(_:)` asked for.
    public mutating func prefetchStates(_ a: Lookahead) {
        guard a.user | a.client != 0 else { return }
        states.withUnsafeBufferPointer { s in
            guard let base = s.baseAddress else { return }
            func load(_ hash: UInt64) {
                guard hash != 0, let slot = index.likelySlot(hash), slot < s.count else { return }
                let state = UnsafeRawPointer(base + slot)
                vigil_prefetch_for_write(state)
                vigil_prefetch_for_write(state + 64)
            }
            load(a.user)
            load(a.client)
        }
    }

    /// Starts loading the prompt entries that the next new prompts of the states
    /// `prefetchStates(_:)` asked for will be written to.
    public mutating func prefetchPrompts(_ a: Lookahead) {
        guard prompts, a.user | a.client != 0 else { return }
        func load(_ hash: UInt64) {
            guard hash != 0, let slot = index.likelySlot(hash), slot < states.count else { return }
            recentPrompts.prefetch(state: slot, i: Int(states[slot].nextPromptSlot))
        }
        load(a.user)
        load(a.client)
    }

    public mutating func observe(
        input f: TextFindings, at now: Double, origin: RecordOrigin, lookahead a: Lookahead = Lookahead()
    ) -> [Alert] {
        var alerts: [Alert] = []
        let user = f.userID.flatMap { $0.isEmpty ? nil : (id: $0, hash: a.user != 0 ? a.user : Self.hash(0, $0)) }
        let client = f.clientIP.flatMap {
            $0.isEmpty ? nil : (id: $0, hash: a.client != 0 ? a.client : Self.hash(1, $0))
        }
        // Both looked up before either is updated: the lookups' cache misses then overlap
        // instead of coming one after the other. Each is checked again where it is used.
        let userSlot = user.flatMap { find(0, $0.id, $0.hash) }
        let clientSlot = client.flatMap { find(1, $0.id, $0.hash) }
        if let user { observe(0, user.id, user.hash, userSlot, "user_id", f, now, origin, &alerts) }
        if let client { observe(1, client.id, client.hash, clientSlot, "client_ip", f, now, origin, &alerts) }
        if let key = f.apiKey, !key.isEmpty {
            let hash = Self.hash(2, key)
            observe(2, key, hash, nil, "api_key", f, now, origin, &alerts, shown: Self.maskedKey(key))
        }
        return alerts
    }

    @inline(__always)
    private func find(_ kind: UInt8, _ id: String, _ hash: UInt64) -> Int? {
        index.find(hash) { states[$0].kind == kind && states[$0].id == id }
    }

    /// An API key as alerts show it: its first six and last four characters.
    public static func maskedKey(_ key: String) -> String {
        key.count > 12 ? key.prefix(6) + "…" + key.suffix(4) : String(repeating: "*", count: key.count)
    }

    /// `found`: the slot a lookup found before; it is used only if it still holds this principal
    /// (adding another may have forgotten idle ones in between).
    private mutating func observe(
        _ kind: UInt8, _ id: String, _ hash: UInt64, _ found: Int?, _ kindName: String, _ f: TextFindings,
        _ now: Double, _ origin: RecordOrigin, _ alerts: inout [Alert], shown: String? = nil
    ) {
        let slot =
            found.flatMap { states[$0].kind == kind && states[$0].id == id ? $0 : nil }
            ?? find(kind, id, hash) ?? add(State(kind: kind, id: id), hash: hash, now: now)
        states[slot].lastSeen = now
        let name = shown ?? id
        observeRisk(slot, f, kindName, name, now, origin, &alerts)
        observeRate(slot, kindName, name, now, origin, &alerts)
        observePrompt(slot, f, kindName, name, now, origin, &alerts)
    }

    private mutating func add(_ state: State, hash: UInt64, now: Double) -> Int {
        if index.count >= capacity { forgetIdle(now: now) }
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            states[slot] = state
            riskDays[slot] = nil
        } else {
            slot = states.count
            states.append(state)
            recentPrompts.reserve(state: slot)
        }
        // A fresh state's tags are all 0, which no prompt's tag is: the slot's old prompts are gone.
        index.insert(hash, slot: slot)
        return slot
    }

    private func labels(_ kind: String, _ id: String, _ origin: RecordOrigin, _ f: TextFindings? = nil) -> [String:
        String]
    {
        var l = ["source": origin.source, "principal": "\(kind)=\(id)", kind: id]
        if let r = f?.requestID { l["request_id"] = r }
        return l
    }

    private mutating func observeRisk(
        _ slot: Int, _ f: TextFindings, _ kind: String, _ id: String, _ now: Double,
        _ origin: RecordOrigin, _ alerts: inout [Alert]
    ) {
        // Built only when an alert names the principal.
        var principal: String { "\(kind)=\(id)" }
        let risky = f.hasRisks
        states[slot].streak = risky ? states[slot].streak &+ 1 : 0
        guard risky else { return }
        riskDays[slot, default: SlidingWindow(length: 86_400, buckets: 24)].add(at: now, hit: true)
        let s = states[slot]
        // Built only when an alert is raised.
        var l: [String: String] {
            var l = labels(kind, id, origin, f)
            l["risks"] = f.risks.map(\.signal).joined(separator: ",")
            return l
        }
        if s.streak >= inARow && enabled.contains("principal_risk_streak") {
            states[slot].streak = 0
            alerts.append(
                Alert(
                    key: "principal_risk_streak|\(principal)|\(origin.position)", rule: "principal_risk_streak",
                    severity: .critical, subtype: .socialEngineering,
                    summary:
                        "\(principal) asked for risky content \(inARow) times in a row: suspend the service to this principal",
                    labels: l, excerpt: f.risks.first?.excerpt, observedAt: now))
        }
        let day = Int32(clamping: Int(now / 86_400))
        if (riskDays[slot]?.counts(now: now).hits ?? 0) >= perDay && s.dailyAlertDay != day
            && enabled.contains("principal_risk_daily")
        {
            states[slot].dailyAlertDay = day
            alerts.append(
                Alert(
                    key: "principal_risk_daily|\(principal)|\(day)", rule: "principal_risk_daily", severity: .critical,
                    subtype: .socialEngineering,
                    summary:
                        "\(principal) asked for risky content \(perDay) times within a day: suspend the service to this principal",
                    labels: l, excerpt: f.risks.first?.excerpt, observedAt: now))
        }
    }

    private mutating func observeRate(
        _ slot: Int, _ kind: String, _ id: String, _ now: Double, _ origin: RecordOrigin,
        _ alerts: inout [Alert]
    ) {
        // Built only when an alert names the principal.
        var principal: String { "\(kind)=\(id)" }
        let minute = Int32(clamping: Int(now / 60))
        Self.count(minute, in: &states[slot])
        guard polling, states[slot].pollingAlertMinute != minute else { return }
        let s = (
            minuteCount: states[slot].minuteCount, minutesSeen: states[slot].minutesSeen,
            baseline: states[slot].baseline
        )
        var reason: String?
        if Int(s.minuteCount) > ceilingPerMinute {
            reason = "more than \(ceilingPerMinute) requests in a minute"
        } else if s.minutesSeen >= 5, Int(s.minuteCount) >= minPerMinute,
            Double(s.minuteCount) > baselineFactor * max(1, s.baseline)
        {
            reason = "\(s.minuteCount) requests this minute against a usual \(String(format: "%.1f", s.baseline))"
        }
        guard let reason else { return }
        states[slot].pollingAlertMinute = minute
        var l = labels(kind, id, origin)
        l["requests_this_minute"] = String(s.minuteCount)
        l["baseline_per_minute"] = String(format: "%.1f", s.baseline)
        alerts.append(
            Alert(
                key: "principal_polling|\(principal)|\(minute)", rule: "principal_polling", severity: .warning,
                subtype: .socialEngineering, summary: "Possible malicious polling by \(principal): \(reason)",
                labels: l,
                observedAt: now))
    }

    private mutating func observePrompt(
        _ slot: Int, _ f: TextFindings, _ kind: String, _ id: String, _ now: Double,
        _ origin: RecordOrigin, _ alerts: inout [Alert]
    ) {
        // Built only when an alert names the principal.
        var principal: String { "\(kind)=\(id)" }
        guard f.promptHash != 0, prompts else { return }
        let tag = UInt16(truncatingIfNeeded: f.promptHash >> 48) | 1
        let tags = states[slot].promptTags
        let second = UInt32(clamping: Int(now))
        var found = -1
        if any(tags .== PromptTags(repeating: tag)) {
            for i in 0..<Self.promptSlots where tags[i] == tag && recentPrompts[slot, i].hash == f.promptHash {
                found = i
                break
            }
        }
        var entry: PromptMemory.Entry
        if found < 0 {
            found = Int(states[slot].nextPromptSlot)
            states[slot].nextPromptSlot = UInt8((found + 1) % Self.promptSlots)
            states[slot].promptTags[found] = tag
            entry = PromptMemory.Entry(hash: f.promptHash, since: second, count: 1)
        } else {
            entry = recentPrompts[slot, found]
            if now - Double(entry.since) > repeatWindow {
                entry.count = 1
                entry.since = second
            } else {
                entry.count &+= 1
            }
        }
        recentPrompts[slot, found] = entry
        guard Int(entry.count) == repeatCount else { return }
        var l = labels(kind, id, origin, f)
        l["repeats"] = String(entry.count)
        alerts.append(
            Alert(
                key: "principal_repeated_prompt|\(principal)|\(String(f.promptHash, radix: 16))|\(Int(entry.since))",
                rule: "principal_repeated_prompt", severity: .warning, subtype: .socialEngineering,
                summary: "\(principal) sent the same prompt \(entry.count) times within \(Int(repeatWindow)) s",
                labels: l, observedAt: now))
    }

    /// Counts a request in the state's current minute, folding finished minutes (and any
    /// silent ones since) into the principal's baseline.
    private static func count(_ minute: Int32, in s: inout State) {
        if minute != s.minute {
            if s.minute != Int32.min {
                let gap = min(Int(minute) - Int(s.minute) - 1, 60)
                s.baseline = s.minutesSeen == 0 ? Double(s.minuteCount) : 0.7 * s.baseline + 0.3 * Double(s.minuteCount)
                for _ in 0..<max(0, gap) { s.baseline *= 0.7 }
                s.minutesSeen = s.minutesSeen &+ Int32(1 + max(0, gap))
            }
            s.minute = minute
            s.minuteCount = 0
        }
        s.minuteCount += 1
    }

    /// The slot's key in `index`: seeded per process, so ids cannot be chosen to collide. Eight
    /// bytes a step, each folded in by a full-width multiply with a secret: `Hasher` (SipHash)
    /// cost about 300 instructions for an id of a few bytes, twice per input on the line loop.
    private static func hash(_ kind: UInt8, _ id: String) -> UInt64 {
        var id = id
        return id.withUTF8 { bytes -> UInt64 in
            let (k0, k1) = hashSeed
            var h = k0 ^ (UInt64(kind) << 56 | UInt64(bytes.count))
            guard let base = bytes.baseAddress else { return fold(h, k1) }
            let n = bytes.count
            let raw = UnsafeRawPointer(base)
            var tail: UInt64
            if n >= 8 {
                var i = 0
                while i &+ 8 < n {
                    h = fold(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), k1)
                    i &+= 8
                }
                // The last eight bytes, overlapping the word before: the length is in `h`.
                tail = raw.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            } else if n >= 4 {
                tail =
                    UInt64(raw.loadUnaligned(as: UInt32.self)) << 32
                    | UInt64(raw.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self))
            } else {
                tail = 0
                for j in 0..<n { tail = tail << 8 | UInt64(base[j]) }
            }
            return fold(fold(h ^ tail, k1), k0)
        }
    }

    /// The high and low halves of a full-width product, folded together.
    @inline(__always)
    private static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let p = a.multipliedFullWidth(by: b)
        return p.high ^ p.low
    }

    /// Drawn once per process from the system's random source; odd, so no multiply loses bits.
    private static let hashSeed: (UInt64, UInt64) = (
        UInt64.random(in: .min ... .max) | 1, UInt64.random(in: .min ... .max) | 1
    )

    /// Forgets principals idle for a day; if still full, the longest idle tenth.
    private mutating func forgetIdle(now: Double) {
        var live = states.indices.filter { states[$0].kind != Self.freeKind && now - states[$0].lastSeen < 86_400 }
        if live.count >= capacity {
            live.sort { states[$0].lastSeen < states[$1].lastSeen }
            live.removeFirst(max(1, capacity / 10))
        }
        let kept = Set(live)
        index = PrincipalIndex()
        freeSlots = []
        for slot in states.indices {
            if kept.contains(slot) {
                index.insert(Self.hash(states[slot].kind, states[slot].id), slot: slot)
            } else {
                states[slot] = State(kind: Self.freeKind, id: "")
                riskDays[slot] = nil
                freeSlots.append(slot)
            }
        }
    }

    /// The kind of a slot that holds no principal.
    private static let freeKind: UInt8 = 0xFF
}
