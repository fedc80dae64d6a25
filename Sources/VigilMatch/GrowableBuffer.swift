/// A reusable array of trivial values, kept between records so the hot path does not allocate.
///
/// Unlike `Array`, appending never checks uniqueness and `removeAll()` keeps the storage.
/// Not thread-safe: each scanning thread owns its own buffers.
public final class GrowableBuffer<Element: BitwiseCopyable> {
    public private(set) var base: UnsafeMutablePointer<Element>
    public private(set) var capacity: Int
    public var count: Int = 0

    public init(capacity: Int = 1024) {
        self.capacity = max(16, capacity)
        self.base = UnsafeMutablePointer<Element>.allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    public func append(_ value: Element) {
        if count == capacity { grow(to: capacity * 2) }
        base[count] = value
        count += 1
    }

    /// Makes room for `extra` more elements.
    @inline(__always)
    public func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: max(capacity * 2, count + extra)) }
    }

    /// Appends without a capacity check; call `reserve` first.
    @inline(__always)
    public func appendUnchecked(_ value: Element) {
        base[count] = value
        count += 1
    }

    @inline(__always)
    public subscript(i: Int) -> Element {
        get { base[i] }
        set { base[i] = newValue }
    }

    @inline(__always)
    public func removeAll() { count = 0 }

    public var buffer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }

    private func grow(to newCapacity: Int) {
        let fresh = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        fresh.update(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = newCapacity
    }
}
