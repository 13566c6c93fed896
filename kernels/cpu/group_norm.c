/* group_norm.c — group normalization of [N,C,...] (f32): per sample and group, two passes with double sums, per-channel affine. */
#include <math.h>
#include "cpu_kernels.h"
#include "sum_f64.h"
#include "../../base/error.h"

typedef struct {
    const float *x, *weight, *bias; /* weight, bias: NULL when absent */
    float *y;
    int64_t groups, channels_per_group, spatial;
    float eps;
} group_norm_job;

static void group_norm_groups(void *arg, int64_t begin, int64_t end, int thread) {
    const group_norm_job *j = arg;
    (void)thread;
    int64_t size = j->channels_per_group * j->spatial;
    for (int64_t r = begin; r < end; r++) {
        const float *x = j->x + r * size;
        float *y = j->y + r * size;
        double mean = size ? cpu_sum_f64(x, size) / (double)size : 0.0, var = 0.0;
        for (int64_t i = 0; i < size; i++) var += ((double)x[i] - mean) * ((double)x[i] - mean);
        var = size ? var / (double)size : 0.0;
        float m_hi = (float)mean, m_lo = (float)(mean - m_hi), rstd = (float)(1.0 / sqrt(var + j->eps));
        int64_t c0 = (r % j->groups) * j->channels_per_group;
        for (int64_t c = 0; c < j->channels_per_group; c++) {
            float scale = rstd * (j->weight ? j->weight[c0 + c] : 1.0f), shift = j->bias ? j->bias[c0 + c] : 0.0f;
            const float *xc = x + c * j->spatial;
            float *yc = y + c * j->spatial;
            for (int64_t i = 0; i < j->spatial; i++) yc[i] = ((xc[i] - m_hi) - m_lo) * scale + shift;
        }
    }
}

CPU_KERNEL(group_norm) {
    const group_norm_params *p = &n->p.group_norm;
    const infer_tensor *x = &in[0];
    if (x->dtype != INFER_F32 || x->ndim < 2 || p->groups < 1 || x->dims[1] % p->groups)
        return infer_fail(err, INFER_ERR_SHAPE, "group_norm: input %d-d %s with %d groups", x->ndim,
                          infer_dtype_name(x->dtype), p->groups);
    int64_t spatial = 1;
    for (int d = 2; d < x->ndim; d++) spatial *= x->dims[d];
    group_norm_job j = { x->data, n->n_in > 1 ? in[1].data : NULL, n->n_in > 2 ? in[2].data : NULL, out[0].data,
                         p->groups, x->dims[1] / p->groups, spatial, p->eps };
    int64_t count = x->dims[0] * p->groups, size = j.channels_per_group * spatial;
    if (count == 0) return INFER_OK;
    pool_parallel_for(ctx->pool, count, 32768 / (size + 1) + 1, group_norm_groups, &j);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_group_norm[] = {
    { .storages = CPU_DENSE, .run = cpu_group_norm },
    { 0 },
};
