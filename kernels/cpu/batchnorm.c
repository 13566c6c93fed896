/* batchnorm.c — inference batch normalization: y = (x - mean) / sqrt(var + eps) * weight + bias per channel. */
#include <math.h>
#include "cpu_kernels.h"
#include "../../base/error.h"

typedef struct {
    const float *x, *weight, *bias, *mean, *var;
    float *y;
    int64_t channels, plane;
    float eps;
} bn_job;

static void bn_task(void *arg, int64_t begin, int64_t end, int thread) {
    const bn_job *job = arg;
    (void)thread;
    for (int64_t i = begin; i < end; i++) {
        int64_t c = i % job->channels;
        float scale = job->weight[c] / sqrtf(job->var[c] + job->eps);
        float shift = job->bias[c] - job->mean[c] * scale;
        const float *x = job->x + i * job->plane;
        float *y = job->y + i * job->plane;
        for (int64_t j = 0; j < job->plane; j++) y[j] = x[j] * scale + shift;
    }
}

CPU_KERNEL(batchnorm) {
    for (int k = 0; k < 5; k++)
        if (in[k].dtype != INFER_F32)
            return infer_fail(err, INFER_ERR_DTYPE, "batchnorm: input %d is %s, expected f32", k,
                              infer_dtype_name(in[k].dtype));
    if (in[0].ndim < 2)
        return infer_fail(err, INFER_ERR_SHAPE, "batchnorm: input has %d dims, expected [N, C, ...]", in[0].ndim);
    int64_t channels = in[0].dims[1];
    for (int k = 1; k < 5; k++)
        if (infer_tensor_elements(&in[k]) != channels)
            return infer_fail(err, INFER_ERR_SHAPE, "batchnorm: parameter %d has %lld values for %lld channels", k,
                              (long long)infer_tensor_elements(&in[k]), (long long)channels);
    int64_t plane = 1;
    for (int d = 2; d < in[0].ndim; d++) plane *= in[0].dims[d];
    bn_job job = { in[0].data, in[1].data, in[2].data, in[3].data, in[4].data, out[0].data, channels, plane,
                   n->p.batchnorm.eps };
    int64_t planes = in[0].dims[0] * channels;
    pool_parallel_for(ctx->pool, planes, plane >= 16384 ? 1 : 16384 / (plane + 1) + 1, bn_task, &job);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_batchnorm[] = {
    { .storages = CPU_DENSE, .run = cpu_batchnorm },
    { 0 },
};
