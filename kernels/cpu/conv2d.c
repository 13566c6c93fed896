/* conv2d.c — 2-D convolution (NCHW, f32): GEMM per group with the im2col columns packed straight from
 * the image (implicit GEMM, conv2d_pack.c), 1x1 convs on the image itself; depthwise apart. */
#include "conv2d.h"
#include "gemm_internal.h"
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

/* The columns are packed straight from the image (no im2col buffer): no workspace. */
size_t cpu_conv2d_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    (void)n, (void)in, (void)out, (void)threads;
    return 0;
}

typedef struct {
    const conv_geometry *g;
    const float *x, *w, *b, *residual;
    const act_params *act;
    float *y;
    cpu_ctx *ctx;
} conv_job;

/* One image: per group, y_g[Og, oh*ow] = w_g[Og, Cg*kh*kw] · columns_g + bias + residual. With
 * scratch NULL the GEMMs use the whole pool; otherwise they run serially on that scratch. */
static void conv_image(const conv_job *job, const float *x, const float *residual, float *y, uint8_t *scratch) {
    const conv_geometry *g = job->g;
    int64_t ohw = g->out_height * g->out_width, cg = g->channels / g->groups;
    int64_t kg = cg * g->kernel_h * g->kernel_w, og = g->out_channels / g->groups;
    for (int64_t gi = 0; gi < g->groups; gi++) {
        gemm_epilogue ep = { job->b ? job->b + gi * og : NULL, 1, residual ? residual + gi * og * ohw : NULL, ohw,
                             *job->act };
        const float *a = job->w + gi * og * kg, *xg = x + gi * cg * g->height * g->width;
        float *c = y + gi * og * ohw;
        if (is_pointwise(g)) {
            if (scratch) cpu_sgemm_serial(scratch, job->ctx->isa, 0, 0, og, ohw, kg, a, kg, xg, ohw, c, ohw, &ep);
            else cpu_sgemm(job->ctx, 0, 0, og, ohw, kg, a, kg, xg, ohw, c, ohw, &ep);
        } else {
            conv_columns cols = { g, xg };
            gemm_b_source source = { conv_pack_columns, &cols };
            gemm_sourced_b(job->ctx, scratch, job->ctx->isa, og, ohw, kg, a, kg, &source, c, ohw, &ep);
        }
    }
}

static void batch_task(void *arg, int64_t begin, int64_t end, int thread) {
    const conv_job *job = arg;
    const conv_geometry *g = job->g;
    int64_t in_image = g->channels * g->height * g->width;
    int64_t out_image = g->out_channels * g->out_height * g->out_width;
    uint8_t *scratch = job->ctx->scratch + (size_t)thread * CPU_SCRATCH_BYTES;
    for (int64_t i = begin; i < end; i++)
        conv_image(job, job->x + i * in_image, job->residual ? job->residual + i * out_image : NULL,
                   job->y + i * out_image, scratch);
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
    if (n->n_in > 2 && in[2].data && infer_tensor_elements(&in[2]) != out[0].dims[1])
        return infer_fail(err, INFER_ERR_SHAPE, "conv2d: bias has %lld values for %lld output channels",
                          (long long)infer_tensor_elements(&in[2]), (long long)out[0].dims[1]);
    if (n->n_in > 3 && in[3].data && infer_tensor_elements(&in[3]) != infer_tensor_elements(&out[0]))
        return infer_fail(err, INFER_ERR_SHAPE, "conv2d: residual has %lld elements, the output %lld",
                          (long long)infer_tensor_elements(&in[3]), (long long)infer_tensor_elements(&out[0]));
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
    conv_job job = { &g, in[0].data, in[1].data, bias, residual, &n->p.conv2d.act, out[0].data, ctx };
    if (batch_parallel(&g, ctx->threads)) {
        pool_parallel_for(ctx->pool, g.batch, 1, batch_task, &job);
        return INFER_OK;
    }
    int64_t in_image = g.channels * g.height * g.width, out_image = g.out_channels * g.out_height * g.out_width;
    for (int64_t i = 0; i < g.batch; i++)
        conv_image(&job, job.x + i * in_image, residual ? residual + i * out_image : NULL, job.y + i * out_image,
                   NULL);
    return INFER_OK;
}
