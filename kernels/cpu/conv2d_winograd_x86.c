/* conv2d_winograd_x86.c — the AVX-512 input and output transforms of the Winograd F(4x4, 3x3) convolution: 16 tiles
 * per zmm, patches gathered with the padding masked, outputs transposed back to one vector per tile. */
#include "conv2d_winograd.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include "transpose16_avx512.h"

#define TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

/* Bᵀ on d[0], d[step], ... d[5 * step] into u[0], u[ustep], ... */
TARGET static inline __attribute__((always_inline)) void bt6(const __m512 *d, int step, __m512 *u, int ustep) {
    __m512 d0 = d[0], d1 = d[step], d2 = d[2 * step], d3 = d[3 * step], d4 = d[4 * step], d5 = d[5 * step];
    const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f), two = _mm512_set1_ps(2.0f);
    __m512 d4_d2 = _mm512_sub_ps(d4, d2);
    u[0] = _mm512_fnmadd_ps(five, d2, _mm512_fmadd_ps(four, d0, d4));
    u[ustep] = _mm512_fnmadd_ps(four, _mm512_add_ps(d1, d2), _mm512_add_ps(d3, d4));
    u[2 * ustep] = _mm512_fmadd_ps(four, _mm512_sub_ps(d1, d2), _mm512_sub_ps(d4, d3));
    u[3 * ustep] = _mm512_fmadd_ps(two, _mm512_sub_ps(d3, d1), d4_d2);
    u[4 * ustep] = _mm512_fmadd_ps(two, _mm512_sub_ps(d1, d3), d4_d2);
    u[5 * ustep] = _mm512_fnmadd_ps(five, d3, _mm512_fmadd_ps(four, d1, d5));
}

/* Aᵀ on 6 values into 4. */
TARGET static inline __attribute__((always_inline)) void at6(const __m512 *m, int step, __m512 *y, int ystep) {
    __m512 m1 = m[step], m2 = m[2 * step], m3 = m[3 * step], m4 = m[4 * step];
    __m512 s12 = _mm512_add_ps(m1, m2), d12 = _mm512_sub_ps(m1, m2);
    __m512 s34 = _mm512_add_ps(m3, m4), d34 = _mm512_sub_ps(m3, m4);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), s34);
    y[ystep] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d34, d12);
    y[2 * ystep] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), s34, s12);
    y[3 * ystep] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d34, d12), m[5 * step]);
}

TARGET static void input_avx512(const wino_plan *p, int64_t t0, int64_t tn, float *v, int64_t v_stride) {
    const conv_geometry *g = p->g;
    int64_t hw = g->height * g->width, nr = p->nr;
    int w = (int)g->width;
    for (int64_t j0 = 0; j0 < tn; j0 += 16) {
        int32_t off[16];
        __mmask16 rows[6] = { 0 }, cols[6] = { 0 };
        for (int l = 0; l < 16; l++) {
            int64_t t = t0 + j0 + l, r = t % p->tiles_hw;
            int64_t iy = r / p->tiles_w * 4 - g->pad_h, ix = r % p->tiles_w * 4 - g->pad_w;
            off[l] = (int32_t)(t / p->tiles_hw * g->channels * hw + iy * g->width + ix);
            if (j0 + l >= tn) continue;
            for (int k = 0; k < 6; k++) {
                if (iy + k >= 0 && iy + k < g->height) rows[k] |= (__mmask16)(1u << l);
                if (ix + k >= 0 && ix + k < g->width) cols[k] |= (__mmask16)(1u << l);
            }
        }
        __m512i base = _mm512_loadu_si512(off);
        float *dst = v + j0 / nr * g->channels * nr + j0 % nr;
        for (int64_t c = 0; c < g->channels; c++) {
            const float *xc = p->x + c * hw;
            __m512 d[36], t[36], u[36];
            for (int r = 0; r < 6; r++) {
                __m512i row = _mm512_add_epi32(base, _mm512_set1_epi32(r * w));
                for (int q = 0; q < 6; q++)
                    d[r * 6 + q] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows[r] & cols[q],
                                                            _mm512_add_epi32(row, _mm512_set1_epi32(q)), xc, 4);
            }
            for (int r = 0; r < 6; r++) bt6(d + r * 6, 1, t + r * 6, 1);
            for (int q = 0; q < 6; q++) bt6(t + q, 6, u + q, 6);
            for (int xi = 0; xi < 36; xi++) _mm512_storeu_ps(dst + xi * v_stride + c * nr, u[xi]);
        }
    }
}

TARGET static void output_avx512(const wino_plan *p, const float *m, int64_t m_stride, int64_t ldm, int64_t o0,
                                 int64_t on, int64_t t0, int64_t tn, const float *bias, const float *residual,
                                 const act_params *act, float *y) {
    const conv_geometry *g = p->g;
    int64_t ohw = g->out_height * g->out_width, ow = g->out_width;
    int relu = act->kind == ACT_RELU, clip = act->kind == ACT_CLIP;
    __m128 lo = _mm_set1_ps(act->min), hi = _mm_set1_ps(act->max), zero = _mm_setzero_ps();
    for (int64_t j0 = 0; j0 < tn; j0 += 16) {
        int lanes = tn - j0 < 16 ? (int)(tn - j0) : 16;
        __mmask16 valid = (__mmask16)((1u << lanes) - 1);
        int64_t off[16];
        int n_rows[16];
        __mmask8 col_mask[16];
        for (int l = 0; l < lanes; l++) {
            int64_t t = t0 + j0 + l, r = t % p->tiles_hw, oy = r / p->tiles_w * 4, ox = r % p->tiles_w * 4;
            off[l] = t / p->tiles_hw * g->out_channels * ohw + oy * ow + ox;
            n_rows[l] = g->out_height - oy < 4 ? (int)(g->out_height - oy) : 4;
            col_mask[l] = (__mmask8)((1u << (g->out_width - ox < 4 ? g->out_width - ox : 4)) - 1);
        }
        for (int64_t o = o0; o < o0 + on; o++) {
            __m512 mm[36], s[24], out[16];
            const float *mo = m + (o - o0) * ldm + j0;
            for (int xi = 0; xi < 36; xi++) mm[xi] = _mm512_maskz_loadu_ps(valid, mo + xi * m_stride);
            for (int q = 0; q < 6; q++) at6(mm + q, 6, s + q, 6);
            for (int i = 0; i < 4; i++) at6(s + i * 6, 1, out + i * 4, 1);
            __m512 b = _mm512_set1_ps(bias ? bias[o] : 0.0f);
            for (int k = 0; k < 16; k++) out[k] = _mm512_add_ps(out[k], b);
            transpose16_avx512(out); /* out[l]: tile l's 4x4 outputs, row-major */
            float tile[16][16] __attribute__((aligned(64)));
            for (int l = 0; l < lanes; l++) _mm512_store_ps(tile[l], out[l]);
            for (int l = 0; l < lanes; l++) {
                int64_t at = off[l] + o * ohw;
                for (int i = 0; i < n_rows[l]; i++, at += ow) {
                    __m128 val = _mm_load_ps(tile[l] + 4 * i);
                    if (residual) val = _mm_add_ps(val, _mm_maskz_loadu_ps(col_mask[l], residual + at));
                    if (relu) val = _mm_max_ps(val, zero);
                    if (clip) val = _mm_min_ps(hi, _mm_max_ps(lo, val)); /* NaN passes, as act_apply */
                    _mm_mask_storeu_ps(y + at, col_mask[l], val);
                }
            }
        }
    }
}

/* The GEMM panels must hold whole 16-lane groups (AVX-512's are 32 wide). */
wino_input_fn conv_winograd_input_avx512(void) { return input_avx512; }
wino_output_fn conv_winograd_output_avx512(void) { return output_avx512; }
#endif
