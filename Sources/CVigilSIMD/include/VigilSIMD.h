// Byte scans that Swift's portable SIMD types do not compile well: sixteen bytes per step with
// SSE2 (every x86-64 has it); elsewhere one byte per step, or none, leaving the bytes to the
// caller's own loop. Static inline, so they are compiled into the Swift code that calls them.
#ifndef VIGIL_SIMD_H
#define VIGIL_SIMD_H

#include <stddef.h>
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// How many bytes from `p` (at most `n`) are not special inside a JSON string: not a quote,
/// not a backslash, not a control character.
static inline size_t vigil_json_plain_run(const uint8_t *p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8(0x22);
    const __m128i slash = _mm_set1_epi8(0x5C);
    const __m128i control = _mm_set1_epi8(0x1F);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash));
        special = _mm_or_si128(special, _mm_cmpeq_epi8(_mm_min_epu8(v, control), v));
        unsigned mask = (unsigned)_mm_movemask_epi8(special);
        if (mask != 0) return i + (size_t)__builtin_ctz(mask);
    }
#endif
    for (; i < n; i++) {
        uint8_t c = p[i];
        if (c == 0x22 || c == 0x5C || c < 0x20) return i;
    }
    return n;
}

/// The letter and digit runs that the normalizer carries across a text's ASCII characters:
/// the current run of digits, of letters or digits, and the longest of each so far.
typedef struct {
    int64_t digit_run;
    int64_t alnum_run;
    int64_t longest_digit_run;
    int64_t longest_alnum_run;
} vigil_ascii_runs;

/// Carries a run of ones through `m` (the low `width` bits are characters, lowest first):
/// `*run` continues into its lowest ones, `*longest` takes every run, `*run` ends as its
/// highest ones.
static inline void vigil_carry_run(unsigned m, unsigned width, int64_t *run, int64_t *longest) {
    unsigned full = (1u << width) - 1u;
    if (m == full) {
        *run += width;
        if (*run > *longest) *longest = *run;
        return;
    }
    int64_t first = *run + (int64_t)__builtin_ctz(~m);
    if (first > *longest) *longest = first;
    // The longest run inside: each step shortens every run by one.
    if (*longest < (int64_t)width) {
        int64_t inside = 0;
        for (unsigned x = m; x != 0; x &= x >> 1) inside++;
        if (inside > *longest) *longest = inside;
    }
    *run = (int64_t)__builtin_clz(~(m << (32u - width)));
}

/// Writes the plain ASCII at the start of `p` (`n` bytes readable) sixteen bytes a step, as
/// the normalizer writes ASCII that begins no dropped separator run: each byte's scalar,
/// symbol (`table`) and UTF-8, the letter and digit runs in `runs`, and with `hash` non-null the
/// lower-case letters into the FNV-1a hash and their count into `letters`. A block is written
/// only when it and the three bytes after it are ASCII: then none of its spaces can sit
/// between a letter and an ideograph, which is what would end the run. Returns how many bytes
/// were written, a multiple of sixteen; the caller goes on one byte at a time.
static inline size_t vigil_ascii_blocks(const uint8_t *p, size_t n, uint32_t *scalars, uint16_t *symbols,
                                        uint8_t *utf8, const uint16_t *table, vigil_ascii_runs *runs,
                                        uint64_t *hash, int64_t *letters) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    const __m128i digit0 = _mm_set1_epi8(0x30);
    const __m128i nine = _mm_set1_epi8(9);
    const __m128i lowerBit = _mm_set1_epi8(0x20);
    const __m128i lowerA = _mm_set1_epi8(0x61);
    const __m128i z25 = _mm_set1_epi8(25);
    for (; i + 19 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i after = _mm_loadu_si128((const __m128i *)(p + i + 3));
        if (_mm_movemask_epi8(_mm_or_si128(v, after)) != 0) break;
        __m128i lo = _mm_unpacklo_epi8(v, zero);
        __m128i hi = _mm_unpackhi_epi8(v, zero);
        _mm_storeu_si128((__m128i *)(scalars + i), _mm_unpacklo_epi16(lo, zero));
        _mm_storeu_si128((__m128i *)(scalars + i + 4), _mm_unpackhi_epi16(lo, zero));
        _mm_storeu_si128((__m128i *)(scalars + i + 8), _mm_unpacklo_epi16(hi, zero));
        _mm_storeu_si128((__m128i *)(scalars + i + 12), _mm_unpackhi_epi16(hi, zero));
        _mm_storeu_si128((__m128i *)(utf8 + i), v);
        for (size_t j = 0; j < 16; j++) symbols[i + j] = table[p[i + j]];
        __m128i d = _mm_sub_epi8(v, digit0);
        unsigned digits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, nine), d));
        __m128i l = _mm_sub_epi8(_mm_or_si128(v, lowerBit), lowerA);
        unsigned letterMask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(l, z25), l));
        vigil_carry_run(digits, 16, &runs->digit_run, &runs->longest_digit_run);
        vigil_carry_run(digits | letterMask, 16, &runs->alnum_run, &runs->longest_alnum_run);
        if (hash != NULL) {
            uint64_t h = *hash;
            for (unsigned m = letterMask; m != 0; m &= m - 1) {
                h = (h ^ (uint64_t)(p[i + (unsigned)__builtin_ctz(m)] | 0x20)) * 0x100000001b3ULL;
            }
            *hash = h;
            *letters += __builtin_popcount(letterMask);
        }
    }
#endif
    (void)p; (void)n; (void)scalars; (void)symbols; (void)utf8; (void)table; (void)runs; (void)hash; (void)letters;
    return i;
}

/// Starts loading the cache line at `p` for writing, ahead of its use; never faults. The
/// principal tracker's lookups ahead of the record being raised use it.
static inline void vigil_prefetch_for_write(const void *p) { __builtin_prefetch(p, 1, 3); }

#endif

