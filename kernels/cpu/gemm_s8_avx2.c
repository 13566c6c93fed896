/* gemm_s8_avx2.c — the AVX2 INT8 tile without saturation: A widened to int16 pairs, weights stored as
 * int16 pairs, vpmaddwd sums two exact products (|a*w| <= 255*128, pair sum < 2^16 << 2^31) into int32.
 * (vpmaddubsw would add the two u8*s8 products in int16, which saturates at 32767.) 5 rows x 16 columns:
 * 10 accumulators, 2 weight vectors, the broadcast and vpmaddwd's product fit the 16 ymm registers. */
#include <string.h>
#include "gemm_s8_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_TARGET256 __attribute__((target("avx2,fma")))
#include "gemm_s8_ep256.h"

#define MR 5
#define NR 16

static int64_t row_bytes(int64_t K) { return ((K + 1) / 2 * 4 + 63) / 64 * 64; }

static int64_t prep_bytes(int64_t rows, int64_t K) { return rows * row_bytes(K); }

/* Rows of u8 A as int16 (k pairs as int32 lanes), K rounded up to even with a zero. */
S8_TARGET256 static int64_t widen_rows(int64_t rows, int64_t K, const uint8_t *a, int64_t lda, void *dst) {
    int64_t ld = row_bytes(K);
    for (int64_t i = 0; i < rows; i++) {
        const uint8_t *src = a + i * lda;
        int16_t *d = (int16_t *)((uint8_t *)dst + i * ld);
        int64_t k = 0;
        for (; k + 16 <= K; k += 16)
            _mm256_storeu_si256((__m256i *)(d + k), _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(src + k))));
        for (; k < K; k++) d[k] = src[k];
        if (K % 2) d[K] = 0;
    }
    return ld;
}

S8_TARGET256 static inline __attribute__((always_inline)) void tile(int rows, int cols, int64_t K,
                                                                    const uint8_t *a, int64_t lda,
                                                                    const int16_t *b, const s8_tile_ep *ep,
                                                                    void *c, int64_t ldc) {
    __m256i acc[MR][2];
#pragma GCC unroll 5
    for (int i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
    int64_t pairs = (K + 1) / 2;
    for (int64_t p = 0; p < pairs; p++, b += NR * 2) {
        __m256i b0 = _mm256_load_si256((const __m256i *)b), b1 = _mm256_load_si256((const __m256i *)(b + 16));
#pragma GCC unroll 5
        for (int i = 0; i < rows; i++) {
            int32_t pair;
            memcpy(&pair, a + i * lda + 4 * p, 4);
            __m256i ai = _mm256_set1_epi32(pair);
            acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(ai, b0));
            acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(ai, b1));
            /* keeps the accumulators in registers (GCC otherwise copies them through the stack) */
            __asm__("" : "+x"(acc[i][0]), "+x"(acc[i][1]));
        }
    }
    int n0 = cols < 8 ? cols : 8, n1 = cols - 8;
#pragma GCC unroll 5
    for (int i = 0; i < rows; i++) {
        s8_ep8(acc[i][0], i, 0, n0, ep, c, ldc);
        if (n1 > 0) s8_ep8(acc[i][1], i, 8, n1, ep, c, ldc);
    }
}

#define ROWS(R)                                                                 \
    case R: tile(R, cols, K, a_rows, lda, panel, ep, c, ldc); break;

S8_TARGET256 static void tile_avx2(int rows, int cols, int64_t K, const void *a_rows, int64_t lda,
                                   const void *panel, const s8_tile_ep *ep, void *c, int64_t ldc) {
    switch (rows) {
        ROWS(5) ROWS(4) ROWS(3) ROWS(2) ROWS(1)
    default: break;
    }
}

const s8_arch *s8_arch_avx2(void) {
    static const s8_arch arch = { MR, NR, 2, 2, tile_avx2, widen_rows, prep_bytes , NULL, NULL };
    return &arch;
}

#else

const s8_arch *s8_arch_avx2(void) { return NULL; }

#endif
