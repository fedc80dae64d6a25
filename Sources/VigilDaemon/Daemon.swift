import Foundation
import VigilDecode
import VigilIncidents
import VigilMonitor
import VigilNotify
import VigilRules
import VigilScan
import VigilServer
import VigilState
import VigilTaxonomy

/// The long-running monitor: follows the configured sources, runs detection on every line,
/// raises alerts, stores them with the source positions that produced them, and hands them to
/// the outbox dispatchers that page the receivers.
///
/// One thread reads and scans (files are polled, standard input arrives through a queue);
/// each receiver's dispatcher has its own thread and its own connection to the state file.
public final class Daemon: @unchecked Sendable {
    let config: DaemonConfig
    /// The rules in force; replaced between batches when a reload succeeds.
    private(set) var library: RuleLibrary
    /// Where the rules come from, for reloads.
    let ruleDirectories: [String]
    let log: Log
    let store: StateStore
    /// The connection `/metrics` reads the state file through.
    let metricsState: MetricsState
    /// The incident desk's API (nil with `incidents.enabled: false`).
    let incidentAPI: IncidentAPI?
    /// Asked about every text: a constant, so each call reads it in place. As a `var` of this
    /// class, every call copied it (a retain and a release of its dictionary and its set).
    let alertRules: ContentAlerts
    var correlator: Correlator
    var refusal: RefusalTracker
    var principals: PrincipalTracker
    var traffic: TrafficTracker
    var errors: ErrorRateTracker
    private var followers: [FileFollower] = []
    private var stdin: StdinSource?
    /// One engine per source (each source has its own format), by source name.
    private var engines: [String: ScanEngine] = [:]
    /// A second engine per source for the helper thread, which shares the scanning of batches.
    private var helpers: [String: ScanEngine] = [:]
    /// The helper engines' counters, as the helper last copied them.
    private var helperCounts: [String: SummaryCopy] = [:]
    private let worker = HelperThread()
    /// Counters of engines replaced by a reload, so that metrics keep counting up.
    private var carried: [String: ScanSummary] = [:]
    let notifier = SystemdNotifier()
    private var reloader: RuleReloader?
    private var pendingLibrary: (RuleLibrary, [String], Double)?
    let ingest: IngestQueue
    private var server: HTTPServer?
    /// What `/metrics`, `/healthz` and `/readyz` show; written by the loop, read by the API.
    let status = StatusBoard()
    private var lastPublished = 0.0
    /// Whether lines were processed since the loop last ran out of input.
    private var workedSinceCaughtUp = false
    /// When the loop last found nothing more to read after reading something (Unix time).
    private var caughtUpAt = 0.0
    private let counterLock = NSLock()
    private var failuresByReceiver: [String: Int] = [:]
    private var reloadCounts = (success: 0, failure: 0)

    /// Failed delivery attempts per receiver (dispatcher threads add to it).
    var deliveryFailures: [String: Int] { counterLock.withLock { failuresByReceiver } }
    var reloads: (success: Int, failure: Int) { counterLock.withLock { reloadCounts } }

    private func countFailure(_ receiver: String) {
        counterLock.withLock { failuresByReceiver[receiver, default: 0] += 1 }
    }
    private var stdinLine = 0
    private let runID = String(Int(Date().timeIntervalSince1970 * 1000), radix: 36)
    private var dispatchers: [OutboxDispatcher] = []
    /// Opens and carries incidents from the stored alerts (nil with `incidents.enabled: false`).
    private(set) var desk: IncidentDesk?
    private let wakeUp = NSCondition()
    private var pendingWake = false
    private var stopRequested = false
    /// Alerts raised since start (for the exit summary).
    public private(set) var alertsRaised = 0

    public init(config: DaemonConfig, library: RuleLibrary, ruleDirectories: [String] = [], log: Log = Log()) throws {
        self.config = config
        self.library = library
        self.ruleDirectories = ruleDirectories
        self.log = log
        try FileManager.default.createDirectory(atPath: config.stateDirectory, withIntermediateDirectories: true)
        store = try StateStore(path: config.statePath)
        metricsState = MetricsState(path: config.statePath)
        // Migrating here, before any thread starts, keeps the desk, the API and the CLI on one schema.
        incidentAPI =
            config.incidentsEnabled
            ? IncidentAPI(store: try IncidentStore(path: config.statePath, policy: config.incidents)) : nil
        var contentRules = ContentAlerts()
        contentRules.enabled.subtract(config.disabledAlerts)
        alertRules = contentRules
        ingest = IngestQueue(capacity: config.http?.queueCapacity ?? 16)
        correlator = Correlator(ttl: config.correlationTTL, capacity: config.correlationCapacity)
        refusal = config.refusal
        principals = config.principals
        traffic = config.traffic
        errors = config.errors
        applyTopicPolicies()
    }

    /// Each topic pack brings its own threshold, minimum sample and risk.
    private func applyTopicPolicies() {
        for pack in library.packs {
            guard let topic = pack.topic else { continue }
            refusal.policies[topic.id] = RefusalTracker.TopicPolicy(
                threshold: topic.refusalThreshold, minSamples: max(topic.minSamples, 1),
                subtype: topic.risk.flatMap(Risk.named)?.defaultSubtype ?? .other)
        }
    }

    private func makeEngine(_ source: DaemonConfig.SourceConfig) -> ScanEngine {
        let engine = ScanEngine(library: library, options: ScanOptions(format: source.format, style: .none))
        engine.maxLineBytes = config.maxLineBytes
        return engine
    }

    /// The loop thread's and the helper's engines for a source, with the rules in force.
    private func addEngines(_ source: DaemonConfig.SourceConfig) {
        engines[source.name] = makeEngine(source)
        helpers[source.name] = makeEngine(source)
        helperCounts[source.name] = SummaryCopy()
    }

    /// Hands `job` to the helper thread, which scans its blocks alongside this thread.
    private func share(_ job: ScanJob, _ source: String) {
        guard job.blocks > 1, let engine = helpers[source], let copy = helperCounts[source] else { return }
        worker.help(with: job, engine: engine, copy: copy)
    }

    /// Asks for the rules to be loaded again (SIGHUP). Safe from any thread.
    public func requestReload() { reloader?.request() }

    /// A reload thread compiled new rules: they take over between two batches.
    private func offer(_ library: RuleLibrary, changed: [String], seconds: Double) {
        counterLock.withLock { pendingLibrary = (library, changed, seconds) }
        wake()
    }

    private func reloadFailed(_ error: Error, changed: [String]) {
        counterLock.withLock { reloadCounts.failure += 1 }
        var fields: KeyValuePairs<String, String> = ["changed": changed.joined(separator: ",")]
        if changed.isEmpty { fields = [:] }
        log(.error, "new rules refused; the previous rules stay in force: \(error)", fields)
        notifier.ready(status: "running; last rule reload failed")
    }

    /// Swaps in rules a reload compiled; engines are rebuilt, counters carried over.
    private func adoptPendingRules() throws {
        guard
            let (newLibrary, changed, seconds) = counterLock.withLock({ () -> (RuleLibrary, [String], Double)? in
                defer { pendingLibrary = nil }
                return pendingLibrary
            })
        else { return }
        // The helper must be done with the old engines before they are replaced.
        try flushScannedChunk()
        library = newLibrary
        for source in config.sources {
            if let old = engines[source.name] { carried[source.name, default: ScanSummary()].merge(old.summary) }
            if let old = helperCounts[source.name] { carried[source.name, default: ScanSummary()].merge(old.summary) }
            addEngines(source)
        }
        applyTopicPolicies()
        counterLock.withLock { reloadCounts.success += 1 }
        log(
            .info, "new rules active",
            [
                "packs": String(library.packs.count), "compiled_in": String(format: "%.2f s", seconds),
                "changed": changed.isEmpty ? "(reload requested)" : changed.joined(separator: ","),
            ])
        notifier.ready(status: "running; rules reloaded")
    }

    /// Asks the loop to finish the batch in hand, commit, and return. Safe from any thread.
    public func stop() {
        wakeUp.lock()
        stopRequested = true
        wakeUp.signal()
        wakeUp.unlock()
    }

    func wakeLoop() { wake() }

    private func wake() {
        wakeUp.lock()
        pendingWake = true
        wakeUp.signal()
        wakeUp.unlock()
    }

    private var shouldStop: Bool {
        wakeUp.lock()
        defer { wakeUp.unlock() }
        return stopRequested
    }

    /// Runs until `stop()`; with only standard input configured, also returns at its end.
    public func run(ready: () -> Void = {}) throws {
        let checkpoints = try store.checkpoints()
        for source in config.sources {
            addEngines(source)
            switch source.kind {
            case .file:
                followers.append(
                    FileFollower(
                        source: source.name, patterns: source.paths, startAtEnd: source.startAtEnd,
                        maxLineBytes: config.maxLineBytes, checkpoints: checkpoints))
            case .stdin:
                stdin = StdinSource(name: source.name, maxLineBytes: config.maxLineBytes) { [weak self] in self?.wake()
                }
            case .http:
                break
            }
        }
        if !ruleDirectories.isEmpty {
            let reloader = RuleReloader(directories: ruleDirectories)
            reloader.onLoaded = { [weak self] library, changed, seconds in
                self?.offer(library, changed: changed, seconds: seconds)
            }
            reloader.onFailed = { [weak self] error, changed in
                self?.reloadFailed(error, changed: changed)
            }
            reloader.onStarted = { [weak self] in self?.notifier.reloading() }
            reloader.start()
            self.reloader = reloader
        }
        defer { reloader?.stop() }
        for receiver in config.receivers {
            let d = OutboxDispatcher(receiver: receiver, statePath: config.statePath)
            d.maxBackoff = config.maxBackoff
            let log = self.log
            let name = receiver.name
            d.onAttempt = { [weak self] id, verdict in
                switch verdict {
                case .delivered:
                    log(.debug, "alert delivered", ["receiver": name, "delivery": String(id)])
                case .retry(let why):
                    self?.countFailure(name)
                    log(
                        .warning, "delivery failed, will retry",
                        ["receiver": name, "delivery": String(id), "error": why])
                case .give(let why):
                    self?.countFailure(name)
                    log(.warning, "delivery rejected", ["receiver": name, "delivery": String(id), "error": why])
                }
            }
            dispatchers.append(d)
            d.start()
        }
        if config.incidentsEnabled {
            let dispatchers = self.dispatchers
            let status = self.status
            let desk = IncidentDesk(
                statePath: config.statePath, policy: config.incidents, receivers: config.receivers.map(\.name),
                log: log,
                onAlerts: { for d in dispatchers { d.wake() } },
                refusalRates: { status.snapshot.0.refusalRates },
                loopBehind: { status.snapshot.0.behind })
            desk.sampleInterval = config.refusalSampleInterval
            desk.backlogDelay = config.incidentBacklogDelay
            desk.start()
            self.desk = desk
        }
        defer { desk?.stop() }
        stdin?.start()
        if let http = config.http {
            let server = HTTPServer(host: http.host, port: http.port) { [weak self] request in
                self?.handle(request) ?? .text(503, "stopping\n")
            }
            server.maxBodyBytes = http.maxBodyBytes
            try server.start()
            self.server = server
            log(.info, "HTTP API listening", ["address": "\(http.host):\(server.port)"])
        }
        defer { server?.stop() }
        log(
            .info, "vigil started",
            [
                "sources": config.sources.map(\.name).joined(separator: ","),
                "receivers": config.receivers.map(\.name).joined(separator: ","), "state": config.statePath,
                "rules": "\(library.packs.count) packs",
            ])
        status.markReady()
        notifier.ready(status: "running: \(config.sources.count) sources, \(library.packs.count) rule packs")
        ready()
        defer {
            for d in dispatchers { d.stop() }
        }
        while !shouldStop {
            var worked = false
            let now = Date().timeIntervalSince1970
            try adoptPendingRules()
            refreshSilences(now: now)
            notifier.watchdog(now: now)
            for follower in followers {
                guard let engine = engines[follower.source] else { continue }
                let read = try follower.poll(now: now) { chunk in try process(chunk, follower.source, engine) }
                if read > 0 { worked = true }
                for notice in follower.notices { log(.warning, notice, ["source": follower.source]) }
                follower.notices.removeAll()
            }
            if let source = stdin, let engine = engines[source.name] {
                let (batches, finished, error) = source.take()
                if !batches.isEmpty { try flushScannedChunk() }
                for batch in batches {
                    try process(batch, source.name, engine)
                    worked = true
                }
                if let error { log(.error, "standard input: \(error)", ["source": source.name]) }
                if finished {
                    log(.info, "standard input ended", ["source": source.name])
                    stdin = nil
                    if followers.isEmpty { break }
                }
            }
            for item in ingest.take() {
                try flushScannedChunk()
                worked = true
                item.finish(try process(item.batch, item.source))
            }
            if worked { workedSinceCaughtUp = true }
            if now - lastPublished >= 0.25 {
                publish(now: now)
                lastPublished = now
            }
            let ticked = traffic.tick(now: now, source: "all")
            if !ticked.isEmpty { try commit(ticked, checkpoint: nil, forget: false) }
            if !worked {
                try flushScannedChunk()
                try commitDeferred()
                if workedSinceCaughtUp {
                    // Caught up: the figures show it now, not at the next quarter second. (Not
                    // skipped when a periodic publish came after the last lines: that one was
                    // taken before they were raised.)
                    workedSinceCaughtUp = false
                    caughtUpAt = Date().timeIntervalSince1970
                    publish(now: caughtUpAt)
                    lastPublished = caughtUpAt
                }
                wakeUp.lock()
                if !pendingWake && !stopRequested {
                    _ = wakeUp.wait(until: Date(timeIntervalSinceNow: config.pollInterval))
                }
                pendingWake = false
                wakeUp.unlock()
            }
        }
        try flushScannedChunk()
        try commitDeferred()
        notifier.stopping()
        log(.info, "vigil stopped", ["alerts": String(alertsRaised)])
    }

    /// Lines from a file, in a pipeline: the helper starts scanning this chunk while this thread
    /// raises and commits the alerts of the chunk before it, scanning blocks of either chunk
    /// whenever the next one to raise is not ready. Then this thread goes on to read the next
    /// chunk while the helper scans on, so neither waits for the other. This chunk's alerts are
    /// raised and committed (with the position after it) by the next call or by
    /// `flushScannedChunk`, always before anything else is committed.
    private func process(_ chunk: LineChunk, _ source: String, _ engine: ScanEngine) throws {
        let job = ScanJob(chunk.batch, engine: engine)
        share(job, source)
        try flushScannedChunk(alongside: job)
        scannedChunk = (chunk, source, job)
    }

    /// A file chunk whose alerts are not raised yet (the helper may still be scanning it).
    private var scannedChunk: (chunk: LineChunk, source: String, job: ScanJob)?

    /// Raises and commits the alerts of the file chunk scanned last, with its checkpoint;
    /// while waiting for a block of it, scans blocks of `alongside`.
    private func flushScannedChunk(alongside: ScanJob? = nil) throws {
        guard let (chunk, source, job) = scannedChunk else { return }
        scannedChunk = nil
        // Joined once per chunk: an origin is built for every record.
        let base = RecordOrigin(
            source: source, positionBase: chunk.checkpoint.fileKey + "@",
            locationBase: chunk.checkpoint.path + ", byte ")
        let now = Date().timeIntervalSince1970
        var alerts: [Alert] = []
        for block in 0..<job.blocks {
            var (texts, errors) = job.results(block, alongside: alongside)
            raise(&texts, errors, chunk.batch, source, now, into: &alerts) { i in base.at(chunk.lineOffsets[i]) }
        }
        try commit(alerts, checkpoint: chunk.checkpoint, forget: chunk.finished)
    }

    /// Lines from standard input: a pipe cannot be read again, so there is no position to keep.
    private func process(_ batch: LineBatch, _ source: String, _ engine: ScanEngine) throws {
        let first = Int64(stdinLine + 1)
        stdinLine += batch.entries.count
        let base = RecordOrigin(source: source, positionBase: runID + "#", locationBase: "standard input, line ")
        let (alerts, _) = raise(batch, source, engine) { i in base.at(first + Int64(i)) }
        try commit(alerts, checkpoint: nil, forget: false)
    }

    /// Lines posted to the ingest API. Their position is their content (the alert key holds the
    /// line's hash), so a client that retries a batch after a timeout does not double its alerts.
    private func process(_ batch: LineBatch, _ source: String) throws -> IngestQueue.Outcome {
        var outcome = IngestQueue.Outcome()
        guard let engine = engines[source] else {
            outcome.error = "no http source named \(source)"
            return outcome
        }
        let base = RecordOrigin(source: source, positionBase: "http", locationBase: "posted batch, line ")
        let (alerts, notDecoded) = raise(batch, source, engine) { i in base.numbered(Int64(i + 1)) }
        outcome.lines = batch.entries.count
        outcome.notDecoded = notDecoded
        outcome.alerts = try commit(alerts, checkpoint: nil, forget: false, durable: true)
        return outcome
    }

    /// One text's findings, and the batch entry (line) it came from.
    struct Inspected: @unchecked Sendable {
        var entry: Int
        var findings: TextFindings
    }

    /// Scans entries `range` of `batch`: the findings of every text, and the lines not decoded.
    static func scan(_ range: Range<Int>, of batch: LineBatch, with engine: ScanEngine) -> (
        texts: [Inspected], errors: [(Int, DecodeError)]
    ) {
        var texts: [Inspected] = []
        texts.reserveCapacity(range.count)
        var errors: [(Int, DecodeError)] = []
        batch.bytes.withUnsafeBufferPointer { all in
            for i in range {
                switch batch.entries[i] {
                case .line(let start, let end):
                    let e = engine.inspect(line: UnsafeBufferPointer(rebasing: all[start..<end])) {
                        (f: consuming TextFindings) in
                        texts.append(Inspected(entry: i, findings: f))
                    }
                    if let e { errors.append((i, e)) }
                case .tooLong(let bytes):
                    errors.append((i, engine.countTooLong(bytes: bytes)))
                }
            }
        }
        return (texts, errors)
    }

    /// Scans a batch (with the helper when it is large) and raises its alerts in line order, so
    /// trackers see records exactly as they were written; also says how many lines were not decoded.
    private func raise(
        _ batch: LineBatch, _ source: String, _ engine: ScanEngine, origin: (Int) -> RecordOrigin
    ) -> (alerts: [Alert], notDecoded: Int) {
        let now = Date().timeIntervalSince1970
        let job = ScanJob(batch, engine: engine)
        share(job, source)
        var alerts: [Alert] = []
        var notDecoded = 0
        for block in 0..<job.blocks {
            var (texts, errors) = job.results(block)
            // As the engines count them: a text with a byte that is not UTF-8 counts too.
            notDecoded += errors.count + texts.reduce(0) { $0 + ($1.findings.invalidUTF8 == nil ? 0 : 1) }
            raise(&texts, errors, batch, source, now, into: &alerts, origin)
        }
        return (alerts, notDecoded)
    }

    /// The alerts of scanned lines, in line order. Each text's findings are moved out of
    /// `texts` (a placeholder left in their place), so handing them to the trackers copies
    /// nothing: read in place, Swift copied them for every call (a retain and a release per
    /// reference, on objects the helper thread made).
    private func raise(
        _ texts: inout [Inspected], _ errors: [(Int, DecodeError)], _ batch: LineBatch, _ source: String,
        _ now: Double, into alerts: inout [Alert], _ origin: (Int) -> RecordOrigin
    ) {
        for (i, error) in errors {
            log(
                .warning, "line not decoded", ["source": source, "at": origin(i).location, "reason": error.description])
        }
        var current = -1
        var lineAlerts = alerts.count
        // The input of the record being raised, for its output (a record lists its input
        // first). Not an optional: Swift copied an optional of findings through the runtime's
        // generic value witnesses.
        var lineInput = TextFindings(direction: .input)
        var hasLineInput = false
        // The principal tracker's lookups, started ahead (see `PrincipalTracker.lookahead`):
        // texts `k + 8`, `k + 4` and `k + 1` of the block while text `k` is raised.
        var ahead = Lookaheads(repeating: .init())
        texts.withUnsafeMutableBufferPointer { texts in
            for k in 0..<min(ahead.count, texts.count) { ahead[k] = principals.lookahead(texts[k].findings) }
            for k in texts.indices {
                if k &+ 4 < texts.count { principals.prefetchStates(ahead[(k &+ 4) & 7]) }
                if k &+ 1 < texts.count { principals.prefetchPrompts(ahead[(k &+ 1) & 7]) }
                let entry = texts[k].entry
                if entry != current {
                    keyByLine(batch, current, &alerts, from: lineAlerts)
                    current = entry
                    lineAlerts = alerts.count
                    hasLineInput = false
                }
                var f = TextFindings(direction: .input)
                swap(&f, &texts[k].findings)
                let o = origin(entry)
                let raised = alertRules.alerts(for: f, origin: o, observedAt: now)
                if !raised.isEmpty { alerts += raised }
                track(f, lineInput: lineInput, hasLineInput, o, now, ahead[k & 7], into: &alerts)
                if f.direction == .input {
                    lineInput = consume f
                    hasLineInput = true
                }
                // Into the ring slot text `k` has just given up.
                if k &+ 8 < texts.count { ahead[k & 7] = principals.lookahead(texts[k &+ 8].findings) }
            }
        }
        keyByLine(batch, current, &alerts, from: lineAlerts)
    }

    /// Lookaheads for texts `k` to `k + 7` of a block, text `k` at `k % 8`: inline, so raising
    /// a block allocates nothing for them.
    typealias Lookaheads = InlineArray<8, PrincipalTracker.Lookahead>

    /// A position alone can name two records (a file truncated in place, or a new file on a
    /// reused inode, has other lines at the same offsets): the line's hash tells them apart.
    private func keyByLine(_ batch: LineBatch, _ entry: Int, _ alerts: inout [Alert], from: Int) {
        guard entry >= 0, alerts.count > from, case .line(let start, let end) = batch.entries[entry] else { return }
        let hash = batch.bytes.withUnsafeBufferPointer {
            "|" + String(Self.fnv1a(UnsafeBufferPointer(rebasing: $0[start..<end])), radix: 16)
        }
        for i in from..<alerts.count { alerts[i].key += hash }
    }

    /// Feeds the trackers: inputs count as requests of their principals, outputs are paired
    /// with their inputs and judged on refusal. `lineInput` is the input of the record `f` came
    /// with (when `hasLineInput`), for an output whose input the correlator does not hold.
    private func track(
        _ f: TextFindings, lineInput: borrowing TextFindings, _ hasLineInput: Bool, _ origin: RecordOrigin,
        _ now: Double, _ ahead: PrincipalTracker.Lookahead, into alerts: inout [Alert]
    ) {
        // Most calls raise nothing: appending an empty array still cost a call each.
        func add(_ raised: [Alert]) { if !raised.isEmpty { alerts += raised } }
        if f.status != nil { add(errors.observe(f, at: now, source: origin.source)) }
        switch f.direction {
        case .input:
            correlator.input(f, at: now)
            add(traffic.observe(at: now, source: origin.source))
            add(principals.observe(input: f, at: now, origin: origin, lookahead: ahead))
        case .output:
            var exchange = correlator.output(f, at: now)
            if exchange.question == nil, hasLineInput { exchange.question = Question(copy lineInput) }
            add(refusal.observe(exchange, at: now, source: origin.source))
        }
    }

    static func fnv1a(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// What commits found the state file busy with (the incident desk writing), oldest first:
    /// it goes with the next commit, so the line loop does not wait on the desk. Until then the
    /// lines it covers are not checkpointed, so a crash loses nothing.
    private var deferred: (alerts: [Alert], positions: [StateStore.FilePosition], since: Double)?
    /// How long, and for how many alerts, a commit may wait for a free moment before it waits for the lock.
    private static let maxDeferral = 0.5
    private static let maxDeferredAlerts = 5_000

    /// Stores alerts with a checkpoint; returns how many of `raised` were new. Unless it is
    /// `durable` or `waiting`, it defers itself while the desk holds the write lock (see `deferred`).
    @discardableResult
    private func commit(
        _ raised: [Alert], checkpoint: FileCheckpoint?, forget: Bool, durable: Bool = false, waiting: Bool = false
    ) throws -> Int {
        var alerts = raised.filter { !config.disabledAlerts.contains($0.rule) }
        if !config.alertPolicies.isEmpty {
            for i in alerts.indices { config.alertPolicies[alerts[i].rule]?.apply(to: &alerts[i]) }
        }
        var positions = checkpoint.map { [StateStore.FilePosition(checkpoint: $0, forget: forget)] } ?? []
        let keys = durable ? Set(alerts.map(\.key)) : []
        let now = Date().timeIntervalSince1970
        if let earlier = deferred {
            alerts = earlier.alerts + alerts
            positions = earlier.positions + positions
        }
        if alerts.isEmpty && positions.isEmpty { return 0 }
        let receivers = config.receivers.map(\.name)
        let overdue = deferred.map { now - $0.since >= Self.maxDeferral || $0.alerts.count >= Self.maxDeferredAlerts }
        let stored: [(alert: Alert, silencedBy: Int64?)]
        if durable || waiting || overdue == true {
            stored = try store.commit(
                alerts: alerts, receivers: receivers, positions: positions, silences: silences, durable: durable)
        } else if let done = try store.commitIfFree(
            alerts: alerts, receivers: receivers, positions: positions, silences: silences)
        {
            stored = done
        } else {
            deferred = (alerts, positions, deferred?.since ?? now)
            deferredCommits += 1
            return 0
        }
        deferred = nil
        guard !stored.isEmpty else { return 0 }
        alertsRaised += stored.count
        for (alert, silencedBy) in stored {
            alertsByRule[alert.rule, default: 0] += 1
            if silencedBy != nil { silencedCount += 1 }
            print(alert, silencedBy: silencedBy)
        }
        for d in dispatchers { d.wake() }
        desk?.wake()
        return durable ? stored.filter { keys.contains($0.alert.key) }.count : stored.count
    }

    /// Commits what was deferred, waiting for the lock if need be.
    private func commitDeferred() throws {
        if deferred != nil { try commit([], checkpoint: nil, forget: false, waiting: true) }
    }

    /// Commits that found the desk writing and went with a later one.
    private var deferredCommits = 0

    private var alertsByRule: [String: Int] = [:]
    private var silencedCount = 0
    /// Silences that have not ended, read again from the state file every second (the CLI and
    /// the API add them from other connections).
    private var silences: [Silence] = []
    private var silencesRead = -Double.infinity

    private func refreshSilences(now: Double) {
        guard now - silencesRead >= 1 else { return }
        silencesRead = now
        do { silences = try store.silences(now: now) } catch { log(.error, "cannot read silences: \(error)") }
    }

    /// Copies what the API shows into the status board.
    private func publish(now: Double) {
        var snapshot = StatusBoard.Snapshot()
        snapshot.heartbeat = now
        snapshot.caughtUpAt = caughtUpAt
        snapshot.behind = workedSinceCaughtUp
        for (name, engine) in engines {
            var summary = carried[name] ?? ScanSummary()
            summary.merge(engine.summary)
            if let copy = helperCounts[name] { summary.merge(copy.summary) }
            snapshot.sources[name] = summary
        }
        for follower in followers { snapshot.lag[follower.source] = follower.lag() }
        snapshot.alertsByRule = alertsByRule
        snapshot.silenced = silencedCount
        snapshot.deferredCommits = deferredCommits
        snapshot.refusalRates = refusal.rates(now: now)
        snapshot.orphanInputs = correlator.orphanInputs
        snapshot.orphanOutputs = correlator.orphanOutputs
        snapshot.pendingInputs = correlator.pending
        snapshot.principals = principals.tracked
        snapshot.ingestQueue = ingest.depth
        status.publish(snapshot)
    }

    private func print(_ alert: Alert, silencedBy: Int64?) {
        switch config.printAlerts {
        case "json":
            var object = alert.jsonObject
            if let silencedBy { object["silenced_by"] = silencedBy }
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            }
        case "text":
            var line =
                "ALERT \(alert.severity.rawValue) \(alert.rule) [\(alert.incidentClass.rawValue)/\(alert.subtype.rawValue)] \(alert.summary)"
            if let r = alert.labels["request_id"] { line += " request=\(r)" }
            if let u = alert.labels["user_id"] { line += " user=\(u)" }
            if let e = alert.excerpt { line += "  «\(e)»" }
            if let silencedBy { line += "  (silenced by #\(silencedBy))" }
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        default: break
        }
    }
}
