/* conv2d_s8.c — INT8 convolution (groups 1) on the INT8 GEMM: per image, the u8 columns (a row of
 * C*kh*kw per output position, padding as the zero point), the GEMM with the fused epilogue, and the
 * [positions, out_channels] result transposed into NCHW. */
#include <string.h>
#include "gemm_s8_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static int64_t positions(const conv_s8_geometry *g) { return g->out_height * g->out_width; }
static int64_t reduction(const conv_s8_geometry *g) { return g->channels * g->kernel_h * g->kernel_w; }
static int64_t round64(int64_t x) { return (x + 63) / 64 * 64; }

size_t cpu_conv2d_s8_workspace(const conv_s8_geometry *g, int out_u8) {
    int64_t cols = positions(g) * reduction(g), out = positions(g) * g->out_channels * (out_u8 ? 1 : 4);
    return (size_t)(round64(cols) + round64(out) + 64);
}

typedef struct {
    const conv_s8_geometry *g;
    const uint8_t *x; /* one image */
    uint8_t *cols;
    uint8_t pad;
    const uint8_t *c; /* [positions, out_channels] */
    uint8_t *y;       /* one image */
    int64_t elem;
    int avx512;       /* the f32 transpose gathers 16 positions at a time */
} conv_job;

/* Rows of the columns for output rows [begin, end): per output row (whose ow_n x K bytes stay in cache),
 * one column k = (c, i, j) at a time, so that the input is read along its rows and the inner loop is a
 * plain strided copy. */
static void columns_task(void *arg, int64_t begin, int64_t end, int thread) {
    const conv_job *job = arg;
    const conv_s8_geometry *g = job->g;
    int64_t K = reduction(g), ow_n = g->out_width;
    for (int64_t oh = begin; oh < end; oh++)
        for (int64_t c = 0; c < g->channels; c++)
            for (int64_t i = 0; i < g->kernel_h; i++) {
                int64_t ih = oh * g->stride_h - g->pad_h + i * g->dilation_h;
                uint8_t *row = job->cols + oh * ow_n * K + (c * g->kernel_h + i) * g->kernel_w;
                if (ih < 0 || ih >= g->height) {
                    for (int64_t ow = 0; ow < ow_n; ow++) memset(row + ow * K, job->pad, (size_t)g->kernel_w);
                    continue;
                }
                for (int64_t j = 0; j < g->kernel_w; j++) {
                    int64_t shift = j * g->dilation_w - g->pad_w;
                    /* output columns whose input column is inside the row: [ow_lo, ow_hi) */
                    int64_t ow_lo = shift >= 0 ? 0 : (-shift + g->stride_w - 1) / g->stride_w;
                    int64_t ow_hi = g->width - shift <= 0 ? 0 : (g->width - shift - 1) / g->stride_w + 1;
                    if (ow_hi > ow_n) ow_hi = ow_n;
                    if (ow_lo > ow_hi) ow_lo = ow_hi;
                    uint8_t *dst = row + j;
                    const uint8_t *src = job->x + (c * g->height + ih) * g->width + shift;
                    for (int64_t ow = 0; ow < ow_lo; ow++) dst[ow * K] = job->pad;
                    for (int64_t ow = ow_lo; ow < ow_hi; ow++) dst[ow * K] = src[ow * g->stride_w];
                    for (int64_t ow = ow_hi; ow < ow_n; ow++) dst[ow * K] = job->pad;
                }
            }
}

#define TILE 32 /* the transpose's square tiles: 32 positions x 32 channels of C (4 KiB of f32) stay in L1 */

#if defined(__x86_64__)
/* y[o][p0 .. p1) = c[p0 .. p1)[o] for o in [o0, o1): 16 positions per gather (byte offsets p * n * 4 < 2^31 for
 * a tile), the rest one by one. */
__attribute__((target("avx512f"))) static void tile_f32_avx512(const float *c, float *y, int64_t n, int64_t m,
                                                               int64_t p0, int64_t p1, int64_t o0, int64_t o1) {
    __m512i rows = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                      _mm512_set1_epi32((int)n));
    for (int64_t o = o0; o < o1; o++) {
        int64_t p = p0;
        for (; p + 16 <= p1; p += 16) _mm512_storeu_ps(y + o * m + p, _mm512_i32gather_ps(rows, c + p * n + o, 4));
        for (; p < p1; p++) y[o * m + p] = c[p * n + o];
    }
}
#endif

/* Position tiles [begin, end) of the transpose into NCHW: per tile, every channel tile; each reads 32 rows of C
 * once (instead of one strided pass over all of C per channel) and writes 32-element runs of y. */
static void transpose_task(void *arg, int64_t begin, int64_t end, int thread) {
    const conv_job *job = arg;
    int64_t n = job->g->out_channels, m = positions(job->g);
    for (int64_t p0 = begin * TILE; p0 < end * TILE && p0 < m; p0 += TILE) {
        int64_t p1 = p0 + TILE < m ? p0 + TILE : m;
        for (int64_t o0 = 0; o0 < n; o0 += TILE) {
            int64_t o1 = o0 + TILE < n ? o0 + TILE : n;
            if (job->elem == 1) {
                for (int64_t o = o0; o < o1; o++)
                    for (int64_t p = p0; p < p1; p++) job->y[o * m + p] = job->c[p * n + o];
            } else {
                float *y = (float *)job->y;
#if defined(__x86_64__)
                if (job->avx512 && n * TILE < (int64_t)1 << 28) {
                    tile_f32_avx512((const float *)job->c, y, n, m, p0, p1, o0, o1);
                    continue;
                }
#endif
                const float *c = (const float *)job->c;
                for (int64_t o = o0; o < o1; o++)
                    for (int64_t p = p0; p < p1; p++) y[o * m + p] = c[p * n + o];
            }
        }
    }
}

void cpu_conv2d_s8(cpu_ctx *ctx, const conv_s8_geometry *g, const uint8_t *x, const void *packed_w,
                   const gemm_s8_epilogue *ep, void *y, void *workspace) {
    int64_t m = positions(g), K = reduction(g), elem = ep->out_u8 ? 1 : (int64_t)sizeof(float);
    if (m == 0 || g->out_channels == 0) return;
    uint8_t *cols = (uint8_t *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63), *c = cols + round64(m * K);
    thread_pool *pool = ctx->threads > 1 ? ctx->pool : NULL;
    for (int64_t b = 0; b < g->batch; b++) {
        conv_job job = { g, x + b * g->channels * g->height * g->width, cols, (uint8_t)ep->a_zero[0], c,
                         (uint8_t *)y + (size_t)(b * g->out_channels * m * elem), elem, ctx->isa >= CPU_ISA_AVX512 };
        pool_parallel_for(pool, g->out_height, 1 + 16384 / (g->out_width * K + 1), columns_task, &job);
        cpu_gemm_s8(ctx, m, cols, K, packed_w, c, g->out_channels, ep);
        pool_parallel_for(pool, (m + TILE - 1) / TILE, 1 + 16384 / (TILE * g->out_channels), transpose_task, &job);
    }
}
