/* conv2d_depthwise_blocked.c — AVX-512 depthwise convolution on blocks of 16 channels: each block's planes are
 * transposed into a zero-padded [row][column][16 channels] buffer, convolved with whole vectors (no masks,
 * no permutes, stride 2 a plain offset), and transposed back into NCHW. */
#include "conv2d.h"
#include "gemm_internal.h"

#define BLOCK 16
#define MAX_TAPS 25

/* Rows of the padded input buffer that output rows [oh0, oh0 + rows) read, and its columns: exactly
 * those the taps read. */
static int64_t padded_rows_of(const conv_geometry *g, int64_t rows) {
    return (rows - 1) * g->stride_h + (g->kernel_h - 1) * g->dilation_h + 1;
}

static int64_t padded_rows(const conv_geometry *g) { return padded_rows_of(g, g->out_height); }

static int64_t padded_cols(const conv_geometry *g) {
    return (g->out_width - 1) * g->stride_w + (g->kernel_w - 1) * g->dilation_w + 1;
}

/* Floats of one thread's buffers: the padded input block and the output block. */
static int64_t block_floats(const conv_geometry *g) {
    return (padded_rows(g) * padded_cols(g) + g->out_height * g->out_width) * BLOCK + BLOCK;
}

int conv_depthwise_blocked_fits(const conv_geometry *g, int isa) {
    return isa == CPU_ISA_AVX512 && g->out_channels == g->channels && g->kernel_h * g->kernel_w <= MAX_TAPS &&
           g->out_height > 0 && g->out_width > 0 &&
           block_floats(g) * (int64_t)sizeof(float) <= (int64_t)CPU_SCRATCH_BYTES;
}

#if defined(__x86_64__)
#include <immintrin.h>
#include "sigmoid_avx512.h"
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

/* r[i][j] -> r[j][i] for a 16 x 16 block of floats. */
AVX512 static inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int k = 0; k < 4; k++) {
        t[k] = _mm512_shuffle_f32x4(r[k], r[k + 4], 0x88);
        t[k + 4] = _mm512_shuffle_f32x4(r[k], r[k + 4], 0xdd);
        t[k + 8] = _mm512_shuffle_f32x4(r[k + 8], r[k + 12], 0x88);
        t[k + 12] = _mm512_shuffle_f32x4(r[k + 8], r[k + 12], 0xdd);
    }
    for (int k = 0; k < 8; k++) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0x88);
        r[k + 8] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0xdd);
    }
}

static inline __mmask16 first_lanes(int64_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

/* The padded buffer xp[rows][WP][16] of channels [0, cn) of x (planes h*w apart) from padded row r0 on
 * (padded row r is input row r - pad_h), zeros in the padding and past cn. */
AVX512 static void pack_block(const conv_geometry *g, const float *x, int64_t cn, int64_t r0, int64_t hp,
                              float *xp) {
    int64_t wp = padded_cols(g), plane = g->height * g->width;
    int64_t inside_end = g->pad_w + g->width < wp ? g->pad_w + g->width : wp; /* padded columns of the row */
    int64_t inside_begin = g->pad_w < wp ? g->pad_w : wp;
    __m512 zero = _mm512_setzero_ps();
    /* channels past cn read nothing (their lanes are zero) */
    __mmask16 channel_mask[16];
    int64_t channel_offset[16];
    for (int c = 0; c < 16; c++) {
        channel_mask[c] = c < cn ? 0xFFFF : 0;
        channel_offset[c] = (c < cn ? c : 0) * plane;
    }
    for (int64_t r = 0; r < hp; r++) {
        float *row = xp + r * wp * BLOCK;
        int64_t ih = r0 + r - g->pad_h;
        if (ih < 0 || ih >= g->height) {
            for (int64_t q = 0; q < wp; q++) _mm512_store_ps(row + q * BLOCK, zero);
            continue;
        }
        for (int64_t q = 0; q < inside_begin; q++) _mm512_store_ps(row + q * BLOCK, zero);
        for (int64_t q = inside_end; q < wp; q++) _mm512_store_ps(row + q * BLOCK, zero);
        const float *xr = x + ih * g->width;
        float *dst = row + inside_begin * BLOCK;
        int64_t iw0 = 0, cols = inside_end - inside_begin;
        for (; iw0 + 16 <= cols; iw0 += 16) {
            __m512 v[16];
#pragma GCC unroll 16
            for (int c = 0; c < 16; c++) v[c] = _mm512_maskz_loadu_ps(channel_mask[c], xr + channel_offset[c] + iw0);
            transpose16(v);
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) _mm512_store_ps(dst + (iw0 + j) * BLOCK, v[j]);
        }
        if (iw0 < cols) {
            __mmask16 m = first_lanes(cols - iw0);
            __m512 v[16];
#pragma GCC unroll 16
            for (int c = 0; c < 16; c++)
                v[c] = _mm512_maskz_loadu_ps(channel_mask[c] & m, xr + channel_offset[c] + iw0);
            transpose16(v);
            for (int64_t j = 0; j < cols - iw0; j++) _mm512_store_ps(dst + (iw0 + j) * BLOCK, v[j]);
        }
    }
}

/* Output columns [ow, ow + n) of one output row: n independent FMA chains; n and the kernel size are
 * constants where it is inlined. */
AVX512 static inline __attribute__((always_inline)) void columns(const float *xr, int64_t wp, const float *wk,
                                                                 __m512 bias, int clamp, __m512 vlo, __m512 vhi,
                                                                 float *yr, int64_t ow, int n, int64_t sw, int64_t dh,
                                                                 int64_t dw, int64_t kernel_h, int64_t kernel_w) {
    __m512 acc[8];
#pragma GCC unroll 8
    for (int j = 0; j < n; j++) acc[j] = bias;
    for (int64_t kh = 0; kh < kernel_h; kh++)
        for (int64_t kw = 0; kw < kernel_w; kw++) {
            __m512 wv = _mm512_load_ps(wk + (kh * kernel_w + kw) * BLOCK);
            const float *src = xr + (kh * dh * wp + ow * sw + kw * dw) * BLOCK;
#pragma GCC unroll 8
            for (int j = 0; j < n; j++) acc[j] = _mm512_fmadd_ps(wv, _mm512_load_ps(src + j * sw * BLOCK), acc[j]);
        }
#pragma GCC unroll 8
    for (int j = 0; j < n; j++) {
        if (clamp == GEMM_CLAMP_RELU) acc[j] = _mm512_max_ps(acc[j], _mm512_setzero_ps());
        else if (clamp == GEMM_CLAMP_CLIP) acc[j] = _mm512_min_ps(vhi, _mm512_max_ps(vlo, acc[j]));
        else if (clamp == GEMM_CLAMP_SILU) acc[j] = silu_avx512(acc[j]);
        else if (clamp == GEMM_CLAMP_SIGMOID) acc[j] = sigmoid_avx512(acc[j]);
        _mm512_store_ps(yr + (ow + j) * BLOCK, acc[j]);
    }
}

/* yb[out_h][OW][16] = clamp(bias + taps · xp), OW_BLOCK output columns at a time; the kernel size is
 * constant where it is inlined. */
#define OW_BLOCK 4
AVX512 static inline __attribute__((always_inline)) void convolve_block(const conv_geometry *g, const float *xp,
                                                                        const float *wk, __m512 bias, int clamp,
                                                                        float lo, float hi, float *yb, int64_t out_h,
                                                                        int64_t kernel_h, int64_t kernel_w) {
    int64_t wp = padded_cols(g), out_w = g->out_width;
    int64_t sh = g->stride_h, sw = g->stride_w, dh = g->dilation_h, dw = g->dilation_w;
    __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    for (int64_t oh = 0; oh < out_h; oh++) {
        const float *xr = xp + oh * sh * wp * BLOCK;
        float *yr = yb + oh * out_w * BLOCK;
        int64_t ow = 0;
        for (; ow + OW_BLOCK <= out_w; ow += OW_BLOCK)
            columns(xr, wp, wk, bias, clamp, vlo, vhi, yr, ow, OW_BLOCK, sw, dh, dw, kernel_h, kernel_w);
        for (; ow < out_w; ow++) columns(xr, wp, wk, bias, clamp, vlo, vhi, yr, ow, 1, sw, dh, dw, kernel_h, kernel_w);
    }
}

/* yb[rows][OW][16] back into channels [0, cn) of y (planes oh*ow apart, y at the first row). */
AVX512 static void unpack_block(const conv_geometry *g, const float *yb, int64_t cn, int64_t rows, float *y) {
    int64_t out_w = g->out_width, plane = g->out_height * out_w;
    for (int64_t oh = 0; oh < rows; oh++)
        for (int64_t ow0 = 0; ow0 < out_w; ow0 += 16) {
            int64_t count = out_w - ow0 < 16 ? out_w - ow0 : 16;
            __m512 v[16];
            const float *src = yb + (oh * out_w + ow0) * BLOCK;
            if (count == 16) {
#pragma GCC unroll 16
                for (int j = 0; j < 16; j++) v[j] = _mm512_load_ps(src + j * BLOCK);
            } else
                for (int j = 0; j < 16; j++) v[j] = j < count ? _mm512_load_ps(src + j * BLOCK) : _mm512_setzero_ps();
            transpose16(v);
            __mmask16 m = first_lanes(count);
            float *dst = y + oh * out_w + ow0;
            if (cn == 16) {
#pragma GCC unroll 16
                for (int c = 0; c < 16; c++) _mm512_mask_storeu_ps(dst + c * plane, m, v[c]);
            } else
                for (int64_t c = 0; c < cn; c++) _mm512_mask_storeu_ps(dst + c * plane, m, v[c]);
        }
}

typedef struct {
    const conv_geometry *g;
    const float *x, *w, *b, *residual;
    const act_params *act;
    float *y;
    uint8_t *scratch;
    int isa;
    int64_t row_parts, part_rows; /* each block's output rows [oh_begin, oh_end) split in row_parts tasks of part_rows */
    int64_t oh_begin, oh_end;
} blocked_job;

AVX512 static void blocked_task(void *arg, int64_t begin, int64_t end, int thread) {
    const blocked_job *job = arg;
    const conv_geometry *g = job->g;
    int64_t blocks = (g->channels + BLOCK - 1) / BLOCK, taps = g->kernel_h * g->kernel_w;
    int64_t in_plane = g->height * g->width, out_plane = g->out_height * g->out_width;
    float *xp = (float *)(((uintptr_t)(job->scratch + (size_t)thread * CPU_SCRATCH_BYTES) + 63) & ~(uintptr_t)63);
    float *yb = xp + padded_rows(g) * padded_cols(g) * BLOCK;
    const act_params *act = job->act;
    /* relu, clip, silu and sigmoid without a residual go into the store (NaN as act_apply: relu 0, clip NaN) */
    int clamp = job->residual ? GEMM_CLAMP_NONE
                : act->kind == ACT_RELU ? GEMM_CLAMP_RELU
                : act->kind == ACT_CLIP ? GEMM_CLAMP_CLIP
                : act->kind == ACT_SILU ? GEMM_CLAMP_SILU
                : act->kind == ACT_SIGMOID ? GEMM_CLAMP_SIGMOID : GEMM_CLAMP_NONE;
    int fused = !job->residual && (act->kind == ACT_NONE || clamp != GEMM_CLAMP_NONE);
    for (int64_t t = begin; t < end; t++) {
        int64_t part = t % job->row_parts, image = t / job->row_parts / blocks;
        int64_t c0 = t / job->row_parts % blocks * BLOCK, cn = g->channels - c0 < BLOCK ? g->channels - c0 : BLOCK;
        int64_t oh0 = job->oh_begin + part * job->part_rows;
        int64_t rows = job->oh_end - oh0 < job->part_rows ? job->oh_end - oh0 : job->part_rows;
        if (rows <= 0) continue;
        float wk[MAX_TAPS * BLOCK] __attribute__((aligned(64)));
        float bias[BLOCK] __attribute__((aligned(64)));
        for (int64_t c = 0; c < BLOCK; c++) {
            for (int64_t k = 0; k < taps; k++) wk[k * BLOCK + c] = c < cn ? job->w[(c0 + c) * taps + k] : 0.0f;
            bias[c] = c < cn && job->b ? job->b[c0 + c] : 0.0f;
        }
        pack_block(g, job->x + (image * g->channels + c0) * in_plane, cn, oh0 * g->stride_h, padded_rows_of(g, rows),
                   xp);
        __m512 bv = _mm512_load_ps(bias);
        float lo = act->min, hi = act->max;
        if (g->kernel_h == 3 && g->kernel_w == 3) convolve_block(g, xp, wk, bv, clamp, lo, hi, yb, rows, 3, 3);
        else if (g->kernel_h == 5 && g->kernel_w == 5) convolve_block(g, xp, wk, bv, clamp, lo, hi, yb, rows, 5, 5);
        else convolve_block(g, xp, wk, bv, clamp, lo, hi, yb, rows, g->kernel_h, g->kernel_w);
        int64_t at = (image * g->channels + c0) * out_plane + oh0 * g->out_width;
        unpack_block(g, yb, cn, rows, job->y + at);
        if (!fused) { /* one row per channel: its rows [oh0, oh0 + rows), planes apart */
            gemm_epilogue ep = { NULL, 0, job->residual ? job->residual + at : NULL, out_plane, *act };
            cpu_epilogue_isa(job->isa, job->y + at, cn, rows * g->out_width, out_plane, &ep, 0, 0);
        }
    }
}

void conv2d_depthwise_blocked(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                              const float *residual, const act_params *act, float *y, int64_t oh0, int64_t oh1) {
    /* at least four tasks per thread (a batch-1 layer of 144 channels is only 9 blocks): blocks split by rows */
    int64_t blocks = g->batch * ((g->channels + BLOCK - 1) / BLOCK), threads = ctx->threads > 1 ? ctx->threads : 1;
    int64_t parts = threads > 1 && blocks < 4 * threads ? (4 * threads + blocks - 1) / blocks : 1;
    if (parts > oh1 - oh0) parts = oh1 - oh0;
    int64_t part_rows = (oh1 - oh0 + parts - 1) / parts;
    parts = (oh1 - oh0 + part_rows - 1) / part_rows;
    blocked_job job = { g, x, w, b, residual, act, y, ctx->scratch, ctx->isa, parts, part_rows, oh0, oh1 };
    pool_parallel_for(ctx->pool, blocks * parts, 1, blocked_task, &job);
}

#else

void conv2d_depthwise_blocked(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                              const float *residual, const act_params *act, float *y, int64_t oh0, int64_t oh1) {
    (void)ctx, (void)g, (void)x, (void)w, (void)b, (void)residual, (void)act, (void)y, (void)oh0, (void)oh1;
}

#endif
