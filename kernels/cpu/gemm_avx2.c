/* gemm_avx2.c — the AVX2+FMA GEMM micro-kernel (6 x 16 tiles) and the unpacked small-M kernel. */
#include "gemm_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))
#define MR 6
#define NR 16

/* The tile body for rows <= MR rows: element (i, k) of A is a[i * a_row + k * a_step] (packed: 1, MR; rows of
 * A: lda, 1). */
TARGET static inline __attribute__((always_inline)) void tile(int rows, int64_t kc, const float *a, int64_t a_row,
                                                              int64_t a_step, const float *b, float *c, int64_t ldc,
                                                              int accumulate, const gemm_tile_ep *ep) {
    __m256 lo[MR], hi[MR];
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++) lo[i] = hi[i] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
        for (int i = 0; i < rows; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i * a_row);
            lo[i] = _mm256_fmadd_ps(ai, b0, lo[i]);
            hi[i] = _mm256_fmadd_ps(ai, b1, hi[i]);
        }
        a += a_step;
        b += NR;
    }
    if (accumulate) {
#pragma GCC unroll 8
        for (int i = 0; i < rows; i++) {
            lo[i] = _mm256_add_ps(lo[i], _mm256_loadu_ps(c + i * ldc));
            hi[i] = _mm256_add_ps(hi[i], _mm256_loadu_ps(c + i * ldc + 8));
        }
    }
    if (ep && ep->bias) {
        if (ep->bias_per_row) {
#pragma GCC unroll 8
            for (int i = 0; i < rows; i++) {
                __m256 v = _mm256_broadcast_ss(ep->bias + i);
                lo[i] = _mm256_add_ps(lo[i], v);
                hi[i] = _mm256_add_ps(hi[i], v);
            }
        } else {
            __m256 v0 = _mm256_loadu_ps(ep->bias), v1 = _mm256_loadu_ps(ep->bias + 8);
#pragma GCC unroll 8
            for (int i = 0; i < rows; i++) {
                lo[i] = _mm256_add_ps(lo[i], v0);
                hi[i] = _mm256_add_ps(hi[i], v1);
            }
        }
    }
    if (ep && ep->residual) {
        const float *r = ep->residual;
#pragma GCC unroll 8
        for (int i = 0; i < rows; i++) {
            lo[i] = _mm256_add_ps(lo[i], _mm256_loadu_ps(r + i * ep->ld_residual));
            hi[i] = _mm256_add_ps(hi[i], _mm256_loadu_ps(r + i * ep->ld_residual + 8));
        }
    }
    if (ep && ep->clamp == GEMM_CLAMP_RELU) {
        __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 8
        for (int i = 0; i < rows; i++) {
            lo[i] = _mm256_max_ps(lo[i], zero);
            hi[i] = _mm256_max_ps(hi[i], zero);
        }
    } else if (ep && ep->clamp == GEMM_CLAMP_CLIP) {
        __m256 vlo = _mm256_set1_ps(ep->lo), vhi = _mm256_set1_ps(ep->hi);
#pragma GCC unroll 8
        for (int i = 0; i < rows; i++) {
            lo[i] = _mm256_min_ps(vhi, _mm256_max_ps(vlo, lo[i]));
            hi[i] = _mm256_min_ps(vhi, _mm256_max_ps(vlo, hi[i]));
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++) {
        _mm256_storeu_ps(c + i * ldc, lo[i]);
        _mm256_storeu_ps(c + i * ldc + 8, hi[i]);
    }
}

TARGET static void ukernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int accumulate,
                           const gemm_tile_ep *ep) {
    tile(MR, kc, a, 1, MR, b, c, ldc, accumulate, ep);
}

TARGET static void ukernel_rows(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                                int accumulate, const gemm_tile_ep *ep) {
    tile(MR, kc, a, lda, 1, b, c, ldc, accumulate, ep);
}

/* m < MR rows of A read in place; one instance per row count keeps the accumulators in registers. */
TARGET static void ukernel_m(int m, int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                             int accumulate, const gemm_tile_ep *ep) {
    switch (m) {
    case 1: tile(1, kc, a, lda, 1, b, c, ldc, accumulate, ep); break;
    case 2: tile(2, kc, a, lda, 1, b, c, ldc, accumulate, ep); break;
    case 3: tile(3, kc, a, lda, 1, b, c, ldc, accumulate, ep); break;
    case 4: tile(4, kc, a, lda, 1, b, c, ldc, accumulate, ep); break;
    case 5: tile(5, kc, a, lda, 1, b, c, ldc, accumulate, ep); break;
    default: break;
    }
}

/* Lanes [0, left) of an 8-lane mask for maskload/maskstore. */
TARGET static inline __m256i tail_mask(int64_t left) {
    __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left > 8 ? 8 : left)), lanes);
}

TARGET static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* C[m, n] = A[m, k] · B[n, k]ᵀ: four rows of B at a time against all m rows of A. */
TARGET static inline __attribute__((always_inline)) void small_m_bt(int m, int64_t n, int64_t k, const float *a,
                                                                    int64_t lda, const float *b, int64_t ldb,
                                                                    float *c, int64_t ldc) {
    for (int64_t j = 0; j < n; j += 3) {
        int cols = (int)(n - j < 3 ? n - j : 3);
        __m256 acc[GEMM_SMALL_M][3];
        for (int i = 0; i < GEMM_SMALL_M; i++)
            for (int q = 0; q < 3; q++) acc[i][q] = _mm256_setzero_ps();
        const float *bj[3];
        for (int q = 0; q < 3; q++) bj[q] = b + (j + (q < cols ? q : 0)) * ldb;
        for (int64_t p = 0; p < k; p += 8) {
            __m256i mask = tail_mask(k - p);
            __m256 bv[3];
            for (int q = 0; q < 3; q++) bv[q] = _mm256_maskload_ps(bj[q] + p, mask);
            for (int i = 0; i < m; i++) {
                __m256 av = _mm256_maskload_ps(a + i * lda + p, mask);
                for (int q = 0; q < 3; q++) acc[i][q] = _mm256_fmadd_ps(av, bv[q], acc[i][q]);
            }
        }
        for (int i = 0; i < m; i++)
            for (int q = 0; q < cols; q++) c[i * ldc + j + q] = hsum(acc[i][q]);
    }
}

/* C[m, n] = A[m, k] · B[k, n]: 24 columns of C at a time held in registers over all of k. */
TARGET static inline __attribute__((always_inline)) void small_m_b(int m, int64_t n, int64_t k, const float *a,
                                                                   int64_t lda, const float *b, int64_t ldb,
                                                                   float *c, int64_t ldc) {
    for (int64_t j = 0; j < n; j += 24) {
        __m256i mask[3];
        for (int q = 0; q < 3; q++) mask[q] = tail_mask(n - j - 8 * q);
        __m256 acc[GEMM_SMALL_M][3];
        for (int i = 0; i < GEMM_SMALL_M; i++)
            for (int q = 0; q < 3; q++) acc[i][q] = _mm256_setzero_ps();
        for (int64_t p = 0; p < k; p++) {
            __m256 bv[3];
            for (int q = 0; q < 3; q++) bv[q] = _mm256_maskload_ps(b + p * ldb + j + 8 * q, mask[q]);
            for (int i = 0; i < m; i++) {
                __m256 av = _mm256_broadcast_ss(a + i * lda + p);
                for (int q = 0; q < 3; q++) acc[i][q] = _mm256_fmadd_ps(av, bv[q], acc[i][q]);
            }
        }
        for (int i = 0; i < m; i++)
            for (int q = 0; q < 3; q++) _mm256_maskstore_ps(c + i * ldc + j + 8 * q, mask[q], acc[i][q]);
    }
}

/* Dispatches on m so that each instance keeps its accumulators in registers. */
TARGET static void small_m(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, int trans_b,
                           const float *b, int64_t ldb, float *c, int64_t ldc) {
#define SMALL_M_CASE(rows)                                                   \
    case rows:                                                               \
        if (trans_b) small_m_bt(rows, n, k, a, lda, b, ldb, c, ldc);         \
        else small_m_b(rows, n, k, a, lda, b, ldb, c, ldc);                  \
        break;
    switch (m) {
        SMALL_M_CASE(1)
        SMALL_M_CASE(2)
        SMALL_M_CASE(3)
        SMALL_M_CASE(4)
    default: break;
    }
#undef SMALL_M_CASE
}

/* kc x nc of B (384 KiB) and mc x kc of A (144 KiB) both stay in L2 (2 MiB per core on the Xeon of
 * bench/RESULTS.md) while the micro-kernel streams them; with nc 1536 the 1.5 MiB B block pushed A out of
 * L2 and a 64-row GEMM ran at 45-60% of the FMA peak instead of 70% (bench/gemm_bench, one thread). */
static const gemm_arch arch = { MR, NR, 256, 144, 384, ukernel, ukernel_rows, small_m, ukernel_m, NULL, 0 };

const gemm_arch *gemm_arch_avx2(void) { return &arch; }

#else

const gemm_arch *gemm_arch_avx2(void) { return NULL; }

#endif
