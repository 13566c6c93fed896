/* conv2d_s8_nhwc.c — INT8 convolution (groups 1) of u8 NHWC input into f32 NCHW output: 1x1 stride-1 convolutions
 * read the input as the GEMM's A in place, others build columns by contiguous copies of C bytes per tap; the GEMM's
 * [positions, out_channels] result goes to NCHW in one pass of 16x16 in-register transposes with the residual add
 * and the activation fused. */
#include <string.h>
#include "gemm_internal.h"
#include "gemm_s8_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define TILE 16

static int64_t positions(const conv_s8_geometry *g) { return g->out_height * g->out_width; }
static int64_t reduction(const conv_s8_geometry *g) { return g->channels * g->kernel_h * g->kernel_w; }
static int64_t round64(int64_t x) { return (x + 63) / 64 * 64; }

/* The input itself is the GEMM's A: one output position per input position, one tap. */
static int reads_in_place(const conv_s8_geometry *g) {
    return g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 0 &&
           g->pad_w == 0;
}

size_t cpu_conv2d_s8_nhwc_workspace(const conv_s8_geometry *g) {
    int64_t cols = reads_in_place(g) ? 0 : positions(g) * reduction(g);
    return (size_t)(round64(cols) + round64(positions(g) * g->out_channels * (int64_t)sizeof(float)) + 64);
}

typedef struct {
    const conv_s8_geometry *g;
    const uint8_t *x; /* one image, [H, W, C] */
    uint8_t *cols;    /* [positions, kh * kw * C], (i, j, c) order */
    uint8_t pad;
    const float *c;   /* [positions, out_channels] */
    const float *residual; /* NULL, or one image of y's shape */
    act_params act;        /* applied here (after the residual); ACT_NONE when the GEMM applied it */
    float *y;              /* one image, NCHW */
    int isa;
} nhwc_conv_job;

/* Columns of output rows [begin, end): per position and kernel row, the valid taps' bytes copied as one run when the
 * taps are adjacent (dilation 1), else one run of C bytes per tap; taps outside the image read as the zero point. */
static void columns_task(void *arg, int64_t begin, int64_t end, int thread) {
    const nhwc_conv_job *job = arg;
    const conv_s8_geometry *g = job->g;
    int64_t C = g->channels, K = reduction(g), kw = g->kernel_w;
    (void)thread;
    for (int64_t oh = begin; oh < end; oh++)
        for (int64_t ow = 0; ow < g->out_width; ow++) {
            uint8_t *row = job->cols + (oh * g->out_width + ow) * K;
            int64_t iw0 = ow * g->stride_w - g->pad_w;
            /* taps j in [j_lo, j_hi) fall inside the row: iw0 + j * dilation in [0, width) */
            int64_t j_lo = iw0 >= 0 ? 0 : (-iw0 + g->dilation_w - 1) / g->dilation_w;
            int64_t j_hi = g->width - iw0 <= 0 ? 0 : (g->width - iw0 - 1) / g->dilation_w + 1;
            if (j_hi > kw) j_hi = kw;
            if (j_lo > j_hi) j_lo = j_hi;
            for (int64_t i = 0; i < g->kernel_h; i++) {
                uint8_t *dst = row + i * kw * C;
                int64_t ih = oh * g->stride_h - g->pad_h + i * g->dilation_h;
                if (ih < 0 || ih >= g->height || j_lo == j_hi) {
                    memset(dst, job->pad, (size_t)(kw * C));
                    continue;
                }
                const uint8_t *src = job->x + (ih * g->width + iw0) * C;
                memset(dst, job->pad, (size_t)(j_lo * C));
                if (g->dilation_w == 1) {
                    memcpy(dst + j_lo * C, src + j_lo * C, (size_t)((j_hi - j_lo) * C));
                } else {
                    for (int64_t j = j_lo; j < j_hi; j++)
                        memcpy(dst + j * C, src + j * g->dilation_w * C, (size_t)C);
                }
                memset(dst + j_hi * C, job->pad, (size_t)((kw - j_hi) * C));
            }
        }
}

/* act on rows x cols of y (ldy apart) in place; none and relu are done by the callers' loops. */
static void other_act(const nhwc_conv_job *job, float *y, int64_t rows, int64_t cols, int64_t ldy) {
    gemm_epilogue ep;
    memset(&ep, 0, sizeof ep);
    ep.act = job->act;
    cpu_epilogue_isa(job->isa, y, rows, cols, ldy, &ep, 0, 0);
}

/* Output tile of positions [p0, p0 + np) x channels [o0, o0 + nc) one value at a time. */
static void tile_scalar(const nhwc_conv_job *job, int64_t p0, int64_t np, int64_t o0, int64_t nc) {
    int64_t n = job->g->out_channels, m = positions(job->g);
    for (int64_t o = o0; o < o0 + nc; o++) {
        float *y = job->y + o * m;
        for (int64_t p = p0; p < p0 + np; p++) {
            float v = job->c[p * n + o];
            if (job->residual) v += job->residual[o * m + p];
            if (job->act.kind == ACT_RELU) v = v > 0.0f ? v : 0.0f;
            y[p] = v;
        }
    }
}

#if defined(__x86_64__)
#define TARGET512 __attribute__((target("avx512f")))

/* r[i] (16 rows of 16 floats) transposed in place: four rounds of interleaving row i with row i + 8 into rows 2i and
 * 2i + 1 (each rotates the 8-bit index (row, column) left by one bit, so four swap row and column). */
TARGET512 static inline __attribute__((always_inline)) void transpose16_f32(__m512 r[16]) {
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int round = 0; round < 4; round++) {
        __m512 t[16];
        for (int i = 0; i < 8; i++) {
            t[2 * i] = _mm512_permutex2var_ps(r[i], lo, r[i + 8]);
            t[2 * i + 1] = _mm512_permutex2var_ps(r[i], hi, r[i + 8]);
        }
        for (int i = 0; i < 16; i++) r[i] = t[i];
    }
}

TARGET512 static void tile_avx512(const nhwc_conv_job *job, int64_t p0, int64_t np, int64_t o0, int64_t nc) {
    int64_t n = job->g->out_channels, m = positions(job->g);
    __mmask16 cm = (__mmask16)(nc == 16 ? 0xFFFF : (1u << nc) - 1), pm = (__mmask16)(np == 16 ? 0xFFFF : (1u << np) - 1);
    __m512 r[16];
    for (int k = 0; k < 16; k++)
        r[k] = k < np ? _mm512_maskz_loadu_ps(cm, job->c + (p0 + k) * n + o0) : _mm512_setzero_ps();
    transpose16_f32(r);
    for (int j = 0; j < nc; j++) {
        __m512 v = r[j];
        if (job->residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(pm, job->residual + (o0 + j) * m + p0));
        if (job->act.kind == ACT_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
        _mm512_mask_storeu_ps(job->y + (o0 + j) * m + p0, pm, v);
    }
}
#endif

/* Tiles [begin, end) of the output pass, channel tiles fastest. */
static void output_task(void *arg, int64_t begin, int64_t end, int thread) {
    const nhwc_conv_job *job = arg;
    int64_t n = job->g->out_channels, m = positions(job->g), o_tiles = (n + TILE - 1) / TILE;
    (void)thread;
    for (int64_t t = begin; t < end; t++) {
        int64_t p0 = t / o_tiles * TILE, o0 = t % o_tiles * TILE;
        int64_t np = m - p0 < TILE ? m - p0 : TILE, nc = n - o0 < TILE ? n - o0 : TILE;
#if defined(__x86_64__)
        if (job->isa >= CPU_ISA_AVX512) tile_avx512(job, p0, np, o0, nc);
        else
#endif
            tile_scalar(job, p0, np, o0, nc);
        if (job->act.kind != ACT_NONE && job->act.kind != ACT_RELU) other_act(job, job->y + o0 * m + p0, nc, np, m);
    }
}

void cpu_conv2d_s8_nhwc(cpu_ctx *ctx, const conv_s8_geometry *g, const uint8_t *x, const void *packed_w,
                        const gemm_s8_epilogue *ep, const float *residual, act_params act, float *y, void *workspace) {
    int64_t m = positions(g), K = reduction(g), n = g->out_channels;
    if (m == 0 || n == 0) return;
    int in_place = reads_in_place(g);
    uint8_t *cols = (uint8_t *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
    float *c = (float *)(cols + (in_place ? 0 : round64(m * K)));
    thread_pool *pool = ctx->threads > 1 ? ctx->pool : NULL;
    int64_t o_tiles = (n + TILE - 1) / TILE, tiles = (m + TILE - 1) / TILE * o_tiles;
    for (int64_t b = 0; b < g->batch; b++) {
        nhwc_conv_job job = { g,        x + b * g->height * g->width * g->channels, cols, (uint8_t)ep->a_zero[0], c,
                              residual ? residual + b * n * m : NULL, act, y + b * n * m, ctx->isa };
        if (!in_place) pool_parallel_for(pool, g->out_height, 1 + 16384 / (g->out_width * K + 1), columns_task, &job);
        cpu_gemm_s8(ctx, m, in_place ? job.x : cols, in_place ? g->channels : K, packed_w, c, n, ep);
        pool_parallel_for(pool, tiles, 1 + 8192 / (TILE * TILE), output_task, &job);
    }
}
