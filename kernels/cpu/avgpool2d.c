/* avgpool2d.c — 2-D average pooling (NCHW) with PyTorch's divisor rules for padding and ceil_mode. */
#include "cpu_kernels.h"
#include "../../runtime/error.h"

typedef struct {
    const float *x;
    float *y;
    int64_t h, w, oh, ow;
    const pool2d_params *p;
} avgpool_job;

static void avgpool_task(void *arg, int64_t begin, int64_t end, int thread) {
    const avgpool_job *job = arg;
    const pool2d_params *p = job->p;
    (void)thread;
    for (int64_t plane = begin; plane < end; plane++) {
        const float *x = job->x + plane * job->h * job->w;
        float *y = job->y + plane * job->oh * job->ow;
        for (int64_t oh = 0; oh < job->oh; oh++)
            for (int64_t ow = 0; ow < job->ow; ow++) {
                /* The window clipped to the padded input sets the divisor when padding counts ... */
                int64_t h0 = oh * p->stride[0] - p->padding[0], w0 = ow * p->stride[1] - p->padding[1];
                int64_t h1 = h0 + p->kernel[0], w1 = w0 + p->kernel[1];
                if (h1 > job->h + p->padding[0]) h1 = job->h + p->padding[0];
                if (w1 > job->w + p->padding[1]) w1 = job->w + p->padding[1];
                int64_t padded = (h1 - h0) * (w1 - w0);
                /* ... and the window clipped to the input itself otherwise. */
                if (h0 < 0) h0 = 0;
                if (w0 < 0) w0 = 0;
                if (h1 > job->h) h1 = job->h;
                if (w1 > job->w) w1 = job->w;
                float sum = 0.0f;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++) sum += x[ih * job->w + iw];
                int64_t divisor = p->count_include_pad ? padded : (h1 - h0) * (w1 - w0);
                y[oh * job->ow + ow] = divisor > 0 ? sum / (float)divisor : 0.0f;
            }
    }
}

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
    avgpool_job job = { in[0].data, out[0].data, in[0].dims[2], in[0].dims[3], out[0].dims[2], out[0].dims[3], p };
    int64_t planes = in[0].dims[0] * in[0].dims[1], work = job.oh * job.ow * p->kernel[0] * p->kernel[1];
    pool_parallel_for(ctx->pool, planes, work >= 8192 ? 1 : 8192 / (work + 1) + 1, avgpool_task, &job);
    return INFER_OK;
}
