/// Turns text into the form that rules match against, defeating the common evasions.
///
/// One pass over UTF-8 with table lookups (the tables are generated once from Foundation's NFKC
/// and ICU's traditional → simplified transform, see `scripts/gen-normalization-tables.swift`):
/// - compatibility forms folded (NFKC per character): full-width → half-width, ①→1, ﬁ→fi;
/// - traditional characters → simplified;
/// - zero-width and other invisible characters removed;
/// - runs of up to three separators between two CJK ideographs removed (炸-弹, 炸 弹 → 炸弹).
/// Case is kept (regexes decide with `(?i)`); the literal automaton folds case itself.
public final class Normalizer: @unchecked Sendable {
    /// Maximum separators between two ideographs that are still removed.
    public static let maxSeparatorRun = 3

    /// The process-wide normalizer (tables are built once, on first use).
    public static let standard = Normalizer()

    // BMP fold table: 0 = unchanged, `deleted` = removed, high bit = (index << 3 | count) into
    // `pool`, anything else is the single replacement scalar.
    private let bmp: UnsafeMutablePointer<UInt32>
    private let pool: UnsafeMutablePointer<UInt32>
    private let supplementary: [UInt32: [UInt32]]
    private let lowercaseBMP: UnsafeMutablePointer<UInt32>
    private let lowercaseSupplementary: [UInt32: UInt32]
    private static let deleted: UInt32 = 0xFFFF_FFFF
    private static let multiFlag: UInt32 = 0x8000_0000

    private init() {
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
            if source < 0x10000 { lowercaseBMP[Int(source)] = targets[0] } else { lowerSupplementary[source] = targets[0] }
        }
        self.pool = .allocate(capacity: max(1, pool.count))
        self.pool.initialize(from: pool, count: pool.count)
        self.supplementary = supplementary
        self.lowercaseSupplementary = lowerSupplementary
    }

    /// Characters removed outright: zero-width spaces and joiners, bidi controls, soft hyphen,
    /// variation selectors, tag characters and similar invisible code points.
    static let invisible: [UInt32] = {
        var list: [UInt32] = [0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFEFF, 0xFFA0]
        list += Array(0x180B...0x180F) + Array(0x200B...0x200F) + Array(0x202A...0x202E)
        list += Array(0x2060...0x206F) + Array(0xFE00...0xFE0F) + Array(0xE0000...0xE007F) + Array(0x1D173...0x1D17A)
        return list
    }()

    private static func parse(_ table: String) -> [(UInt32, [UInt32])] {
        var result: [(UInt32, [UInt32])] = []
        for line in table.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            guard parts.count == 2, let source = UInt32(parts[0], radix: 16) else { continue }
            let targets = parts[1].split(separator: " ").compactMap { UInt32($0, radix: 16) }
            result.append((source, targets))
        }
        return result
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
        if s < 64 { return (1 << 0x09 | 1 << 0x20 | 1 << 0x2A | 1 << 0x2B | 1 << 0x2D | 1 << 0x2E | 1 << 0x2F as UInt64) & (1 << UInt64(s)) != 0 }
        if s < 128 { return (1 << (0x5F - 64) | 1 << (0x7C - 64) | 1 << (0x7E - 64) as UInt64) & (1 << UInt64(s - 64)) != 0 }
        return s == 0x00B7 || s == 0x30FB || s == 0x2022 || s == 0x2027 || s == 0x2219 || s == 0x22C5
    }

    /// The simple lowercase of a scalar (itself when it has none).
    @inline(__always)
    public func lowercase(_ s: UInt32) -> UInt32 {
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
    public func normalize(_ input: UnsafeBufferPointer<UInt8>, into output: NormalizedText) {
        output.reset()
        var emitter = Emitter(output: output, inputBytes: input.count)
        guard let base = input.baseAddress else { return }
        let n = input.count
        var i = 0

        while i < n {
            let b0 = base[i]
            if b0 < 0x80 {
                emitter.accept(UInt32(b0), from: i)
                i += 1
                continue
            }
            let start = i
            var scalar: UInt32
            if b0 & 0xE0 == 0xC0 {
                guard b0 >= 0xC2, i + 1 < n, base[i + 1] & 0xC0 == 0x80 else { Self.noteInvalid(output, i); emitter.accept(0xFFFD, from: i); i += 1; continue }
                scalar = UInt32(b0 & 0x1F) << 6 | UInt32(base[i + 1] & 0x3F)
                i += 2
            } else if b0 & 0xF0 == 0xE0 {
                guard i + 2 < n, base[i + 1] & 0xC0 == 0x80, base[i + 2] & 0xC0 == 0x80 else {
                    Self.noteInvalid(output, i)
                    emitter.accept(0xFFFD, from: i)
                    i += 1
                    continue
                }
                scalar = UInt32(b0 & 0x0F) << 12 | UInt32(base[i + 1] & 0x3F) << 6 | UInt32(base[i + 2] & 0x3F)
                guard scalar >= 0x800, scalar & 0xF800 != 0xD800 else { Self.noteInvalid(output, i); emitter.accept(0xFFFD, from: i); i += 1; continue }
                i += 3
            } else if b0 & 0xF8 == 0xF0 {
                guard i + 3 < n, base[i + 1] & 0xC0 == 0x80, base[i + 2] & 0xC0 == 0x80, base[i + 3] & 0xC0 == 0x80
                else { Self.noteInvalid(output, i); emitter.accept(0xFFFD, from: i); i += 1; continue }
                scalar =
                    UInt32(b0 & 0x07) << 18 | UInt32(base[i + 1] & 0x3F) << 12 | UInt32(base[i + 2] & 0x3F) << 6
                    | UInt32(base[i + 3] & 0x3F)
                guard scalar >= 0x10000, scalar <= 0x10FFFF else { Self.noteInvalid(output, i); emitter.accept(0xFFFD, from: i); i += 1; continue }
                i += 4
            } else {
                Self.noteInvalid(output, i)
                emitter.accept(0xFFFD, from: i)
                i += 1
                continue
            }
            if scalar < 0x10000 {
                let f = bmp[Int(scalar)]
                if f == 0 {
                    emitter.accept(scalar, from: start)
                } else if f == Self.deleted {
                    continue
                } else if f & Self.multiFlag != 0 {
                    let index = Int((f & ~Self.multiFlag) >> 3)
                    for k in 0..<Int(f & 7) { emitter.accept(pool[index + k], from: start) }
                } else {
                    emitter.accept(f, from: start)
                }
            } else if let folded = supplementary[scalar] {
                for s in folded { emitter.accept(s, from: start) }
            } else {
                emitter.accept(scalar, from: start)
            }
        }
        emitter.finish()
    }

    private static func noteInvalid(_ output: NormalizedText, _ at: Int) {
        if output.firstInvalidUTF8 == nil { output.firstInvalidUTF8 = at }
    }

    /// Normalizes a whole string (for rule terms and tests); invalid input cannot occur here.
    public func normalize(_ text: String) -> String {
        let out = NormalizedText()
        var copy = text
        copy.withUTF8 { normalize($0, into: out) }
        return String(decoding: out.utf8.buffer, as: UTF8.self)
    }

    /// Normalizes a rule term and folds its case, as the literal automaton sees it.
    public func normalizedTerm(_ text: String) -> [UInt32] {
        normalize(text).unicodeScalars.map { lowercase($0.value) }
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

/// Writes folded scalars into a `NormalizedText`, holding back separators that follow an
/// ideograph until it knows whether another ideograph comes next. Works on raw pointers with
/// room reserved up front, so the per-character path does no bookkeeping on the class.
private struct Emitter {
    let output: NormalizedText
    let utf8: UnsafeMutablePointer<UInt8>
    let scalars: UnsafeMutablePointer<UInt32>
    let utf8Offsets: UnsafeMutablePointer<UInt32>
    let originalOffsets: UnsafeMutablePointer<UInt32>
    var utf8Count = 0
    var scalarCount = 0
    var lastWasIdeograph = false
    var pendingCount = 0
    var pending: (UInt32, UInt32, UInt32) = (0, 0, 0)
    var pendingFrom: (Int, Int, Int) = (0, 0, 0)
    var digitRun = 0
    var longestDigitRun = 0
    var alphanumericRun = 0
    var longestAlphanumericRun = 0

    /// Reserves the worst case for `inputBytes`: a character folds to at most four scalars, so
    /// at most two scalars and four UTF-8 bytes per input byte.
    init(output: NormalizedText, inputBytes: Int) {
        self.output = output
        output.utf8.reserve(4 * inputBytes + 16)
        output.scalars.reserve(2 * inputBytes + 8)
        output.utf8Offsets.reserve(2 * inputBytes + 8)
        output.originalOffsets.reserve(2 * inputBytes + 8)
        utf8 = output.utf8.base
        scalars = output.scalars.base
        utf8Offsets = output.utf8Offsets.base
        originalOffsets = output.originalOffsets.base
    }

    @inline(__always)
    mutating func accept(_ scalar: UInt32, from origin: Int) {
        if Normalizer.isSeparator(scalar) {
            if lastWasIdeograph && pendingCount < Normalizer.maxSeparatorRun {
                switch pendingCount {
                case 0: pending.0 = scalar; pendingFrom.0 = origin
                case 1: pending.1 = scalar; pendingFrom.1 = origin
                default: pending.2 = scalar; pendingFrom.2 = origin
                }
                pendingCount += 1
                return
            }
            flushPending()
            emit(scalar, from: origin)
            lastWasIdeograph = false
            return
        }
        let ideograph = scalar >= 0x3400 && Normalizer.isIdeograph(scalar)
        if pendingCount > 0 {
            if ideograph { pendingCount = 0 } else { flushPending() }
        }
        emit(scalar, from: origin)
        lastWasIdeograph = ideograph
    }

    mutating func finish() {
        flushPending()
        output.utf8.count = utf8Count
        output.scalars.count = scalarCount
        output.utf8Offsets.count = scalarCount
        output.originalOffsets.count = scalarCount
        output.longestDigitRun = longestDigitRun
        output.longestAlphanumericRun = longestAlphanumericRun
    }

    @inline(__always)
    private mutating func flushPending() {
        if pendingCount > 0 { emit(pending.0, from: pendingFrom.0) }
        if pendingCount > 1 { emit(pending.1, from: pendingFrom.1) }
        if pendingCount > 2 { emit(pending.2, from: pendingFrom.2) }
        pendingCount = 0
    }

    @inline(__always)
    private mutating func emit(_ s: UInt32, from origin: Int) {
        scalars[scalarCount] = s
        utf8Offsets[scalarCount] = UInt32(truncatingIfNeeded: utf8Count)
        originalOffsets[scalarCount] = UInt32(truncatingIfNeeded: origin)
        scalarCount += 1
        if s < 0x80 {
            utf8[utf8Count] = UInt8(truncatingIfNeeded: s)
            utf8Count += 1
            if s >= 0x30 && s <= 0x39 {
                digitRun += 1
                if digitRun > longestDigitRun { longestDigitRun = digitRun }
            } else {
                digitRun = 0
            }
            if (s | 0x20) >= 0x61 && (s | 0x20) <= 0x7A || (s >= 0x30 && s <= 0x39) {
                alphanumericRun += 1
                if alphanumericRun > longestAlphanumericRun { longestAlphanumericRun = alphanumericRun }
            } else {
                alphanumericRun = 0
            }
            return
        }
        digitRun = 0
        alphanumericRun = 0
        if s < 0x800 {
            utf8[utf8Count] = UInt8(truncatingIfNeeded: 0xC0 | (s >> 6))
            utf8[utf8Count + 1] = UInt8(truncatingIfNeeded: 0x80 | (s & 0x3F))
            utf8Count += 2
        } else if s < 0x10000 {
            utf8[utf8Count] = UInt8(truncatingIfNeeded: 0xE0 | (s >> 12))
            utf8[utf8Count + 1] = UInt8(truncatingIfNeeded: 0x80 | ((s >> 6) & 0x3F))
            utf8[utf8Count + 2] = UInt8(truncatingIfNeeded: 0x80 | (s & 0x3F))
            utf8Count += 3
        } else {
            utf8[utf8Count] = UInt8(truncatingIfNeeded: 0xF0 | (s >> 18))
            utf8[utf8Count + 1] = UInt8(truncatingIfNeeded: 0x80 | ((s >> 12) & 0x3F))
            utf8[utf8Count + 2] = UInt8(truncatingIfNeeded: 0x80 | ((s >> 6) & 0x3F))
            utf8[utf8Count + 3] = UInt8(truncatingIfNeeded: 0x80 | (s & 0x3F))
            utf8Count += 4
        }
    }
}
