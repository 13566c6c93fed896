/* layernorm.c — normalization over the trailing dims: two passes with double sums, optional affine. */
#include <math.h>
#include "cpu_kernels.h"
#include "sum_f64.h"
#include "../../base/error.h"

#define LN_TASK_ELEMENTS 32768 /* elements a parallel task gets at least */

typedef struct {
    const float *x, *weight, *bias; /* weight, bias: NULL when absent */
    float *y;
    int64_t d;
    float eps;
} layernorm_args;

static double sum_sq_dev_f64(const float *x, int64_t n, double mean) {
    double acc[8] = { 0 };
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            double v = x[i + j] - mean;
            acc[j] += v * v;
        }
    for (; i < n; i++) acc[0] += (x[i] - mean) * (x[i] - mean);
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* y may alias x: each element is read before it is written. */
static void layernorm_rows(void *arg, int64_t begin, int64_t end, int thread) {
    const layernorm_args *A = arg;
    int64_t d = A->d;
    for (int64_t r = begin; r < end; r++) {
        const float *x = A->x + r * d;
        float *y = A->y + r * d;
        double mean = cpu_sum_f64(x, d) / (double)d;
        double var = sum_sq_dev_f64(x, d, mean) / (double)d;
        /* The mean as a float pair, so x - mean stays accurate when the mean dwarfs the spread. */
        float m_hi = (float)mean, m_lo = (float)(mean - m_hi), rstd = (float)(1.0 / sqrt(var + A->eps));
        const float *w = A->weight, *b = A->bias;
        if (w && b) {
            for (int64_t i = 0; i < d; i++) y[i] = ((x[i] - m_hi) - m_lo) * rstd * w[i] + b[i];
        } else if (w) {
            for (int64_t i = 0; i < d; i++) y[i] = ((x[i] - m_hi) - m_lo) * rstd * w[i];
        } else if (b) {
            for (int64_t i = 0; i < d; i++) y[i] = ((x[i] - m_hi) - m_lo) * rstd + b[i];
        } else {
            for (int64_t i = 0; i < d; i++) y[i] = ((x[i] - m_hi) - m_lo) * rstd;
        }
    }
}

CPU_KERNEL(layernorm) {
    const layernorm_params *p = &n->p.layernorm;
    const infer_tensor *x = &in[0];
    const infer_tensor *w = n->n_in > 1 && in[1].data ? &in[1] : NULL, *b = n->n_in > 2 && in[2].data ? &in[2] : NULL;
    if (p->axes < 1 || p->axes > x->ndim)
        return infer_fail(err, INFER_ERR_SHAPE, "layernorm: %d trailing dims of a %d-d input", p->axes, x->ndim);
    int64_t d = 1;
    for (int k = x->ndim - p->axes; k < x->ndim; k++) d *= x->dims[k];
    int64_t count = infer_tensor_elements(x);
    if (x->dtype != INFER_F32 || (w && w->dtype != INFER_F32) || (b && b->dtype != INFER_F32))
        return infer_fail(err, INFER_ERR_DTYPE, "layernorm: expects f32 tensors");
    if ((w && infer_tensor_elements(w) != d) || (b && infer_tensor_elements(b) != d) ||
        infer_tensor_elements(&out[0]) != count)
        return infer_fail(err, INFER_ERR_SHAPE, "layernorm: weight, bias or output do not fit %lld normalized elements",
                          (long long)d);
    if (count == 0) return INFER_OK;
    layernorm_args args = { x->data, w ? w->data : NULL, b ? b->data : NULL, out[0].data, d, p->eps };
    int64_t grain = LN_TASK_ELEMENTS / d;
    pool_parallel_for(ctx->pool, count / d, grain > 1 ? grain : 1, layernorm_rows, &args);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_layernorm[] = {
    { .storages = CPU_DENSE, .run = cpu_layernorm },
    { 0 },
};
