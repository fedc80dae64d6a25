import CVigilSIMD

/// Turns text into the form that rules match against, defeating the common evasions.
///
/// One pass over UTF-8 with table lookups (the tables are generated once from Foundation's NFKC
/// and ICU's traditional → simplified transform, see `scripts/gen-normalization-tables.swift`):
/// - compatibility forms folded (NFKC per character): full-width → half-width, ①→1, ﬁ→fi;
/// - traditional characters → simplified;
/// - zero-width and other invisible characters removed;
/// - runs of up to three separators removed between two CJK ideographs (炸-弹, 炸 弹 → 炸弹), and
///   runs of spaces between an ideograph and a Latin letter or digit (药物 X → 药物X); kept
///   between Latin words, and punctuation next to Latin text is kept.
/// Case is kept (regexes decide with `(?i)`); the literal automaton folds case itself.
public final class Normalizer: @unchecked Sendable {
    /// Maximum separators between two ideographs that are still removed.
    public static let maxSeparatorRun = 3

    /// The process-wide normalizer (tables are built once, on first use).
    public static let standard = Normalizer()

    // BMP fold table: 0 = unchanged, `deleted` = removed, high bit = (index << 3 | count) into
    // `pool`, anything else is the single replacement scalar.
    private let bmp: UnsafeMutablePointer<UInt32>
    /// One bit per BMP scalar: set when `bmp` has an entry for it. 8 KiB, so it stays in L1
    /// while the 256 KiB table is touched only for the few characters that fold.
    private let foldsBMP: UnsafeMutablePointer<UInt64>
    private let pool: UnsafeMutablePointer<UInt32>
    /// For the full-width forms U+FF00 to U+FF7F, the ASCII punctuation each folds to when it may
    /// sit inside a CJK run (`runPunctuation`), else 0: one read of 128 bytes instead of the
    /// fold bitmap and table.
    private let runPunctuationTable: UnsafeMutablePointer<UInt8>
    private let supplementary: [UInt32: [UInt32]]
    private let lowercaseBMP: UnsafeMutablePointer<UInt32>
    private let lowercaseSupplementary: [UInt32: UInt32]
    /// The symbol table of no automaton: every scalar's symbol is 0 (`foldingSymbol` where it
    /// folds, and in the run table where a CJK run stops).
    private let noSymbols: SymbolTable
    private static let deleted: UInt32 = 0xFFFF_FFFF
    private static let multiFlag: UInt32 = 0x8000_0000

    private init() {
        noSymbols = SymbolTable(repeating: 0)
        bmp = .allocate(capacity: 0x10000)
        bmp.initialize(repeating: 0, count: 0x10000)
        lowercaseBMP = .allocate(capacity: 0x10000)
        lowercaseBMP.initialize(repeating: 0, count: 0x10000)
        var pool: [UInt32] = []
        var supplementary: [UInt32: [UInt32]] = [:]
        for (source, targets) in Self.parse(NormalizationTables.fold) {
            if source < 0x10000 {
                if targets.count == 1 {
                    bmp[Int(source)] = targets[0]
                } else {
                    bmp[Int(source)] = Self.multiFlag | UInt32(pool.count) << 3 | UInt32(targets.count)
                    pool.append(contentsOf: targets)
                }
            } else {
                supplementary[source] = targets
            }
        }
        for scalar in Self.invisible {
            if scalar < 0x10000 { bmp[Int(scalar)] = Self.deleted } else { supplementary[scalar] = [] }
        }
        var lowerSupplementary: [UInt32: UInt32] = [:]
        for (source, targets) in Self.parse(NormalizationTables.lowercase) where targets.count == 1 {
            if source < 0x10000 {
                lowercaseBMP[Int(source)] = targets[0]
            } else {
                lowerSupplementary[source] = targets[0]
            }
        }
        for (source, target) in Self.foldsBeyondLowercase { lowercaseBMP[Int(source)] = target }
        foldsBMP = .allocate(capacity: 1024)
        foldsBMP.initialize(repeating: 0, count: 1024)
        for scalar in 0..<0x10000 where bmp[scalar] != 0 { foldsBMP[scalar >> 6] |= 1 << UInt64(scalar & 63) }
        runPunctuationTable = .allocate(capacity: 128)
        for index in 0..<128 {
            let f = bmp[0xFF00 + index]
            let inRun = f != 0 && f < 0x80 && !Self.isSeparator(f) && (f | 0x20) &- 0x61 >= 26 && f &- 0x30 >= 10
            runPunctuationTable[index] = inRun ? UInt8(f) : 0
        }
        self.pool = .allocate(capacity: max(1, pool.count))
        self.pool.initialize(from: pool, count: pool.count)
        self.supplementary = supplementary
        self.lowercaseSupplementary = lowerSupplementary
        mark(noSymbols)
    }

    /// Scalars whose simple lowercase is themselves but which PCRE2's caseless matching (Unicode
    /// case folding) takes for another lowercase letter, and which the text fold (NFKC) keeps:
    /// final sigma, the iota subscript and the old Cyrillic letter variants. A gate must find
    /// `(?i)σ` in "λόγος".
    static let foldsBeyondLowercase: [(UInt32, UInt32)] = [
        (0x03C2, 0x03C3), (0x0345, 0x03B9), (0x1C80, 0x0432), (0x1C81, 0x0434), (0x1C82, 0x043E), (0x1C83, 0x0441),
        (0x1C84, 0x0442), (0x1C85, 0x0442), (0x1C86, 0x044A), (0x1C87, 0x0463), (0x1C88, 0xA64B),
    ]

    /// Characters removed outright: zero-width spaces and joiners, bidi controls, soft hyphen,
    /// variation selectors, tag characters and similar invisible code points.
    static let invisible: [UInt32] = {
        var list: [UInt32] = [0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFEFF, 0xFFA0]
        list += Array(0x180B...0x180F) + Array(0x200B...0x200F) + Array(0x202A...0x202E)
        list += Array(0x2060...0x206F) + Array(0xFE00...0xFE0F) + Array(0xE0000...0xE007F) + Array(0x1D173...0x1D17A)
        return list
    }()

    /// Reads lines "SRC\tDST1 DST2 ..." of hex code points. By bytes: splitting the string by
    /// `Character` and parsing each field took a third of the start-up's table work.
    private static func parse(_ table: String) -> [(UInt32, [UInt32])] {
        var result: [(UInt32, [UInt32])] = []
        var source: UInt32? = nil
        var targets: [UInt32] = []
        var value: UInt32? = nil
        for byte in table.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = (value ?? 0) << 4 | UInt32(byte &- 0x30)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = (value ?? 0) << 4 | UInt32(byte &- 0x37)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = (value ?? 0) << 4 | UInt32(byte &- 0x57)
            case UInt8(ascii: "\t"):
                source = value
                value = nil
            case UInt8(ascii: " "):
                if let v = value, source != nil { targets.append(v) }
                value = nil
            case UInt8(ascii: "\n"):
                if let v = value, source != nil { targets.append(v) }
                if let source, !targets.isEmpty { result.append((source, targets)) }
                (source, value) = (nil, nil)
                targets.removeAll(keepingCapacity: true)
            default:
                break
            }
        }
        if let v = value, source != nil { targets.append(v) }
        if let source, !targets.isEmpty { result.append((source, targets)) }
        return result
    }

    /// The symbol a table given to `normalize(_:into:hashingLetters:symbolTable:)` holds for a
    /// BMP scalar that folds or is removed (`markFolding(in:)`), and its run table for one that
    /// ends a CJK run (`markRunStops(in:)`). No automaton numbers a symbol this high, and no
    /// folded scalar folds again, so a scalar that is written never reads it.
    public static let foldingSymbol: UInt16 = 0xFFFF

    /// Marks a symbol table for `normalize(_:into:hashingLetters:symbolTable:)`: the scalars that
    /// fold in both of its tables (`markFolding(in:)`), and in its run table the scalars a CJK
    /// run stops at (`markRunStops(in:)`).
    public func mark(_ table: SymbolTable) {
        markFolding(in: table.writableSymbols)
        markRunStops(in: table.writableRunSymbols)
    }

    /// Sets `foldingSymbol` in a table of 0x10000 entries or more (`SymbolTable.runSymbols`) for
    /// every BMP scalar that a CJK run does not take as it is: all but the ideographs from U+4E00
    /// to U+9FFF and the CJK punctuation below U+3400 that is no separator (`。` `、` `「`), and of
    /// those the ones that fold. The run then needs one read to learn both whether a three-byte
    /// character stays in it and its symbol.
    func markRunStops(in table: UnsafeMutablePointer<UInt16>) {
        for v in 0..<UInt32(0x10000) where !Self.mayStayInRun(v) { table[Int(v)] = Self.foldingSymbol }
        markFolding(in: table)
    }

    /// Whether a CJK run may hold the scalar unless it folds (`markRunStops(in:)`).
    static func mayStayInRun(_ v: UInt32) -> Bool {
        (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0x3000 && v < 0x3400 && !isSeparator(v))
    }

    /// Sets `foldingSymbol` for every BMP scalar that folds or is removed in a symbol table of
    /// 0x10000 entries or more.
    func markFolding(in table: UnsafeMutablePointer<UInt16>) {
        for word in 0..<1024 {
            var bits = foldsBMP[word]
            while bits != 0 {
                table[word << 6 | bits.trailingZeroBitCount] = Self.foldingSymbol
                bits &= bits &- 1
            }
        }
    }

    @inline(__always)
    static func isIdeograph(_ s: UInt32) -> Bool {
        (s >= 0x4E00 && s <= 0x9FFF) || (s >= 0x3400 && s <= 0x4DBF) || (s >= 0xF900 && s <= 0xFAFF)
            || (s >= 0x20000 && s <= 0x3134F)
    }

    // Separators removed between ideographs: space, tab, * + - . / _ | ~ and the middle dots.
    // Not ',' or ':' (full-width punctuation folds to them, and regexes rely on them).
    // The masks are literals, not stored constants: a static let costs a once-check per call.

    @inline(__always)
    static func isSeparator(_ s: UInt32) -> Bool {
        if s < 64 {
            return (1 << 0x09 | 1 << 0x20 | 1 << 0x2A | 1 << 0x2B | 1 << 0x2D | 1 << 0x2E | 1 << 0x2F as UInt64)
                & (1 << UInt64(s)) != 0
        }
        if s < 128 {
            return (1 << (0x5F - 64) | 1 << (0x7C - 64) | 1 << (0x7E - 64) as UInt64) & (1 << UInt64(s - 64)) != 0
        }
        return s == 0x00B7 || s == 0x30FB || s == 0x2022 || s == 0x2027 || s == 0x2219 || s == 0x22C5
    }

    /// The scalar that stands for a scalar's case: its simple lowercase (itself when it has none),
    /// or for the few that lowercase leaves apart from their other cases, their case folding (see
    /// `foldsBeyondLowercase`).
    @inline(__always)
    public func foldCase(_ s: UInt32) -> UInt32 {
        if s < 0x80 { return (s >= 0x41 && s <= 0x5A) ? s | 0x20 : s }
        if s < 0x10000 {
            let l = lowercaseBMP[Int(s)]
            return l == 0 ? s : l
        }
        return lowercaseSupplementary[s] ?? s
    }

    /// Normalizes `input` into `output` (cleared first). A byte that is not valid UTF-8 becomes
    /// U+FFFD and the text is still normalized, so one bad byte cannot hide the rest of a text
    /// from the rules; `output.firstInvalidUTF8` says where the first one was.
    ///
    /// One loop over local state: each input character folds to at most four scalars, which go
    /// through the separator rule and are written to raw buffers reserved up front (a character
    /// folds to at most four scalars, so at most two scalars and four UTF-8 bytes per input byte).
    ///
    /// With `hashingLetters`, `output.letterHash` is computed on the way (the daemon's repeated
    /// prompt tracking): hashing the letters as they are written costs less than a second pass.
    ///
    /// With `symbolTable` (`LiteralAutomaton.symbolTable`), `output.symbols` holds each scalar's
    /// symbol, so the automaton need not look them up in a pass of its own (`SymbolTable`).
    public func normalize(
        _ input: UnsafeBufferPointer<UInt8>, into output: NormalizedText, hashingLetters: Bool = false,
        symbolTable: SymbolTable? = nil
    ) {
        output.reset()
        let n = input.count
        output.utf8.reserve(4 &* n &+ 16)
        output.scalars.reserve(2 &* n &+ 8)
        output.symbols.reserve(2 &* n &+ 8)
        output.utf8Offsets.reserve(2 &* n &+ 8)
        output.originalOffsets.reserve(2 &* n &+ 8)
        guard let base = input.baseAddress, n > 0 else {
            if hashingLetters { output.letterHash = LetterHash().value }
            return
        }
        let bmp = self.bmp
        let foldsBMP = self.foldsBMP
        var w = Writer(
            utf8: output.utf8.base, scalars: output.scalars.base, utf8Offsets: output.utf8Offsets.base,
            originalOffsets: output.originalOffsets.base, symbols: output.symbols.base,
            symbolTable: symbolTable ?? noSymbols, hashing: hashingLetters)
        var lastWasIdeograph = false
        // Separators seen after an ideograph, held until the next character decides their fate.
        var pendingCount = 0
        var pending: (UInt32, UInt32, UInt32) = (0, 0, 0)
        var pendingFrom: (Int, Int, Int) = (0, 0, 0)
        var pendingAfterIdeograph = false
        var firstInvalid: Int? = nil
        var folded: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)

        var i = 0
        while i < n {
            let b0 = base[i]
            let start = i
            var foldedCount = 1
            if b0 < 0x80 {
                i &+= 1
                if !lastWasIdeograph && pendingCount == 0
                    && !(w.alnumRun > 0 && (b0 == 0x20 || b0 == 0x09) && Self.nonASCIIAfterSpaces(base, i, n))
                {
                    // ASCII that cannot begin a dropped separator run: no bookkeeping, for it
                    // and the plain ASCII after it.
                    i = Self.asciiRun(base, from: start, n, &w)
                    continue
                }
                folded.0 = UInt32(b0)
            } else {
                // Most non-ASCII characters open a run of CJK ideographs that fold to themselves:
                // the run's loop reads them (it checks them as the general path would).
                if b0 &- 0xE4 < 6 {
                    // Ideographs are letters: hashed in the run's own loop, whose other work
                    // hides the hash's chain of multiplies (a loop of its own after the run
                    // waited on it). The hash is taken out of `w` for the run, which writes
                    // nothing through `w` that is hashed: the punctuation it puts is no letter.
                    let run: RunEnd
                    if w.hashing {
                        var hash = w.letterHash
                        run = Self.cjkRun(base, from: start, n, runPunctuationTable, &w, &hash)
                        w.letterHash = hash
                    } else {
                        var none = NoLetters()
                        run = Self.cjkRun(base, from: start, n, runPunctuationTable, &w, &none)
                    }
                    if run.end > start {
                        // Separators held before it are dropped (an ideograph always ends a
                        // droppable run).
                        pendingCount = 0
                        lastWasIdeograph = run.endsWithIdeograph
                        i = run.end
                        continue
                    }
                }
                var scalar: UInt32 = 0xFFFD
                var valid = false
                if b0 & 0xE0 == 0xC0 {
                    if b0 >= 0xC2, i &+ 1 < n, base[i &+ 1] & 0xC0 == 0x80 {
                        scalar = UInt32(b0 & 0x1F) << 6 | UInt32(base[i &+ 1] & 0x3F)
                        valid = true
                        i &+= 2
                    }
                } else if b0 & 0xF0 == 0xE0 {
                    if i &+ 2 < n, base[i &+ 1] & 0xC0 == 0x80, base[i &+ 2] & 0xC0 == 0x80 {
                        let v = UInt32(b0 & 0x0F) << 12 | UInt32(base[i &+ 1] & 0x3F) << 6 | UInt32(base[i &+ 2] & 0x3F)
                        if v >= 0x800, v & 0xF800 != 0xD800 {
                            scalar = v
                            valid = true
                            i &+= 3
                        }
                    }
                } else if b0 & 0xF8 == 0xF0 {
                    if i &+ 3 < n, base[i &+ 1] & 0xC0 == 0x80, base[i &+ 2] & 0xC0 == 0x80, base[i &+ 3] & 0xC0 == 0x80
                    {
                        let v =
                            UInt32(b0 & 0x07) << 18 | UInt32(base[i &+ 1] & 0x3F) << 12
                            | UInt32(base[i &+ 2] & 0x3F) << 6 | UInt32(base[i &+ 3] & 0x3F)
                        if v >= 0x10000, v <= 0x10FFFF {
                            scalar = v
                            valid = true
                            i &+= 4
                        }
                    }
                }
                if !valid {
                    // Not UTF-8: U+FFFD in its place, one byte consumed.
                    if firstInvalid == nil { firstInvalid = i }
                    i &+= 1
                    folded.0 = 0xFFFD
                } else if scalar < 0x10000 {
                    let f = foldsBMP[Int(scalar >> 6)] & (1 << UInt64(scalar & 63)) == 0 ? 0 : bmp[Int(scalar)]
                    if f == 0 {
                        folded.0 = scalar
                    } else if f == Self.deleted {
                        continue
                    } else if f & Self.multiFlag != 0 {
                        let index = Int((f & ~Self.multiFlag) >> 3)
                        foldedCount = Int(f & 7)
                        folded.0 = pool[index]
                        if foldedCount > 1 { folded.1 = pool[index &+ 1] }
                        if foldedCount > 2 { folded.2 = pool[index &+ 2] }
                        if foldedCount > 3 { folded.3 = pool[index &+ 3] }
                    } else {
                        folded.0 = f
                    }
                } else if let list = supplementary[scalar] {
                    foldedCount = min(4, list.count)
                    if foldedCount == 0 { continue }
                    folded.0 = list[0]
                    if foldedCount > 1 { folded.1 = list[1] }
                    if foldedCount > 2 { folded.2 = list[2] }
                    if foldedCount > 3 { folded.3 = list[3] }
                } else {
                    folded.0 = scalar
                }
            }
            // The separator rule, once per folded scalar.
            for m in 0..<foldedCount {
                let s = m == 0 ? folded.0 : (m == 1 ? folded.1 : (m == 2 ? folded.2 : folded.3))
                if Normalizer.isSeparator(s) {
                    // After an ideograph any separator may be dropped; after a Latin letter or
                    // digit only spacing (`rm -rf / 清理` keeps its slash).
                    let spacing = s == 0x20 || s == 0x09
                    let continuing =
                        pendingCount > 0 && pendingCount < Normalizer.maxSeparatorRun
                        && (pendingAfterIdeograph || spacing)
                    let beginning = pendingCount == 0 && (lastWasIdeograph || (w.alnumRun > 0 && spacing))
                    if continuing || beginning {
                        if beginning { pendingAfterIdeograph = lastWasIdeograph }
                        switch pendingCount {
                        case 0:
                            pending.0 = s
                            pendingFrom.0 = start
                        case 1:
                            pending.1 = s
                            pendingFrom.1 = start
                        default:
                            pending.2 = s
                            pendingFrom.2 = start
                        }
                        pendingCount &+= 1
                        continue
                    }
                    if pendingCount > 0 {
                        w.flush(pending, pendingFrom, pendingCount)
                        pendingCount = 0
                    }
                    w.put(s, start)
                    lastWasIdeograph = false
                    continue
                }
                let ideograph = s >= 0x3400 && Normalizer.isIdeograph(s)
                if pendingCount > 0 {
                    // Dropped between two ideographs, or between an ideograph and a letter or
                    // digit (either way round); kept between two Latin words.
                    let alphanumeric = s < 0x80 && ((s | 0x20) &- 0x61 < 26 || s &- 0x30 < 10)
                    if !(ideograph || (pendingAfterIdeograph && alphanumeric)) {
                        w.flush(pending, pendingFrom, pendingCount)
                    }
                    pendingCount = 0
                }
                w.put(s, start)
                lastWasIdeograph = ideograph
            }
        }
        if pendingCount > 0 { w.flush(pending, pendingFrom, pendingCount) }
        if hashingLetters { output.letterHash = w.letterHash.value }
        output.utf8.count = w.u
        output.scalars.count = w.k
        output.symbols.count = w.k
        output.hasSupplementary = w.supplementary
        output.utf8Offsets.count = w.k
        output.originalOffsets.count = w.k
        output.longestDigitRun = w.longestDigitRun
        output.longestAlphanumericRun = w.longestAlnumRun
        output.firstInvalidUTF8 = firstInvalid
    }

    /// Writes the ASCII character at `start`, which cannot begin a dropped separator run, and
    /// those after it up to the next non-ASCII byte or a space that may begin one (after a letter
    /// or digit, before an ideograph); returns where it stopped. Out of line, so that its few
    /// values stay in registers instead of the general loop's many.
    @inline(never)
    private static func asciiRun(_ base: UnsafePointer<UInt8>, from start: Int, _ n: Int, _ w: inout Writer) -> Int {
        let input = base + start
        let count = n &- start
        let scalars = w.scalars + w.k
        let symbols = w.symbols + w.k
        let utf8 = w.utf8 + w.u
        let table = w.symbolTable
        let hashing = w.hashing
        // Whole blocks of plain ASCII first (English prose is most of a text's ASCII), then
        // byte by byte up to where the run ends.
        var runs = vigil_ascii_runs(
            digit_run: Int64(w.digitRun), alnum_run: Int64(w.alnumRun),
            longest_digit_run: Int64(w.longestDigitRun), longest_alnum_run: Int64(w.longestAlnumRun))
        var j: Int
        if hashing {
            j = vigil_ascii_blocks(
                input, count, scalars, symbols, utf8, table, &runs, &w.letterHash.hash, &w.letterHash.letters)
        } else {
            j = vigil_ascii_blocks(input, count, scalars, symbols, utf8, table, &runs, nil, nil)
        }
        var digitRun = Int(runs.digit_run)
        var alnumRun = Int(runs.alnum_run)
        var longestDigitRun = Int(runs.longest_digit_run)
        var longestAlnumRun = Int(runs.longest_alnum_run)
        while j < count {
            let b = input[j]
            if b >= 0x80 { break }
            if j > 0, b == 0x20 || b == 0x09, alnumRun > 0, nonASCIIAfterSpaces(base, start &+ j &+ 1, n) { break }
            scalars[j] = UInt32(b)
            symbols[j] = table[Int(b)]
            utf8[j] = b
            let digit = b &- 0x30 < 10
            let letter = (b | 0x20) &- 0x61 < 26
            digitRun = digit ? digitRun &+ 1 : 0
            alnumRun = digit || letter ? alnumRun &+ 1 : 0
            longestDigitRun = max(longestDigitRun, digitRun)
            longestAlnumRun = max(longestAlnumRun, alnumRun)
            if hashing && letter { w.letterHash.add(UInt32(b | 0x20)) }
            j &+= 1
        }
        w.putOffsets(count: j, step: 1, origin: start)
        w.k &+= j
        w.u &+= j
        w.digitRun = digitRun
        w.alnumRun = alnumRun
        w.longestDigitRun = longestDigitRun
        w.longestAlnumRun = longestAlnumRun
        return start &+ j
    }

    /// Where a run of CJK text ended (`end` is its first byte not read; `start` when there was
    /// none), and whether its last character is an ideograph.
    private struct RunEnd {
        var end: Int
        var endsWithIdeograph: Bool
    }

    /// Writes the run of CJK text from byte `i` on: ideographs that fold to themselves, and the
    /// punctuation between them that needs none of the general loop's rules (see
    /// `runPunctuation`), so that a sentence is one run instead of one per clause. The
    /// ideographs of a stretch between two punctuation marks are read by a loop that only
    /// decodes, tests and writes scalars and symbols; their UTF-8 is the input's and their
    /// offsets step by three, so both are written for the whole stretch after it.
    @inline(never)
    private static func cjkRun<Letters: LetterSink>(
        _ base: UnsafePointer<UInt8>, from i: Int, _ n: Int, _ punctuation: UnsafeMutablePointer<UInt8>,
        _ w: inout Writer, _ letters: inout Letters
    ) -> RunEnd {
        var p = i
        var endsWithIdeograph = false
        while true {
            let count = ideographRun(
                base, from: p, n, into: w.scalars + w.k, symbols: w.symbols + w.k, w.runSymbols, &letters)
            if count > 0 {
                endsWithIdeograph = w.scalars[w.k &+ count &- 1] >= 0x3400
                w.putIdeographRun(base + p, count: count, origin: p)
                p &+= 3 &* count
            } else if p == i {
                return RunEnd(end: i, endsWithIdeograph: false)
            }
            guard p &+ 2 < n else { break }
            let s = runPunctuation(base + p, punctuation)
            if s == 0 { break }
            w.putRunPunctuation(s, p)
            p &+= 3
            endsWithIdeograph = false
        }
        return RunEnd(end: p, endsWithIdeograph: endsWithIdeograph)
    }

    /// The ASCII character that the full-width form (U+FF00 to U+FF7F) at `c` folds to, when it
    /// may sit inside a CJK run: neither a separator nor a letter or digit (`，` `！` `？` `；`
    /// `：`), from `runPunctuationTable`. For these the general loop's rules come to writing the
    /// character and ending the letter and digit runs, which the character before them has
    /// ended already. 0 for any other character.
    @inline(__always)
    private static func runPunctuation(_ c: UnsafePointer<UInt8>, _ table: UnsafeMutablePointer<UInt8>) -> UInt32 {
        guard c[0] == 0xEF, c[1] & 0xFE == 0xBC, c[2] & 0xC0 == 0x80 else { return 0 }
        return UInt32(table[Int(c[1] & 1) << 6 | Int(c[2] & 0x3F)])
    }

    /// Reads CJK ideographs and punctuation that fold to themselves (`markRunStops(in:)`) from
    /// byte `i` on, writing their scalars and symbols, and returns how many there were. Nothing
    /// else is written here: their UTF-8 is the input's and their offsets step by three, so the
    /// caller writes those for the whole stretch. Ideographs (from U+3400) go to `letters`.
    @inline(never)
    private static func ideographRun<Letters: LetterSink>(
        _ base: UnsafePointer<UInt8>, from i: Int, _ n: Int, into scalars: UnsafeMutablePointer<UInt32>,
        symbols: UnsafeMutablePointer<UInt16>, _ runSymbols: UnsafePointer<UInt16>, _ letters: inout Letters
    ) -> Int {
        var m = 0
        var sink = letters
        // Four bytes read as one word for each character that has four from its start; the
        // text's last character, its three bytes put together. Counted ahead, so that the loop
        // steps one pointer and one index.
        let available = n &- i
        let wordCharacters = available >= 4 ? (available &- 4) / 3 &+ 1 : 0
        var q = UnsafeRawPointer(base + i)
        while m < wordCharacters {
            guard let v = threeByteScalar(UInt32(littleEndian: q.loadUnaligned(as: UInt32.self))) else { break }
            let symbol = runSymbols[Int(v)]
            if symbol == foldingSymbol { break }
            scalars[m] = v
            symbols[m] = symbol
            if v >= 0x3400 { sink.add(v) }
            m &+= 1
            q += 3
        }
        let p = i &+ 3 &* m
        if p &+ 3 == n,
            let v = threeByteScalar(UInt32(base[p]) | UInt32(base[p &+ 1]) << 8 | UInt32(base[p &+ 2]) << 16),
            runSymbols[Int(v)] != foldingSymbol
        {
            scalars[m] = v
            symbols[m] = runSymbols[Int(v)]
            if v >= 0x3400 { sink.add(v) }
            m &+= 1
        }
        letters = sink
        return m
    }

    /// The scalar of the three-byte UTF-8 sequence in the low bytes of `w` (first byte lowest),
    /// or nil when they are none. Overlong forms and surrogates decode, to scalars below U+0800
    /// or from U+D800 to U+DFFF, which the run table stops at.
    @inline(__always)
    private static func threeByteScalar(_ w: UInt32) -> UInt32? {
        guard w & 0xC0_C0F0 == 0x80_80E0 else { return nil }
        return (w & 0x0F) << 12 | (w & 0x3F00) >> 2 | (w >> 16) & 0x3F
    }

    /// Whether, after the space just read, at most two more spaces and then a non-ASCII byte
    /// follow: only then can the run sit between a letter or digit and an ideograph.
    @inline(__always)
    private static func nonASCIIAfterSpaces(_ base: UnsafePointer<UInt8>, _ from: Int, _ n: Int) -> Bool {
        var j = from
        var seen = 1
        while j < n, seen < maxSeparatorRun, base[j] == 0x20 || base[j] == 0x09 {
            j &+= 1
            seen &+= 1
        }
        return j < n && base[j] >= 0x80
    }

    /// Normalizes a whole string (for rule terms and tests); invalid input cannot occur here.
    public func normalize(_ text: String) -> String {
        let out = NormalizedText(capacity: text.utf8.count)
        var copy = text
        copy.withUTF8 { normalize($0, into: out) }
        return String(decoding: out.utf8.buffer, as: UTF8.self)
    }

    /// Normalizes a rule term and folds its case, as the literal automaton sees it.
    public func normalizedTerm(_ text: String) -> [UInt32] {
        normalizedTerm(text, scratch: NormalizedText(capacity: text.utf8.count))
    }

    /// `normalizedTerm(_:)` through a caller's buffers, for loading thousands of terms.
    public func normalizedTerm(_ text: String, scratch: NormalizedText) -> [UInt32] {
        var copy = text
        copy.withUTF8 { normalize($0, into: scratch) }
        return scratch.scalars.buffer.map(foldCase)
    }

    /// Folds the literal characters of a PCRE2 pattern the way text is folded, so that a rule
    /// written with full-width or traditional characters still matches normalized text. A
    /// character that folds to ASCII punctuation is escaped so it stays a literal.
    public func normalizePattern(_ pattern: String) -> String {
        var result = ""
        for scalar in pattern.unicodeScalars {
            if scalar.value < 0x80 {
                result.unicodeScalars.append(scalar)
                continue
            }
            let folded = normalize(String(scalar)).unicodeScalars
            if folded.isEmpty { continue }
            for f in folded {
                // \x{..} stays a literal inside and outside classes ("\:" after "[" would not).
                if f.value < 0x80, !(f.properties.isAlphabetic || ("0"..."9").contains(f)) {
                    result += "\\x{" + String(f.value, radix: 16) + "}"
                } else {
                    result.unicodeScalars.append(f)
                }
            }
        }
        return result
    }
}

/// Writes normalized scalars to raw buffers reserved by the caller, tracking digit and letter runs.
private struct Writer {
    let utf8: UnsafeMutablePointer<UInt8>
    let scalars: UnsafeMutablePointer<UInt32>
    let utf8Offsets: UnsafeMutablePointer<UInt32>
    let originalOffsets: UnsafeMutablePointer<UInt32>
    let symbols: UnsafeMutablePointer<UInt16>
    let symbolTable: UnsafePointer<UInt16>
    /// `symbolTable` with every scalar that a CJK run stops at marked (`Normalizer.markRunStops(in:)`).
    let runSymbols: UnsafePointer<UInt16>
    /// Whether a scalar beyond the BMP was written.
    var supplementary = false
    var u = 0
    var k = 0
    var digitRun = 0
    var longestDigitRun = 0
    var alnumRun = 0
    var longestAlnumRun = 0
    /// Whether letters are hashed into `letterHash` (a CJK run's ideographs by the run's own
    /// loop, into the hash taken out of here for the run).
    let hashing: Bool
    var letterHash = LetterHash()

    init(
        utf8: UnsafeMutablePointer<UInt8>, scalars: UnsafeMutablePointer<UInt32>,
        utf8Offsets: UnsafeMutablePointer<UInt32>, originalOffsets: UnsafeMutablePointer<UInt32>,
        symbols: UnsafeMutablePointer<UInt16>, symbolTable: SymbolTable, hashing: Bool
    ) {
        self.utf8 = utf8
        self.scalars = scalars
        self.utf8Offsets = utf8Offsets
        self.originalOffsets = originalOffsets
        self.symbols = symbols
        self.symbolTable = symbolTable.symbols
        self.runSymbols = symbolTable.runSymbols
        self.hashing = hashing
    }

    @inline(__always)
    mutating func flush(_ pending: (UInt32, UInt32, UInt32), _ from: (Int, Int, Int), _ count: Int) {
        put(pending.0, from.0)
        if count > 1 { put(pending.1, from.1) }
        if count > 2 { put(pending.2, from.2) }
    }

    /// `put` for a stretch of `count` CJK characters that fold to themselves (`markRunStops(in:)`),
    /// whose scalars are already in `scalars` from `k`: their UTF-8 is the input's bytes at
    /// `bytes`, and both offsets step by three. Not hashed: the caller hashes the run.
    @inline(__always)
    mutating func putIdeographRun(_ bytes: UnsafePointer<UInt8>, count: Int, origin: Int) {
        copyShort(from: bytes, to: utf8 + u, count: 3 &* count)
        putOffsets(count: count, step: 3, origin: origin)
        k &+= count
        u &+= 3 &* count
        digitRun = 0
        alnumRun = 0
    }

    /// Copies `count` bytes (a stretch of ideographs, a few dozen) without a call: eight bytes a
    /// step, the last eight overlapping the step before; byte by byte below eight.
    @inline(__always)
    func copyShort(from source: UnsafePointer<UInt8>, to target: UnsafeMutablePointer<UInt8>, count: Int) {
        if count < 8 {
            for j in 0..<count { target[j] = source[j] }
            return
        }
        let from = UnsafeRawPointer(source)
        let to = UnsafeMutableRawPointer(target)
        var j = 0
        while j &+ 8 < count {
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: j, as: UInt64.self), toByteOffset: j, as: UInt64.self)
            j &+= 8
        }
        to.storeBytes(
            of: from.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self), toByteOffset: count &- 8,
            as: UInt64.self)
    }

    /// Both offsets of the `count` characters from `k` of a run whose characters are each `step`
    /// bytes long, in the output as in the input (which starts at `origin`): filled apart from
    /// the characters, in a loop the compiler can vectorize.
    @inline(__always)
    func putOffsets(count: Int, step: Int, origin: Int) {
        let normalized = UInt32(truncatingIfNeeded: u)
        let original = UInt32(truncatingIfNeeded: origin)
        for j in 0..<count {
            let d = UInt32(truncatingIfNeeded: step &* j)
            utf8Offsets[k &+ j] = normalized &+ d
            originalOffsets[k &+ j] = original &+ d
        }
    }

    /// `put` for ASCII punctuation inside a CJK run (`Normalizer.runPunctuation`): no letter or
    /// digit, after a character that ended both runs.
    @inline(__always)
    mutating func putRunPunctuation(_ s: UInt32, _ origin: Int) {
        scalars[k] = s
        symbols[k] = symbolTable[Int(s)]
        utf8Offsets[k] = UInt32(truncatingIfNeeded: u)
        originalOffsets[k] = UInt32(truncatingIfNeeded: origin)
        k &+= 1
        utf8[u] = UInt8(truncatingIfNeeded: s)
        u &+= 1
        digitRun = 0
        alnumRun = 0
    }

    @inline(__always)
    mutating func put(_ s: UInt32, _ origin: Int) {
        scalars[k] = s
        symbols[k] = symbolTable[Int(min(s, 0x10000))]
        utf8Offsets[k] = UInt32(truncatingIfNeeded: u)
        originalOffsets[k] = UInt32(truncatingIfNeeded: origin)
        k &+= 1
        if s < 0x80 {
            utf8[u] = UInt8(truncatingIfNeeded: s)
            u &+= 1
            if s &- 0x30 < 10 {
                digitRun &+= 1
                alnumRun &+= 1
                if digitRun > longestDigitRun { longestDigitRun = digitRun }
                if alnumRun > longestAlnumRun { longestAlnumRun = alnumRun }
            } else if (s | 0x20) &- 0x61 < 26 {
                digitRun = 0
                alnumRun &+= 1
                if alnumRun > longestAlnumRun { longestAlnumRun = alnumRun }
                if hashing { letterHash.add(s | 0x20) }
            } else {
                digitRun = 0
                alnumRun = 0
            }
            return
        }
        digitRun = 0
        alnumRun = 0
        if hashing && s >= 0x3400 { letterHash.add(s) }
        if s < 0x800 {
            utf8[u] = UInt8(truncatingIfNeeded: 0xC0 | (s >> 6))
            utf8[u &+ 1] = UInt8(truncatingIfNeeded: 0x80 | (s & 0x3F))
            u &+= 2
        } else if s < 0x10000 {
            utf8[u] = UInt8(truncatingIfNeeded: 0xE0 | (s >> 12))
            utf8[u &+ 1] = UInt8(truncatingIfNeeded: 0x80 | ((s >> 6) & 0x3F))
            utf8[u &+ 2] = UInt8(truncatingIfNeeded: 0x80 | (s & 0x3F))
            u &+= 3
        } else {
            supplementary = true
            utf8[u] = UInt8(truncatingIfNeeded: 0xF0 | (s >> 18))
            utf8[u &+ 1] = UInt8(truncatingIfNeeded: 0x80 | ((s >> 12) & 0x3F))
            utf8[u &+ 2] = UInt8(truncatingIfNeeded: 0x80 | ((s >> 6) & 0x3F))
            utf8[u &+ 3] = UInt8(truncatingIfNeeded: 0x80 | (s & 0x3F))
            u &+= 4
        }
    }
}

/// Where a run's letters go: the letter hash, or nowhere (`NoLetters`, for which the run's
/// loops are compiled without the hashing).
protocol LetterSink {
    mutating func add(_ s: UInt32)
}

struct NoLetters: LetterSink {
    @inline(__always)
    func add(_ s: UInt32) {}
}

/// The hash of a text's letters (`NormalizedText.letterHash`): FNV-1a over their scalars, then a
/// final mix with their count that spreads every bit.
struct LetterHash: LetterSink {
    // Not private: the ASCII block writer (`vigil_ascii_blocks`) adds to them in place.
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    var letters: Int64 = 0

    @inline(__always)
    mutating func add(_ s: UInt32) {
        hash = (hash ^ UInt64(s)) &* 0x100_0000_01b3
        letters &+= 1
    }

    var value: UInt64 {
        var h = hash ^ UInt64(bitPattern: letters)
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        return h ^ (h >> 33)
    }
}
