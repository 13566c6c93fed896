/* vexp.c — exp over rows with AVX2/AVX-512 (Cephes-style range reduction and polynomial) or libm. */
#include <immintrin.h>
#include <math.h>
#include "cpu_kernels.h"
#include "vexp.h"

/* exp(x) = 2^n · p(r), x = n·ln2 + r, |r| <= ln2/2; ln2 split in two for an exact reduction.
 * x is clamped to [ln(FLT_MIN), 88.37] so that n stays in [-126, 127]; below, the result is 0. */
#define EXP_HI 88.37f
#define EXP_LO -87.33654475f
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f
#define LN2_LO -2.12194440e-4f
#define P0 1.9875691500e-4f
#define P1 1.3981999507e-3f
#define P2 8.3334519073e-3f
#define P3 4.1665795894e-2f
#define P4 1.6666665459e-1f
#define P5 5.0000001201e-1f

/* ---- AVX2 ---------------------------------------------------------------------------------- */

__attribute__((target("avx2,fma"))) static inline __m256 exp_avx2(__m256 x) {
    __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(EXP_LO), _CMP_LT_OQ);
    /* min/max with x second keep a NaN x (they return the second operand on NaN) */
    x = _mm256_max_ps(_mm256_set1_ps(EXP_LO), _mm256_min_ps(_mm256_set1_ps(EXP_HI), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
    __m256 p = _mm256_set1_ps(P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23); /* 2^n */
    return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

__attribute__((target("avx2,fma"))) static float row_max_avx2(const float *x, int64_t n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(_mm256_loadu_ps(x + i), m); /* a NaN load is dropped */
    float lanes[8], best = -INFINITY;
    _mm256_storeu_ps(lanes, m);
    for (int j = 0; j < 8; j++) best = lanes[j] > best ? lanes[j] : best;
    for (; i < n; i++) best = x[i] > best ? x[i] : best;
    return best;
}

__attribute__((target("avx2,fma"))) static double row_exp_avx2(const float *x, float *y, int64_t n, float shift) {
    __m256 s = _mm256_set1_ps(shift);
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
        if (y) _mm256_storeu_ps(y + i, v);
        acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    if (i < n) {
        float in[8] = { 0 }, out[8];
        int64_t rest = n - i;
        for (int64_t j = 0; j < rest; j++) in[j] = x[i + j];
        _mm256_storeu_ps(out, exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(in), s)));
        for (int64_t j = 0; j < rest; j++) {
            if (y) y[i + j] = out[j];
            acc0 = _mm256_add_pd(acc0, _mm256_set_pd(0, 0, 0, out[j]));
        }
    }
    double lanes[4];
    _mm256_storeu_pd(lanes, _mm256_add_pd(acc0, acc1));
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

/* ---- AVX-512 ------------------------------------------------------------------------------- */

__attribute__((target("avx512f,avx512dq"))) static inline __m512 exp_avx512(__m512 x) {
    __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(EXP_LO), _CMP_LT_OQ);
    x = _mm512_max_ps(_mm512_set1_ps(EXP_LO), _mm512_min_ps(_mm512_set1_ps(EXP_HI), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
    __m512 p = _mm512_set1_ps(P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(P5));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps((__mmask16)~tiny, p, _mm512_castsi512_ps(e));
}

__attribute__((target("avx512f,avx512dq"))) static float row_max_avx512(const float *x, int64_t n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) m = _mm512_max_ps(_mm512_loadu_ps(x + i), m);
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        m = _mm512_mask_max_ps(m, k, _mm512_maskz_loadu_ps(k, x + i), m);
    }
    return _mm512_reduce_max_ps(m);
}

__attribute__((target("avx512f,avx512dq"))) static double row_exp_avx512(const float *x, float *y, int64_t n,
                                                                           float shift) {
    __m512 s = _mm512_set1_ps(shift);
    __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_mov_ps(k, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), s)));
        if (y) _mm512_mask_storeu_ps(y + i, k, v);
        acc0 = _mm512_add_pd(acc0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
        acc1 = _mm512_add_pd(acc1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
}

/* ---- dispatch ------------------------------------------------------------------------------ */

float vexp_row_max(int isa, const float *x, int64_t n) {
    if (isa >= CPU_ISA_AVX512) return row_max_avx512(x, n);
    if (isa >= CPU_ISA_AVX2) return row_max_avx2(x, n);
    float best = -INFINITY;
    for (int64_t i = 0; i < n; i++) best = x[i] > best ? x[i] : best;
    return best;
}

double vexp_row(int isa, const float *x, float *y, int64_t n, float shift) {
    if (isa >= CPU_ISA_AVX512) return row_exp_avx512(x, y, n, shift);
    if (isa >= CPU_ISA_AVX2) return row_exp_avx2(x, y, n, shift);
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        float v = expf(x[i] - shift);
        if (y) y[i] = v;
        sum += v;
    }
    return sum;
}
