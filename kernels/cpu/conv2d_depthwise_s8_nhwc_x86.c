/* conv2d_depthwise_s8_nhwc_x86.c — the AVX-512 (vpdpbusd on u8 quads) and AVX2 (vpmaddwd on int16 pairs) blocks
 * of the depthwise INT8 NHWC convolution (layout: conv2d_depthwise_s8_nhwc.h). */
#include <string.h>
#include "conv2d_depthwise_s8_nhwc.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512vnni,fma")))
#define AVX2 __attribute__((target("avx2,fma")))

typedef struct {
    __m512 scale[4], off[4], inv, lo, hi;
    __m512i start[4], zo, za;
    __mmask64 mask; /* the block's channels */
} ep512;

/* 64 channels' bytes at p (past the mask 0), or the zero point for a padding tap (checked, p NULL). */
AVX512 static inline __m512i tap64(const uint8_t *p, int checked, int full, const ep512 *e) {
    if (checked && !p) return e->za;
    return full ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi8(e->mask, p);
}

/* Paired: at most 32 channels of two positions, the second in the upper half (or the zero point). */
AVX512 static inline __m512i tap_pair(const uint8_t *p0, const uint8_t *p1, int checked, const ep512 *e) {
    __m256i za = _mm512_castsi512_si256(e->za);
    __m256i a = checked && !p0 ? za : _mm256_maskz_loadu_epi8((__mmask32)e->mask, p0);
    __m256i b = checked && !p1 ? za : _mm256_maskz_loadu_epi8((__mmask32)e->mask, p1);
    return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

/* One output position's 64 channels: taps at tp[t] (checked) or base + off[t]; requantized into out. Paired:
 * also the position of tp1 / base1 into out1. */
AVX512 static inline void position_avx512(const dw_job *job, const uint8_t *const *tp, const uint8_t *base,
                                          const uint8_t *const *tp1, const uint8_t *base1, int pair, int checked,
                                          int full, const __m512i *w, const ep512 *e, uint8_t *out, uint8_t *out1) {
#define TAP(t)                                                                                                    \
    (pair ? tap_pair(checked ? tp[t] : base + job->off[t], checked ? tp1[t] : base1 + job->off[t], checked, e) \
          : tap64(checked ? tp[t] : base + job->off[t], checked, full, e))
    __m512i acc0 = e->start[0], acc1 = e->start[1], acc2 = e->start[2], acc3 = e->start[3];
    for (int q = 0; q < job->groups; q++, w += 4) {
        __m512i t0 = TAP(4 * q), t1 = TAP(4 * q + 1), t2 = TAP(4 * q + 2), t3 = TAP(4 * q + 3);
        __m512i p01l = _mm512_unpacklo_epi8(t0, t1), p01h = _mm512_unpackhi_epi8(t0, t1);
        __m512i p23l = _mm512_unpacklo_epi8(t2, t3), p23h = _mm512_unpackhi_epi8(t2, t3);
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_unpacklo_epi16(p01l, p23l), _mm512_load_si512(w));
        acc1 = _mm512_dpbusd_epi32(acc1, _mm512_unpackhi_epi16(p01l, p23l), _mm512_load_si512(w + 1));
        acc2 = _mm512_dpbusd_epi32(acc2, _mm512_unpacklo_epi16(p01h, p23h), _mm512_load_si512(w + 2));
        acc3 = _mm512_dpbusd_epi32(acc3, _mm512_unpackhi_epi16(p01h, p23h), _mm512_load_si512(w + 3));
    }
    if (job->single) {
        __m512i t = TAP(job->taps - 1);
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_shuffle_epi32(t, 0x00), _mm512_load_si512(w));
        acc1 = _mm512_dpbusd_epi32(acc1, _mm512_shuffle_epi32(t, 0x55), _mm512_load_si512(w + 1));
        acc2 = _mm512_dpbusd_epi32(acc2, _mm512_shuffle_epi32(t, 0xAA), _mm512_load_si512(w + 2));
        acc3 = _mm512_dpbusd_epi32(acc3, _mm512_shuffle_epi32(t, 0xFF), _mm512_load_si512(w + 3));
    }
#undef TAP
    __m512i acc[4] = { acc0, acc1, acc2, acc3 }, q[4];
    for (int k = 0; k < 4; k++) {
        __m512 v = _mm512_mul_ps(_mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[k]), e->scale[k], e->off[k]), e->inv);
        v = _mm512_min_ps(_mm512_max_ps(v, e->lo), e->hi);
        q[k] = _mm512_add_epi32(_mm512_cvtps_epi32(v), e->zo);
    }
    __m512i bytes = _mm512_packus_epi16(_mm512_packus_epi32(q[0], q[1]), _mm512_packus_epi32(q[2], q[3]));
    if (pair) {
        _mm256_mask_storeu_epi8(out, (__mmask32)e->mask, _mm512_castsi512_si256(bytes));
        _mm256_mask_storeu_epi8(out1, (__mmask32)e->mask, _mm512_extracti64x4_epi64(bytes, 1));
    } else if (full) {
        _mm512_storeu_si512(out, bytes);
    } else {
        _mm512_mask_storeu_epi8(out, e->mask, bytes);
    }
}

/* Output rows [r0, r1), channels [c0, c0 + 64): border columns checked, the inside ones straight. */
AVX512 static inline void rows_avx512(const dw_job *job, int64_t c0, int64_t r0, int64_t r1, int full, int pair,
                                      const __m512i *w, const ep512 *e) {
    const conv_s8_geometry *g = job->g;
    const uint8_t *tp[DW_TAPS_MAX], *tp1[DW_TAPS_MAX];
    for (int64_t r = r0; r < r1; r++) {
        int64_t ih0, ow = 0;
        const uint8_t *image;
        int inside = row_inside(job, r, c0, &ih0, &image);
        uint8_t *out = job->y + r * g->out_width * job->ys + c0;
        int64_t lo = inside ? job->col_lo : g->out_width, hi = inside ? job->col_hi : g->out_width;
        if (pair) { /* columns ow and ow + 1 (the last alone: twice) */
            for (; ow < g->out_width; ow += 2) {
                int64_t ow1 = ow + 1 < g->out_width ? ow + 1 : ow;
                if (ow >= lo && ow1 < hi) {
                    const uint8_t *base = image + (ih0 * g->width + ow * g->stride_w - g->pad_w) * job->xs;
                    position_avx512(job, NULL, base, NULL, base + (ow1 - ow) * g->stride_w * job->xs, 1, 0, 0, w, e,
                                    out + ow * job->ys, out + ow1 * job->ys);
                } else {
                    tap_pointers(job, image, ih0, ow, tp);
                    tap_pointers(job, image, ih0, ow1, tp1);
                    position_avx512(job, tp, NULL, tp1, NULL, 1, 1, 0, w, e, out + ow * job->ys, out + ow1 * job->ys);
                }
            }
            continue;
        }
        for (; ow < lo; ow++) {
            tap_pointers(job, image, ih0, ow, tp);
            position_avx512(job, tp, NULL, NULL, NULL, 0, 1, full, w, e, out + ow * job->ys, NULL);
        }
        if (ow < hi) {
            const uint8_t *base = image + (ih0 * g->width + ow * g->stride_w - g->pad_w) * job->xs;
            for (; ow < hi; ow++, base += g->stride_w * job->xs)
                position_avx512(job, NULL, base, NULL, NULL, 0, 0, full, w, e, out + ow * job->ys, NULL);
        }
        for (; ow < g->out_width; ow++) {
            tap_pointers(job, image, ih0, ow, tp);
            position_avx512(job, tp, NULL, NULL, NULL, 0, 1, full, w, e, out + ow * job->ys, NULL);
        }
    }
}

AVX512 void dw_s8_nhwc_block_avx512(const dw_job *job, int64_t c0, int64_t r0, int64_t r1) {
    int64_t c_all = round_up(job->g->channels, 64), rem = job->g->channels - c0;
    const __m512i *w = (const __m512i *)((const int32_t *)job->packed + c_all) + c0 / 64 * (job->groups + job->single) * 4;
    float buf[3 * 64];
    const float *scale = dw_s8_nhwc_block_terms(job, c0, 64, buf), *off = scale + 64;
    const int32_t *start = (const int32_t *)(off + 64);
    ep512 e;
    for (int k = 0; k < 4; k++) {
        e.scale[k] = _mm512_loadu_ps(scale + 16 * k);
        e.off[k] = _mm512_loadu_ps(off + 16 * k);
        e.start[k] = _mm512_loadu_si512(start + 16 * k);
    }
    e.inv = _mm512_set1_ps(job->inv);
    e.lo = _mm512_set1_ps(job->lo);
    e.hi = _mm512_set1_ps(job->hi);
    e.zo = _mm512_set1_epi32(job->ep->out_zero);
    e.za = _mm512_set1_epi8((char)job->ep->a_zero[0]);
    e.mask = rem >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << rem) - 1;
    if (rem >= 64) rows_avx512(job, c0, r0, r1, 1, 0, w, &e);
    else if (rem <= 32) rows_avx512(job, c0, r0, r1, 0, 1, w, &e); /* two positions per vector */
    else rows_avx512(job, c0, r0, r1, 0, 0, w, &e);
}

typedef struct {
    __m256 scale[4], off[4], inv, lo, hi;
    __m256i start[4], zo, za;
    __m256i dwords; /* rem a multiple of 4: the dwords of the block's channels (vpmaskmovd) */
    int64_t rem;    /* the block's channels (all 32 when >= 32) */
} ep256;

/* 32 channels' bytes at p (rem < 32: only rem of them read, the rest 0), or the zero point (checked, p NULL). */
AVX2 static inline __m256i tap32(const uint8_t *p, int checked, int full, const ep256 *e) {
    if (checked && !p) return e->za;
    if (full) return _mm256_loadu_si256((const __m256i *)p);
    if (e->rem % 4 == 0) return _mm256_maskload_epi32((const int *)p, e->dwords);
    uint8_t buf[32] = { 0 };
    memcpy(buf, p, (size_t)e->rem);
    return _mm256_loadu_si256((const __m256i *)buf);
}

/* One output position's 32 channels: taps at tp[t] (checked) or base + off[t]; requantized into out. */
AVX2 static inline void position_avx2(const dw_job *job, const uint8_t *const *tp, const uint8_t *base, int checked,
                                      int full, const __m256i *w, const ep256 *e, uint8_t *out) {
    __m256i acc0 = e->start[0], acc1 = e->start[1], acc2 = e->start[2], acc3 = e->start[3];
    __m256i zero = _mm256_setzero_si256();
    for (int p = 0; p < job->groups; p++, w += 4) {
        __m256i t0 = tap32(checked ? tp[2 * p] : base + job->off[2 * p], checked, full, e);
        __m256i t1 = tap32(checked ? tp[2 * p + 1] : base + job->off[2 * p + 1], checked, full, e);
        __m256i pl = _mm256_unpacklo_epi8(t0, t1), ph = _mm256_unpackhi_epi8(t0, t1);
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_unpacklo_epi8(pl, zero), _mm256_load_si256(w)));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_unpackhi_epi8(pl, zero), _mm256_load_si256(w + 1)));
        acc2 = _mm256_add_epi32(acc2, _mm256_madd_epi16(_mm256_unpacklo_epi8(ph, zero), _mm256_load_si256(w + 2)));
        acc3 = _mm256_add_epi32(acc3, _mm256_madd_epi16(_mm256_unpackhi_epi8(ph, zero), _mm256_load_si256(w + 3)));
    }
    __m256i acc[4] = { acc0, acc1, acc2, acc3 }, q[4];
    for (int k = 0; k < 4; k++) {
        __m256 v = _mm256_mul_ps(_mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[k]), e->scale[k], e->off[k]), e->inv);
        v = _mm256_min_ps(_mm256_max_ps(v, e->lo), e->hi);
        q[k] = _mm256_add_epi32(_mm256_cvtps_epi32(v), e->zo);
    }
    __m256i bytes = _mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]), _mm256_packus_epi32(q[2], q[3]));
    if (full) {
        _mm256_storeu_si256((__m256i *)out, bytes);
    } else if (e->rem % 4 == 0) {
        _mm256_maskstore_epi32((int *)out, e->dwords, bytes);
    } else {
        uint8_t buf[32];
        _mm256_storeu_si256((__m256i *)buf, bytes);
        memcpy(out, buf, (size_t)e->rem);
    }
}

/* Output rows [r0, r1), channels [c0, c0 + 32): border columns checked, the inside ones straight. */
AVX2 static inline void rows_avx2(const dw_job *job, int64_t c0, int64_t r0, int64_t r1, int full, const __m256i *w,
                                  const ep256 *e) {
    const conv_s8_geometry *g = job->g;
    const uint8_t *tp[DW_TAPS_MAX];
    for (int64_t r = r0; r < r1; r++) {
        int64_t ih0, ow = 0;
        const uint8_t *image;
        int inside = row_inside(job, r, c0, &ih0, &image);
        uint8_t *out = job->y + r * g->out_width * job->ys + c0;
        int64_t lo = inside ? job->col_lo : g->out_width, hi = inside ? job->col_hi : g->out_width;
        for (; ow < lo; ow++) {
            tap_pointers(job, image, ih0, ow, tp);
            position_avx2(job, tp, NULL, 1, full, w, e, out + ow * job->ys);
        }
        if (ow < hi) {
            const uint8_t *base = image + (ih0 * g->width + ow * g->stride_w - g->pad_w) * job->xs;
            for (; ow < hi; ow++, base += g->stride_w * job->xs)
                position_avx2(job, NULL, base, 0, full, w, e, out + ow * job->ys);
        }
        for (; ow < g->out_width; ow++) {
            tap_pointers(job, image, ih0, ow, tp);
            position_avx2(job, tp, NULL, 1, full, w, e, out + ow * job->ys);
        }
    }
}

AVX2 void dw_s8_nhwc_block_avx2(const dw_job *job, int64_t c0, int64_t r0, int64_t r1) {
    int64_t c_all = round_up(job->g->channels, 32), rem = job->g->channels - c0;
    const __m256i *w = (const __m256i *)((const int32_t *)job->packed + c_all) + c0 / 32 * job->groups * 4;
    float buf[3 * 32];
    const float *scale = dw_s8_nhwc_block_terms(job, c0, 32, buf), *off = scale + 32;
    const int32_t *start = (const int32_t *)(off + 32);
    ep256 e;
    for (int k = 0; k < 4; k++) {
        e.scale[k] = _mm256_loadu_ps(scale + 8 * k);
        e.off[k] = _mm256_loadu_ps(off + 8 * k);
        e.start[k] = _mm256_loadu_si256((const __m256i *)(start + 8 * k));
    }
    e.inv = _mm256_set1_ps(job->inv);
    e.lo = _mm256_set1_ps(job->lo);
    e.hi = _mm256_set1_ps(job->hi);
    e.zo = _mm256_set1_epi32(job->ep->out_zero);
    e.za = _mm256_set1_epi8((char)job->ep->a_zero[0]);
    e.rem = rem;
    e.dwords = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)((rem < 32 ? rem : 32) / 4)),
                                  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    if (rem >= 32) rows_avx2(job, c0, r0, r1, 1, w, &e);
    else rows_avx2(job, c0, r0, r1, 0, w, &e);
}
#endif
