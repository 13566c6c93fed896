/* maxpool2d.c — 2-D max pooling (NCHW) with padding, dilation and ceil_mode as in PyTorch; NaN wins. */
#include <math.h>
#include "cpu_kernels.h"
#include "../../runtime/error.h"

typedef struct {
    const float *x;
    float *y;
    int64_t h, w, oh, ow;
    const pool2d_params *p;
    int isa;
} maxpool_job;

/* One output row: every tap folds a stretch of an input row into it (stride 1 or 2 vectorizes). The
 * body is inlined into per-ISA wrappers below so that the compiler vectorizes it for each. */
static inline __attribute__((always_inline)) void pool_row(const maxpool_job *job, const float *x, int64_t oh,
                                                           float *y) {
    const pool2d_params *p = job->p;
    int64_t sw = p->stride[1];
    for (int64_t ow = 0; ow < job->ow; ow++) y[ow] = -INFINITY;
    for (int64_t kh = 0; kh < p->kernel[0]; kh++) {
        int64_t ih = oh * p->stride[0] - p->padding[0] + kh * p->dilation[0];
        if (ih < 0 || ih >= job->h) continue;
        const float *xr = x + ih * job->w;
        for (int64_t kw = 0; kw < p->kernel[1]; kw++) {
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

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) static void pool_row_avx512(const maxpool_job *job,
                                                                                       const float *x, int64_t oh,
                                                                                       float *y) {
    pool_row(job, x, oh, y);
}

__attribute__((target("avx2"))) static void pool_row_avx2(const maxpool_job *job, const float *x, int64_t oh,
                                                          float *y) {
    pool_row(job, x, oh, y);
}
#endif

static void pool_row_portable(const maxpool_job *job, const float *x, int64_t oh, float *y) {
    pool_row(job, x, oh, y);
}

static void maxpool_task(void *arg, int64_t begin, int64_t end, int thread) {
    const maxpool_job *job = arg;
    (void)thread;
    void (*row)(const maxpool_job *, const float *, int64_t, float *) = pool_row_portable;
#if defined(__x86_64__)
    if (job->isa == CPU_ISA_AVX512) row = pool_row_avx512;
    else if (job->isa == CPU_ISA_AVX2) row = pool_row_avx2;
#endif
    for (int64_t plane = begin; plane < end; plane++) {
        const float *x = job->x + plane * job->h * job->w;
        float *y = job->y + plane * job->oh * job->ow;
        for (int64_t oh = 0; oh < job->oh; oh++) row(job, x, oh, y + oh * job->ow);
    }
}

CPU_KERNEL(maxpool2d) {
    const pool2d_params *p = &n->p.pool2d;
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
    maxpool_job job = { in[0].data, out[0].data, in[0].dims[2], in[0].dims[3], out[0].dims[2], out[0].dims[3], p,
                        ctx->isa };
    int64_t planes = in[0].dims[0] * in[0].dims[1], work = job.oh * job.ow * p->kernel[0] * p->kernel[1];
    pool_parallel_for(ctx->pool, planes, work >= 8192 ? 1 : 8192 / (work + 1) + 1, maxpool_task, &job);
    return INFER_OK;
}
