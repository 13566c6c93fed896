/* epilogue.cu — the fused GEMM/conv epilogue in one pass: y = act(y + bias[channel] + residual). */
#include "cuda_common.cuh"

template <typename T>
__global__ void epilogue_kernel(T *y, int64_t n, const T *bias, int64_t channels, int64_t inner, const T *res,
                                int kind, float mn, float mx) {
    GRID_STRIDE(i, n) {
        float v = ldf(y, i);
        if (bias) v += ldf(bias, (i / inner) % channels);
        if (res) v += ldf(res, i);
        stf(y, i, act_dev(kind, mn, mx, v));
    }
}

extern "C" infer_status cuda_epilogue(void *stream, infer_dtype dtype, void *y, int64_t n, const void *bias,
                                      int64_t channels, int64_t inner, const void *residual, act_params act,
                                      infer_error *err) {
    NEED_FLOAT_STORAGE("epilogue", dtype);
    if (n <= 0 || (!bias && !residual && act.kind == ACT_NONE)) return INFER_OK;
    if (channels < 1) channels = 1;
    if (inner < 1) inner = 1;
    if (dtype == INFER_F16)
        epilogue_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (__half *)y, n, (const __half *)bias, channels, inner, (const __half *)residual, act.kind, act.min, act.max);
    else
        epilogue_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (float *)y, n, (const float *)bias, channels, inner, (const float *)residual, act.kind, act.min, act.max);
    KERNEL_CHECK("epilogue");
    return INFER_OK;
}
