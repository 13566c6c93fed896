/* lanes_avx512.h — the 16-lane AVX-512 mask of lanes [a, b), for masked loads and stores at a row's edges. */
#ifndef INFER_LANES_AVX512_H
#define INFER_LANES_AVX512_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

/* Lanes [a, b) of 16 (none when b <= a). */
static inline __mmask16 lanes(int64_t a, int64_t b) {
    a = a < 0 ? 0 : a;
    b = b > 16 ? 16 : b;
    return b > a ? (__mmask16)(((1u << b) - 1) & ~((1u << a) - 1)) : 0;
}
#endif

#endif
