/* gemm_s8_avx_vnni.c — the 256-bit VNNI INT8 tile (6 rows x 16 columns of vpdpbusd on ymm): VEX-encoded
 * for CPUs with AVX-VNNI, and the same code EVEX-encoded (AVX512-VL + VNNI) on AVX-512 VNNI CPUs. */
#include <string.h>
#include "gemm_s8_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define MR 6
#define NR 16

/* The n < 4 bytes at p as the low bytes of a zeroed quad (A is never read past row K). */
static inline int32_t quad_tail(const uint8_t *p, int64_t n) {
    uint8_t q[4] = { 0, 0, 0, 0 };
    memcpy(q, p, (size_t)n);
    int32_t v;
    memcpy(&v, q, 4);
    return v;
}

/* The tile for one encoding: TARGET its target attribute, DPBUSD its ymm dot product. */
#define VNNI256_TILE(NAME, TARGET, DPBUSD)                                                                     \
    TARGET static inline __attribute__((always_inline)) void NAME##_rows(                                      \
        int rows, int cols, int64_t K, const uint8_t *a, int64_t lda, const int8_t *b, const s8_tile_ep *ep,    \
        void *c, int64_t ldc) {                                                                                \
        __m256i acc[MR][2];                                                                                    \
        _Pragma("GCC unroll 6") for (int i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256(); \
        /* the last, partial quad first, so that the main loop flows straight into the epilogue */          \
        int64_t groups = K / 4;                                                                                \
        if (K % 4) {                                                                                           \
            const int8_t *bt = b + groups * NR * 4;                                                            \
            __m256i b0 = _mm256_load_si256((const __m256i *)bt);                                               \
            __m256i b1 = _mm256_load_si256((const __m256i *)(bt + 32));                                        \
            _Pragma("GCC unroll 6") for (int i = 0; i < rows; i++) {                                           \
                __m256i ai = _mm256_set1_epi32(quad_tail(a + i * lda + 4 * groups, K % 4));                     \
                acc[i][0] = DPBUSD(acc[i][0], ai, b0);                                                         \
                acc[i][1] = DPBUSD(acc[i][1], ai, b1);                                                         \
            }                                                                                                  \
        }                                                                                                      \
        for (int64_t g = 0; g < groups; g++, b += NR * 4) {                                                    \
            __m256i b0 = _mm256_load_si256((const __m256i *)b);                                                \
            __m256i b1 = _mm256_load_si256((const __m256i *)(b + 32));                                         \
            _Pragma("GCC unroll 6") for (int i = 0; i < rows; i++) {                                           \
                int32_t q;                                                                                     \
                memcpy(&q, a + i * lda + 4 * g, 4);                                                            \
                __m256i ai = _mm256_set1_epi32(q);                                                             \
                acc[i][0] = DPBUSD(acc[i][0], ai, b0);                                                         \
                acc[i][1] = DPBUSD(acc[i][1], ai, b1);                                                         \
            }                                                                                                  \
        }                                                                                                      \
        int n0 = cols < 8 ? cols : 8, n1 = cols - 8;                                                           \
        _Pragma("GCC unroll 6") for (int i = 0; i < rows; i++) {                                               \
            NAME##_ep8(acc[i][0], i, 0, n0, ep, c, ldc);                                                       \
            if (n1 > 0) NAME##_ep8(acc[i][1], i, 8, n1, ep, c, ldc);                                           \
        }                                                                                                      \
    }                                                                                                          \
    TARGET static void NAME(int rows, int cols, int64_t K, const void *a_rows, int64_t lda, const void *panel,  \
                            const s8_tile_ep *ep, void *c, int64_t ldc) {                                      \
        switch (rows) {                                                                                        \
        case 6: NAME##_rows(6, cols, K, a_rows, lda, panel, ep, c, ldc); break;                                \
        case 5: NAME##_rows(5, cols, K, a_rows, lda, panel, ep, c, ldc); break;                                \
        case 4: NAME##_rows(4, cols, K, a_rows, lda, panel, ep, c, ldc); break;                                \
        case 3: NAME##_rows(3, cols, K, a_rows, lda, panel, ep, c, ldc); break;                                \
        case 2: NAME##_rows(2, cols, K, a_rows, lda, panel, ep, c, ldc); break;                                \
        case 1: NAME##_rows(1, cols, K, a_rows, lda, panel, ep, c, ldc); break;                                \
        default: break;                                                                                        \
        }                                                                                                      \
    }

/* VEX: AVX-VNNI. */
#define S8_TARGET256 __attribute__((target("avx2,fma,avxvnni")))
#define s8_ep8 tile_vex_ep8
#include "gemm_s8_ep256.h"
#undef s8_ep8
#undef S8_TARGET256
VNNI256_TILE(tile_vex, __attribute__((target("avx2,fma,avxvnni"))), _mm256_dpbusd_avx_epi32)

/* EVEX: AVX512-VL + AVX512-VNNI. */
#define S8_TARGET256 __attribute__((target("avx2,fma,avx512f,avx512vl,avx512vnni")))
#define s8_ep8 tile_evex_ep8
#include "gemm_s8_ep256.h"
#undef s8_ep8
#undef S8_TARGET256
VNNI256_TILE(tile_evex, __attribute__((target("avx2,fma,avx512f,avx512vl,avx512vnni"))), _mm256_dpbusd_epi32)

const s8_arch *s8_arch_avx_vnni(int evex) {
    static const s8_arch vex_arch = { MR, NR, 4, 4, tile_vex, NULL, NULL , NULL, NULL };
    static const s8_arch evex_arch = { MR, NR, 4, 4, tile_evex, NULL, NULL , NULL, NULL };
    return evex ? &evex_arch : &vex_arch;
}

#else

const s8_arch *s8_arch_avx_vnni(int evex) { return NULL; }

#endif
