// Byte scans that Swift's portable SIMD types do not compile well: sixteen bytes per step with
// SSE2 (every x86-64 has it), one byte per step elsewhere. Static inline, so they are compiled
// into the Swift code that calls them.
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

#endif
