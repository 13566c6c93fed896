/* sparse_spmm.c — sparse weight x dense matrix (SpMM): the portable reference and AVX2 / AVX-512 versions
 * (sparse_spmm_vec.h), chosen by ISA. */
#include "sparse.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

void sparse_spmm_reference(const sparse_matrix *m, int64_t r0, int64_t r1, const float *B, int64_t ldb,
                           int64_t ncols, float *C, int64_t ldc) {
    int bh = m->bh, bw = m->bw;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t j = 0; j < ncols; j++) C[r * ldc + j] = 0.0f;
    for (int64_t br = r0 / bh; br < r1 / bh; br++)
        for (int32_t k = m->ptr[br]; k < m->ptr[br + 1]; k++)
            for (int c = 0; c < bw; c++) {
                const float *b = B + ((int64_t)m->idx[k] * bw + c) * ldb;
                for (int i = 0; i < bh; i++) {
                    float v = m->val[(int64_t)k * bh * bw + c * bh + i];
                    float *cr = C + (br * bh + i) * ldc;
                    for (int64_t j = 0; j < ncols; j++) cr[j] += v * b[j];
                }
            }
}

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#ifdef __clang__ /* clang ignores GCC target pragmas (the fuzz build) */
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#endif
static float dot_avx2(const float *val, const int32_t *idx, int32_t n, const float *x) {
    __m256 acc = _mm256_setzero_ps();
    int32_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256i iv = _mm256_loadu_si256((const __m256i *)(idx + k));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(val + k), _mm256_i32gather_ps(x, iv, 4), acc);
    }
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float sum = _mm_cvtss_f32(s);
    for (; k < n; k++) sum += val[k] * x[idx[k]];
    return sum;
}
#define VW 8
#define VNAME(name) name##_avx2
#define V __m256
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VZERO _mm256_setzero_ps
#define VFMA _mm256_fmadd_ps
#define VADD _mm256_add_ps
#define VSET1 _mm256_set1_ps
#include "sparse_spmm_vec.h"
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,fma")
#ifdef __clang__ /* clang ignores GCC target pragmas (the fuzz build) */
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma"))), apply_to = function)
#endif
static float dot_avx512(const float *val, const int32_t *idx, int32_t n, const float *x) {
    __m512 acc = _mm512_setzero_ps();
    int32_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512i iv = _mm512_loadu_si512((const void *)(idx + k));
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(val + k), _mm512_i32gather_ps(iv, x, 4), acc);
    }
    if (k < n) {
        __mmask16 tail = (__mmask16)((1u << (n - k)) - 1);
        __m512i iv = _mm512_maskz_loadu_epi32(tail, idx + k);
        __m512 xv = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), tail, iv, x, 4);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, val + k), xv, acc);
    }
    return _mm512_reduce_add_ps(acc);
}
#define VW 16
#define VNAME(name) name##_avx512
#define V __m512
#define VLOAD _mm512_loadu_ps
#define VSTORE _mm512_storeu_ps
#define VZERO _mm512_setzero_ps
#define VFMA _mm512_fmadd_ps
#define VADD _mm512_add_ps
#define VSET1 _mm512_set1_ps
#include "sparse_spmm_vec.h"
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
#endif

void sparse_spmm_rows(int isa, const sparse_matrix *m, int64_t r0, int64_t r1, const float *B, int64_t ldb,
                      int64_t ncols, float *C, int64_t ldc) {
#if defined(__x86_64__)
    if (isa == CPU_ISA_AVX512) { /* 16 columns at a time, the rest 8 at a time (and one: AVX2's gather is faster) */
        int64_t wide = ncols / 16 * 16;
        if (wide) spmm_rows_avx512(m, r0, r1, B, ldb, wide, C, ldc);
        if (ncols > wide) spmm_rows_avx2(m, r0, r1, B + wide, ldb, ncols - wide, C + wide, ldc);
        return;
    }
    if (isa == CPU_ISA_AVX2) {
        spmm_rows_avx2(m, r0, r1, B, ldb, ncols, C, ldc);
        return;
    }
#endif
    (void)isa;
    sparse_spmm_reference(m, r0, r1, B, ldb, ncols, C, ldc);
}
