/* conv_transpose2d.c — transposed 2-D convolution (f32): per image and group a GEMM into columns, then col2im adds them into the output. */
#include <string.h>
#include "cpu_kernels.h"
#include "../../base/error.h"

typedef struct {
    int64_t batch, channels, height, width;      /* input */
    int64_t out_channels, out_height, out_width; /* output */
    int64_t kh, kw, groups;
    const conv_transpose2d_params *p;
} convt_geometry;

static int convt_geometry_of(const ir_node *n, const infer_tensor *in, const infer_tensor *out, convt_geometry *g) {
    const conv_transpose2d_params *p = &n->p.conv_transpose2d;
    if (n->n_in < 2 || in[0].ndim != 4 || in[1].ndim != 4 || out[0].ndim != 4 || p->groups < 1 ||
        in[1].dims[0] != in[0].dims[1] || in[0].dims[1] % p->groups || in[1].dims[1] * p->groups != out[0].dims[1])
        return 0;
    *g = (convt_geometry){ in[0].dims[0], in[0].dims[1], in[0].dims[2], in[0].dims[3], out[0].dims[1],
                           out[0].dims[2], out[0].dims[3], in[1].dims[2], in[1].dims[3], p->groups, p };
    return 1;
}

/* The columns of one image and group: [C_out/groups * kh * kw, H * W] floats. */
static size_t convt_columns_bytes(const convt_geometry *g) {
    uint64_t rows = (uint64_t)(g->out_channels / g->groups) * (uint64_t)(g->kh * g->kw);
    uint64_t bytes = rows * (uint64_t)(g->height * g->width) * sizeof(float);
    return bytes > SIZE_MAX / 2 ? 0 : (size_t)bytes;
}

static size_t cpu_conv_transpose2d_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                             int threads) {
    (void)threads;
    convt_geometry g;
    return convt_geometry_of(n, in, out, &g) ? convt_columns_bytes(&g) : 0;
}

typedef struct {
    const convt_geometry *g;
    const float *cols; /* [og * kh * kw, H * W] */
    float *y;          /* this image's and group's first output channel */
} col2im_job;

/* Output channels [begin, end) of the group: y[o, oy, ox] += cols[(o, ky, kx), (iy, ix)] where
 * oy = iy * stride - padding + ky * dilation (and the same for x). */
static void col2im_channels(void *arg, int64_t begin, int64_t end, int thread) {
    const col2im_job *j = arg;
    const convt_geometry *g = j->g;
    const conv_transpose2d_params *p = g->p;
    (void)thread;
    int64_t hw = g->height * g->width;
    for (int64_t o = begin; o < end; o++) {
        float *y = j->y + o * g->out_height * g->out_width;
        for (int64_t ky = 0; ky < g->kh; ky++)
            for (int64_t kx = 0; kx < g->kw; kx++) {
                const float *col = j->cols + ((o * g->kh + ky) * g->kw + kx) * hw;
                for (int64_t iy = 0; iy < g->height; iy++) {
                    int64_t oy = iy * p->stride[0] - p->padding[0] + ky * p->dilation[0];
                    if (oy < 0 || oy >= g->out_height) continue;
                    float *yrow = y + oy * g->out_width;
                    const float *crow = col + iy * g->width;
                    int64_t ox0 = kx * p->dilation[1] - p->padding[1];
                    if (p->stride[1] == 1) {
                        int64_t lo = ox0 < 0 ? -ox0 : 0, hi = g->width;
                        if (ox0 + hi > g->out_width) hi = g->out_width - ox0;
                        for (int64_t ix = lo; ix < hi; ix++) yrow[ox0 + ix] += crow[ix];
                    } else {
                        for (int64_t ix = 0; ix < g->width; ix++) {
                            int64_t ox = ox0 + ix * p->stride[1];
                            if (ox >= 0 && ox < g->out_width) yrow[ox] += crow[ix];
                        }
                    }
                }
            }
    }
}

CPU_KERNEL(conv_transpose2d) {
    convt_geometry g;
    if (in[0].dtype != INFER_F32 || in[1].dtype != INFER_F32 || !convt_geometry_of(n, in, out, &g))
        return infer_fail(err, INFER_ERR_SHAPE, "conv_transpose2d: input, weight and output do not fit (4-D f32, "
                          "weight [C_in, C_out/groups, kh, kw])");
    size_t need = convt_columns_bytes(&g);
    if (!ctx->workspace || ctx->workspace_bytes < need)
        return infer_fail(err, INFER_ERR_RUNTIME, "conv_transpose2d: workspace of %zu bytes, needs %zu",
                          ctx->workspace_bytes, need);
    const float *x = in[0].data, *w = in[1].data, *b = n->n_in > 2 ? in[2].data : NULL;
    float *y = out[0].data, *cols = ctx->workspace;
    int64_t cg = g.channels / g.groups, og = g.out_channels / g.groups, kk = g.kh * g.kw;
    int64_t hw = g.height * g.width, ohw = g.out_height * g.out_width;
    for (int64_t i = 0; i < g.batch; i++) {
        float *yi = y + i * g.out_channels * ohw;
        for (int64_t o = 0; o < g.out_channels; o++) {
            float v = b ? b[o] : 0.0f;
            for (int64_t k = 0; k < ohw; k++) yi[o * ohw + k] = v;
        }
        for (int64_t gi = 0; gi < g.groups; gi++) {
            /* cols[og*kk, hw] = w_g[cg, og*kk]^T · x_g[cg, hw] */
            const float *xg = x + (i * g.channels + gi * cg) * hw, *wg = w + gi * cg * og * kk;
            cpu_sgemm(ctx, 1, 0, og * kk, hw, cg, wg, og * kk, xg, hw, cols, hw, NULL);
            col2im_job job = { &g, cols, yi + gi * og * ohw };
            pool_parallel_for(ctx->pool, og, 1, col2im_channels, &job);
        }
    }
    return INFER_OK;
}

const cpu_kernel cpu_kernels_conv_transpose2d[] = {
    { .storages = CPU_DENSE, .run = cpu_conv_transpose2d, .workspace = cpu_conv_transpose2d_workspace },
    { 0 },
};
