/* conv2d_depthwise_direct.c — AVX-512 depthwise 3x3 / 5x5 convolution on NCHW planes: rows vectorized along W,
 * several output rows per pass so each input row's loads serve every tap that reads it, masked edges (stride 1)
 * or rows deinterleaved once into even/odd halves (stride 2), the activation fused into the store; no transposes. */
#include "conv2d.h"
#include "gemm_internal.h"

#define ROWS 4 /* output rows per pass */

/* Floats of one deinterleaved input row half (stride 2): the output width rounded up to the passes' 32 columns
 * plus one vector, for the taps right of the last output column. */
static int64_t half_floats(const conv_geometry *g) { return (g->out_width + 31) / 32 * 32 + 16; }

static int64_t stride2_rows(const conv_geometry *g) { return 2 * (ROWS - 1) + g->kernel_h; }

int conv_depthwise_direct_fits(const conv_geometry *g, int isa) {
    int64_t k = g->kernel_h;
    return isa == CPU_ISA_AVX512 && (k == 3 || k == 5) && g->kernel_w == k && g->stride_h == g->stride_w &&
           (g->stride_w == 1 || g->stride_w == 2) && g->dilation_h == 1 && g->dilation_w == 1 &&
           g->out_channels % g->channels == 0 && g->out_height > 0 && g->out_width > 0 &&
           (stride2_rows(g) * 2 * half_floats(g) + 16) * (int64_t)sizeof(float) <= (int64_t)CPU_SCRATCH_BYTES;
}

#if defined(__x86_64__)
#include <immintrin.h>
#include "sigmoid_avx512.h"
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

/* Lanes [a, b) of 16 (none when b <= a). */
static inline __mmask16 lanes(int64_t a, int64_t b) {
    a = a < 0 ? 0 : a;
    b = b > 16 ? 16 : b;
    return b > a ? (__mmask16)(((1u << b) - 1) & ~((1u << a) - 1)) : 0;
}

/* One plane's pass: its input x (h x w), taps wk, output rows from oh. */
typedef struct {
    const conv_geometry *g;
    const float *x, *wk;
    float *y;
    __m512 bias, lo, hi;
    int clamp;
    float *half; /* stride 2: stride2_rows(g) rows of [even half][odd half], half_floats(g) each */
} dw_pass;

AVX512 static inline __attribute__((always_inline)) void store(const dw_pass *p, __m512 v, float *dst, __mmask16 m) {
    if (p->clamp == GEMM_CLAMP_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
    else if (p->clamp == GEMM_CLAMP_CLIP) v = _mm512_min_ps(p->hi, _mm512_max_ps(p->lo, v));
    else if (p->clamp == GEMM_CLAMP_SILU) v = silu_avx512(v);
    else if (p->clamp == GEMM_CLAMP_SIGMOID) v = sigmoid_avx512(v);
    _mm512_mask_storeu_ps(dst, m, v);
}

/* Stride 1: output rows [oh, oh + R), columns [ow, ow + 32) (two vectors, the last columns masked). Input row i
 * of the pass (oh - pad_h + i) is loaded once per tap column and added into every output row that reads it, so
 * each output's taps still come in the order kh, kw: the same sums whatever R is. */
AVX512 static inline __attribute__((always_inline)) void pass_s1(const dw_pass *p, int64_t oh, int64_t ow, int R,
                                                                 int K) {
    const conv_geometry *g = p->g;
    int64_t width = g->width, out_w = g->out_width;
    __mmask16 m[2][5], store_m[2];
    for (int v = 0; v < 2; v++) {
        int64_t c0 = ow + 16 * v;
        store_m[v] = lanes(0, out_w - c0);
        for (int kw = 0; kw < K; kw++) {
            int64_t s = c0 - g->pad_w + kw; /* input column of lane 0 */
            m[v][kw] = store_m[v] ? lanes(-s, width - s) : 0;
        }
    }
    __m512 acc[ROWS][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = p->bias;
    for (int i = 0; i < R + K - 1; i++) {
        int64_t ih = oh - g->pad_h + i;
        if (ih < 0 || ih >= g->height) continue;
        const float *xr = p->x + ih * width + ow - g->pad_w;
        for (int kw = 0; kw < K; kw++) {
            __m512 x0 = _mm512_maskz_loadu_ps(m[0][kw], xr + kw), x1 = _mm512_maskz_loadu_ps(m[1][kw], xr + 16 + kw);
            for (int r = 0; r < R; r++) {
                int kh = i - r;
                if (kh < 0 || kh >= K) continue;
                __m512 wt = _mm512_set1_ps(p->wk[kh * K + kw]);
                acc[r][0] = _mm512_fmadd_ps(wt, x0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(wt, x1, acc[r][1]);
            }
        }
    }
    for (int r = 0; r < R; r++) {
        float *yr = p->y + (oh + r) * out_w + ow;
        store(p, acc[r][0], yr, store_m[0]);
        if (store_m[1]) store(p, acc[r][1], yr + 16, store_m[1]);
    }
}

/* Stride 2: input rows [2*oh - pad_h, + rows) split into their even and odd padded columns (padded column q =
 * input column q - pad_w, zero outside the row), so that tap kw of output column ow reads half kw % 2 at
 * ow + kw / 2 with a plain load. Rows outside the input are not filled (the passes skip them). */
AVX512 static void deinterleave(const dw_pass *p, int64_t oh, int64_t rows) {
    const conv_geometry *g = p->g;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    int64_t hf = half_floats(g), width = g->width;
    for (int64_t i = 0; i < rows; i++) {
        int64_t ih = 2 * oh - g->pad_h + i;
        if (ih < 0 || ih >= g->height) continue;
        const float *xr = p->x + ih * width;
        float *e = p->half + i * 2 * hf, *o = e + hf;
        for (int64_t q = 0; q < hf; q += 16) {
            int64_t s = 2 * q - g->pad_w; /* input column of the pair's first float */
            __m512 a = _mm512_maskz_loadu_ps(lanes(-s, width - s), xr + s);
            __m512 b = _mm512_maskz_loadu_ps(lanes(-(s + 16), width - (s + 16)), xr + s + 16);
            _mm512_storeu_ps(e + q, _mm512_permutex2var_ps(a, even, b));
            _mm512_storeu_ps(o + q, _mm512_permutex2var_ps(a, odd, b));
        }
    }
}

/* Stride 2: output rows [oh, oh + R), columns [ow, ow + 32), from the rows deinterleave(p, oh, ...) filled. Taps
 * in the order kh, kw for each output, as pass_s1. */
AVX512 static inline __attribute__((always_inline)) void pass_s2(const dw_pass *p, int64_t oh, int64_t ow, int R,
                                                                 int K) {
    const conv_geometry *g = p->g;
    int64_t hf = half_floats(g), out_w = g->out_width;
    __mmask16 store_m[2] = { lanes(0, out_w - ow), lanes(0, out_w - ow - 16) };
    __m512 acc[ROWS][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = p->bias;
    for (int i = 0; i < 2 * (R - 1) + K; i++) {
        int64_t ih = 2 * oh - g->pad_h + i;
        if (ih < 0 || ih >= g->height) continue;
        const float *row = p->half + i * 2 * hf + ow;
        for (int kw = 0; kw < K; kw++) {
            const float *src = row + (kw & 1) * hf + kw / 2;
            __m512 x0 = _mm512_loadu_ps(src), x1 = _mm512_loadu_ps(src + 16);
            for (int r = 0; r < R; r++) {
                int kh = i - 2 * r;
                if (kh < 0 || kh >= K) continue;
                __m512 wt = _mm512_set1_ps(p->wk[kh * K + kw]);
                acc[r][0] = _mm512_fmadd_ps(wt, x0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(wt, x1, acc[r][1]);
            }
        }
    }
    for (int r = 0; r < R; r++) {
        float *yr = p->y + (oh + r) * out_w + ow;
        store(p, acc[r][0], yr, store_m[0]);
        if (store_m[1]) store(p, acc[r][1], yr + 16, store_m[1]);
    }
}

/* Output rows [oh0, oh1) of one plane: ROWS at a time, then one at a time; kernel size and stride constant. */
AVX512 static inline __attribute__((always_inline)) void plane_rows(const dw_pass *p, int64_t oh0, int64_t oh1, int K,
                                                                    int S) {
    int64_t out_w = p->g->out_width;
    int64_t oh = oh0;
    for (; oh < oh1; oh += ROWS) {
        int R = oh1 - oh >= ROWS ? ROWS : 1;
        if (S == 2) deinterleave(p, oh, 2 * (R - 1) + K);
        for (int64_t ow = 0; ow < out_w; ow += 32) {
            if (R == ROWS) S == 1 ? pass_s1(p, oh, ow, ROWS, K) : pass_s2(p, oh, ow, ROWS, K);
            else S == 1 ? pass_s1(p, oh, ow, 1, K) : pass_s2(p, oh, ow, 1, K);
        }
        if (R == 1) oh += 1 - ROWS;
    }
}

AVX512 static void plane_3s1(const dw_pass *p, int64_t a, int64_t b) { plane_rows(p, a, b, 3, 1); }
AVX512 static void plane_3s2(const dw_pass *p, int64_t a, int64_t b) { plane_rows(p, a, b, 3, 2); }
AVX512 static void plane_5s1(const dw_pass *p, int64_t a, int64_t b) { plane_rows(p, a, b, 5, 1); }
AVX512 static void plane_5s2(const dw_pass *p, int64_t a, int64_t b) { plane_rows(p, a, b, 5, 2); }

typedef struct {
    const conv_geometry *g;
    const float *x, *w, *b, *residual;
    const act_params *act;
    float *y;
    uint8_t *scratch;
    int isa, clamp, fused;
    int64_t row_parts, part_rows; /* each plane's rows [oh_begin, oh_end) split in row_parts tasks of part_rows */
    int64_t oh_begin, oh_end;
} direct_job;

AVX512 static void direct_task(void *arg, int64_t begin, int64_t end, int thread) {
    const direct_job *job = arg;
    const conv_geometry *g = job->g;
    int64_t mult = g->out_channels / g->channels, taps = g->kernel_h * g->kernel_w;
    int64_t in_plane = g->height * g->width, out_plane = g->out_height * g->out_width;
    float *half = (float *)(((uintptr_t)(job->scratch + (size_t)thread * CPU_SCRATCH_BYTES) + 63) & ~(uintptr_t)63);
    void (*run)(const dw_pass *, int64_t, int64_t) =
        g->kernel_h == 3 ? (g->stride_h == 1 ? plane_3s1 : plane_3s2) : (g->stride_h == 1 ? plane_5s1 : plane_5s2);
    const act_params *act = job->act;
    for (int64_t t = begin; t < end; t++) {
        int64_t i = t / job->row_parts, part = t % job->row_parts; /* plane i: image i / C_out, channel i % C_out */
        int64_t oh0 = job->oh_begin + part * job->part_rows;
        int64_t oh1 = job->oh_end - oh0 < job->part_rows ? job->oh_end : oh0 + job->part_rows;
        if (oh0 >= oh1) continue;
        int64_t image = i / g->out_channels, o = i % g->out_channels;
        dw_pass p = { g, job->x + (image * g->channels + o / mult) * in_plane, job->w + o * taps,
                      job->y + i * out_plane, _mm512_set1_ps(job->b ? job->b[o] : 0.0f), _mm512_set1_ps(act->min),
                      _mm512_set1_ps(act->max), job->clamp, half };
        run(&p, oh0, oh1);
        if (!job->fused) {
            int64_t at = i * out_plane + oh0 * g->out_width, n = (oh1 - oh0) * g->out_width;
            gemm_epilogue ep = { NULL, 0, job->residual ? job->residual + at : NULL, n, *act };
            cpu_epilogue_isa(job->isa, job->y + at, 1, n, n, &ep, 0, 0);
        }
    }
}

void conv2d_depthwise_direct(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                             const float *residual, const act_params *act, float *y, int64_t oh0, int64_t oh1) {
    if (oh0 >= oh1) return;
    /* relu, clip, silu and sigmoid without a residual go into the store (NaN as act_apply: relu 0, clip NaN) */
    int clamp = residual ? GEMM_CLAMP_NONE
                : act->kind == ACT_RELU ? GEMM_CLAMP_RELU
                : act->kind == ACT_CLIP ? GEMM_CLAMP_CLIP
                : act->kind == ACT_SILU ? GEMM_CLAMP_SILU
                : act->kind == ACT_SIGMOID ? GEMM_CLAMP_SIGMOID : GEMM_CLAMP_NONE;
    int fused = !residual && (act->kind == ACT_NONE || clamp != GEMM_CLAMP_NONE);
    /* at least four tasks per thread: planes split by rows (multiples of ROWS) when there are too few */
    int64_t planes = g->batch * g->out_channels, threads = ctx->threads > 1 ? ctx->threads : 1, rows = oh1 - oh0;
    int64_t parts = threads > 1 && planes < 4 * threads ? (4 * threads + planes - 1) / planes : 1;
    int64_t part_rows = (rows + parts - 1) / parts;
    part_rows = (part_rows + ROWS - 1) / ROWS * ROWS;
    parts = (rows + part_rows - 1) / part_rows;
    direct_job job = { g, x, w, b, residual, act, y, ctx->scratch, ctx->isa, clamp, fused, parts, part_rows, oh0, oh1 };
    int64_t work = part_rows * g->out_width * g->kernel_h * g->kernel_w;
    pool_parallel_for(ctx->pool, planes * parts, work >= 8192 ? 1 : 8192 / (work + 1) + 1, direct_task, &job);
}

#else

void conv2d_depthwise_direct(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                             const float *residual, const act_params *act, float *y, int64_t oh0, int64_t oh1) {
    (void)ctx, (void)g, (void)x, (void)w, (void)b, (void)residual, (void)act, (void)y, (void)oh0, (void)oh1;
}

#endif
