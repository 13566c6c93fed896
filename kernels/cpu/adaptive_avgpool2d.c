/* adaptive_avgpool2d.c — adaptive average pooling: bin i covers [floor(i*H/oh), ceil((i+1)*H/oh)). */
#include "cpu_kernels.h"
#include "../../base/error.h"

typedef struct {
    const float *x;
    float *y;
    int64_t h, w, oh, ow;
} adaptive_job;

static void adaptive_task(void *arg, int64_t begin, int64_t end, int thread) {
    const adaptive_job *job = arg;
    (void)thread;
    for (int64_t plane = begin; plane < end; plane++) {
        const float *x = job->x + plane * job->h * job->w;
        float *y = job->y + plane * job->oh * job->ow;
        for (int64_t oh = 0; oh < job->oh; oh++) {
            int64_t h0 = oh * job->h / job->oh, h1 = ((oh + 1) * job->h + job->oh - 1) / job->oh;
            for (int64_t ow = 0; ow < job->ow; ow++) {
                int64_t w0 = ow * job->w / job->ow, w1 = ((ow + 1) * job->w + job->ow - 1) / job->ow;
                float sum = 0.0f;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++) sum += x[ih * job->w + iw];
                int64_t count = (h1 - h0) * (w1 - w0);
                y[oh * job->ow + ow] = count > 0 ? sum / (float)count : 0.0f;
            }
        }
    }
}

CPU_KERNEL(adaptive_avgpool2d) {
    (void)n;
    if (in[0].dtype != INFER_F32)
        return infer_fail(err, INFER_ERR_DTYPE, "adaptive_avgpool2d: input is %s, expected f32",
                          infer_dtype_name(in[0].dtype));
    if (in[0].ndim != 4 || out[0].ndim != 4 || out[0].dims[2] < 1 || out[0].dims[3] < 1)
        return infer_fail(err, INFER_ERR_SHAPE, "adaptive_avgpool2d: input and output must be 4-D with a non-empty "
                          "output (got %d and %d dims)", in[0].ndim, out[0].ndim);
    adaptive_job job = { in[0].data, out[0].data, in[0].dims[2], in[0].dims[3], out[0].dims[2], out[0].dims[3] };
    int64_t planes = in[0].dims[0] * in[0].dims[1], work = job.h * job.w + job.oh * job.ow;
    pool_parallel_for(ctx->pool, planes, work >= 8192 ? 1 : 8192 / (work + 1) + 1, adaptive_task, &job);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_adaptive_avgpool2d[] = {
    { .storages = CPU_DENSE, .run = cpu_adaptive_avgpool2d },
    { 0 },
};
