/* maxpool2d_avx512.c — the AVX-512 max pooling row for strides 1 and 2 without dilation: rows maxed in vectors, then columns. */
#include <math.h>
#include "maxpool2d_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))

/* max(cur, v) with a NaN in v taken (as the scalar kernel: `v > cur || v != v`); a NaN in cur stays. */
TARGET static inline __m512 max_nan(__m512 cur, __m512 v) {
    __mmask16 take = _mm512_cmp_ps_mask(v, cur, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    return _mm512_mask_blend_ps(take, cur, v);
}

/* One output row: rows[MAXPOOL_AVX512_LEAD + c] = max over the window's rows of input column c, -inf in the
 * columns of the padding (and past them, as far as the vector loads reach); then each output is the max of
 * kernel[1] neighbours there, 16 outputs at a time (stride 2: the even lanes of two vectors). */
TARGET static void pool_row(const pool2d_job *job, const float *x, int64_t oh, float *y) {
    const pool2d_params *p = job->p;
    int64_t w = job->w, ow = job->ow, sw = p->stride[1], kw = p->kernel[1], pad = p->padding[1];
    int64_t top = oh * p->stride[0] - p->padding[0], kh0 = top < 0 ? -top : 0;
    int64_t kh1 = top + p->kernel[0] < job->h ? p->kernel[0] : job->h - top;
    float rows_buf[MAXPOOL_AVX512_ROW];
    float *rows = rows_buf + MAXPOOL_AVX512_LEAD;
    __m512 neg_inf = _mm512_set1_ps(-INFINITY);
    /* columns [-pad, reach) are read below: the padding and the tail past w hold -inf */
    int64_t reach = ((ow + 15) / 16 * 16 - 1) * sw + kw - pad + 16;
    for (int64_t c = -MAXPOOL_AVX512_LEAD; c < 0; c += 16) _mm512_storeu_ps(rows + c, neg_inf);
    for (int64_t c = w; c < reach; c += 16) _mm512_storeu_ps(rows + c, neg_inf);
    for (int64_t c = 0; c < w; c += 16) {
        __mmask16 m = w - c >= 16 ? 0xffff : (__mmask16)((1u << (w - c)) - 1);
        __m512 acc = neg_inf;
        for (int64_t kh = kh0; kh < kh1; kh++)
            acc = max_nan(acc, _mm512_mask_loadu_ps(neg_inf, m, x + (top + kh) * w + c));
        _mm512_mask_storeu_ps(rows + c, m, acc);
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int64_t o = 0; o < ow; o += 16) {
        __mmask16 m = ow - o >= 16 ? 0xffff : (__mmask16)((1u << (ow - o)) - 1);
        __m512 acc = neg_inf;
        const float *r = rows + o * sw - pad;
        for (int64_t k = 0; k < kw; k++) {
            __m512 v = sw == 1 ? _mm512_loadu_ps(r + k)
                               : _mm512_permutex2var_ps(_mm512_loadu_ps(r + k), even, _mm512_loadu_ps(r + k + 16));
            acc = max_nan(acc, v);
        }
        _mm512_mask_storeu_ps(y + o, m, acc);
    }
}

pool2d_row_fn maxpool2d_row_avx512(const pool2d_params *p, int64_t w, int64_t ow) {
    if (p->dilation[0] != 1 || p->dilation[1] != 1 || (p->stride[1] != 1 && p->stride[1] != 2) ||
        p->padding[1] > MAXPOOL_AVX512_LEAD || ow < 1)
        return NULL;
    int64_t reach = ((ow + 15) / 16 * 16 - 1) * p->stride[1] + p->kernel[1] - p->padding[1] + 16;
    if (w + 16 > MAXPOOL_AVX512_ROW - MAXPOOL_AVX512_LEAD || reach + 16 > MAXPOOL_AVX512_ROW - MAXPOOL_AVX512_LEAD)
        return NULL;
    return pool_row;
}

#else

pool2d_row_fn maxpool2d_row_avx512(const pool2d_params *p, int64_t w, int64_t ow) {
    (void)p, (void)w, (void)ow;
    return NULL;
}

#endif
