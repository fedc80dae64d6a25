/// A literal as a member of a `LiteralSet`, hashed once by FNV-1a: `Hasher` over an array
/// feeds it every scalar, and the analysis hashes sets of up to a thousand literals for every
/// pattern part.
struct LiteralKey: Equatable {
    let literal: Literal
    let hash: Int

    init(_ literal: Literal) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for v in literal { h = (h ^ UInt64(v)) &* 0x100_0000_01b3 }
        self.literal = literal
        self.hash = Int(truncatingIfNeeded: h)
    }

    static func == (a: LiteralKey, b: LiteralKey) -> Bool { a.hash == b.hash && a.literal == b.literal }
}

/// A set of literals in an open-addressing table keyed by `LiteralKey`'s hash. The analysis
/// fills sets of up to a thousand literals for every pattern part; a `Set<LiteralKey>` fed
/// every key through `Hasher` again, and grew by rehashing, which was most of `minimal`'s time.
struct LiteralSet {
    /// Per slot, the index in `keys` plus one; 0 is an empty slot. Never more than half full.
    private var slots: [Int32]
    private var keys: [LiteralKey] = []
    private var shift: UInt64

    init(capacity: Int = 4) {
        var bits = 3
        while 1 << bits < 2 * capacity { bits += 1 }
        slots = [Int32](repeating: 0, count: 1 << bits)
        shift = UInt64(64 - bits)
    }

    private func start(_ key: LiteralKey) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(key.hash)) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    func contains(_ key: LiteralKey) -> Bool {
        let mask = slots.count - 1
        var i = start(key)
        while slots[i] != 0 {
            if keys[Int(slots[i]) - 1] == key { return true }
            i = (i + 1) & mask
        }
        return false
    }

    /// Adds `key` unless the set holds it; whether it was added.
    @discardableResult
    mutating func insert(_ key: LiteralKey) -> Bool {
        if 2 * (keys.count + 1) > slots.count { grow() }
        let mask = slots.count - 1
        var i = start(key)
        while slots[i] != 0 {
            if keys[Int(slots[i]) - 1] == key { return false }
            i = (i + 1) & mask
        }
        keys.append(key)
        slots[i] = Int32(keys.count)
        return true
    }

    /// Empties the set, keeping its table.
    mutating func removeAll() {
        guard !keys.isEmpty else { return }
        keys.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = 0 }
    }

    private mutating func grow() {
        var larger = LiteralSet(capacity: slots.count)
        for key in keys { larger.insert(key) }
        self = larger
    }
}
