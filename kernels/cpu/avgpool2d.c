/* avgpool2d.c — 2-D average pooling (NCHW) with PyTorch's divisor rules for padding and ceil_mode. */
#include "pool2d.h"
#include "../../base/error.h"

/* One output row: each tap adds a stretch of an input row (vectorizes), then each column is divided
 * by its count. The window clipped to the padded input gives the count when padding counts, the
 * window clipped to the input otherwise; both split into a row part and a column part. Compiled once per ISA
 * by POOL2D_ROW_VARIANTS. */
static inline __attribute__((always_inline)) void pool_row(const pool2d_job *job, const float *x, int64_t oh,
                                                           float *y) {
    const pool2d_params *p = job->p;
    int64_t sw = p->stride[1];
    int64_t h0 = oh * p->stride[0] - p->padding[0];
    int64_t h1 = h0 + p->kernel[0] < job->h + p->padding[0] ? h0 + p->kernel[0] : job->h + p->padding[0];
    int64_t rows_padded = h1 - h0, hs = h0 > 0 ? h0 : 0, he = h1 < job->h ? h1 : job->h;
    /* Only the columns of taps that fall on the input for some ow < job->ow: the work is bounded by the input. */
    int64_t kw0 = p->padding[1] - sw * (job->ow - 1), kw1 = job->w + p->padding[1];
    if (kw0 < 0) kw0 = 0;
    if (kw1 > p->kernel[1]) kw1 = p->kernel[1];
    for (int64_t ow = 0; ow < job->ow; ow++) y[ow] = 0.0f;
    for (int64_t ih = hs; ih < he; ih++) {
        const float *xr = x + ih * job->w;
        for (int64_t kw = kw0; kw < kw1; kw++) {
            int64_t off = kw - p->padding[1]; /* input column of output column 0 */
            int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
            int64_t hi = off >= job->w ? 0 : (job->w - 1 - off) / sw + 1;
            if (hi > job->ow) hi = job->ow;
            for (int64_t ow = lo; ow < hi; ow++) y[ow] += xr[ow * sw + off];
        }
    }
    for (int64_t ow = 0; ow < job->ow; ow++) {
        int64_t w0 = ow * sw - p->padding[1];
        int64_t w1 = w0 + p->kernel[1] < job->w + p->padding[1] ? w0 + p->kernel[1] : job->w + p->padding[1];
        int64_t ws = w0 > 0 ? w0 : 0, we = w1 < job->w ? w1 : job->w;
        int64_t divisor = p->count_include_pad ? rows_padded * (w1 - w0) : (he - hs) * (we - ws);
        y[ow] = divisor > 0 ? y[ow] / (float)divisor : 0.0f;
    }
}

POOL2D_ROW_VARIANTS(pool_row)

CPU_KERNEL(avgpool2d) {
    const pool2d_params *p = &n->p.pool2d;
    if (in[0].dtype != INFER_F32)
        return infer_fail(err, INFER_ERR_DTYPE, "avgpool2d: input is %s, expected f32", infer_dtype_name(in[0].dtype));
    if (in[0].ndim != 4 || out[0].ndim != 4)
        return infer_fail(err, INFER_ERR_SHAPE, "avgpool2d: input and output must be 4-D (got %d, %d)", in[0].ndim,
                          out[0].ndim);
    if (p->kernel[0] < 1 || p->kernel[1] < 1 || p->stride[0] < 1 || p->stride[1] < 1 || p->padding[0] < 0 ||
        p->padding[1] < 0)
        return infer_fail(err, INFER_ERR_ARGUMENT, "avgpool2d: bad kernel (%d,%d), stride (%d,%d) or padding (%d,%d)",
                          p->kernel[0], p->kernel[1], p->stride[0], p->stride[1], p->padding[0], p->padding[1]);
    pool2d_run(ctx, p, in, out, pool_row_for(ctx->isa));
    return INFER_OK;
}

const cpu_kernel cpu_kernels_avgpool2d[] = {
    { .storages = CPU_DENSE, .run = cpu_avgpool2d },
    { 0 },
};
