/* gemm_s8_vnni.c — the AVX-512 VNNI INT8 tile: 8 rows x 32 columns of vpdpbusd (u8 quads of A broadcast
 * against s8 quads of 16 columns), the epilogue applied in registers. */
#include <string.h>
#include "gemm_s8_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_TARGET512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512vnni,fma")))
#include "gemm_s8_ep512.h"

#define MR 8
#define NR 32

/* The n < 4 bytes at p as the low bytes of a zeroed quad (A is never read past row K). */
static inline int32_t quad_tail(const uint8_t *p, int64_t n) {
    uint8_t q[4] = { 0, 0, 0, 0 };
    memcpy(q, p, (size_t)n);
    int32_t v;
    memcpy(&v, q, 4);
    return v;
}

S8_TARGET512 static inline __attribute__((always_inline)) void tile(int rows, int cols, int64_t K,
                                                                    const uint8_t *a, int64_t lda,
                                                                    const int8_t *b, const s8_tile_ep *ep,
                                                                    void *c, int64_t ldc) {
    __m512i acc[MR][2];
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm512_setzero_si512();
    /* the last, partial quad first, so that the main loop flows straight into the epilogue */
    int64_t groups = K / 4;
    if (K % 4) {
        const int8_t *bt = b + groups * NR * 4;
        __m512i b0 = _mm512_load_si512(bt), b1 = _mm512_load_si512(bt + 64);
#pragma GCC unroll 8
        for (int i = 0; i < rows; i++) {
            __m512i ai = _mm512_set1_epi32(quad_tail(a + i * lda + 4 * groups, K % 4));
            acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], ai, b0);
            acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], ai, b1);
        }
    }
    for (int64_t g = 0; g < groups; g++, b += NR * 4) {
        __m512i b0 = _mm512_load_si512(b), b1 = _mm512_load_si512(b + 64);
#pragma GCC unroll 8
        for (int i = 0; i < rows; i++) {
            int32_t q;
            memcpy(&q, a + i * lda + 4 * g, 4);
            __m512i ai = _mm512_set1_epi32(q);
            acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], ai, b0);
            acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], ai, b1);
        }
    }
    __mmask16 m0 = s8_cols16(cols, 0), m1 = s8_cols16(cols, 16);
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++) {
        s8_ep16(acc[i][0], i, 0, m0, ep, c, ldc);
        if (m1) s8_ep16(acc[i][1], i, 16, m1, ep, c, ldc);
    }
}

#define ROWS(R)                                                                 \
    case R: tile(R, cols, K, a_rows, lda, panel, ep, c, ldc); break;

S8_TARGET512 static void tile_vnni(int rows, int cols, int64_t K, const void *a_rows, int64_t lda,
                                   const void *panel, const s8_tile_ep *ep, void *c, int64_t ldc) {
    switch (rows) {
        ROWS(8) ROWS(7) ROWS(6) ROWS(5) ROWS(4) ROWS(3) ROWS(2) ROWS(1)
    default: break;
    }
}

const s8_arch *s8_arch_avx512_vnni(void) {
    static const s8_arch arch = { MR, NR, 4, 4, tile_vnni, NULL, NULL , NULL, NULL };
    return &arch;
}

#else

const s8_arch *s8_arch_avx512_vnni(void) { return NULL; }

#endif
