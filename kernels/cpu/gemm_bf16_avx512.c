/* gemm_bf16_avx512.c — the AVX512-BF16 tile: up to 32 rows x 32 columns of vdpbf16ps (FP32 sums), 12 rows at a time. */
#include "gemm_bf16.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define MR 12

/* tmp[rows][32] over kp/2 pair rows; rows <= MR keeps the 2 * rows sums in registers. */
TARGET static inline __attribute__((always_inline)) void rows_tile(int rows, int64_t kp, const uint16_t *a,
                                                                   int64_t lda, const uint16_t *panel, float *tmp) {
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kp / 2; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + p * 64);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(panel + p * 64 + 32);
#pragma GCC unroll 12
        for (int i = 0; i < rows; i++) {
            int32_t pair;
            memcpy(&pair, a + i * lda + 2 * p, sizeof pair);
            __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, b1);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < rows; i++) {
        _mm512_storeu_ps(tmp + i * BF16_NR, acc[i][0]);
        _mm512_storeu_ps(tmp + i * BF16_NR + 16, acc[i][1]);
    }
}

TARGET static void rows_any(int rows, int64_t kp, const uint16_t *a, int64_t lda, const uint16_t *panel, float *tmp) {
    switch (rows) {
#define ROWS_CASE(r) case r: rows_tile(r, kp, a, lda, panel, tmp); break;
        ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5) ROWS_CASE(6)
        ROWS_CASE(7) ROWS_CASE(8) ROWS_CASE(9) ROWS_CASE(10) ROWS_CASE(11) ROWS_CASE(12)
#undef ROWS_CASE
    default: break;
    }
}

void bf16_tile_avx512(int rows, int64_t kp, const uint16_t *a, int64_t lda, const uint16_t *panel, float *tmp) {
    for (int i = 0; i < rows; i += MR) rows_any(rows - i < MR ? rows - i : MR, kp, a + i * lda, lda, panel, tmp + i * BF16_NR);
}

#else

void bf16_tile_avx512(int rows, int64_t kp, const uint16_t *a, int64_t lda, const uint16_t *panel, float *tmp) {
    (void)rows, (void)kp, (void)a, (void)lda, (void)panel, (void)tmp;
}

#endif
