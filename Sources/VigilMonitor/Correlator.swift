import VigilScan

/// An answer with the question it answers, when the question was seen.
public struct Exchange: Sendable {
    public var input: TextFindings?
    public var output: TextFindings
}

/// Pairs inputs and outputs that arrive as separate records, by request id, so that each answer
/// is judged against its question. Memory is bounded: an input waits at most `ttl` seconds and
/// at most `capacity` inputs wait at once (the oldest is dropped first); both kinds of loss, and
/// outputs whose input never came, are counted as orphans.
public struct Correlator: Sendable {
    public var ttl: Double
    public var capacity: Int
    /// Inputs dropped unanswered (expired or evicted).
    public private(set) var orphanInputs = 0
    /// Outputs whose input was never seen (or had expired).
    public private(set) var orphanOutputs = 0

    private var waiting: [RequestID: (TextFindings, Double)] = [:]
    private var order: [(RequestID, Double)] = []
    private var head = 0
    /// The latest input, not yet in `waiting`: in a log an answer usually follows its question
    /// at once, and then the pair is made without hashing the id into the table and out again.
    /// It counts against `capacity` like the inputs in the table. It is moved out with `take()`,
    /// never bound by `if let`: each binding copied the whole findings (a retain per field).
    private var held: TextFindings?
    private var heldAt = 0.0
    /// The held input's request id, compared without reading `held` (which copied it).
    private var heldKey: RequestID?

    public init(ttl: Double = 300, capacity: Int = 100_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    /// Inputs waiting for their output.
    public var pending: Int { waiting.count + (held == nil ? 0 : 1) }

    /// Remembers an input until its output arrives.
    public mutating func input(_ f: TextFindings, at now: Double) {
        guard let id = f.requestKey, !id.isEmpty else { return }
        // A repeated id replaces the input held, as it replaces one in the table.
        if heldKey != id { settle() }
        held = f
        heldAt = now
        heldKey = id
        expire(now: now)
        if waiting.count + 1 > capacity { evictOldest() }
    }

    /// The exchange an output completes (its input when it was waiting, else none).
    public mutating func output(_ f: TextFindings, at now: Double) -> Exchange {
        if let id = f.requestKey, heldKey == id, now - heldAt <= ttl {
            heldKey = nil
            let input = held.take()
            expire(now: now)
            return Exchange(input: input, output: f)
        }
        settle()
        expire(now: now)
        if let id = f.requestKey, let (input, _) = waiting.removeValue(forKey: id) {
            return Exchange(input: input, output: f)
        }
        orphanOutputs += 1
        return Exchange(input: nil, output: f)
    }

    /// Moves the held input into the table, with the time it came.
    private mutating func settle() {
        heldKey = nil
        guard let f = held.take(), let id = f.requestKey else { return }
        waiting[id] = (f, heldAt)
        order.append((id, heldAt))
    }

    private mutating func expire(now: Double) {
        while head < order.count, now - order[head].1 > ttl {
            let (id, at) = order[head]
            if let entry = waiting[id], entry.1 == at {
                waiting[id] = nil
                orphanInputs += 1
            }
            head += 1
        }
        compact()
    }

    private mutating func evictOldest() {
        while head < order.count {
            let (id, at) = order[head]
            head += 1
            if let entry = waiting[id], entry.1 == at {
                waiting[id] = nil
                orphanInputs += 1
                break
            }
        }
        compact()
    }

    private mutating func compact() {
        if head > 4096 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
