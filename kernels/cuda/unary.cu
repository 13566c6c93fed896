/* unary.cu — y = f(x) elementwise: neg, exp, log, sqrt, rsqrt, abs, reciprocal, erf, sign, rounding. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

__device__ __forceinline__ float unary_dev(int kind, float x) {
    switch (kind) {
    case UN_NEG: return -x;
    case UN_EXP: return expf(x);
    case UN_LOG: return logf(x);
    case UN_SQRT: return sqrtf(x);
    case UN_RSQRT: return 1.0f / sqrtf(x);
    case UN_ABS: return fabsf(x);
    case UN_RECIPROCAL: return 1.0f / x;
    case UN_ERF: return erff(x);
    case UN_SIGN: return (float)((x > 0.0f) - (x < 0.0f));
    case UN_ROUND: return rintf(x);
    case UN_FLOOR: return floorf(x);
    case UN_CEIL: return ceilf(x);
    case UN_TRUNC: return truncf(x);
    default: return x;
    }
}

template <typename T>
__global__ void unary_kernel(const T *x, T *y, int64_t n, int kind) {
    GRID_STRIDE(i, n) stf(y, i, unary_dev(kind, ldf(x, i)));
}

extern "C" infer_status cuda_unary(void *stream, infer_dtype dtype, const void *x, void *y, int64_t n, unary_kind kind,
                                   infer_error *err) {
    NEED_FLOAT_STORAGE("unary", dtype);
    if (n <= 0) return INFER_OK;
    if (dtype == INFER_F16)
        unary_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>((const __half *)x, (__half *)y, n, kind);
    else
        unary_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>((const float *)x, (float *)y, n, kind);
    KERNEL_CHECK("unary");
    return INFER_OK;
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static infer_status run_unary(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                              const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    return cuda_unary(l->stream, y->dtype, x->data, y->data, cuda_numel(y), n->p.unary.kind, err);
}

extern "C" const cuda_kernel cuda_kernels_unary[] = {
    { CUDA_DENSE, cuda_floats_only_rule, NULL, NULL, run_unary, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
