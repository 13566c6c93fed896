/* maxpool2d.c — 2-D max pooling (NCHW) with padding, dilation and ceil_mode as in PyTorch; NaN wins. */
#include <math.h>
#include "maxpool2d_avx512.h"
#include "maxpool2d_u8_nhwc.h"
#include "maxpool2d_bf16_nhwc.h"
#include "gemm_bf16.h"
#include "gemm_s8.h"
#include "../../base/error.h"

/* One output row: every tap folds a stretch of an input row into it (stride 1 or 2 vectorizes). Compiled
 * once per ISA by POOL2D_ROW_VARIANTS. */
static inline __attribute__((always_inline)) void pool_row(const pool2d_job *job, const float *x, int64_t oh,
                                                           float *y) {
    const pool2d_params *p = job->p;
    int64_t sw = p->stride[1], dh = p->dilation[0], dw = p->dilation[1], top = oh * p->stride[0] - p->padding[0];
    /* Only the taps that fall on the input, so that the work is bounded by the input, whatever the window:
     * rows top + kh*dh in [0, h); columns kw*dw - padding + sw*ow in [0, w) for some ow < job->ow. */
    int64_t kh0 = top < 0 ? (-top + dh - 1) / dh : 0, kh1 = top >= job->h ? 0 : (job->h - 1 - top) / dh + 1;
    int64_t reach = p->padding[1] - sw * (job->ow - 1);
    int64_t kw0 = reach > 0 ? (reach + dw - 1) / dw : 0, kw1 = (job->w - 1 + p->padding[1]) / dw + 1;
    if (kh1 > p->kernel[0]) kh1 = p->kernel[0];
    if (kw1 > p->kernel[1]) kw1 = p->kernel[1];
    for (int64_t ow = 0; ow < job->ow; ow++) y[ow] = -INFINITY;
    for (int64_t kh = kh0; kh < kh1; kh++) {
        int64_t ih = top + kh * dh;
        if (ih < 0 || ih >= job->h) continue;
        const float *xr = x + ih * job->w;
        for (int64_t kw = kw0; kw < kw1; kw++) {
            int64_t off = kw * p->dilation[1] - p->padding[1]; /* input column of output column 0 */
            /* output columns whose input column off + sw*ow is inside the row: [lo, hi) */
            int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
            int64_t hi = off >= job->w ? 0 : (job->w - 1 - off) / sw + 1;
            if (hi > job->ow) hi = job->ow;
            for (int64_t ow = lo; ow < hi; ow++) {
                float v = xr[ow * sw + off], cur = y[ow];
                int take = (v > cur) | (v != v);
                y[ow] = take ? v : cur;
            }
        }
    }
}

POOL2D_ROW_VARIANTS(pool_row)

CPU_KERNEL(maxpool2d) {
    const pool2d_params *p = &n->p.pool2d;
    if (in[0].dtype == INFER_U8 && out[0].dtype == INFER_U8 && in[0].ndim == 4 && out[0].ndim == 4 &&
        in[0].dims[1] == out[0].dims[1]) { /* within an INT8 chain (runtime/cpu_int8_chain.c): u8 NHWC */
        int64_t c = in[0].dims[1], stride = cpu_conv2d_s8_nhwc_stride(c);
        cpu_maxpool2d_u8_nhwc(ctx, p, in[0].dims[0], c, in[0].dims[2], in[0].dims[3], in[0].data, stride,
                              out[0].dims[2], out[0].dims[3], out[0].data, stride);
        return INFER_OK;
    }
    if (in[0].dtype == INFER_BF16 && out[0].dtype == INFER_BF16 && in[0].ndim == 4 && out[0].ndim == 4 &&
        in[0].dims[1] == out[0].dims[1]) { /* within a BF16 chain (runtime/cpu_bf16_chain.c): BF16 NHWC */
        cpu_maxpool2d_bf16_nhwc(ctx, p, in[0].dims[0], in[0].dims[2], in[0].dims[3], in[0].data,
                                cpu_bf16_nhwc_stride(in[0].dims[1]), out[0].dims[2], out[0].dims[3], out[0].data);
        return INFER_OK;
    }
    if (in[0].dtype != INFER_F32)
        return infer_fail(err, INFER_ERR_DTYPE, "maxpool2d: input is %s, expected f32", infer_dtype_name(in[0].dtype));
    if (in[0].ndim != 4 || out[0].ndim != 4)
        return infer_fail(err, INFER_ERR_SHAPE, "maxpool2d: input and output must be 4-D (got %d, %d)", in[0].ndim,
                          out[0].ndim);
    if (p->kernel[0] < 1 || p->kernel[1] < 1 || p->stride[0] < 1 || p->stride[1] < 1 || p->dilation[0] < 1 ||
        p->dilation[1] < 1 || p->padding[0] < 0 || p->padding[1] < 0)
        return infer_fail(err, INFER_ERR_ARGUMENT, "maxpool2d: bad kernel (%d,%d), stride (%d,%d), padding (%d,%d) "
                          "or dilation (%d,%d)", p->kernel[0], p->kernel[1], p->stride[0], p->stride[1],
                          p->padding[0], p->padding[1], p->dilation[0], p->dilation[1]);
    pool2d_row_fn row = ctx->isa == CPU_ISA_AVX512 ? maxpool2d_row_avx512(p, in[0].dims[3], out[0].dims[3]) : NULL;
    pool2d_run(ctx, p, in, out, row ? row : pool_row_for(ctx->isa));
    return INFER_OK;
}

const cpu_kernel cpu_kernels_maxpool2d[] = {
    { .storages = CPU_DENSE, .run = cpu_maxpool2d },
    { 0 },
};
