/* conv2d.c — 2-D convolution (NCHW, f32): GEMM per group with the im2col columns packed straight from
 * the image (implicit GEMM, conv2d_pack.c), 1x1 convs on the image itself; depthwise apart. */
#include <stdint.h>
#include <string.h>
#include "conv2d.h"
#include "conv2d_winograd.h"
#include "gemm_internal.h"
#include "sparse.h"
#include "s8_layer.h"
#include "../../base/error.h"

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

int conv_geometry_of_inputs(const ir_node *n, const infer_tensor *in, conv_geometry *g) {
    const conv2d_params *p = &n->p.conv2d;
    if (n->n_in < 2 || in[0].ndim != 4 || in[1].ndim != 4 || p->groups < 1 || p->stride[0] < 1 || p->stride[1] < 1 ||
        p->dilation[0] < 1 || p->dilation[1] < 1 || p->padding[0] < 0 || p->padding[1] < 0 ||
        in[1].dims[1] * p->groups != in[0].dims[1] || in[1].dims[0] % p->groups)
        return 0;
    int64_t oh = (in[0].dims[2] + 2 * (int64_t)p->padding[0] - (int64_t)p->dilation[0] * (in[1].dims[2] - 1) - 1) /
                     p->stride[0] + 1;
    int64_t ow = (in[0].dims[3] + 2 * (int64_t)p->padding[1] - (int64_t)p->dilation[1] * (in[1].dims[3] - 1) - 1) /
                     p->stride[1] + 1;
    if (oh < 1 || ow < 1) return 0;
    infer_tensor out = { INFER_F32, 4, { in[0].dims[0], in[1].dims[0], oh, ow }, NULL };
    conv_geometry_of(n, in, &out, g);
    return 1;
}

int conv_is_depthwise(const conv_geometry *g) { return g->groups > 1 && g->groups == g->channels; }

/* 1x1, stride 1, no padding: the input image already is the GEMM's right-hand matrix. */
static int is_pointwise(const conv_geometry *g) {
    return g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 0 &&
           g->pad_w == 0;
}

/* With a batch of at least one image per thread, each thread convolves whole images. */
static int batch_parallel(const conv_geometry *g, int threads) { return threads > 1 && g->batch >= threads; }

/* A batch runs as one GEMM over all its images' columns when each image has few output positions:
 * per image, the weights would stream from memory for a few columns each time, and the last of the
 * micro-kernel's column slivers would be mostly padding. Always below MERGE_FEW positions; up to
 * MERGE_MAX with weights of at least MERGE_WEIGHT_BYTES per group. Past that the merged result's
 * extra pass through memory (its scatter into NCHW) costs more than it saves (bench/conv_bench, one
 * thread, AVX-512: 2x2 to 7x7 outputs 1.3-3x faster; 8x8 and 16x16 with small weights 5-20% slower). */
#ifndef CONV_MERGE_FEW
#define CONV_MERGE_FEW 64
#endif
#define CONV_MERGE_MAX 256
#define CONV_MERGE_WEIGHT_BYTES ((int64_t)1 << 20)

static int merges_images(const conv_geometry *g) {
    if (g->batch < 2 || conv_is_depthwise(g)) return 0;
    int64_t ohw = g->out_height * g->out_width;
    int64_t weights = g->out_channels / g->groups * (g->channels / g->groups) * g->kernel_h * g->kernel_w;
    return ohw < CONV_MERGE_FEW || (ohw <= CONV_MERGE_MAX && weights * 4 >= CONV_MERGE_WEIGHT_BYTES);
}

/* The merged GEMM's result, [out_channels, batch*oh*ow], before it is scattered into NCHW; SIZE_MAX
 * when that does not fit a size_t. */
static size_t merged_bytes(const conv_geometry *g) {
    int64_t ohw = g->out_height * g->out_width;
    if (g->batch < 0 || ohw < 0 || g->out_channels < 0 || g->batch > (INT64_MAX / 4) / (ohw + 1) ||
        g->out_channels > (INT64_MAX / 4) / (g->batch * ohw + 1))
        return SIZE_MAX;
    uint64_t bytes = (uint64_t)(g->out_channels * g->batch * ohw) * sizeof(float);
    return bytes > SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

/* The columns are packed straight from the image (no im2col buffer); only a merged batch needs room for its
 * GEMM's result, and a layer that runs Winograd (as the engine's mode picks it) room for its tiles. */
size_t conv2d_workspace_for(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads,
                            infer_winograd mode) {
    if (n->n_in < 2 || in[0].ndim != 4 || in[1].ndim != 4 || out[0].ndim != 4 || n->p.conv2d.groups < 1 ||
        in[1].dims[0] != out[0].dims[1] || in[1].dims[1] * n->p.conv2d.groups != in[0].dims[1])
        return 0; /* the kernel refuses these */
    conv_geometry g;
    conv_geometry_of(n, in, out, &g);
    size_t winograd = conv_winograd_takes(&g, mode) ? conv_winograd_workspace(&g, threads) : 0;
    /* the small-image transposed GEMM's packed columns and result (conv2d_small.c) */
    if (!winograd && conv_small_takes(&g) && conv_small_workspace(&g) > winograd) winograd = conv_small_workspace(&g);
    if (!merges_images(&g)) return winograd;
    size_t bytes = merged_bytes(&g);
    return bytes == SIZE_MAX ? winograd : bytes > winograd ? bytes : winograd;
}

size_t cpu_conv2d_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    return conv2d_workspace_for(n, in, out, threads, n->p.conv2d.winograd);
}

typedef struct {
    const conv_geometry *g;
    const float *x, *w, *b, *residual;
    const float *w_rows; /* NULL, or w packed into the GEMM's row slivers (groups 1; conv2d_prepack.c) */
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
        const float *a = job->w ? job->w + gi * og * kg : NULL; /* NULL: freed, read through w_rows */
        const float *xg = x + gi * cg * g->height * g->width;
        float *c = y + gi * og * ohw;
        conv_columns cols = { g, xg, 0 };
        gemm_b_source source = { conv_pack_columns, &cols };
        if (job->w_rows)
            gemm_packed_a(job->ctx, scratch, job->ctx->isa, og, ohw, kg, job->w_rows, xg, ohw,
                          is_pointwise(g) ? NULL : &source, c, ohw, &ep);
        else if (is_pointwise(g)) {
            if (scratch) cpu_sgemm_serial(scratch, job->ctx->isa, 0, 0, og, ohw, kg, a, kg, xg, ohw, c, ohw, &ep);
            else cpu_sgemm(job->ctx, 0, 0, og, ohw, kg, a, kg, xg, ohw, c, ohw, &ep);
        } else {
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

typedef struct {
    const conv_job *job;
    const float *c;  /* the merged GEMM's result */
} scatter_job;

/* Images [begin, end) of the merged result into the output: residual and activation applied (in the
 * result, so that a residual sharing the output's storage is read before it is overwritten). */
static void scatter_task(void *arg, int64_t begin, int64_t end, int thread) {
    const scatter_job *sj = arg;
    const conv_job *job = sj->job;
    const conv_geometry *g = job->g;
    int64_t ohw = g->out_height * g->out_width, n = g->batch * ohw, out_image = g->out_channels * ohw;
    (void)thread;
    for (int64_t i = begin; i < end; i++) {
        float *c = (float *)sj->c + i * ohw, *y = job->y + i * out_image;
        if (job->residual) {
            gemm_epilogue ep = { NULL, 0, job->residual + i * out_image, ohw, *job->act };
            cpu_epilogue_isa(job->ctx->isa, c, g->out_channels, ohw, n, &ep, 0, 0);
        }
        for (int64_t o = 0; o < g->out_channels; o++) memcpy(y + o * ohw, c + o * n, (size_t)ohw * sizeof *y);
    }
}

/* The whole batch per group as one GEMM, C[Og, batch*oh*ow] = w_g · columns of every image (+ bias,
 * and the activation when there is no residual), threaded over tiles of C; then scattered to NCHW. */
static void conv_merged(const conv_job *job, float *c) {
    const conv_geometry *g = job->g;
    int64_t ohw = g->out_height * g->out_width, n = g->batch * ohw, cg = g->channels / g->groups;
    int64_t kg = cg * g->kernel_h * g->kernel_w, og = g->out_channels / g->groups;
    for (int64_t gi = 0; gi < g->groups; gi++) {
        gemm_epilogue ep = { job->b ? job->b + gi * og : NULL, 1, NULL, 0, *job->act };
        if (job->residual) ep.act = (act_params){ ACT_NONE, 0, 0 };
        conv_columns cols = { g, job->x + gi * cg * g->height * g->width, g->channels * g->height * g->width };
        gemm_b_source source = { is_pointwise(g) ? conv_pack_pointwise : conv_pack_columns, &cols };
        if (job->w_rows)
            gemm_packed_a(job->ctx, NULL, job->ctx->isa, og, n, kg, job->w_rows, NULL, 0, &source, c + gi * og * n, n,
                          &ep);
        else
            gemm_sourced_b(job->ctx, NULL, job->ctx->isa, og, n, kg, job->w + gi * og * kg, kg, &source,
                           c + gi * og * n, n, &ep);
    }
    scatter_job sj = { job, c };
    int64_t grain = 4096 / (g->out_channels * ohw + 1) + 1;
    pool_parallel_for(job->ctx->pool, g->batch, grain, scatter_task, &sj);
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
    /* 1x1 on 1x1 planes at 1-8 images, e.g. squeeze-excitation (conv2d_gemv.c) */
    if (conv2d_gemv(ctx, &g, in[0].data, in[1].data, bias, residual, &n->p.conv2d.act, out[0].data)) return INFER_OK;
    /* weights prepacked for Winograd (conv2d_winograd.c) */
    if (ctx->prepacked && conv2d_winograd(ctx, &g, in[0].data, bias, residual, &n->p.conv2d.act, out[0].data))
        return INFER_OK;
    /* weights prepacked for the small-image transposed GEMM (conv2d_small.c) */
    if (ctx->prepacked && conv2d_small(ctx, &g, in[0].data, bias, residual, &n->p.conv2d.act, out[0].data))
        return INFER_OK;
    conv_job job = { &g, in[0].data, in[1].data, bias, residual, conv2d_packed_rows(ctx->prepacked, &g, ctx->isa),
                     &n->p.conv2d.act, out[0].data, ctx };
    if (!job.w && !job.w_rows) /* released at build (cpu_kernel.packed_only) and no packed form serves this run */
        return infer_fail(err, INFER_ERR_INTERNAL, "conv2d: the weights were released at build and their packed "
                          "form does not serve this run (workspace %zu bytes)", ctx->workspace_bytes);
    if (merges_images(&g) && ctx->workspace && ctx->workspace_bytes >= merged_bytes(&g)) {
        conv_merged(&job, ctx->workspace);
        return INFER_OK;
    }
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

static int prepacks_weight(const ir_node *n, int k) { return k == 1; }

const cpu_kernel cpu_kernels_conv2d[] = {
    { .storages = CPU_DENSE,
      .run = cpu_conv2d,
      .workspace = cpu_conv2d_workspace,
      .prepack_input = prepacks_weight,
      .prepack_size = cpu_conv2d_prepack_size,
      .prepack = cpu_conv2d_prepack,
      .describe = cpu_conv2d_prepack_describe,
      .packed_only = cpu_conv2d_packed_only },
    CPU_CONV2D_SPARSE_KERNELS,
    CPU_CONV2D_S8_KERNEL,
    { 0 },
};
