/* conv2d.c — 2-D convolution (NCHW, f32): im2col + GEMM per group, 1x1 convs straight to GEMM. */
#include <string.h>
#include "conv2d.h"
#include "../../runtime/error.h"

void conv_geometry_of(const ir_node *n, const infer_tensor *in, const infer_tensor *out, conv_geometry *g) {
    const conv2d_params *p = &n->p.conv2d;
    g->batch = in[0].dims[0];
    g->channels = in[0].dims[1];
    g->height = in[0].dims[2];
    g->width = in[0].dims[3];
    g->out_channels = out[0].dims[1];
    g->out_height = out[0].dims[2];
    g->out_width = out[0].dims[3];
    g->kernel_h = in[1].dims[2];
    g->kernel_w = in[1].dims[3];
    g->stride_h = p->stride[0];
    g->stride_w = p->stride[1];
    g->pad_h = p->padding[0];
    g->pad_w = p->padding[1];
    g->dilation_h = p->dilation[0];
    g->dilation_w = p->dilation[1];
    g->groups = p->groups;
}

int conv_is_depthwise(const conv_geometry *g) { return g->groups > 1 && g->groups == g->channels; }

/* 1x1, stride 1, no padding: the input image already is the GEMM's right-hand matrix. */
static int is_pointwise(const conv_geometry *g) {
    return g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 0 &&
           g->pad_w == 0;
}

/* With a batch of at least one image per thread, each thread convolves whole images. */
static int batch_parallel(const conv_geometry *g, int threads) { return threads > 1 && g->batch >= threads; }

static int64_t cols_floats(const conv_geometry *g) {
    return g->channels * g->kernel_h * g->kernel_w * g->out_height * g->out_width;
}

size_t cpu_conv2d_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    conv_geometry g;
    conv_geometry_of(n, in, out, &g);
    if (conv_is_depthwise(&g) || is_pointwise(&g)) return 0;
    return (size_t)cols_floats(&g) * sizeof(float) * (size_t)(batch_parallel(&g, threads) ? threads : 1);
}

/* Rows [r0, r1) of cols [C*kh*kw, oh*ow] for one image: row (c, i, j) holds input channel c seen
 * through kernel tap (i, j) at every output position, zero where the tap falls in the padding. */
static void im2col_rows(const conv_geometry *g, const float *x, float *cols, int64_t r0, int64_t r1) {
    int64_t taps = g->kernel_h * g->kernel_w, ow_n = g->out_width;
    for (int64_t r = r0; r < r1; r++) {
        int64_t c = r / taps, kh = r % taps / g->kernel_w, kw = r % g->kernel_w;
        const float *xc = x + c * g->height * g->width;
        float *dst = cols + r * g->out_height * ow_n;
        int64_t iw0 = kw * g->dilation_w - g->pad_w; /* input column of output column 0 */
        int64_t ow_lo = iw0 >= 0 ? 0 : (-iw0 + g->stride_w - 1) / g->stride_w;
        int64_t ow_hi = iw0 >= g->width ? 0 : (g->width - 1 - iw0) / g->stride_w + 1;
        if (ow_hi > ow_n) ow_hi = ow_n;
        if (ow_lo > ow_hi) ow_lo = ow_hi;
        for (int64_t oh = 0; oh < g->out_height; oh++, dst += ow_n) {
            int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
            if (ih < 0 || ih >= g->height) {
                memset(dst, 0, (size_t)ow_n * sizeof *dst);
                continue;
            }
            const float *src = xc + ih * g->width + iw0;
            for (int64_t ow = 0; ow < ow_lo; ow++) dst[ow] = 0.0f;
            if (g->stride_w == 1) memcpy(dst + ow_lo, src + ow_lo, (size_t)(ow_hi - ow_lo) * sizeof *dst);
            else
                for (int64_t ow = ow_lo; ow < ow_hi; ow++) dst[ow] = src[ow * g->stride_w];
            for (int64_t ow = ow_hi; ow < ow_n; ow++) dst[ow] = 0.0f;
        }
    }
}

typedef struct {
    const conv_geometry *g;
    const float *x, *w, *b, *residual;
    const act_params *act;
    float *y, *cols;
    cpu_ctx *ctx;
} conv_job;

static void im2col_task(void *arg, int64_t begin, int64_t end, int thread) {
    const conv_job *job = arg;
    (void)thread;
    im2col_rows(job->g, job->x, job->cols, begin, end);
}

/* One image: per group, y_g[Og, oh*ow] = w_g[Og, Cg*kh*kw] · cols_g + bias + residual. With scratch
 * NULL the GEMMs (and im2col) use the whole pool; otherwise they run serially on that scratch. */
static void conv_image(const conv_job *job, const float *x, const float *residual, float *y, float *cols,
                       uint8_t *scratch) {
    const conv_geometry *g = job->g;
    int64_t ohw = g->out_height * g->out_width, kg = g->channels / g->groups * g->kernel_h * g->kernel_w;
    int64_t og = g->out_channels / g->groups;
    const float *rhs = x;
    if (!is_pointwise(g)) {
        int64_t rows = g->channels * g->kernel_h * g->kernel_w;
        if (scratch) im2col_rows(g, x, cols, 0, rows);
        else {
            conv_job one = *job;
            one.x = x;
            one.cols = cols;
            int64_t grain = ohw >= 16384 ? 1 : 16384 / ohw;
            pool_parallel_for(job->ctx->pool, rows, grain, im2col_task, &one);
        }
        rhs = cols;
    }
    for (int64_t gi = 0; gi < g->groups; gi++) {
        gemm_epilogue ep = { job->b ? job->b + gi * og : NULL, 1, residual ? residual + gi * og * ohw : NULL, ohw,
                             *job->act };
        const float *a = job->w + gi * og * kg, *bm = rhs + gi * kg * ohw;
        float *c = y + gi * og * ohw;
        if (scratch) cpu_sgemm_serial(scratch, job->ctx->isa, 0, 0, og, ohw, kg, a, kg, bm, ohw, c, ohw, &ep);
        else cpu_sgemm(job->ctx, 0, 0, og, ohw, kg, a, kg, bm, ohw, c, ohw, &ep);
    }
}

static void batch_task(void *arg, int64_t begin, int64_t end, int thread) {
    const conv_job *job = arg;
    const conv_geometry *g = job->g;
    int64_t in_image = g->channels * g->height * g->width;
    int64_t out_image = g->out_channels * g->out_height * g->out_width;
    float *cols = job->cols ? job->cols + thread * cols_floats(g) : NULL;
    uint8_t *scratch = job->ctx->scratch + (size_t)thread * CPU_SCRATCH_BYTES;
    for (int64_t i = begin; i < end; i++)
        conv_image(job, job->x + i * in_image, job->residual ? job->residual + i * out_image : NULL,
                   job->y + i * out_image, cols, scratch);
}

static infer_status check_inputs(const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                 infer_error *err) {
    for (int k = 0; k < n->n_in && k < 4; k++)
        if (in[k].data && in[k].dtype != INFER_F32)
            return infer_fail(err, INFER_ERR_DTYPE, "conv2d: input %d is %s, expected f32", k,
                              infer_dtype_name(in[k].dtype));
    if (in[0].ndim != 4 || in[1].ndim != 4 || out[0].ndim != 4)
        return infer_fail(err, INFER_ERR_SHAPE, "conv2d: input, weight and output must be 4-D (got %d, %d, %d)",
                          in[0].ndim, in[1].ndim, out[0].ndim);
    const conv2d_params *p = &n->p.conv2d;
    int64_t groups = p->groups;
    if (groups < 1 || in[0].dims[1] % groups || out[0].dims[1] % groups || in[1].dims[0] != out[0].dims[1] ||
        in[1].dims[1] * groups != in[0].dims[1])
        return infer_fail(err, INFER_ERR_SHAPE, "conv2d: weight [%lld,%lld,...] does not fit %lld input channels, "
                          "%lld outputs and %lld groups", (long long)in[1].dims[0], (long long)in[1].dims[1],
                          (long long)in[0].dims[1], (long long)out[0].dims[1], (long long)groups);
    if (p->stride[0] < 1 || p->stride[1] < 1 || p->dilation[0] < 1 || p->dilation[1] < 1 || p->padding[0] < 0 ||
        p->padding[1] < 0)
        return infer_fail(err, INFER_ERR_ARGUMENT, "conv2d: bad stride (%d,%d), padding (%d,%d) or dilation (%d,%d)",
                          p->stride[0], p->stride[1], p->padding[0], p->padding[1], p->dilation[0], p->dilation[1]);
    if (out[0].dims[0] != in[0].dims[0])
        return infer_fail(err, INFER_ERR_SHAPE, "conv2d: output batch %lld differs from input batch %lld",
                          (long long)out[0].dims[0], (long long)in[0].dims[0]);
    return INFER_OK;
}

CPU_KERNEL(conv2d) {
    infer_status s = check_inputs(n, in, out, err);
    if (s != INFER_OK) return s;
    conv_geometry g;
    conv_geometry_of(n, in, out, &g);
    const float *bias = n->n_in > 2 ? in[2].data : NULL, *residual = n->n_in > 3 ? in[3].data : NULL;
    if (conv_is_depthwise(&g)) {
        conv2d_depthwise(ctx, &g, in[0].data, in[1].data, bias, residual, &n->p.conv2d.act, out[0].data);
        return INFER_OK;
    }
    size_t need = cpu_conv2d_workspace(n, in, out, ctx->threads);
    if (ctx->workspace_bytes < need)
        return infer_fail(err, INFER_ERR_INTERNAL, "conv2d: workspace of %zu bytes, %zu needed", ctx->workspace_bytes,
                          need);
    conv_job job = { &g, in[0].data, in[1].data, bias, residual, &n->p.conv2d.act, out[0].data,
                     need ? ctx->workspace : NULL, ctx };
    if (batch_parallel(&g, ctx->threads)) {
        pool_parallel_for(ctx->pool, g.batch, 1, batch_task, &job);
        return INFER_OK;
    }
    int64_t in_image = g.channels * g.height * g.width, out_image = g.out_channels * g.out_height * g.out_width;
    for (int64_t i = 0; i < g.batch; i++)
        conv_image(&job, job.x + i * in_image, residual ? residual + i * out_image : NULL, job.y + i * out_image,
                   job.cols, NULL);
    return INFER_OK;
}
