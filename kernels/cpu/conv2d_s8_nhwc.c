/* conv2d_s8_nhwc.c — INT8 convolution (groups 1) of u8 NHWC input into f32 NCHW output: 1x1 stride-1 convolutions
 * read the input as the GEMM's A in place, others build columns by contiguous copies of C bytes per tap; the GEMM
 * stores each finished tile transposed into NCHW with the residual add and the activation (s8_store_nchw.c), or
 * requantized into u8 NHWC for the next INT8 convolution. */
#include <string.h>
#include "gemm_s8_internal.h"

static int64_t positions(const conv_s8_geometry *g) { return g->out_height * g->out_width; }
static int64_t reduction(const conv_s8_geometry *g) { return g->channels * g->kernel_h * g->kernel_w; }
static int64_t round64(int64_t x) { return (x + 63) / 64 * 64; }

/* The input itself is the GEMM's A: one output position per input position, one tap. */
static int reads_in_place(const conv_s8_geometry *g) {
    return g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 0 &&
           g->pad_w == 0;
}

int64_t cpu_conv2d_s8_nhwc_stride(int64_t channels) { return round64(channels); }

int64_t cpu_conv2d_s8_nhwc_input_stride(const conv_s8_geometry *g) {
    return reads_in_place(g) ? round64(g->channels) : g->channels;
}

size_t cpu_conv2d_s8_nhwc_workspace(const conv_s8_geometry *g) {
    return (size_t)(reads_in_place(g) ? 0 : positions(g) * round64(reduction(g)) + 64);
}

typedef struct {
    const conv_s8_geometry *g;
    const uint8_t *x; /* one image, [H, W, C], positions x_stride apart */
    int64_t x_stride;
    uint8_t *cols;    /* [positions, kh * kw * C], (i, j, c) order, rows ld_cols apart */
    int64_t ld_cols;
    uint8_t pad;
} nhwc_conv_job;

/* Columns of output rows [begin, end): per position and kernel row, the valid taps' bytes copied as one run when the
 * taps are adjacent (dilation 1), else one run of C bytes per tap; taps outside the image read as the zero point. */
static void columns_task(void *arg, int64_t begin, int64_t end, int thread) {
    const nhwc_conv_job *job = arg;
    const conv_s8_geometry *g = job->g;
    int64_t C = g->channels, kw = g->kernel_w, xs = job->x_stride;
    const uint8_t *x_end = job->x + g->height * g->width * xs;
    int short_rows = g->dilation_w == 1 && xs == C && kw * C <= 32 && (g->kernel_h - 1) * kw * C + 32 <= job->ld_cols;
    (void)thread;
    for (int64_t oh = begin; oh < end; oh++)
        for (int64_t ow = 0; ow < g->out_width; ow++) {
            uint8_t *row = job->cols + (oh * g->out_width + ow) * job->ld_cols;
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
                const uint8_t *src = job->x + (ih * g->width + iw0) * xs;
                if (short_rows && j_lo == 0 && j_hi == kw && src + 32 <= x_end) {
                    /* a whole kernel row of at most 32 bytes (the stem's 7 x 3): one fixed-size copy; its tail lands
                     * on the next kernel row's bytes (written after it) or the row's padding past K */
                    memcpy(dst, src, 32);
                    continue;
                }
                if (j_lo) memset(dst, job->pad, (size_t)(j_lo * C));
                if (g->dilation_w == 1 && xs == C) {
                    memcpy(dst + j_lo * C, src + j_lo * C, (size_t)((j_hi - j_lo) * C));
                } else {
                    for (int64_t j = j_lo; j < j_hi; j++) memcpy(dst + j * C, src + j * g->dilation_w * xs, (size_t)C);
                }
                if (j_hi < kw) memset(dst + j_hi * C, job->pad, (size_t)((kw - j_hi) * C));
            }
        }
}

/* Image b's GEMM input: x itself (1x1 stride 1) or its columns built into cols; *lda its row stride. */
static const uint8_t *gemm_input(cpu_ctx *ctx, const conv_s8_geometry *g, const uint8_t *x, int64_t x_stride,
                                 int64_t b, uint8_t pad, uint8_t *cols, int64_t *lda) {
    int64_t K = reduction(g), ld_cols = round64(K);
    nhwc_conv_job job = { g, x + b * g->height * g->width * x_stride, x_stride, cols, ld_cols, pad };
    if (reads_in_place(g)) {
        *lda = x_stride;
        return job.x;
    }
    thread_pool *pool = ctx->threads > 1 ? ctx->pool : NULL;
    pool_parallel_for(pool, g->out_height, 1 + 16384 / (g->out_width * K + 1), columns_task, &job);
    *lda = ld_cols;
    return cols;
}

static uint8_t *columns_of(void *workspace) { return (uint8_t *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63); }

/* Image b's part of a residual (copied; NULL members stay NULL). */
static gemm_s8_residual image_residual(const gemm_s8_residual *res, int64_t b, int64_t m, int64_t n) {
    gemm_s8_residual r = { NULL, 0, 0.0f, 0, NULL, 0, 0 };
    if (!res) return r;
    r = *res;
    if (r.q) r.q += b * m * r.ld;
    if (r.f32) r.f32 += b * n * m;
    return r;
}

void cpu_conv2d_s8_nhwc(cpu_ctx *ctx, const conv_s8_geometry *g, const uint8_t *x, int64_t x_stride,
                        const void *packed_w, const gemm_s8_epilogue *ep, const float *residual, act_params act, float *y,
                        const gemm_s8_residual *res_u8, void *workspace) {
    int64_t m = positions(g), n = g->out_channels, lda;
    if (m == 0 || n == 0) return;
    for (int64_t b = 0; b < g->batch; b++) {
        const uint8_t *a = gemm_input(ctx, g, x, x_stride, b, (uint8_t)ep->a_zero[0], columns_of(workspace), &lda);
        gemm_s8_residual r = image_residual(res_u8, b, m, g->out_channels);
        cpu_gemm_s8_nchw(ctx, m, a, lda, packed_w, y + b * n * m, m, ep, residual ? residual + b * n * m : NULL, act,
                         res_u8 ? &r : NULL);
    }
}

void cpu_conv2d_s8_nhwc_u8(cpu_ctx *ctx, const conv_s8_geometry *g, const uint8_t *x, int64_t x_stride,
                           const void *packed_w, const gemm_s8_epilogue *ep, uint8_t *y, int64_t y_stride,
                           const gemm_s8_residual *res_u8, void *workspace) {
    int64_t m = positions(g), lda;
    if (m == 0 || g->out_channels == 0) return;
    if (reads_in_place(g) && !(res_u8 && res_u8->f32 && !res_u8->f32_rows)) { /* the images' rows one after another */
        cpu_gemm_s8_whole_rows(ctx, g->batch * m, x, x_stride, packed_w, y, y_stride, ep, res_u8);
        return;
    }
    for (int64_t b = 0; b < g->batch; b++) {
        const uint8_t *a = gemm_input(ctx, g, x, x_stride, b, (uint8_t)ep->a_zero[0], columns_of(workspace), &lda);
        gemm_s8_residual r = image_residual(res_u8, b, m, g->out_channels);
        cpu_gemm_s8_whole_rows(ctx, m, a, lda, packed_w, y + b * m * y_stride, y_stride, ep, res_u8 ? &r : NULL);
    }
}

void cpu_conv2d_s8_nhwc_f32_rows(cpu_ctx *ctx, const conv_s8_geometry *g, const uint8_t *x, int64_t x_stride,
                                 const void *packed_w, const gemm_s8_epilogue *ep, float *y, void *workspace) {
    int64_t m = positions(g), n = g->out_channels, lda;
    if (m == 0 || n == 0) return;
    if (reads_in_place(g)) { /* the images' rows one after another */
        cpu_gemm_s8_whole_rows(ctx, g->batch * m, x, x_stride, packed_w, y, n, ep, NULL);
        return;
    }
    for (int64_t b = 0; b < g->batch; b++) {
        const uint8_t *a = gemm_input(ctx, g, x, x_stride, b, (uint8_t)ep->a_zero[0], columns_of(workspace), &lda);
        cpu_gemm_s8_whole_rows(ctx, m, a, lda, packed_w, y + b * m * n, n, ep, NULL);
    }
}
