/// The tables that `Normalizer.normalize(_:into:hashingLetters:symbolTable:)` writes a text's
/// symbols from (`LiteralAutomaton.symbolTable`): two tables of 0x10001 entries, made by their
/// owner from its symbols, marked by `Normalizer.mark(_:)` and freed with `deallocate()`.
public struct SymbolTable: @unchecked Sendable {
    let writableSymbols: UnsafeMutablePointer<UInt16>
    let writableRunSymbols: UnsafeMutablePointer<UInt16>

    /// Each BMP scalar's symbol, and 0 at index 0x10000; `Normalizer.foldingSymbol` for the
    /// scalars that fold (`Normalizer.markFolding(in:)`).
    public var symbols: UnsafePointer<UInt16> { UnsafePointer(writableSymbols) }
    /// `symbols` with `Normalizer.foldingSymbol` also for every scalar that a CJK run does not
    /// take (`Normalizer.markRunStops(in:)`).
    public var runSymbols: UnsafePointer<UInt16> { UnsafePointer(writableRunSymbols) }

    /// Both tables copied from `symbols` (each BMP scalar's symbol, and 0 at index 0x10000),
    /// unmarked.
    public init(copying symbols: UnsafePointer<UInt16>) {
        writableSymbols = .allocate(capacity: 0x10001)
        writableSymbols.initialize(from: symbols, count: 0x10001)
        writableRunSymbols = .allocate(capacity: 0x10001)
        writableRunSymbols.initialize(from: symbols, count: 0x10001)
    }

    /// Both tables holding `symbol` for every scalar, unmarked.
    init(repeating symbol: UInt16) {
        writableSymbols = .allocate(capacity: 0x10001)
        writableSymbols.initialize(repeating: symbol, count: 0x10001)
        writableRunSymbols = .allocate(capacity: 0x10001)
        writableRunSymbols.initialize(repeating: symbol, count: 0x10001)
    }

    /// Frees both tables; the owner calls it once, when no text is normalized with them.
    public func deallocate() {
        writableSymbols.deallocate()
        writableRunSymbols.deallocate()
    }
}
