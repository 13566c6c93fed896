/* activation.cu — y = act(x) elementwise (relu, clip, gelu, silu, ...), float or half storage. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename T>
__global__ void activation_kernel(const T *x, T *y, int64_t n, int kind, float mn, float mx) {
    GRID_STRIDE(i, n) stf(y, i, act_dev(kind, mn, mx, ldf(x, i)));
}

extern "C" infer_status cuda_activation(void *stream, infer_dtype dtype, const void *x, void *y, int64_t n,
                                        act_params act, infer_error *err) {
    NEED_FLOAT_STORAGE("activation", dtype);
    if (n <= 0) return INFER_OK;
    if (dtype == INFER_F16)
        activation_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const __half *)x, (__half *)y, n, act.kind, act.min, act.max);
    else
        activation_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const float *)x, (float *)y, n, act.kind, act.min, act.max);
    KERNEL_CHECK("activation");
    return INFER_OK;
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static infer_status run_activation(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                   const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    return cuda_activation(l->stream, y->dtype, x->data, y->data, cuda_numel(y), n->p.activation, err);
}

extern "C" const cuda_kernel cuda_kernels_activation[] = {
    { CUDA_DENSE, cuda_floats_only_rule, NULL, NULL, run_activation, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
