/* batchnorm.cu — inference BatchNorm over channel axis 1: y = (x - mean) / sqrt(var + eps) * w + b. */
#include "cuda_common.cuh"

template <typename T>
__global__ void batchnorm_kernel(const T *x, const T *w, const T *b, const T *mean, const T *var, T *y, int64_t total,
                                 int64_t c, int64_t inner, float eps) {
    GRID_STRIDE(i, total) {
        int64_t ch = (i / inner) % c;
        float v = (ldf(x, i) - ldf(mean, ch)) / sqrtf(ldf(var, ch) + eps);
        stf(y, i, v * ldf(w, ch) + ldf(b, ch));
    }
}

extern "C" infer_status cuda_batchnorm(void *stream, int half, const void *x, const void *w, const void *b,
                                       const void *mean, const void *var, void *y, int64_t n, int64_t c,
                                       int64_t inner, float eps, infer_error *err) {
    int64_t total = n * c * inner;
    if (total <= 0) return INFER_OK;
    if (half)
        batchnorm_kernel<__half><<<kernel_grid(total), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const __half *)x, (const __half *)w, (const __half *)b, (const __half *)mean, (const __half *)var,
            (__half *)y, total, c, inner, eps);
    else
        batchnorm_kernel<float><<<kernel_grid(total), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const float *)x, (const float *)w, (const float *)b, (const float *)mean, (const float *)var,
            (float *)y, total, c, inner, eps);
    KERNEL_CHECK("batchnorm");
    return INFER_OK;
}
