import CVigilSIMD

/// The recent prompts of every principal the tracker holds: `slots` entries per state slot.
///
/// Entries live in fixed blocks allocated as state slots are first used, and a block never
/// moves, so a new principal costs neither copying everyone else's prompts nor filling its own
/// entries ahead of use: an entry is read only after the principal's prompt tag for it was set,
/// which happens when the entry is written. A value type: storage is copied on write when shared
/// (which is also why it may cross threads: a shared block is never written).
struct PromptMemory: @unchecked Sendable {
    /// One remembered prompt: its full hash, when it was first seen in the current window
    /// (whole seconds) and how often it came within it. 16 bytes, four to a cache line.
    struct Entry {
        var hash: UInt64
        var since: UInt32
        var count: UInt32
    }

    static let slots = PrincipalTracker.promptSlots
    private static let statesPerBlock = 256
    private var storage = Storage()

    /// Makes room for the entries of state slot `state`.
    mutating func reserve(state: Int) {
        let block = state / Self.statesPerBlock
        guard block >= storage.blocks.count else { return }
        makeUnique()
        while storage.blocks.count <= block {
            storage.blocks.append(.allocate(capacity: Self.statesPerBlock * Self.slots))
        }
    }

    /// Entry `i` of state slot `state` (reserved, and written before it is read).
    subscript(state: Int, i: Int) -> Entry {
        get { address(state, i).pointee }
        set {
            makeUnique()
            address(state, i).pointee = newValue
        }
    }

    /// Starts loading entry `i` of state slot `state`, which is about to be written.
    @inline(__always)
    func prefetch(state: Int, i: Int) {
        guard state / Self.statesPerBlock < storage.blocks.count else { return }
        vigil_prefetch_for_write(address(state, i))
    }

    @inline(__always)
    private func address(_ state: Int, _ i: Int) -> UnsafeMutablePointer<Entry> {
        storage.blocks[state / Self.statesPerBlock] + (state % Self.statesPerBlock) * Self.slots + i
    }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    private final class Storage {
        var blocks: [UnsafeMutablePointer<Entry>] = []

        func copy() -> Storage {
            let other = Storage()
            let bytes = PromptMemory.statesPerBlock * PromptMemory.slots * MemoryLayout<Entry>.stride
            for block in blocks {
                let copied = UnsafeMutablePointer<Entry>.allocate(
                    capacity: PromptMemory.statesPerBlock * PromptMemory.slots)
                // Raw bytes: entries never written are copied as they are and, as here, never read.
                UnsafeMutableRawPointer(copied).copyMemory(from: block, byteCount: bytes)
                other.blocks.append(copied)
            }
            return other
        }

        deinit { for block in blocks { block.deallocate() } }
    }
}
