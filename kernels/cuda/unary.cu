/* unary.cu — y = f(x) elementwise: neg, exp, log, sqrt, rsqrt, abs, reciprocal. */
#include "cuda_common.cuh"

__device__ __forceinline__ float unary_dev(int kind, float x) {
    switch (kind) {
    case UN_NEG: return -x;
    case UN_EXP: return expf(x);
    case UN_LOG: return logf(x);
    case UN_SQRT: return sqrtf(x);
    case UN_RSQRT: return 1.0f / sqrtf(x);
    case UN_ABS: return fabsf(x);
    case UN_RECIPROCAL: return 1.0f / x;
    default: return x;
    }
}

template <typename T>
__global__ void unary_kernel(const T *x, T *y, int64_t n, int kind) {
    GRID_STRIDE(i, n) stf(y, i, unary_dev(kind, ldf(x, i)));
}

extern "C" infer_status cuda_unary(void *stream, int half, const void *x, void *y, int64_t n, unary_kind kind,
                                   infer_error *err) {
    if (n <= 0) return INFER_OK;
    if (half)
        unary_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>((const __half *)x, (__half *)y, n, kind);
    else
        unary_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>((const float *)x, (float *)y, n, kind);
    KERNEL_CHECK("unary");
    return INFER_OK;
}
