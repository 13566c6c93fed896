/* conv2d_depthwise_bf16_nhwc.c — depthwise conv2d inside a BF16 chain (runtime/cpu_bf16_chain.c): BF16 NHWC rows in
 * and out (positions cpu_bf16_nhwc_stride(C) values apart, zeros in the padding channels), FP32 products and sums
 * (the weights stay f32, prepacked per tap as channel vectors), bias and relu / clip on the sums, rounded to BF16 once.
 * The channels are the AVX-512 lanes; parallel over output rows. */
#include <string.h>
#include "conv2d.h"
#include "gemm_bf16.h"
#include "bf16_round.h"
#include "../../base/error.h"
#include "../../base/half.h"

int cpu_conv2d_depthwise_bf16_nhwc_takes(const ir_graph *g, const ir_node *n) {
    if (n->op != OP_CONV2D || !cpu_bf16_constant_weight(g, n, 1) || (n->n_in > 3 && n->in[3] != IR_NONE)) return 0;
    const ir_tensor *x = &g->tensors[n->in[0]], *w = &g->tensors[n->in[1]];
    const conv2d_params *p = &n->p.conv2d;
    if (x->dtype != INFER_F32 || x->ndim != 4 || w->ndim != 4 || x->dims[1] < 2 || p->groups != x->dims[1] ||
        w->dims[0] != x->dims[1] || w->dims[1] != 1 || w->dims[2] < 1 || w->dims[3] < 1)
        return 0;
    if (n->n_in > 2 && n->in[2] != IR_NONE && !cpu_bf16_constant_weight(g, n, 2)) return 0;
    if (p->stride[0] < 1 || p->stride[1] < 1 || p->dilation[0] < 1 || p->dilation[1] < 1 || p->padding[0] < 0 ||
        p->padding[1] < 0)
        return 0;
    return p->act.kind == ACT_NONE || p->act.kind == ACT_RELU || p->act.kind == ACT_CLIP;
}

static int prepacks_weight(const ir_node *n, int k) {
    return k == 1 || (k == 2 && n->n_in > 2 && n->in[2] != IR_NONE);
}

/* [taps][S] f32 weights then [S] f32 bias, S = the chain's stride of C; zeros past C. */
static size_t prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    (void)n, (void)isa;
    int64_t S = cpu_bf16_nhwc_stride(in[1].dims[0]);
    return (size_t)((in[1].dims[2] * in[1].dims[3] + 1) * S) * sizeof(float);
}

static void prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    (void)isa;
    int64_t C = in[1].dims[0], taps = in[1].dims[2] * in[1].dims[3], S = cpu_bf16_nhwc_stride(C);
    const float *w = in[1].data, *bias = n->n_in > 2 ? in[2].data : NULL;
    float *d = dst;
    memset(d, 0, (size_t)((taps + 1) * S) * sizeof(float));
    for (int64_t c = 0; c < C; c++) {
        for (int64_t t = 0; t < taps; t++) d[t * S + c] = w[c * taps + t];
        if (bias) d[taps * S + c] = bias[c];
    }
}

typedef struct {
    const conv_geometry *g;
    const uint16_t *x;
    uint16_t *y;
    const float *w; /* prepacked: [taps][S], then the bias [S] */
    int64_t S;
    act_params act;
} dw_job;

#if defined(__x86_64__)
/* Positions [ow0, ow1) of one output row, channels [c0, c0 + 16), kernel rows [i0, i1) inside the image, every
 * kernel column inside the row (the interior: no checks), KW taps per row at dilation 1 (weights in registers). */
#define DW_INTERIOR(KW)                                                                                              \
    TARGET512 static void dw_interior_##KW(const dw_job *job, const uint16_t *image, uint16_t *out, int64_t top,      \
                                           int64_t i0, int64_t i1, int64_t ow0, int64_t ow1, int64_t c0, __m512 lo,   \
                                           __m512 hi, __mmask16 live) {                                               \
        const conv_geometry *g = job->g;                                                                             \
        int64_t S = job->S, kh = g->kernel_h;                                                                        \
        int relu = job->act.kind == ACT_RELU, clip = job->act.kind == ACT_CLIP;                                      \
        __m512 wv[3][KW], bias = _mm512_loadu_ps(job->w + kh * KW * S + c0);                                         \
        for (int64_t i = i0; i < i1; i++)                                                                            \
            for (int j = 0; j < KW; j++) wv[i - i0][j] = _mm512_loadu_ps(job->w + (i * KW + j) * S + c0);            \
        for (int64_t ow = ow0; ow < ow1; ow++) {                                                                     \
            const uint16_t *base = image + (ow * g->stride_w - g->pad_w) * S + c0;                                   \
            __m512 acc = bias;                                                                                       \
            for (int64_t i = i0; i < i1; i++) {                                                                      \
                const uint16_t *row = base + (top + i * g->dilation_h) * g->width * S;                               \
                for (int j = 0; j < KW; j++)                                                                         \
                    acc = _mm512_fmadd_ps(widen_bf16_16(_mm256_loadu_si256((const __m256i *)(row + j * S))),         \
                                          wv[i - i0][j], acc);                                                       \
            }                                                                                                        \
            if (relu) acc = _mm512_max_ps(acc, _mm512_setzero_ps());                                                 \
            else if (clip) acc = _mm512_min_ps(hi, _mm512_max_ps(lo, acc));                                          \
            _mm256_storeu_si256((__m256i *)(out + ow * S + c0), round_bf16_16(_mm512_maskz_mov_ps(live, acc)));      \
        }                                                                                                            \
    }
DW_INTERIOR(3)

/* One output position, channels [c0, c0 + 16), every tap checked against the image. */
TARGET512 static void dw_edge(const dw_job *job, const uint16_t *image, uint16_t *out, int64_t top, int64_t ow,
                              int64_t c0, __m512 lo, __m512 hi, __mmask16 live) {
    const conv_geometry *g = job->g;
    int64_t S = job->S, kh = g->kernel_h, kw = g->kernel_w, left = ow * g->stride_w - g->pad_w;
    __m512 acc = _mm512_loadu_ps(job->w + kh * kw * S + c0);
    for (int64_t i = 0; i < kh; i++) {
        int64_t ih = top + i * g->dilation_h;
        if (ih < 0 || ih >= g->height) continue;
        const uint16_t *row = image + ih * g->width * S + c0;
        const float *wr = job->w + i * kw * S + c0;
        for (int64_t j = 0; j < kw; j++) {
            int64_t iw = left + j * g->dilation_w;
            if (iw < 0 || iw >= g->width) continue;
            __m512 v = widen_bf16_16(_mm256_loadu_si256((const __m256i *)(row + iw * S)));
            acc = _mm512_fmadd_ps(v, _mm512_loadu_ps(wr + j * S), acc);
        }
    }
    if (job->act.kind == ACT_RELU) acc = _mm512_max_ps(acc, _mm512_setzero_ps());
    else if (job->act.kind == ACT_CLIP) acc = _mm512_min_ps(hi, _mm512_max_ps(lo, acc));
    _mm256_storeu_si256((__m256i *)(out + ow * S + c0), round_bf16_16(_mm512_maskz_mov_ps(live, acc)));
}

/* Output rows [begin, end) of all images (row r: image r / out_height): 3-wide kernels at dilation 1 run their
 * interior positions on dw_interior_3, the rest (and other kernels) position by position. */
TARGET512 static void dw_rows(void *arg, int64_t begin, int64_t end, int thread) {
    const dw_job *job = arg;
    const conv_geometry *g = job->g;
    int64_t S = job->S, C = g->channels, kh = g->kernel_h, kw = g->kernel_w, dw = g->dilation_w;
    int clip = job->act.kind == ACT_CLIP;
    __m512 lo = _mm512_set1_ps(clip ? job->act.min : 0.0f), hi = _mm512_set1_ps(clip ? job->act.max : 0.0f);
    /* interior: ow with ow * stride - pad >= 0 and ow * stride - pad + (kw - 1) * dw < width */
    int64_t ow0 = (g->pad_w + g->stride_w - 1) / g->stride_w, span = g->width - (kw - 1) * dw + g->pad_w;
    int64_t ow1 = span <= 0 ? 0 : (span - 1) / g->stride_w + 1;
    if (ow1 > g->out_width) ow1 = g->out_width;
    if (ow0 > ow1) ow0 = ow1;
    int fast = kw == 3 && dw == 1 && kh <= 3;
    (void)thread;
    for (int64_t r = begin; r < end; r++) {
        int64_t b = r / g->out_height, oh = r % g->out_height, top = oh * g->stride_h - g->pad_h;
        const uint16_t *image = job->x + b * g->height * g->width * S;
        uint16_t *out = job->y + r * g->out_width * S;
        int64_t i0 = 0, i1 = kh; /* the kernel rows inside the image */
        while (i0 < kh && top + i0 * g->dilation_h < 0) i0++;
        while (i1 > i0 && top + (i1 - 1) * g->dilation_h >= g->height) i1--;
        for (int64_t c0 = 0; c0 < S; c0 += 16) {
            __mmask16 live = C - c0 >= 16 ? (__mmask16)0xffff : C > c0 ? (__mmask16)((1u << (C - c0)) - 1) : 0;
            if (!fast) {
                for (int64_t ow = 0; ow < g->out_width; ow++) dw_edge(job, image, out, top, ow, c0, lo, hi, live);
                continue;
            }
            for (int64_t ow = 0; ow < ow0; ow++) dw_edge(job, image, out, top, ow, c0, lo, hi, live);
            dw_interior_3(job, image, out, top, i0, i1, ow0, ow1, c0, lo, hi, live);
            for (int64_t ow = ow1; ow < g->out_width; ow++) dw_edge(job, image, out, top, ow, c0, lo, hi, live);
        }
    }
}
#else
static void dw_rows(void *arg, int64_t begin, int64_t end, int thread) {
    const dw_job *job = arg;
    const conv_geometry *g = job->g;
    int64_t S = job->S, C = g->channels, kh = g->kernel_h, kw = g->kernel_w;
    const float *bias = job->w + kh * kw * S;
    (void)thread;
    for (int64_t r = begin; r < end; r++) {
        int64_t b = r / g->out_height, oh = r % g->out_height;
        const uint16_t *image = job->x + b * g->height * g->width * S;
        uint16_t *out = job->y + r * g->out_width * S;
        for (int64_t ow = 0; ow < g->out_width; ow++)
            for (int64_t c = 0; c < S; c++) {
                float acc = bias[c];
                for (int64_t i = 0; i < kh; i++) {
                    int64_t ih = oh * g->stride_h - g->pad_h + i * g->dilation_h;
                    for (int64_t j = 0; j < kw && ih >= 0 && ih < g->height; j++) {
                        int64_t iw = ow * g->stride_w - g->pad_w + j * g->dilation_w;
                        if (iw >= 0 && iw < g->width) acc += bf16_to_float(image[(ih * g->width + iw) * S + c]) * job->w[(i * kw + j) * S + c];
                    }
                }
                out[ow * S + c] = c < C ? bf16_from_float(act_apply(&job->act, acc)) : 0;
            }
    }
}
#endif

static infer_status run(cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out, infer_error *err) {
    if (!ctx->prepacked || in[0].dtype != INFER_BF16 || out[0].dtype != INFER_BF16 || in[0].ndim != 4 ||
        out[0].ndim != 4 || in[1].ndim != 4 || in[0].dims[1] != in[1].dims[0] || out[0].dims[1] != in[0].dims[1] ||
        n->p.conv2d.groups != in[0].dims[1])
        return infer_fail(err, INFER_ERR_INTERNAL, "conv2d (depthwise, BF16 NHWC): not within a BF16 chain, or the "
                          "shapes changed since build");
    conv_geometry g;
    conv_geometry_of(n, in, out, &g);
    dw_job job = { &g, in[0].data, out[0].data, ctx->prepacked, cpu_bf16_nhwc_stride(g.channels), n->p.conv2d.act };
    int64_t rows = g.batch * g.out_height;
    if (rows == 0 || g.out_width == 0) return INFER_OK;
    int64_t grain = 1 + 8192 / (g.out_width * job.S * g.kernel_h * g.kernel_w + 1);
    pool_parallel_for(ctx->threads > 1 ? ctx->pool : NULL, rows, grain, dw_rows, &job);
    return INFER_OK;
}

/* run() reads the weights and bias only from its packed block (it refuses a run without one). */
static int packed_only(const void *packed, int isa) {
    (void)isa;
    return packed != NULL;
}

const cpu_kernel cpu_conv2d_depthwise_bf16_nhwc_kernel = {
    .storages = CPU_DENSE,
    .run = run,
    .prepack_input = prepacks_weight,
    .prepack_size = prepack_size,
    .prepack = prepack,
    .packed_only = packed_only,
};
