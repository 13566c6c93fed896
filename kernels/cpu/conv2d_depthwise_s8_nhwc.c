/* conv2d_depthwise_s8_nhwc.c — depthwise INT8 convolution from u8 NHWC to u8 NHWC, channels as vector lanes:
 * the packing, the scalar code and the driver (the vectors: conv2d_depthwise_s8_nhwc_x86.c). */
#include <string.h>
#include "conv2d_depthwise_s8_nhwc.h"


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

void dw_s8_nhwc_epilogue(const dw_job *job, int64_t c0, int64_t bw, float *scale, float *off, int32_t *start) {
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

const float *dw_s8_nhwc_block_terms(const dw_job *job, int64_t c0, int64_t bw, float *buf) {
    if (job->epilogues) return (const float *)job->epilogues + c0 * 3;
    dw_s8_nhwc_epilogue(job, c0, bw, buf, buf + bw, (int32_t *)(buf + 2 * bw));
    return buf;
}

static void rows_task(void *arg, int64_t begin, int64_t end, int thread) {
    const dw_job *job = arg;
#if defined(__x86_64__)
    for (int64_t r = begin; r < end && job->layout != LAYOUT_SCALAR; r += job->tile_rows) {
        int64_t r_end = end - r < job->tile_rows ? end : r + job->tile_rows;
        for (int64_t c0 = 0; c0 < job->g->channels; c0 += block_of(job->layout)) {
            if (job->layout == LAYOUT_AVX512) dw_s8_nhwc_block_avx512(job, c0, r, r_end);
            else dw_s8_nhwc_block_avx2(job, c0, r, r_end);
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
            dw_s8_nhwc_epilogue(&job, c0, block_of(job.layout), e + 3 * c0, e + 3 * c0 + block_of(job.layout),
                           (int32_t *)(e + 3 * c0 + 2 * block_of(job.layout)));
        job.epilogues = e;
        job.tile_rows = 1;
    }
    int64_t rows = g->batch * g->out_height, work = g->out_width * g->channels * taps;
    pool_parallel_for(ctx->threads > 1 ? ctx->pool : NULL, rows, work > 0 ? 65536 / work + 1 : rows, rows_task, &job);
}
