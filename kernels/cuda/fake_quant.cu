/* fake_quant.cu — y = (clamp(round_half_even(x * (1/scale)) + zero, qmin, qmax) - zero) * out_scale, elementwise,
 * in f32 (f16 storage is read and written through f32), the same operations as the CPU kernel. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

typedef struct {
    float out_scale, inv, zero, lo, hi;
} fake_quant_args;

template <typename T>
__global__ void fake_quant_kernel(const T *x, T *y, int64_t n, fake_quant_args a) {
    GRID_STRIDE(i, n) {
        float q = fminf(fmaxf(nearbyintf(__fmul_rn(ldf(x, i), a.inv)) + a.zero, a.lo), a.hi);
        stf(y, i, __fmul_rn(q - a.zero, a.out_scale));
    }
}

static infer_status run_fake_quant(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                   const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *y = &out[0];
    const fake_quant_params *q = &n->p.fake_quant;
    NEED_FLOAT_STORAGE("fake_quant", y->dtype);
    int64_t total = cuda_numel(y);
    if (total <= 0) return INFER_OK;
    fake_quant_args a = { q->out_scale, 1.0f / q->scale, (float)q->zero, (float)q->qmin, (float)q->qmax };
    cudaStream_t s = KSTREAM(l->stream);
    if (y->dtype == INFER_F16)
        fake_quant_kernel<__half><<<kernel_grid(total), KERNEL_BLOCK, 0, s>>>((const __half *)in[0].data,
                                                                               (__half *)y->data, total, a);
    else
        fake_quant_kernel<float><<<kernel_grid(total), KERNEL_BLOCK, 0, s>>>((const float *)in[0].data,
                                                                             (float *)y->data, total, a);
    KERNEL_CHECK("fake_quant");
    return INFER_OK;
}

extern "C" const cuda_kernel cuda_kernels_fake_quant[] = {
    { CUDA_DENSE, cuda_floats_only_rule, NULL, NULL, run_fake_quant, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
