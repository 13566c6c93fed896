/* gemm_avx512.c — the AVX-512 GEMM micro-kernel (8 x 32 tiles, masked edge tiles) and the unpacked small-M kernel. */
#include "gemm_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include "sigmoid_avx512.h"

#define TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
#define MR 8
#define NV 2 /* zmm vectors per tile row */
#define NR (16 * NV)

/* The tile body for rows <= MR rows and the columns of mask[] (all of them but at the right edge): element
 * (i, k) of A is a[i * a_row + k * a_step] (packed: 1, MR; rows of A: lda, 1). B slivers are zero-padded, so
 * only C, the bias and the residual are accessed through the masks. Only the first nv of the NV vectors are
 * computed (an edge tile of at most 16 columns: nv 1, half the FMAs). */
TARGET static inline __attribute__((always_inline)) void tile_cols(int rows, int64_t kc, const float *a, int64_t a_row,
                                                                   int64_t a_step, const float *b, float *c,
                                                                   int64_t ldc, int accumulate, const gemm_tile_ep *ep,
                                                                   const __mmask16 mask[NV], int nv) {
    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < rows; i++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < rows; i++) {
            __m512 ai = _mm512_set1_ps(a[i * a_row]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        a += a_step;
        b += NR;
    }
#pragma GCC unroll 16
    for (int i = 0; i < rows; i++) {
        float *ci = c + i * ldc;
        __m512 x[NV];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            x[v] = acc[i][v];
            if (accumulate) x[v] = _mm512_add_ps(x[v], _mm512_maskz_loadu_ps(mask[v], ci + 16 * v));
        }
        if (ep) {
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) {
                if (ep->bias)
                    x[v] = _mm512_add_ps(x[v], ep->bias_per_row ? _mm512_set1_ps(ep->bias[i])
                                                                 : _mm512_maskz_loadu_ps(mask[v], ep->bias + 16 * v));
                if (ep->residual)
                    x[v] = _mm512_add_ps(x[v], _mm512_maskz_loadu_ps(mask[v], ep->residual + i * ep->ld_residual + 16 * v));
                if (ep->clamp == GEMM_CLAMP_RELU) x[v] = _mm512_max_ps(x[v], _mm512_setzero_ps());
                else if (ep->clamp == GEMM_CLAMP_CLIP)
                    x[v] = _mm512_min_ps(_mm512_set1_ps(ep->hi), _mm512_max_ps(_mm512_set1_ps(ep->lo), x[v]));
                else if (ep->clamp == GEMM_CLAMP_SILU) x[v] = silu_avx512(x[v]);
                else if (ep->clamp == GEMM_CLAMP_SIGMOID) x[v] = sigmoid_avx512(x[v]);
            }
        }
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) _mm512_mask_storeu_ps(ci + 16 * v, mask[v], x[v]);
    }
}

static const __mmask16 all_columns[NV] = { 0xFFFF, 0xFFFF };

TARGET static inline __attribute__((always_inline)) void tile(int rows, int64_t kc, const float *a, int64_t a_row,
                                                              int64_t a_step, const float *b, float *c, int64_t ldc,
                                                              int accumulate, const gemm_tile_ep *ep) {
    tile_cols(rows, kc, a, a_row, a_step, b, c, ldc, accumulate, ep, all_columns, NV);
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
    case 6: tile(6, kc, a, lda, 1, b, c, ldc, accumulate, ep); break;
    case 7: tile(7, kc, a, lda, 1, b, c, ldc, accumulate, ep); break;
    default: break;
    }
}

static inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1); }

/* An edge tile (gemm_ukernel_edge): one instance per row count and A layout keeps the accumulators in
 * registers; the n columns become store masks. */
TARGET static void ukernel_edge(int m, int n, int64_t kc, const float *a, int64_t lda, const float *b, float *c,
                                int64_t ldc, int accumulate, const gemm_tile_ep *ep) {
    __mmask16 mask[NV];
    for (int v = 0; v < NV; v++) mask[v] = n > 16 * v ? tail_mask(n - 16 * v) : 0;
#define EDGE_CASE(rows)                                                                                     \
    case rows:                                                                                              \
        if (n <= 16 && lda) tile_cols(rows, kc, a, lda, 1, b, c, ldc, accumulate, ep, mask, 1);             \
        else if (n <= 16) tile_cols(rows, kc, a, 1, MR, b, c, ldc, accumulate, ep, mask, 1);                \
        else if (lda) tile_cols(rows, kc, a, lda, 1, b, c, ldc, accumulate, ep, mask, NV);                  \
        else tile_cols(rows, kc, a, 1, MR, b, c, ldc, accumulate, ep, mask, NV);                            \
        break;
    switch (m) {
        EDGE_CASE(1)
        EDGE_CASE(2)
        EDGE_CASE(3)
        EDGE_CASE(4)
        EDGE_CASE(5)
        EDGE_CASE(6)
        EDGE_CASE(7)
        EDGE_CASE(8)
    default: break;
    }
#undef EDGE_CASE
}

/* C[m, n] = A[m, k] · B[n, k]ᵀ: four rows of B at a time against all m rows of A. */
TARGET static inline __attribute__((always_inline)) void small_m_bt(int m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                              int64_t ldb, float *c, int64_t ldc) {
    int64_t j = 0;
    for (; j < n; j += 4) {
        int cols = (int)(n - j < 4 ? n - j : 4);
        __m512 acc[GEMM_SMALL_M][4];
        for (int i = 0; i < GEMM_SMALL_M; i++)
            for (int q = 0; q < 4; q++) acc[i][q] = _mm512_setzero_ps();
        const float *bj[4];
        for (int q = 0; q < 4; q++) bj[q] = b + (j + (q < cols ? q : 0)) * ldb;
        for (int64_t p = 0; p < k; p += 16) {
            __mmask16 mask = tail_mask(k - p);
            __m512 bv[4];
            for (int q = 0; q < 4; q++) bv[q] = _mm512_maskz_loadu_ps(mask, bj[q] + p);
            for (int i = 0; i < m; i++) {
                __m512 av = _mm512_maskz_loadu_ps(mask, a + i * lda + p);
                for (int q = 0; q < 4; q++) acc[i][q] = _mm512_fmadd_ps(av, bv[q], acc[i][q]);
            }
        }
        for (int i = 0; i < m; i++)
            for (int q = 0; q < cols; q++) c[i * ldc + j + q] = _mm512_reduce_add_ps(acc[i][q]);
    }
}

/* C[m, n] = A[m, k] · B[k, n]: 64 columns of C at a time held in registers over all of k. */
TARGET static inline __attribute__((always_inline)) void small_m_b(int m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                             int64_t ldb, float *c, int64_t ldc) {
    for (int64_t j = 0; j < n; j += 64) {
        __mmask16 mask[4];
        for (int q = 0; q < 4; q++) mask[q] = n - j - 16 * q > 0 ? tail_mask(n - j - 16 * q) : 0;
        __m512 acc[GEMM_SMALL_M][4];
        for (int i = 0; i < GEMM_SMALL_M; i++)
            for (int q = 0; q < 4; q++) acc[i][q] = _mm512_setzero_ps();
        for (int64_t p = 0; p < k; p++) {
            __m512 bv[4];
            for (int q = 0; q < 4; q++) bv[q] = _mm512_maskz_loadu_ps(mask[q], b + p * ldb + j + 16 * q);
            for (int i = 0; i < m; i++) {
                __m512 av = _mm512_set1_ps(a[i * lda + p]);
                for (int q = 0; q < 4; q++) acc[i][q] = _mm512_fmadd_ps(av, bv[q], acc[i][q]);
            }
        }
        for (int i = 0; i < m; i++)
            for (int q = 0; q < 4; q++) _mm512_mask_storeu_ps(c + i * ldc + j + 16 * q, mask[q], acc[i][q]);
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
static const gemm_arch arch = { MR, NR, 256, 144, 384, ukernel, ukernel_rows, small_m, ukernel_m, ukernel_edge, 1 };

const gemm_arch *gemm_arch_avx512(void) { return &arch; }

#else

const gemm_arch *gemm_arch_avx512(void) { return NULL; }

#endif
