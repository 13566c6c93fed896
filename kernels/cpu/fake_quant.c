/* fake_quant.c — y = (clamp(round_half_even(x * (1/scale)) + zero, qmin, qmax) - zero) * out_scale, elementwise,
 * in the order of operations PyTorch's quantize_per_tensor / fake_quantize_per_tensor_affine use. */
#include <math.h>
#include "cpu_kernels.h"
#include "../../base/error.h"

typedef struct {
    const float *x;
    float *y;
    float out_scale, inv, zero, lo, hi;
} fake_quant_job;

/* nearbyintf under the default rounding mode rounds half to even; a NaN becomes qmin (fmaxf drops it). */
static void fake_quant_range(void *arg, int64_t begin, int64_t end, int thread) {
    const fake_quant_job *j = arg;
    (void)thread;
    for (int64_t i = begin; i < end; i++) {
        float q = fminf(fmaxf(nearbyintf(j->x[i] * j->inv) + j->zero, j->lo), j->hi);
        j->y[i] = (q - j->zero) * j->out_scale;
    }
}

CPU_KERNEL(fake_quant) {
    const fake_quant_params *p = &n->p.fake_quant;
    const infer_tensor *x = &in[0];
    if (x->dtype != INFER_F32 || out[0].dtype != INFER_F32)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "fake_quant: dtype %s (the CPU kernel takes f32)",
                          infer_dtype_name(x->dtype));
    int64_t count = infer_tensor_elements(x);
    if (count != infer_tensor_elements(&out[0]))
        return infer_fail(err, INFER_ERR_SHAPE, "fake_quant: %lld inputs for %lld outputs", (long long)count,
                          (long long)infer_tensor_elements(&out[0]));
    fake_quant_job j = { x->data, out[0].data, p->out_scale, 1.0f / p->scale, (float)p->zero, (float)p->qmin,
                         (float)p->qmax };
    pool_parallel_for(ctx->pool, count, 16384, fake_quant_range, &j);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_fake_quant[] = {
    { .storages = CPU_DENSE, .run = cpu_fake_quant },
    { 0 },
};
