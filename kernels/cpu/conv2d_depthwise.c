/* conv2d_depthwise.c — depthwise convolution: direct, parallel over planes, vectorized along the output row. */
#include "conv2d.h"
#include "gemm_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* One output plane: input channel plane x, kernel taps w, output plane y. */
typedef struct {
    const conv_geometry *g;
    const float *x, *w;
    float bias;
    int clamp;      /* GEMM_CLAMP_*: applied before the store by the masked path (then no epilogue pass) */
    float lo, hi;
} dw_plane;

/* Output columns [ow0, ow1) of row oh, checking every tap against the input's borders. */
static void row_checked(const dw_plane *p, int64_t oh, float *y, int64_t ow0, int64_t ow1) {
    const conv_geometry *g = p->g;
    for (int64_t ow = ow0; ow < ow1; ow++) {
        float acc = p->bias;
        for (int64_t kh = 0; kh < g->kernel_h; kh++) {
            int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
            if (ih < 0 || ih >= g->height) continue;
            for (int64_t kw = 0; kw < g->kernel_w; kw++) {
                int64_t iw = ow * g->stride_w - g->pad_w + kw * g->dilation_w;
                if (iw >= 0 && iw < g->width) acc += p->w[kh * g->kernel_w + kw] * p->x[ih * g->width + iw];
            }
        }
        y[ow] = acc;
    }
}

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
#include "lanes_avx512.h"


/* nv x 16 + tail (< 16) columns from ow whose taps are all inside the row, with one accumulator per
 * vector to hide the FMA latency of the tap chain. nv, stride and kernel_w are constants where it is
 * inlined; only the tail vector's loads and store are masked. */
AVX512 static inline __attribute__((always_inline)) void block_inside(const dw_plane *p, int64_t oh, float *y,
                                                                      int64_t ow, int nv, int64_t tail,
                                                                      int64_t stride, int64_t kernel_w) {
    const conv_geometry *g = p->g;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    /* stride 2 reads inputs 0 .. 2*count-2 of a vector's 32 */
    __mmask16 m = lanes(0, tail), m_lo = lanes(0, 2 * tail - 1), m_hi = lanes(-16, 2 * tail - 17);
    __m512 acc[5];
    for (int v = 0; v <= nv; v++) acc[v] = _mm512_set1_ps(p->bias);
    for (int64_t kh = 0; kh < g->kernel_h; kh++) {
        int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
        if (ih < 0 || ih >= g->height) continue;
        const float *xr = p->x + ih * g->width + ow * stride - g->pad_w, *wr = p->w + kh * kernel_w;
        for (int64_t kw = 0; kw < kernel_w; kw++) {
            const float *src = xr + kw * g->dilation_w;
            __m512 wt = _mm512_set1_ps(wr[kw]);
            for (int v = 0; v < nv; v++) {
                __m512 x = stride == 1 ? _mm512_loadu_ps(src + 16 * v)
                                       : _mm512_permutex2var_ps(_mm512_loadu_ps(src + 32 * v), even,
                                                                _mm512_maskz_loadu_ps(0x7FFF, src + 32 * v + 16));
                acc[v] = _mm512_fmadd_ps(wt, x, acc[v]);
            }
            if (tail) {
                __m512 x = stride == 1 ? _mm512_maskz_loadu_ps(m, src + 16 * nv)
                                       : _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m_lo, src + 32 * nv), even,
                                                                _mm512_maskz_loadu_ps(m_hi, src + 32 * nv + 16));
                acc[nv] = _mm512_fmadd_ps(wt, x, acc[nv]);
            }
        }
    }
    for (int v = 0; v < nv; v++) _mm512_storeu_ps(y + ow + 16 * v, acc[v]);
    if (tail) _mm512_mask_storeu_ps(y + ow + 16 * nv, m, acc[nv]);
}

#define INSIDE_BLOCKS(STRIDE, KERNEL_W)                                                                 \
    do {                                                                                                \
        for (; ow + 64 <= hi; ow += 64) block_inside(p, oh, y, ow, 4, 0, STRIDE, KERNEL_W);            \
        int64_t tail = (hi - ow) % 16;                                                                  \
        switch ((hi - ow) / 16) {                                                                       \
        case 0: if (tail) block_inside(p, oh, y, ow, 0, tail, STRIDE, KERNEL_W); break;                 \
        case 1: block_inside(p, oh, y, ow, 1, tail, STRIDE, KERNEL_W); break;                           \
        case 2: block_inside(p, oh, y, ow, 2, tail, STRIDE, KERNEL_W); break;                           \
        default: block_inside(p, oh, y, ow, 3, tail, STRIDE, KERNEL_W); break;                          \
        }                                                                                               \
    } while (0)

/* Columns [lo, hi) of row oh, whose taps are all inside the row; stride 1 or 2. */
AVX512 static void row_inside_avx512(const dw_plane *p, int64_t oh, float *y, int64_t lo, int64_t hi) {
    const conv_geometry *g = p->g;
    int64_t ow = lo, kernel_w = g->kernel_w;
    if (g->stride_w == 1 && kernel_w == 3) INSIDE_BLOCKS(1, 3);
    else if (g->stride_w == 1) INSIDE_BLOCKS(1, kernel_w);
    else if (kernel_w == 3) INSIDE_BLOCKS(2, 3);
    else INSIDE_BLOCKS(2, kernel_w);
}

#define MASKED_MAX_CHUNKS 4 /* output rows of up to 64 columns */
#define MASKED_MAX_KW 8

static int plane_fits_masked(const conv_geometry *g) {
    return g->stride_w <= 2 && g->out_width <= 16 * MASKED_MAX_CHUNKS && g->kernel_w <= MASKED_MAX_KW;
}

/* The loads of one 16-column chunk for one kernel column: the lanes whose input is inside the row. */
typedef struct {
    int64_t offset;    /* input column of lane 0 */
    __mmask16 lo, hi;  /* stride 1: lo; stride 2: the chunk's 32 inputs, as two vectors */
} chunk_loads;

/* The loads of every chunk and kernel column of a plane with narrow rows (plane_fits_masked): the
 * same for every plane, so planned once per task. */
typedef struct {
    int64_t chunks;
    chunk_loads loads[MASKED_MAX_CHUNKS][MASKED_MAX_KW];
    __mmask16 store[MASKED_MAX_CHUNKS];
} masked_plan;

static void plan_masked(const conv_geometry *g, masked_plan *mp) {
    int64_t sw = g->stride_w;
    mp->chunks = (g->out_width + 15) / 16;
    for (int64_t c = 0; c < mp->chunks; c++) {
        int64_t len = g->out_width - 16 * c < 16 ? g->out_width - 16 * c : 16;
        mp->store[c] = lanes(0, len);
        for (int64_t kw = 0; kw < g->kernel_w; kw++) {
            int64_t iw0 = 16 * c * sw - g->pad_w + kw * g->dilation_w;
            /* lanes whose input column iw0 + sw*lane is inside the row: [lo, hi) */
            int64_t lo = iw0 >= 0 ? 0 : (-iw0 + sw - 1) / sw;
            int64_t hi = iw0 >= g->width ? 0 : (g->width - 1 - iw0) / sw + 1;
            hi = hi < len ? hi : len;
            chunk_loads *t = &mp->loads[c][kw];
            t->offset = iw0;
            if (sw == 1) {
                t->lo = lanes(lo, hi);
                t->hi = 0;
            } else { /* inputs 2lo .. 2(hi-1) of the chunk's 32 */
                t->lo = hi > lo ? lanes(2 * lo, 2 * hi - 1) : 0;
                t->hi = hi > lo ? lanes(2 * lo - 16, 2 * hi - 17) : 0;
            }
        }
    }
}

/* Output rows [oh, oh + ROWS) of chunk t of a plane with narrow rows: the taps that fall in the padding
 * are masked off the loads (no scalar edge columns). One accumulator chain per output row, so ROWS
 * independent FMA chains hide the FMA latency (one row alone was latency-bound: 5-15% of the FMA peak). */
AVX512 static inline __attribute__((always_inline)) void masked_rows(const dw_plane *p, const chunk_loads *t,
                                                                     __mmask16 store, float *y, int64_t oh,
                                                                     int rows, int64_t sw, int64_t kernel_w) {
    const conv_geometry *g = p->g;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t height = g->height, width = g->width, out_w = g->out_width;
    int64_t kernel_h = g->kernel_h, sh = g->stride_h, ph = g->pad_h, dh = g->dilation_h;
    __m512 acc[4];
#pragma GCC unroll 4
    for (int r = 0; r < rows; r++) acc[r] = _mm512_set1_ps(p->bias);
    for (int64_t kh = 0; kh < kernel_h; kh++) {
        const float *wr = p->w + kh * kernel_w;
#pragma GCC unroll 4
        for (int r = 0; r < rows; r++) {
            int64_t ih = (oh + r) * sh - ph + kh * dh;
            if (ih < 0 || ih >= height) continue;
            const float *xr = p->x + ih * width;
            for (int64_t kw = 0; kw < kernel_w; kw++) {
                const float *src = xr + t[kw].offset;
                __m512 v = sw == 1 ? _mm512_maskz_loadu_ps(t[kw].lo, src)
                                   : _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(t[kw].lo, src), even,
                                                            _mm512_maskz_loadu_ps(t[kw].hi, src + 16));
                acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(wr[kw]), v, acc[r]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rows; r++) {
        if (p->clamp == GEMM_CLAMP_RELU) acc[r] = _mm512_max_ps(acc[r], _mm512_setzero_ps());
        else if (p->clamp == GEMM_CLAMP_CLIP)
            acc[r] = _mm512_min_ps(_mm512_set1_ps(p->hi), _mm512_max_ps(_mm512_set1_ps(p->lo), acc[r]));
        _mm512_mask_storeu_ps(y + (oh + r) * out_w, store, acc[r]);
    }
}

/* A whole plane with narrow rows, every column vectorized, four output rows at a time. Stride and
 * kernel width are constants where it is inlined. */
AVX512 static inline __attribute__((always_inline)) void masked_body(const dw_plane *p, const masked_plan *mp,
                                                                     float *y, int64_t sw, int64_t kernel_w) {
    int64_t out_h = p->g->out_height;
    for (int64_t c = 0; c < mp->chunks; c++) {
        chunk_loads t[MASKED_MAX_KW];
        for (int64_t kw = 0; kw < kernel_w; kw++) t[kw] = mp->loads[c][kw];
        float *yc = y + 16 * c;
        int64_t oh = 0;
        for (; oh + 4 <= out_h; oh += 4) masked_rows(p, t, mp->store[c], yc, oh, 4, sw, kernel_w);
        for (; oh < out_h; oh++) masked_rows(p, t, mp->store[c], yc, oh, 1, sw, kernel_w);
    }
}

AVX512 static void plane_masked_avx512(const dw_plane *p, const masked_plan *mp, float *y) {
    const conv_geometry *g = p->g;
    if (g->stride_w == 1 && g->kernel_w == 3) masked_body(p, mp, y, 1, 3);
    else if (g->stride_w == 1 && g->kernel_w == 5) masked_body(p, mp, y, 1, 5);
    else if (g->kernel_w == 3) masked_body(p, mp, y, 2, 3);
    else if (g->kernel_w == 5) masked_body(p, mp, y, 2, 5);
    else if (g->stride_w == 1) masked_body(p, mp, y, 1, g->kernel_w);
    else masked_body(p, mp, y, 2, g->kernel_w);
}

/* As row_inside_avx512 with 8 columns at a time; leaves the last ow1 - ow0 mod 8 columns. */
__attribute__((target("avx2,fma"))) static int64_t row_interior_avx2(const dw_plane *p, int64_t oh, float *y,
                                                                      int64_t ow0, int64_t ow1) {
    const conv_geometry *g = p->g;
    int64_t ow = ow0;
    for (; ow + 8 <= ow1; ow += 8) {
        __m256 acc = _mm256_set1_ps(p->bias);
        for (int64_t kh = 0; kh < g->kernel_h; kh++) {
            int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
            if (ih < 0 || ih >= g->height) continue;
            const float *xr = p->x + ih * g->width + ow * g->stride_w - g->pad_w;
            for (int64_t kw = 0; kw < g->kernel_w; kw++) {
                const float *src = xr + kw * g->dilation_w;
                __m256 v;
                if (g->stride_w == 1) v = _mm256_loadu_ps(src);
                else {
                    /* inputs 0..14 (the last read is src[14]): even lanes of two 8-wide loads */
                    __m256 lo = _mm256_loadu_ps(src), hi = _mm256_maskload_ps(src + 8, _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, -1, 0));
                    v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)), 0xD8));
                }
                acc = _mm256_fmadd_ps(_mm256_set1_ps(p->w[kh * g->kernel_w + kw]), v, acc);
            }
        }
        _mm256_storeu_ps(y + ow, acc);
    }
    return ow;
}
#endif

/* Columns whose horizontal taps all fall inside the input row: [*lo, *hi). */
static void interior_columns(const conv_geometry *g, int64_t *lo, int64_t *hi) {
    int64_t first = (g->pad_w + g->stride_w - 1) / g->stride_w;
    int64_t last_tap = (g->kernel_w - 1) * g->dilation_w - g->pad_w; /* input column of the last tap at ow 0 */
    int64_t end = last_tap >= g->width ? 0 : (g->width - 1 - last_tap) / g->stride_w + 1;
    if (end > g->out_width) end = g->out_width;
    if (first > end) first = end;
    *lo = first;
    *hi = end;
}

/* Rows [oh0, oh1) of one output plane, each finished (residual, activation) while it is in L1. */
static void plane(const dw_plane *p, int isa, const float *residual, const act_params *act, float *y, int64_t oh0,
                  int64_t oh1) {
    const conv_geometry *g = p->g;
    int64_t lo, hi;
    interior_columns(g, &lo, &hi);
    int vector = g->stride_w <= 2 && isa >= CPU_ISA_AVX2;
    for (int64_t oh = oh0; oh < oh1; oh++) {
        float *row = y + oh * g->out_width;
#if defined(__x86_64__)
        int64_t done = lo;
        if (vector && isa == CPU_ISA_AVX512) {
            row_inside_avx512(p, oh, row, lo, hi);
            done = hi;
        } else if (vector) done = row_interior_avx2(p, oh, row, lo, hi);
        row_checked(p, oh, row, 0, lo);
        row_checked(p, oh, row, done, g->out_width);
#else
        (void)vector;
        row_checked(p, oh, row, 0, g->out_width);
#endif
        gemm_epilogue ep = { NULL, 0, residual ? residual + oh * g->out_width : NULL, 0, *act };
        cpu_epilogue_isa(isa, row, 1, g->out_width, g->out_width, &ep, 0, 0);
    }
}

typedef struct {
    const conv_geometry *g;
    const float *x, *w, *b, *residual;
    const act_params *act;
    float *y;
    int isa;
    int64_t oh0, oh1; /* the output rows computed */
} dw_job;

static void dw_task(void *arg, int64_t begin, int64_t end, int thread) {
    const dw_job *job = arg;
    const conv_geometry *g = job->g;
    (void)thread;
    int64_t mult = g->out_channels / g->channels, taps = g->kernel_h * g->kernel_w;
    int64_t in_plane = g->height * g->width, out_plane = g->out_height * g->out_width;
#if defined(__x86_64__)
    if (job->isa == CPU_ISA_AVX512 && plane_fits_masked(g) && job->oh0 == 0 && job->oh1 == g->out_height) {
        /* narrow planes, each finished with the ones beside it: about 16 KiB of output at a time */
        masked_plan mp;
        plan_masked(g, &mp);
        /* relu and clip without a residual go into the store (as act_apply: relu maps NaN to 0, clip lets
         * it through, which max/min with the NaN second do); the rest is a pass over each group */
        const act_params *act = job->act;
        int clamp = job->residual ? GEMM_CLAMP_NONE
                    : act->kind == ACT_RELU ? GEMM_CLAMP_RELU
                    : act->kind == ACT_CLIP ? GEMM_CLAMP_CLIP : GEMM_CLAMP_NONE;
        int fused = !job->residual && (act->kind == ACT_NONE || clamp != GEMM_CLAMP_NONE);
        int64_t group = 4096 / out_plane + 1;
        for (int64_t i0 = begin; i0 < end; i0 += group) {
            int64_t i1 = end - i0 < group ? end : i0 + group;
            for (int64_t i = i0; i < i1; i++) {
                int64_t image = i / g->out_channels, o = i % g->out_channels;
                dw_plane p = { g, job->x + (image * g->channels + o / mult) * in_plane, job->w + o * taps,
                               job->b ? job->b[o] : 0.0f, clamp, act->min, act->max };
                plane_masked_avx512(&p, &mp, job->y + i * out_plane);
            }
            if (fused) continue;
            /* the planes are contiguous (and so is the residual): one row, not one short row per output row,
             * each with a scalar tail */
            int64_t n = (i1 - i0) * out_plane;
            gemm_epilogue ep = { NULL, 0, job->residual ? job->residual + i0 * out_plane : NULL, n, *job->act };
            cpu_epilogue_isa(job->isa, job->y + i0 * out_plane, 1, n, n, &ep, 0, 0);
        }
        return;
    }
#endif
    for (int64_t i = begin; i < end; i++) {
        int64_t image = i / g->out_channels, o = i % g->out_channels;
        dw_plane p = { g, job->x + (image * g->channels + o / mult) * in_plane, job->w + o * taps,
                       job->b ? job->b[o] : 0.0f, GEMM_CLAMP_NONE, 0.0f, 0.0f };
        plane(&p, job->isa, job->residual ? job->residual + i * out_plane : NULL, job->act, job->y + i * out_plane,
              job->oh0, job->oh1);
    }
}

void conv2d_depthwise_rows(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                           const float *residual, const act_params *act, float *y, int64_t oh0, int64_t oh1) {
    if (oh0 >= oh1) return;
    if (oh0 == 0 && oh1 == g->out_height && conv_depthwise_flat_fits(g, ctx->isa) && conv_depthwise_flat_wins(g)) {
        conv2d_depthwise_flat(ctx, g, x, w, b, residual, act, y);
        return;
    }
    int blocked = ctx->scratch && conv_depthwise_blocked_fits(g, ctx->isa);
    if (conv_depthwise_direct_fits(g, ctx->isa) && (!blocked || conv_depthwise_direct_wins(g))) {
        conv2d_depthwise_direct(ctx, g, x, w, b, residual, act, y, oh0, oh1);
        return;
    }
    if (blocked) {
        conv2d_depthwise_blocked(ctx, g, x, w, b, residual, act, y, oh0, oh1);
        return;
    }
    dw_job job = { g, x, w, b, residual, act, y, ctx->isa, oh0, oh1 };
    int64_t planes = g->batch * g->out_channels;
    int64_t work = (oh1 - oh0) * g->out_width * g->kernel_h * g->kernel_w;
    int64_t grain = work >= 4096 ? 1 : 4096 / (work + 1) + 1;
    pool_parallel_for(ctx->pool, planes, grain, dw_task, &job);
}

void conv2d_depthwise(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                      const float *residual, const act_params *act, float *y) {
    conv2d_depthwise_rows(ctx, g, x, w, b, residual, act, y, 0, g->out_height);
}
