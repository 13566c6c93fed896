/* activation.cu — y = act(x) elementwise (relu, clip, gelu, silu, ...), float or half storage. */
#include "cuda_common.cuh"

template <typename T>
__global__ void activation_kernel(const T *x, T *y, int64_t n, int kind, float mn, float mx) {
    GRID_STRIDE(i, n) stf(y, i, act_dev(kind, mn, mx, ldf(x, i)));
}

extern "C" infer_status cuda_activation(void *stream, int half, const void *x, void *y, int64_t n, act_params act,
                                        infer_error *err) {
    if (n <= 0) return INFER_OK;
    if (half)
        activation_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const __half *)x, (__half *)y, n, act.kind, act.min, act.max);
    else
        activation_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const float *)x, (float *)y, n, act.kind, act.min, act.max);
    KERNEL_CHECK("activation");
    return INFER_OK;
}
