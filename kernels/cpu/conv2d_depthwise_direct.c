/* conv2d_depthwise_direct.c — AVX-512 depthwise 3x3 / 5x5 convolution on NCHW planes: rows vectorized along W,
 * several output rows per pass so each input row's loads serve every tap that reads it, masked edges, stride 2
 * by one permute per loaded pair of vectors, the activation fused into the store; no transposes. */
#include "conv2d.h"
#include "gemm_internal.h"

#define MAX_ROWS 7 /* output rows per pass: 4 of wide rows, 7 of narrow ones (PLANE) */

int conv_depthwise_direct_fits(const conv_geometry *g, int isa) {
    int64_t k = g->kernel_h;
    return isa == CPU_ISA_AVX512 && (k == 3 || k == 5) && g->kernel_w == k && g->stride_h == g->stride_w &&
           (g->stride_w == 1 || g->stride_w == 2) && g->dilation_h == 1 && g->dilation_w == 1 &&
           g->out_channels % g->channels == 0 && g->out_height > 0 && g->out_width > 0;
}

/* Where the direct path beat the channel-blocked one (bench/dw_bench.c, 2 threads, batch 1 and 8; bench/RESULTS.md
 * "Depthwise direct"): stride 1 from 14x14 up (1.2-3.4x), 3x3 stride 2 (1.0-1.65x). The blocked path stays for
 * outputs of at most 8 columns (its 16 channels per vector fill every lane; direct 0.8-1.2x), 5x5 stride 2 (five
 * permutes per loaded row; direct 0.85-1.0x) and stride-2 inputs past 32 MiB (mobilenet_v2's 96 @112 at batch 8,
 * read from memory: direct 0.75-0.85x). */
int conv_depthwise_direct_wins(const conv_geometry *g) {
    if (g->out_width <= 8) return 0;
    if (g->stride_w == 2 && g->kernel_w == 5) return 0;
    return g->stride_w == 1 || g->batch * g->channels * g->height * g->width * (int64_t)sizeof(float) < ((int64_t)32 << 20);
}

#if defined(__x86_64__)
#include <immintrin.h>
#include "depthwise_store_avx512.h"
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
#include "lanes_avx512.h"

/* One plane's pass: its input x (h x w), taps wk, output rows from oh. */
typedef struct {
    const conv_geometry *g;
    const float *x, *wk;
    float *y;
    __m512 bias, lo, hi;
    int clamp;
} dw_pass;

/* Output rows [oh, oh + R), columns [ow, ow + 16 NV) (the last columns masked), stride S. Input row i of the pass
 * (S oh - pad_h + i) is loaded once per tap column (stride 2: 32 floats, masked to the row, their even lanes gathered
 * by one permute) and added into every output row that reads it, so each output's taps still come in the order
 * kh, kw: the same sums whatever R and NV are. */
AVX512 static inline __attribute__((always_inline)) void pass(const dw_pass *p, int64_t oh, int64_t ow, int R, int NV,
                                                              int K, int S) {
    const conv_geometry *g = p->g;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t width = g->width, out_w = g->out_width;
    __mmask16 m_lo[2][5], m_hi[2][5], store_m[2];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) {
        int64_t c0 = ow + 16 * v;
        store_m[v] = lanes(0, out_w - c0);
#pragma GCC unroll 5
        for (int kw = 0; kw < K; kw++) {
            int64_t s = S * c0 - g->pad_w + kw; /* input column of lane 0 */
            m_lo[v][kw] = store_m[v] ? lanes(-s, width - s) : 0;
            m_hi[v][kw] = S == 2 && store_m[v] ? lanes(-(s + 16), width - (s + 16)) : 0;
        }
    }
    __m512 acc[MAX_ROWS][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[r][v] = p->bias;
#pragma GCC unroll 24
    for (int i = 0; i < S * (R - 1) + K; i++) {
        int64_t ih = S * oh - g->pad_h + i;
        if (ih < 0 || ih >= g->height) continue;
        const float *xr = p->x + ih * width + S * ow - g->pad_w;
#pragma GCC unroll 5
        for (int kw = 0; kw < K; kw++) {
            __m512 xv[2];
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) {
                const float *src = xr + 16 * S * v + kw;
                xv[v] = S == 1 ? _mm512_maskz_loadu_ps(m_lo[v][kw], src)
                               : _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m_lo[v][kw], src), even,
                                                        _mm512_maskz_loadu_ps(m_hi[v][kw], src + 16));
            }
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) {
                int kh = i - S * r;
                if (kh < 0 || kh >= K) continue;
                __m512 wt = _mm512_set1_ps(p->wk[kh * K + kw]);
#pragma GCC unroll 2
                for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(wt, xv[v], acc[r][v]);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++)
            if (v == 0 || store_m[v])
                depthwise_store_avx512(p->clamp, p->lo, p->hi, acc[r][v], p->y + (oh + r) * out_w + ow + 16 * v,
                                       store_m[v]);
}

/* Output rows [oh0, oh1) of one plane: R rows of 16 NV columns at a time, then the rows left one at a time;
 * kernel size, stride, R and NV constant. */
AVX512 static inline __attribute__((always_inline)) void plane_rows(const dw_pass *p, int64_t oh0, int64_t oh1, int K,
                                                                    int S, int R, int NV) {
    int64_t out_w = p->g->out_width, oh = oh0;
    for (; oh + R <= oh1; oh += R)
        for (int64_t ow = 0; ow < out_w; ow += 16 * NV) pass(p, oh, ow, R, NV, K, S);
    for (; oh < oh1; oh++)
        for (int64_t ow = 0; ow < out_w; ow += 16 * NV) pass(p, oh, ow, 1, NV, K, S);
}

/* Wide rows: 4 rows of 32 columns per pass; narrow rows (up to 16 columns): 7 rows of 16 (the planes of 7, 14,
 * 28 rows split without remainder). Either way 8 or 7 independent accumulators. */
#define PLANE(NAME, K, S)                                                                                  \
    AVX512 static void NAME(const dw_pass *p, int64_t a, int64_t b) {                                      \
        if (p->g->out_width > 16) plane_rows(p, a, b, K, S, 4, 2);                                         \
        else plane_rows(p, a, b, K, S, 7, 1);                                                              \
    }
PLANE(plane_3s1, 3, 1)
PLANE(plane_3s2, 3, 2)
PLANE(plane_5s1, 5, 1)
PLANE(plane_5s2, 5, 2)

typedef struct {
    const conv_geometry *g;
    const float *x, *w, *b, *residual;
    const act_params *act;
    float *y;
    int isa, clamp, fused;
    int64_t row_parts, part_rows; /* each plane's rows [oh_begin, oh_end) split in row_parts tasks of part_rows */
    int64_t oh_begin, oh_end;
} direct_job;

AVX512 static void direct_task(void *arg, int64_t begin, int64_t end, int thread) {
    const direct_job *job = arg;
    const conv_geometry *g = job->g;
    int64_t mult = g->out_channels / g->channels, taps = g->kernel_h * g->kernel_w;
    int64_t in_plane = g->height * g->width, out_plane = g->out_height * g->out_width;
    (void)thread;
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
                      _mm512_set1_ps(act->max), job->clamp };
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
    int fused, clamp = depthwise_store_clamp(act, residual != NULL, &fused);
    /* at least four tasks per thread: planes split by rows (multiples of a pass's rows) when there are too few */
    int64_t planes = g->batch * g->out_channels, threads = ctx->threads > 1 ? ctx->threads : 1, rows = oh1 - oh0;
    int64_t parts = threads > 1 && planes < 4 * threads ? (4 * threads + planes - 1) / planes : 1;
    int64_t part_rows = (rows + parts - 1) / parts;
    int64_t pass_rows = g->out_width > 16 ? 4 : 7;
    part_rows = (part_rows + pass_rows - 1) / pass_rows * pass_rows;
    parts = (rows + part_rows - 1) / part_rows;
    direct_job job = { g, x, w, b, residual, act, y, ctx->isa, clamp, fused, parts, part_rows, oh0, oh1 };
    int64_t work = part_rows * g->out_width * g->kernel_h * g->kernel_w;
    pool_parallel_for(ctx->pool, planes * parts, work >= 8192 ? 1 : 8192 / (work + 1) + 1, direct_task, &job);
}

#else

void conv2d_depthwise_direct(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                             const float *residual, const act_params *act, float *y, int64_t oh0, int64_t oh1) {
    (void)ctx, (void)g, (void)x, (void)w, (void)b, (void)residual, (void)act, (void)y, (void)oh0, (void)oh1;
}

#endif
