// Generates Sources/VigilMatch/NormalizationTables.swift.
//
// Build and run from the repository root:
//
//   swiftc -O scripts/gen-normalization-tables.swift -o /tmp/gen-tables
//   /tmp/gen-tables > Sources/VigilMatch/NormalizationTables.swift
//
// The generated file is written to standard output; statistics and sanity
// checks go to standard error. The program exits non-zero if Foundation's
// "Traditional-Simplified" ICU transform is unavailable or a sanity check fails.
//
// Tables (one entry per line, uppercase hex code points, no "U+" prefix):
//
//   fold       "SRC\tDST1 DST2 ..."  f*(c), where f(s) = T2S(NFKC(s)) is applied
//                                    until stable. NFKC is Foundation's
//                                    precomposedStringWithCompatibilityMapping,
//                                    T2S is ICU's "Traditional-Simplified".
//   lowercase  "SRC\tDST"            simple lowercase mapping, only where it is a
//                                    single scalar different from the source.
//
// Note: the scalar set comes from the Swift standard library's Unicode data
// while NFKC/T2S come from the ICU bundled with Foundation; the two may be on
// different Unicode versions (scalars ICU does not know simply map to themselves).

import Foundation

// MARK: - Helpers

func stderr(_ message: String) {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
}

func hex(_ v: UInt32) -> String {
    String(v, radix: 16, uppercase: true)
}

func scalars(_ s: String) -> [UInt32] {
    s.unicodeScalars.map(\.value)
}

func string(_ vs: [UInt32]) -> String {
    var s = String.UnicodeScalarView()
    for v in vs { s.append(Unicode.Scalar(v)!) }
    return String(s)
}

let t2sTransform = StringTransform("Traditional-Simplified")
let s2tTransform = StringTransform("Simplified-Traditional")

func t2s(_ s: String) -> String? {
    s.applyingTransform(t2sTransform, reverse: false)
}

func nfkc(_ s: String) -> String {
    s.precomposedStringWithCompatibilityMapping
}

/// One application of the fold: T2S(NFKC(s)). Compared by scalars, never by
/// `String ==` (which uses canonical equivalence).
func foldOnce(_ s: [UInt32]) -> [UInt32] {
    let n = nfkc(string(s))
    return scalars(t2s(n) ?? n)
}

/// Applies `foldOnce` until stable. Returns nil if it does not settle.
func foldStable(_ s: [UInt32]) -> (result: [UInt32], rounds: Int)? {
    var cur = s
    for round in 1...16 {
        let next = foldOnce(cur)
        if next == cur { return (cur, round - 1) }
        cur = next
    }
    return nil
}

let cjkRanges: [ClosedRange<UInt32>] = [
    0x3400...0x4DBF,   // Extension A
    0x4E00...0x9FFF,   // Unified Ideographs
    0xF900...0xFAFF,   // Compatibility Ideographs
    0x20000...0x2FA1F, // Extensions B–F, I, Compatibility Supplement
]

func isCJK(_ v: UInt32) -> Bool {
    cjkRanges.contains { $0.contains(v) }
}

// MARK: - Availability check

guard let probe = t2s("臺體們"), probe == "台体们" else {
    stderr("error: Foundation's StringTransform(\"Traditional-Simplified\") is unavailable or not working "
        + "(got \(String(describing: t2s("臺體們"))))")
    exit(1)
}

// MARK: - Build tables

let startTime = Date()

var fold: [(UInt32, [UInt32])] = []
var lowercase: [(UInt32, UInt32)] = []

var stats = (
    assigned: 0, nfkcChanged: 0, cjkT2SOnly: 0,
    skippedEmpty: 0, skippedLong: 0, skippedControl: 0, skippedIdentity: 0, skippedUnstable: 0,
    multiRound: 0, t2sOutsideCJKRanges: 0, icuMissingNewer: 0
)
var t2sOutsideExamples: [UInt32] = []
var icuMissingExamples: [UInt32] = []

for v in UInt32(0)...0x10FFFF {
    guard let c = Unicode.Scalar(v) else { continue } // surrogates
    let props = c.properties
    switch props.generalCategory {
    case .unassigned, .privateUse, .surrogate: continue
    default: break
    }
    stats.assigned += 1

    // Lowercase table.
    let lower = scalars(props.lowercaseMapping)
    if lower.count == 1, lower[0] != v {
        lowercase.append((v, lower[0]))
    }

    if (0xAC00...0xD7A3).contains(v) { continue } // Hangul syllables

    let source = [v]
    let n = scalars(nfkc(String(c)))
    let candidate: Bool
    if n != source {
        stats.nfkcChanged += 1
        candidate = true
    } else if isCJK(v) {
        // NFKC-stable ideograph: include only if T2S turns it into one different scalar.
        let t = scalars(t2s(String(c)) ?? String(c))
        candidate = t.count == 1 && t[0] != v
        if candidate { stats.cjkT2SOnly += 1 }
    } else {
        // Diagnostics only: T2S touching something outside the CJK ranges, or a
        // scalar newer than ICU that looks like it should have changed under NFKC.
        if let t = t2s(String(c)), scalars(t) != source {
            stats.t2sOutsideCJKRanges += 1
            if t2sOutsideExamples.count < 10 { t2sOutsideExamples.append(v) }
        }
        if props.changesWhenNFKCCaseFolded, !props.changesWhenCaseMapped,
           let age = props.age, age.major >= 16 {
            stats.icuMissingNewer += 1
            if icuMissingExamples.count < 10 { icuMissingExamples.append(v) }
        }
        candidate = false
    }
    guard candidate else { continue }

    guard let (result, rounds) = foldStable(source) else {
        stats.skippedUnstable += 1
        continue
    }
    if rounds > 1 { stats.multiRound += 1 }
    if result.isEmpty { stats.skippedEmpty += 1; continue }
    if result.count > 4 { stats.skippedLong += 1; continue }
    if result == source { stats.skippedIdentity += 1; continue }
    if result.contains(where: { Unicode.Scalar($0)!.properties.generalCategory == .control }) {
        stats.skippedControl += 1
        continue
    }
    if isCJK(v), n == source, result.count != 1 { continue } // T2S-only entries must stay single-scalar
    fold.append((v, result))
}

let elapsed = Date().timeIntervalSince(startTime)

// MARK: - T2S ambiguity report

// A T2S mapping is "lossy" when converting back (S2T) does not return the source:
// several traditional characters merged into one simplified form, or the source
// is also a legitimate character in simplified text (乾 qián, 著 zhù, 麼 …).
var lossy = 0
var targetsBySource: [UInt32: [UInt32]] = [:]
for (src, dst) in fold where isCJK(src) && dst.count == 1 && isCJK(dst[0]) {
    let srcString = String(Unicode.Scalar(src)!)
    let nfkcSelf = scalars(nfkc(srcString)) == [src]
    guard nfkcSelf else { continue } // only T2S-driven entries
    targetsBySource[dst[0], default: []].append(src)
    if let back = String(Unicode.Scalar(dst[0])!).applyingTransform(s2tTransform, reverse: false),
       scalars(back) != [src] {
        lossy += 1
    }
}
let mergedTargets = targetsBySource.filter { $0.value.count > 1 }

// MARK: - Sanity checks

let foldMap = Dictionary(uniqueKeysWithValues: fold)
let lowerMap = Dictionary(uniqueKeysWithValues: lowercase)

let expectedFold: [(UInt32, [UInt32])] = [
    (0xFF21, [0x41]), (0xFF41, [0x61]), (0xFF11, [0x31]), (0x3000, [0x20]), (0xFF01, [0x21]),
    (0x81FA, [0x53F0]), // 臺→台
    (0x9AD4, [0x4F53]), // 體→体
    (0x5011, [0x4EEC]), // 們→们
    (0x7121, [0x65E0]), // 無→无
    (0x5354, [0x534F]), // 協→协
    (0x9019, [0x8FD9]), // 這→这
    (0x5F48, [0x5F39]), // 彈→弹
    (0x7232, [0x4E3A]), // 爲→为
    (0x70BA, [0x4E3A]), // 為→为
    (0xFB01, [0x66, 0x69]), // ﬁ→fi
    (0x2460, [0x31]), // ①→1
    (0x1D41B, [0x62]), // 𝐛→b
]
let expectedAbsent: [UInt32] = [0x53F0, 0x4F53, 0x5F39, 0x41, 0x61] // 台 体 弹 A a
let expectedLower: [(UInt32, UInt32)] = [
    (0x41, 0x61), (0xFF21, 0xFF41), (0xC4, 0xE4), (0x3A3, 0x3C3), (0x414, 0x434),
]

var failures: [String] = []
for (src, dst) in expectedFold where foldMap[src] != dst {
    failures.append("fold \(hex(src)) expected \(dst.map(hex)) got \(String(describing: foldMap[src]?.map(hex)))")
}
for src in expectedAbsent where foldMap[src] != nil {
    failures.append("fold \(hex(src)) should be absent, got \(foldMap[src]!.map(hex))")
}
for (src, dst) in expectedLower where lowerMap[src] != dst {
    failures.append("lowercase \(hex(src)) expected \(hex(dst)) got \(String(describing: lowerMap[src].map(hex)))")
}
// Per-scalar stability: folding each scalar of a result through the table is a no-op.
var unstableResults = 0
for (src, dst) in fold {
    let again = dst.flatMap { foldMap[$0] ?? [$0] }
    if again != dst {
        unstableResults += 1
        if unstableResults <= 10 {
            failures.append("fold result of \(hex(src)) not stable per scalar: \(dst.map(hex)) -> \(again.map(hex))")
        }
    }
}

// MARK: - Report

stderr("""
    gen-normalization-tables: \(String(format: "%.2f", elapsed)) s
      assigned scalars (excl. private use): \(stats.assigned)
      NFKC-changed candidates: \(stats.nfkcChanged)
      CJK T2S-only entries: \(stats.cjkT2SOnly)
      fold entries: \(fold.count)  (multi-round folds: \(stats.multiRound))
      skipped: empty \(stats.skippedEmpty), >4 scalars \(stats.skippedLong), control \(stats.skippedControl), \
    identity \(stats.skippedIdentity), not settling \(stats.skippedUnstable)
      lowercase entries: \(lowercase.count)
      T2S lossy entries (S2T(T2S(c)) != c): \(lossy); simplified targets with >1 source: \(mergedTargets.count)
      ambiguous examples: 乾→\(foldMap[0x4E7E].map { string($0) } ?? "-") \
    著→\(foldMap[0x8457].map { string($0) } ?? "-") 麼→\(foldMap[0x9EBC].map { string($0) } ?? "-") \
    後→\(foldMap[0x5F8C].map { string($0) } ?? "-") 髮→\(foldMap[0x9AEE].map { string($0) } ?? "-")
      T2S changes outside CJK ranges (not included): \(stats.t2sOutsideCJKRanges) \(t2sOutsideExamples.map(hex))
      Unicode ≥16 scalars NFKC(ICU) leaves alone but stdlib marks NFKC-changing: \(stats.icuMissingNewer) \
    \(icuMissingExamples.map(hex))
      sanity failures: \(failures.count)
    """)
for f in failures { stderr("  FAIL: " + f) }

// MARK: - Emit

var out = """
    // swift-format-ignore-file
    // Generated by scripts/gen-normalization-tables.swift — do not edit.
    /// Lookup data for `Normalizer`, generated from Foundation's NFKC and ICU transforms.
    enum NormalizationTables {
        /// Lines "SRC\\tDST1 DST2 ..." in hex code points: the fold of one scalar (NFKC, then traditional → simplified, repeated until stable).
        static let fold: String = \"\"\"

    """
out.reserveCapacity(fold.count * 20 + lowercase.count * 14 + 1024)
for (src, dst) in fold {
    out += "    \(hex(src))\t\(dst.map(hex).joined(separator: " "))\n"
}
out += """
        \"\"\"
        /// Lines "SRC\\tDST" in hex: simple lowercase mapping for scalars whose lowercase is a single scalar different from themselves.
        static let lowercase: String = \"\"\"

    """
for (src, dst) in lowercase {
    out += "    \(hex(src))\t\(hex(dst))\n"
}
out += """
        \"\"\"
    }

    """
FileHandle.standardOutput.write(out.data(using: .utf8)!)

exit(failures.isEmpty ? 0 : 2)
