import CVigilSIMD

/// Finds a principal's slot from a 64-bit hash of its id: open addressing with linear probing
/// over one array of (hash, slot) pairs, so a lookup usually costs a single cache line. Equal
/// hashes are told apart by the caller's `matches`, so a collision costs a probe, never a mixup.
struct PrincipalIndex {
    private struct Entry {
        var hash: UInt64
        /// The slot plus one; 0 marks an empty entry.
        var slot: Int32
    }

    private var entries = [Entry](repeating: Entry(hash: 0, slot: 0), count: 1024)
    private(set) var count = 0

    /// The slot stored under `hash` for which `matches` holds, if any.
    @inline(__always)
    func find(_ hash: UInt64, _ matches: (Int) -> Bool) -> Int? {
        let mask = entries.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let e = entries[i]
            if e.slot == 0 { return nil }
            if e.hash == hash && matches(Int(e.slot) - 1) { return Int(e.slot) - 1 }
            i = (i + 1) & mask
        }
    }

    /// Starts loading the entry a lookup of `hash` reads first.
    @inline(__always)
    func prefetch(_ hash: UInt64) {
        entries.withUnsafeBufferPointer { e in
            if let base = e.baseAddress {
                vigil_prefetch_for_write(base + (Int(truncatingIfNeeded: hash) & (e.count - 1)))
            }
        }
    }

    /// The slot of the first entry stored under `hash`, not told apart from a collision: a
    /// guess, for loading a state ahead of its lookup.
    @inline(__always)
    func likelySlot(_ hash: UInt64) -> Int? {
        let e = entries[Int(truncatingIfNeeded: hash) & (entries.count - 1)]
        return e.slot != 0 && e.hash == hash ? Int(e.slot) - 1 : nil
    }

    /// Adds `slot` under `hash` (the caller has checked it is not there yet).
    mutating func insert(_ hash: UInt64, slot: Int) {
        if (count + 1) * 2 > entries.count { grow() }
        let mask = entries.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while entries[i].slot != 0 { i = (i + 1) & mask }
        entries[i] = Entry(hash: hash, slot: Int32(slot + 1))
        count += 1
    }

    private mutating func grow() {
        let old = entries
        entries = [Entry](repeating: Entry(hash: 0, slot: 0), count: old.count * 2)
        count = 0
        for e in old where e.slot != 0 { insert(e.hash, slot: Int(e.slot) - 1) }
    }
}
