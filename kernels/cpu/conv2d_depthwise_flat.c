/* conv2d_depthwise_flat.c — AVX-512 depthwise 3x3 / 5x5 'same' convolution on small NCHW planes, no transposes:
 * stride 1 (planes of 17-256 values) as one flat run of vectors per plane, every tap one masked load at a fixed
 * offset; stride 2 (outputs of <= 8 columns) two output rows per vector, every tap one permute of two whole input
 * rows. Masks and permutes made once per call; two small planes at a time. */
#include "conv2d.h"
#include "gemm_internal.h"

#define FLAT_MAX_VECTORS 16 /* planes of at most 256 values */

/* The blocks below are unrolled whole, except under AddressSanitizer: clang's instrumentation of them took over 20
 * minutes per build (the same code without the pragmas: 11 s); the sums are the same either way. */
#if defined(__SANITIZE_ADDRESS__)
#define FLAT_NO_UNROLL 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLAT_NO_UNROLL 1
#endif
#endif
#define FLAT_PRAGMA(x) _Pragma(#x)
#ifdef FLAT_NO_UNROLL
#define FLAT_UNROLL(n)
#else
#define FLAT_UNROLL(n) FLAT_PRAGMA(GCC unroll n)
#endif

int conv_depthwise_flat_fits(const conv_geometry *g, int isa) {
    int64_t k = g->kernel_h, plane = g->height * g->width;
    if (isa != CPU_ISA_AVX512 || (k != 3 && k != 5) || g->kernel_w != k || g->stride_h != g->stride_w ||
        g->dilation_h != 1 || g->dilation_w != 1 || g->pad_h != k / 2 || g->pad_w != k / 2 ||
        g->out_channels % g->channels != 0 || g->out_height < 1 || g->out_width < 1)
        return 0;
    if (g->stride_w == 1) return plane > 16 && plane <= 16 * FLAT_MAX_VECTORS; /* then out = in */
    return g->stride_w == 2 && g->width <= 16 && g->out_width <= 8 && g->out_height <= 2 * FLAT_MAX_VECTORS;
}

/* Where the flat path beat the best of the direct and blocked ones (bench/dw_bench.c, 2 threads, bench/RESULTS.md
 * "flat depthwise"): outputs of <= 8 columns, 1.3-1.7x at stride 1 (7x7) and 1.45-1.85x at stride 2 (14 -> 7),
 * batch 1 and 8. At 14x14 stride 1 the direct path's row reuse wins (flat 0.75-1.06x). */
int conv_depthwise_flat_wins(const conv_geometry *g) {
    return g->out_width <= 8;
}

#if defined(__x86_64__)
#include <immintrin.h>
#include "depthwise_store_avx512.h"
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

/* What every plane of one call shares (made once per call): the masks of each vector's valid taps and each tap's offset. */
typedef struct {
    int64_t nv;                                  /* vectors per plane */
    int64_t height, width, pad;                  /* the input's (stride 2) */
    __m512i idx[5];                              /* stride 2, tap column kw: each lane's input column (+ 16: row b) */
    __mmask16 col[5], row;                       /* stride 2: lanes whose tap column kw is inside; a row's lanes */
    int64_t offset[25];                          /* tap kh * K + kw: input offset from the output position */
    __mmask16 mask[FLAT_MAX_VECTORS][25];        /* vector v, tap t: lanes whose input is inside the plane */
    __mmask16 store[FLAT_MAX_VECTORS];           /* lanes inside the plane */
    __m512 lo, hi;
    int clamp;
} flat_plan;

/* Stride 2: vector v holds output rows 2v (lanes [0, Wo)) and 2v + 1 (lanes [Wo, 2 Wo)); tap (kh, kw) reads input
 * rows a = 4v + kh - pad and b = a + 2, whole (one masked load each), lane l at column 2 (l mod Wo) + kw - pad. */
AVX512 static void plan_flat_s2(const conv_geometry *g, flat_plan *fp) {
    int64_t k = g->kernel_h, wo = g->out_width, ho = g->out_height;
    fp->nv = (ho + 1) / 2;
    fp->height = g->height, fp->width = g->width, fp->pad = k / 2;
    fp->row = (__mmask16)((1u << g->width) - 1);
    for (int64_t kw = 0; kw < k; kw++) {
        int32_t idx[16] = { 0 };
        fp->col[kw] = 0;
        for (int l = 0; l < 2 * wo; l++) {
            int64_t c = 2 * (l % wo) + kw - fp->pad;
            if (c < 0 || c >= g->width) continue;
            idx[l] = (int32_t)(l < wo ? c : 16 + c);
            fp->col[kw] |= (__mmask16)(1u << l);
        }
        fp->idx[kw] = _mm512_loadu_si512(idx);
    }
    for (int64_t v = 0; v < fp->nv; v++)
        fp->store[v] = (__mmask16)((1u << (2 * v + 1 < ho ? 2 * wo : wo)) - 1);
}

AVX512 static void plan_flat(const conv_geometry *g, const act_params *act, int clamp, flat_plan *fp) {
    int64_t k = g->kernel_h, pad = k / 2, h = g->height, w = g->width, plane = h * w;
    fp->lo = _mm512_set1_ps(act->min);
    fp->hi = _mm512_set1_ps(act->max);
    fp->clamp = clamp;
    if (g->stride_w == 2) {
        plan_flat_s2(g, fp);
        return;
    }
    fp->nv = (plane + 15) / 16;
    for (int64_t kh = 0; kh < k; kh++)
        for (int64_t kw = 0; kw < k; kw++) fp->offset[kh * k + kw] = (kh - pad) * w + (kw - pad);
    int64_t oh = 0, ow = 0; /* of position j = 16 v + l */
    for (int64_t v = 0; v < fp->nv; v++) {
        __mmask16 rows[5] = { 0 }, cols[5] = { 0 }; /* lanes whose input row (column) kh (kw) is inside */
        fp->store[v] = 0;
        for (int l = 0; l < 16 && 16 * v + l < plane; l++) {
            fp->store[v] |= (__mmask16)(1u << l);
            for (int64_t t = 0; t < k; t++) {
                if (oh + t - pad >= 0 && oh + t - pad < h) rows[t] |= (__mmask16)(1u << l);
                if (ow + t - pad >= 0 && ow + t - pad < w) cols[t] |= (__mmask16)(1u << l);
            }
            if (++ow == w) ow = 0, oh++;
        }
        for (int64_t kh = 0; kh < k; kh++)
            for (int64_t kw = 0; kw < k; kw++) fp->mask[v][kh * k + kw] = rows[kh] & cols[kw];
    }
}

/* Vectors [v0, v0 + NB) of NP planes (x[p], taps w[p], bias b[p], output y[p]): NP x NB accumulators, each
 * starting at its bias and taking the taps in the order kh, kw (as the direct and plane paths). */
AVX512 static inline __attribute__((always_inline)) void block(const flat_plan *fp, const float *const *x,
                                                               const float *const *w, const float *b, float *const *y,
                                                               int64_t v0, int NP, int NB, int K) {
    __m512 acc[2][8];
FLAT_UNROLL(2)
    for (int p = 0; p < NP; p++)
FLAT_UNROLL(8)
        for (int v = 0; v < NB; v++) acc[p][v] = _mm512_set1_ps(b[p]);
FLAT_UNROLL(25)
    for (int t = 0; t < K * K; t++) {
        int64_t off = fp->offset[t] + 16 * v0;
FLAT_UNROLL(8)
        for (int v = 0; v < NB; v++) {
            __mmask16 m = fp->mask[v0 + v][t];
FLAT_UNROLL(2)
            for (int p = 0; p < NP; p++)
                acc[p][v] = _mm512_fmadd_ps(_mm512_set1_ps(w[p][t]), _mm512_maskz_loadu_ps(m, x[p] + off + 16 * v),
                                            acc[p][v]);
        }
    }
FLAT_UNROLL(2)
    for (int p = 0; p < NP; p++)
FLAT_UNROLL(8)
        for (int v = 0; v < NB; v++) depthwise_store_avx512(fp->clamp, fp->lo, fp->hi, acc[p][v], y[p] + 16 * (v0 + v), fp->store[v0 + v]);
}

/* Stride 2, vectors [v0, v0 + NB) of NP planes (plan_flat_s2): per input row pair one masked load each, per tap one
 * permute of the pair; taps in the order kh, kw. Rows outside the plane load nothing (zeros). */
AVX512 static inline __attribute__((always_inline)) void block_s2(const flat_plan *fp, const float *const *x,
                                                                  const float *const *w, const float *b,
                                                                  float *const *y, int64_t v0, int NP, int NB, int K) {
    int64_t width = fp->width, out_w = __builtin_popcount(fp->store[0]) / 2;
    __m512 acc[2][4];
FLAT_UNROLL(2)
    for (int p = 0; p < NP; p++)
FLAT_UNROLL(4)
        for (int v = 0; v < NB; v++) acc[p][v] = _mm512_set1_ps(b[p]);
FLAT_UNROLL(5)
    for (int kh = 0; kh < K; kh++)
FLAT_UNROLL(4)
        for (int v = 0; v < NB; v++) {
            int64_t ra = 4 * (v0 + v) + kh - fp->pad, rb = ra + 2;
            __mmask16 ma = ra >= 0 && ra < fp->height ? fp->row : 0, mb = rb >= 0 && rb < fp->height ? fp->row : 0;
            ra = ma ? ra : 0, rb = mb ? rb : 0;
FLAT_UNROLL(2)
            for (int p = 0; p < NP; p++) {
                __m512 a = _mm512_maskz_loadu_ps(ma, x[p] + ra * width), c = _mm512_maskz_loadu_ps(mb, x[p] + rb * width);
FLAT_UNROLL(5)
                for (int kw = 0; kw < K; kw++)
                    acc[p][v] = _mm512_fmadd_ps(_mm512_set1_ps(w[p][kh * K + kw]),
                                                _mm512_maskz_permutex2var_ps(fp->col[kw], a, fp->idx[kw], c), acc[p][v]);
            }
        }
FLAT_UNROLL(2)
    for (int p = 0; p < NP; p++)
FLAT_UNROLL(4)
        for (int v = 0; v < NB; v++)
            depthwise_store_avx512(fp->clamp, fp->lo, fp->hi, acc[p][v], y[p] + 2 * (v0 + v) * out_w, fp->store[v0 + v]);
}

/* Stride 2, NP whole planes: two planes of up to 4 vectors (8 output rows) at once, taller ones one at a time in
 * blocks of 4. */
AVX512 static inline __attribute__((always_inline)) void planes_s2(const flat_plan *fp, const float *const *x,
                                                                   const float *const *w, const float *b,
                                                                   float *const *y, int NP, int K) {
    int64_t nv = fp->nv;
    for (int64_t v0 = 0; v0 < nv; v0 += 4) {
        switch (nv - v0 < 4 ? nv - v0 : 4) {
        case 1: block_s2(fp, x, w, b, y, v0, NP, 1, K); break;
        case 2: block_s2(fp, x, w, b, y, v0, NP, 2, K); break;
        case 3: block_s2(fp, x, w, b, y, v0, NP, 3, K); break;
        default: block_s2(fp, x, w, b, y, v0, NP, 4, K); break;
        }
    }
}

/* NP whole planes: two planes of up to 4 vectors at once (8 accumulators), larger planes one at a time in blocks
 * of up to 8 vectors. */
AVX512 static inline __attribute__((always_inline)) void planes(const flat_plan *fp, const float *const *x,
                                                                const float *const *w, const float *b,
                                                                float *const *y, int NP, int K) {
    int64_t nv = fp->nv;
    if (NP == 2) {
        switch (nv) {
        case 2: block(fp, x, w, b, y, 0, 2, 2, K); return;
        case 3: block(fp, x, w, b, y, 0, 2, 3, K); return;
        default: block(fp, x, w, b, y, 0, 2, 4, K); return;
        }
    }
    for (int64_t v0 = 0; v0 < nv; v0 += 8) {
        switch (nv - v0 < 8 ? nv - v0 : 8) {
        case 1: block(fp, x, w, b, y, v0, 1, 1, K); break;
        case 2: block(fp, x, w, b, y, v0, 1, 2, K); break;
        case 3: block(fp, x, w, b, y, v0, 1, 3, K); break;
        case 4: block(fp, x, w, b, y, v0, 1, 4, K); break;
        case 5: block(fp, x, w, b, y, v0, 1, 5, K); break;
        case 6: block(fp, x, w, b, y, v0, 1, 6, K); break;
        case 7: block(fp, x, w, b, y, v0, 1, 7, K); break;
        default: block(fp, x, w, b, y, v0, 1, 8, K); break;
        }
    }
}

AVX512 static void planes_3x3_one(const flat_plan *fp, const float *const *x, const float *const *w, const float *b,
                                  float *const *y) { planes(fp, x, w, b, y, 1, 3); }
AVX512 static void planes_3x3_two(const flat_plan *fp, const float *const *x, const float *const *w, const float *b,
                                  float *const *y) { planes(fp, x, w, b, y, 2, 3); }
AVX512 static void planes_5x5_one(const flat_plan *fp, const float *const *x, const float *const *w, const float *b,
                                  float *const *y) { planes(fp, x, w, b, y, 1, 5); }
AVX512 static void planes_5x5_two(const flat_plan *fp, const float *const *x, const float *const *w, const float *b,
                                  float *const *y) { planes(fp, x, w, b, y, 2, 5); }
AVX512 static void planes_3x3_s2_one(const flat_plan *fp, const float *const *x, const float *const *w,
                                     const float *b, float *const *y) { planes_s2(fp, x, w, b, y, 1, 3); }
AVX512 static void planes_3x3_s2_two(const flat_plan *fp, const float *const *x, const float *const *w,
                                     const float *b, float *const *y) { planes_s2(fp, x, w, b, y, 2, 3); }
AVX512 static void planes_5x5_s2_one(const flat_plan *fp, const float *const *x, const float *const *w,
                                     const float *b, float *const *y) { planes_s2(fp, x, w, b, y, 1, 5); }
AVX512 static void planes_5x5_s2_two(const flat_plan *fp, const float *const *x, const float *const *w,
                                     const float *b, float *const *y) { planes_s2(fp, x, w, b, y, 2, 5); }

typedef void (*planes_fn)(const flat_plan *, const float *const *, const float *const *, const float *,
                          float *const *);

typedef struct {
    const conv_geometry *g;
    const float *x, *w, *b, *residual;
    const act_params *act;
    float *y;
    int isa, fused;
    flat_plan plan;
} flat_job;

AVX512 static void flat_task(void *arg, int64_t begin, int64_t end, int thread) {
    const flat_job *job = arg;
    const conv_geometry *g = job->g;
    int64_t mult = g->out_channels / g->channels, taps = g->kernel_h * g->kernel_w;
    int64_t in_plane = g->height * g->width, plane = g->out_height * g->out_width;
    (void)thread;
    const flat_plan *fp = &job->plan;
    int three = g->kernel_h == 3, s2 = g->stride_w == 2, pairs = fp->nv <= 4;
    planes_fn one = s2 ? (three ? planes_3x3_s2_one : planes_5x5_s2_one) : (three ? planes_3x3_one : planes_5x5_one);
    planes_fn two = s2 ? (three ? planes_3x3_s2_two : planes_5x5_s2_two) : (three ? planes_3x3_two : planes_5x5_two);
    for (int64_t i = begin; i < end;) {
        int np = pairs && end - i >= 2 ? 2 : 1;
        const float *x[2], *w[2];
        float b[2], *y[2];
        for (int p = 0; p < np; p++) { /* plane i + p: image (i + p) / C_out, channel (i + p) % C_out */
            int64_t image = (i + p) / g->out_channels, o = (i + p) % g->out_channels;
            x[p] = job->x + (image * g->channels + o / mult) * in_plane;
            w[p] = job->w + o * taps;
            b[p] = job->b ? job->b[o] : 0.0f;
            y[p] = job->y + (i + p) * plane;
        }
        (np == 2 ? two : one)(fp, x, w, b, y);
        i += np;
    }
    if (!job->fused) { /* the task's planes are contiguous, and so is the residual: one epilogue row */
        int64_t at = begin * plane, n = (end - begin) * plane;
        gemm_epilogue ep = { NULL, 0, job->residual ? job->residual + at : NULL, n, *job->act };
        cpu_epilogue_isa(job->isa, job->y + at, 1, n, n, &ep, 0, 0);
    }
}

void conv2d_depthwise_flat(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                           const float *residual, const act_params *act, float *y) {
    int fused, clamp = depthwise_store_clamp(act, residual != NULL, &fused);
    flat_job job = { .g = g, .x = x, .w = w, .b = b, .residual = residual, .act = act, .y = y, .isa = ctx->isa,
                     .fused = fused };
    plan_flat(g, act, clamp, &job.plan); /* the same for every plane */
    int64_t planes = g->batch * g->out_channels, work = g->out_height * g->out_width * g->kernel_h * g->kernel_w;
    pool_parallel_for(ctx->pool, planes, work >= 16384 ? 1 : 16384 / (work + 1) + 1, flat_task, &job);
}

#else

void conv2d_depthwise_flat(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                           const float *residual, const act_params *act, float *y) {
    (void)ctx, (void)g, (void)x, (void)w, (void)b, (void)residual, (void)act, (void)y;
}

#endif
