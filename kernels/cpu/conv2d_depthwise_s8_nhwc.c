/* conv2d_depthwise_s8_nhwc.c — depthwise INT8 convolution from u8 NHWC to u8 NHWC, channels as vector lanes. */
#include <string.h>
#include "gemm_s8_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* How the weights are packed and run. Channels go in blocks of 64 (AVX-512) or 32 (AVX2); a block's taps go
 * in groups of 4 (u8 x s8 quads for vpdpbusd) or 2 (int16 pairs for vpmaddwd). One group of one block is four
 * vectors V_k, k = 0..3, whose 32-bit lane j of 128-bit lane L is channel 16L + 4k + j of the block: the order
 * in which byte and word unpacks of the taps' channel vectors leave their lanes, and which the packs of the
 * requantized V_0..V_3 (32 -> 16 -> 8 bits) put back into channel order. AVX-512 runs a last single tap (taps
 * = 4n + 1: 3x3, 5x5, 7x7) as one vector of 64 channels whose dwords k are broadcast in each 128-bit lane
 * (vpshufd) for V_k, weighted by byte j of lane j only. A block of at most 32 channels (C <= 32, or the last
 * block) runs two output positions per AVX-512 vector, the second in lanes 2-3: its channel c0 + 32 + i repeats
 * channel c0 + i. The packed buffer is int32 sums over the taps per
 * channel (channels rounded up to the block), then the groups of block 0, of block 1, ... The scalar layout
 * is w itself [C][taps]; so are vector paths' with more than DW_TAPS_MAX taps (run scalar). */
enum { LAYOUT_SCALAR, LAYOUT_AVX2, LAYOUT_AVX512 };
#define DW_TAPS_MAX 128

static int layout_of(int path, int64_t taps) {
#if !defined(__x86_64__)
    return LAYOUT_SCALAR;
#endif
    if (taps > DW_TAPS_MAX) return LAYOUT_SCALAR;
    if (path == S8_PATH_AVX2 || path == S8_PATH_AVX_VNNI) return LAYOUT_AVX2;
    if (path == S8_PATH_AVX512_VNNI || path == S8_PATH_AMX) return LAYOUT_AVX512;
    return LAYOUT_SCALAR;
}

static int64_t block_of(int layout) { return layout == LAYOUT_AVX512 ? 64 : 32; }
static int64_t group_of(int layout) { return layout == LAYOUT_AVX512 ? 4 : 2; }
static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }
/* Block c0's channel in vector order i (0..63), c0 + i, or c0 + i % 32 when two positions share the vectors
 * (AVX-512, at most 32 channels left from c0). */
static int64_t block_channel(int layout, int64_t channels, int64_t c0, int64_t i) {
    return layout == LAYOUT_AVX512 && channels - c0 <= 32 ? c0 + i % 32 : c0 + i;
}
/* The last tap alone (AVX-512, taps = 4n + 1). */
static int single_tap(int layout, int64_t taps) { return layout == LAYOUT_AVX512 && taps % 4 == 1; }

size_t cpu_depthwise_s8_nhwc_pack_size(int path, int64_t channels, int64_t taps) {
    int layout = layout_of(path, taps);
    if (layout == LAYOUT_SCALAR) return (size_t)round_up(channels * taps, 64);
    int64_t c = round_up(channels, block_of(layout)), groups = round_up(taps, group_of(layout)) / group_of(layout);
    /* per block and group: four vectors of block-width bytes (64 x u8 quads / 32 x int16 pairs = 4 x 64 / 4 x 32) */
    return (size_t)(4 * c + c / block_of(layout) * groups * 4 * block_of(layout));
}

void cpu_depthwise_s8_nhwc_pack(int path, int64_t channels, int64_t taps, const int8_t *w, void *dst) {
    int layout = layout_of(path, taps);
    if (layout == LAYOUT_SCALAR) {
        memcpy(dst, w, (size_t)(channels * taps));
        return;
    }
    int64_t bw = block_of(layout), gs = group_of(layout), c_all = round_up(channels, bw);
    int64_t groups = round_up(taps, gs) / gs;
    int32_t *sum = dst;
    for (int64_t c = 0; c < c_all; c++) {
        int64_t cw = block_channel(layout, channels, c / bw * bw, c % bw);
        sum[c] = 0;
        for (int64_t t = 0; cw < channels && t < taps; t++) sum[c] += w[cw * taps + t];
    }
    int8_t *q = (int8_t *)(sum + c_all);
    int16_t *p = (int16_t *)(sum + c_all);
    for (int64_t b = 0; b < c_all / bw; b++)
        for (int64_t gr = 0; gr < groups; gr++) {
            int single = single_tap(layout, taps) && gr == groups - 1;
            for (int k = 0; k < 4; k++)
                for (int64_t lane = 0; lane < bw / 16; lane++)
                    for (int j = 0; j < 4; j++) {
                        int64_t c = block_channel(layout, channels, b * bw, 16 * lane + 4 * k + j);
                        for (int64_t i = 0; i < gs; i++) {
                            int64_t t = single ? (i == j ? taps - 1 : taps) : gr * gs + i;
                            int8_t v = c < channels && t < taps ? w[c * taps + t] : 0;
                            if (gs == 4) *q++ = v;
                            else *p++ = v;
                        }
                    }
        }
}

/* One call: geometry, data, and the taps' offsets from the first tap of a position. */
typedef struct {
    const conv_s8_geometry *g;
    const uint8_t *x;
    int64_t xs;
    const void *packed;
    const gemm_s8_epilogue *ep;
    uint8_t *y;
    int64_t ys;
    int layout;
    int taps, groups, padded_taps; /* groups of the unpacks (the last padded with repeats of the last tap) */
    int single;                    /* and then the last tap alone */
    int64_t col_lo, col_hi;        /* output columns whose taps are all inside the row */
    const void *epilogues;         /* NULL, or each block's block_epilogue (scale, off, start) computed once */
    int64_t tile_rows;             /* rows run block by block (each block's epilogue computed per tile) */
    float inv, lo, hi;             /* 1 / out_scale; the clamp of v */
    int64_t off[DW_TAPS_MAX];      /* bytes from the position's first tap to tap k */
    int32_t di[DW_TAPS_MAX], dj[DW_TAPS_MAX]; /* rows and columns from the first tap to tap k */
} dw_job;

/* Channel c's epilogue, computed as conv2d_depthwise_s8.c does: v = fma(acc, scale, off) * (1 / out_scale). */
static inline float ep_scale(const gemm_s8_epilogue *ep, int64_t c) { return ep->a_scale[0] * ep->w_scale[c]; }
static inline float ep_off(const gemm_s8_epilogue *ep, int64_t c) { return ep->bias ? ep->bias[c] : 0.0f; }

static inline uint8_t requant(const dw_job *job, int32_t acc, float scale, float off) {
    float v = fmaf((float)acc, scale, off) * job->inv;
    v = v > job->lo ? v : job->lo;
    v = v < job->hi ? v : job->hi;
    return (uint8_t)((int32_t)nearbyintf(v) + job->ep->out_zero);
}

/* Output rows [r0, r1) (of batch x out_height), every channel, taps checked (padding adds nothing). */
static void rows_scalar(const dw_job *job, int64_t r0, int64_t r1) {
    const conv_s8_geometry *g = job->g;
    const int8_t *w = job->packed;
    int32_t za = job->ep->a_zero[0];
    for (int64_t r = r0; r < r1; r++) {
        int64_t n = r / g->out_height, oh = r % g->out_height;
        for (int64_t ow = 0; ow < g->out_width; ow++) {
            uint8_t *yp = job->y + (r * g->out_width + ow) * job->ys;
            for (int64_t c = 0; c < g->channels; c++) {
                int32_t acc = 0;
                for (int t = 0; t < job->taps; t++) { /* any number of taps: no di / dj */
                    int64_t ih = oh * g->stride_h - g->pad_h + t / g->kernel_w * g->dilation_h;
                    int64_t iw = ow * g->stride_w - g->pad_w + t % g->kernel_w * g->dilation_w;
                    if (ih >= 0 && ih < g->height && iw >= 0 && iw < g->width)
                        acc += ((int32_t)job->x[((n * g->height + ih) * g->width + iw) * job->xs + c] - za) *
                               w[c * job->taps + t];
                }
                yp[c] = requant(job, acc, ep_scale(job->ep, c), ep_off(job->ep, c));
            }
        }
    }
}

/* The per-lane epilogue of channels [c0, c0 + bw) in vector order (see the layout): scale, offset, and the
 * accumulator's start -a_zero * (sum of the channel's taps), so that padding taps read as a_zero add 0. */
static void block_epilogue(const dw_job *job, int64_t c0, int64_t bw, float *scale, float *off, int32_t *start) {
    const int32_t *sum = job->packed;
    uint32_t za = (uint32_t)job->ep->a_zero[0];
    for (int k = 0; k < 4; k++)
        for (int64_t lane = 0; lane < bw / 16; lane++)
            for (int j = 0; j < 4; j++) {
                int64_t c = block_channel(job->layout, job->g->channels, c0, 16 * lane + 4 * k + j);
                int64_t at = k * (bw / 4) + 4 * lane + j;
                int in = c < job->g->channels;
                scale[at] = in ? ep_scale(job->ep, c) : 0.0f;
                off[at] = in ? ep_off(job->ep, c) : 0.0f;
                start[at] = in ? (int32_t)(0u - za * (uint32_t)sum[c]) : 0; /* wraps; the final sum fits */
            }
}

/* Row r's first input row, its image's channel c0, and whether all its taps' rows are inside the image. */
static inline int row_inside(const dw_job *job, int64_t r, int64_t c0, int64_t *ih0, const uint8_t **image) {
    const conv_s8_geometry *g = job->g;
    int64_t n = r / g->out_height;
    *ih0 = r % g->out_height * g->stride_h - g->pad_h;
    *image = job->x + n * g->height * g->width * job->xs + c0;
    return *ih0 >= 0 && *ih0 + job->di[job->taps - 1] < g->height;
}

/* Output column ow's tap addresses (from image, at rows from ih0), NULL for a tap in the padding; the padded
 * taps past the last repeat it (their weights are 0). */
static inline void tap_pointers(const dw_job *job, const uint8_t *image, int64_t ih0, int64_t ow, const uint8_t **tp) {
    const conv_s8_geometry *g = job->g;
    int64_t iw0 = ow * g->stride_w - g->pad_w;
    for (int t = 0; t < job->taps; t++) {
        int64_t ih = ih0 + job->di[t], iw = iw0 + job->dj[t];
        tp[t] = ih >= 0 && ih < g->height && iw >= 0 && iw < g->width ? image + (ih * g->width + iw) * job->xs : NULL;
    }
    for (int t = job->taps; t < job->padded_taps; t++) tp[t] = tp[job->taps - 1];
}

#if defined(__x86_64__)
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

AVX512 static void block_avx512(const dw_job *job, int64_t c0, int64_t r0, int64_t r1) {
    int64_t c_all = round_up(job->g->channels, 64), rem = job->g->channels - c0;
    const __m512i *w = (const __m512i *)((const int32_t *)job->packed + c_all) + c0 / 64 * (job->groups + job->single) * 4;
    float scale_buf[64], off_buf[64];
    int32_t start_buf[64];
    const float *scale = scale_buf, *off = off_buf;
    const int32_t *start = start_buf;
    if (job->epilogues) {
        scale = (const float *)job->epilogues + c0 * 3;
        off = scale + 64;
        start = (const int32_t *)(off + 64);
    } else {
        block_epilogue(job, c0, 64, scale_buf, off_buf, start_buf);
    }
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

AVX2 static void block_avx2(const dw_job *job, int64_t c0, int64_t r0, int64_t r1) {
    int64_t c_all = round_up(job->g->channels, 32), rem = job->g->channels - c0;
    const __m256i *w = (const __m256i *)((const int32_t *)job->packed + c_all) + c0 / 32 * job->groups * 4;
    float scale_buf[32], off_buf[32];
    int32_t start_buf[32];
    const float *scale = scale_buf, *off = off_buf;
    const int32_t *start = start_buf;
    if (job->epilogues) {
        scale = (const float *)job->epilogues + c0 * 3;
        off = scale + 32;
        start = (const int32_t *)(off + 32);
    } else {
        block_epilogue(job, c0, 32, scale_buf, off_buf, start_buf);
    }
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

static void rows_task(void *arg, int64_t begin, int64_t end, int thread) {
    const dw_job *job = arg;
#if defined(__x86_64__)
    for (int64_t r = begin; r < end && job->layout != LAYOUT_SCALAR; r += job->tile_rows) {
        int64_t r_end = end - r < job->tile_rows ? end : r + job->tile_rows;
        for (int64_t c0 = 0; c0 < job->g->channels; c0 += block_of(job->layout)) {
            if (job->layout == LAYOUT_AVX512) block_avx512(job, c0, r, r_end);
            else block_avx2(job, c0, r, r_end);
        }
    }
    if (job->layout != LAYOUT_SCALAR) return;
#endif
    rows_scalar(job, begin, end);
}

void cpu_conv2d_depthwise_s8_nhwc(cpu_ctx *ctx, int path, const conv_s8_geometry *g, const uint8_t *x,
                                  int64_t x_stride, const void *packed, const gemm_s8_epilogue *ep, uint8_t *y,
                                  int64_t y_stride) {
    int64_t taps = g->kernel_h * g->kernel_w;
    if (taps <= 0 || g->channels <= 0) return;
    dw_job job;
    job.g = g;
    job.x = x;
    job.xs = x_stride;
    job.packed = packed;
    job.ep = ep;
    job.y = y;
    job.ys = y_stride;
    job.layout = layout_of(path, taps);
    job.taps = (int)taps;
    int64_t gs = job.layout == LAYOUT_SCALAR ? 1 : group_of(job.layout);
    job.single = single_tap(job.layout, taps);
    job.groups = (int)((job.single ? taps - 1 : round_up(taps, gs)) / gs);
    job.padded_taps = (int)(job.groups * gs + job.single);
    job.inv = 1.0f / ep->out_scale;
    s8_clamp_range(ep, &job.lo, &job.hi);
    for (int64_t t = 0; t < taps && t < DW_TAPS_MAX; t++) {
        int64_t i = t / g->kernel_w, j = t % g->kernel_w;
        job.di[t] = (int32_t)(i * g->dilation_h);
        job.dj[t] = (int32_t)(j * g->dilation_w);
        job.off[t] = (job.di[t] * g->width + job.dj[t]) * x_stride;
    }
    for (int64_t t = taps; t < job.padded_taps; t++) job.off[t] = job.off[taps - 1];
    /* inside columns: ow * stride - pad >= 0 and ow * stride - pad + dj[last] < width */
    int64_t reach = g->width - 1 + g->pad_w - (g->kernel_w - 1) * g->dilation_w;
    job.col_lo = (g->pad_w + g->stride_w - 1) / g->stride_w;
    job.col_hi = reach < 0 ? 0 : reach / g->stride_w + 1;
    if (job.col_hi > g->out_width) job.col_hi = g->out_width;
    if (job.col_lo > g->out_width) job.col_lo = g->out_width;
    if (job.col_hi < job.col_lo) job.col_hi = job.col_lo;
    /* the blocks' epilogues once into the caller's scratch (then row by row, every block, while the rows are in
     * cache), else per tile of rows of about 32 KiB of output */
    job.epilogues = NULL;
    job.tile_rows = g->out_width * g->channels > 0 ? 32768 / (g->out_width * g->channels) + 1 : 1;
    int64_t c_all = job.layout == LAYOUT_SCALAR ? 0 : round_up(g->channels, block_of(job.layout));
    if (job.layout != LAYOUT_SCALAR && ctx->scratch && (size_t)(12 * c_all) + 64 <= CPU_SCRATCH_BYTES) {
        float *e = (float *)(((uintptr_t)ctx->scratch + 63) & ~(uintptr_t)63);
        for (int64_t c0 = 0; c0 < c_all; c0 += block_of(job.layout))
            block_epilogue(&job, c0, block_of(job.layout), e + 3 * c0, e + 3 * c0 + block_of(job.layout),
                           (int32_t *)(e + 3 * c0 + 2 * block_of(job.layout)));
        job.epilogues = e;
        job.tile_rows = 1;
    }
    int64_t rows = g->batch * g->out_height, work = g->out_width * g->channels * taps;
    pool_parallel_for(ctx->threads > 1 ? ctx->pool : NULL, rows, work > 0 ? 65536 / work + 1 : rows, rows_task, &job);
}
