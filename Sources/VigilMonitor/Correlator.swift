import VigilScan

/// What an answer is judged against: the topics its question hit, and whether the question
/// carried a risk or an attack. The correlator keeps this, not the question's findings, so an
/// input waiting for its answer is a few words to copy instead of every field of its findings.
public struct Question: Sendable, Equatable {
    public var topics: [String]
    public var hasRisksOrAttacks: Bool

    public init(_ input: TextFindings) {
        topics = input.topics
        hasRisksOrAttacks = input.hasRisksOrAttacks
    }
}

/// An answer with the question it answers, when the question was seen.
public struct Exchange: Sendable {
    public var question: Question?
    /// Whether the answer reads as a refusal (nil: not classified).
    public var refusal: Bool?

    public init(question: Question?, refusal: Bool?) {
        self.question = question
        self.refusal = refusal
    }

    public init(input: TextFindings?, output: TextFindings) {
        self.init(question: input.map(Question.init), refusal: output.refusal)
    }
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

    private var waiting: [RequestID: (Question, Double)] = [:]
    private var order: [(RequestID, Double)] = []
    private var head = 0
    /// The latest input, not yet in `waiting`: in a log an answer usually follows its question
    /// at once, and then the pair is made without hashing the id into the table and out again.
    /// It counts against `capacity` like the inputs in the table.
    private var held: Question?
    private var heldAt = 0.0
    /// Empty when nothing is held.
    private var heldKey = RequestID()

    public init(ttl: Double = 300, capacity: Int = 100_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    /// Inputs waiting for their output.
    public var pending: Int { waiting.count + (held == nil ? 0 : 1) }

    /// Remembers an input until its output arrives.
    public mutating func input(_ f: TextFindings, at now: Double) {
        guard !f.requestKey.isEmpty else { return }
        // A repeated id replaces the input held, as it replaces one in the table.
        if heldKey != f.requestKey { settle() }
        held = Question(f)
        heldAt = now
        heldKey = f.requestKey
        expire(now: now)
        if waiting.count + 1 > capacity { evictOldest() }
    }

    /// The exchange an output completes (its input when it was waiting, else none).
    public mutating func output(_ f: TextFindings, at now: Double) -> Exchange {
        if !f.requestKey.isEmpty, heldKey == f.requestKey, now - heldAt <= ttl {
            heldKey = RequestID()
            let question = held.take()
            expire(now: now)
            return Exchange(question: question, refusal: f.refusal)
        }
        settle()
        expire(now: now)
        if !f.requestKey.isEmpty, let (question, _) = waiting.removeValue(forKey: f.requestKey) {
            return Exchange(question: question, refusal: f.refusal)
        }
        orphanOutputs += 1
        return Exchange(question: nil, refusal: f.refusal)
    }

    /// Moves the held input into the table, with the time it came.
    private mutating func settle() {
        guard let question = held.take() else { return }
        waiting[heldKey] = (question, heldAt)
        order.append((heldKey, heldAt))
        heldKey = RequestID()
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
