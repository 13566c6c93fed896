/* depthwise_conv2d.cu — the direct depthwise convolution (groups == C) with bias, residual and activation fused. */
#include "cuda_common.cuh"

template <typename T>
__global__ void depthwise_kernel(cuda_dwconv_shape s, const T *x, const T *w, const T *bias, const T *res, T *y,
                                 int kind, float mn, float mx) {
    int64_t mult = s.o / s.c;
    GRID_STRIDE(i, s.n * s.o * s.oh * s.ow) {
        int64_t ox = i % s.ow, oy = (i / s.ow) % s.oh, o = (i / (s.ow * s.oh)) % s.o, b = i / (s.ow * s.oh * s.o);
        const T *xp = x + (b * s.c + o / mult) * s.h * s.w;
        const T *wp = w + o * s.kh * s.kw;
        float acc = 0.0f;
        for (int ky = 0; ky < s.kh; ky++) {
            int64_t iy = oy * s.stride[0] - s.padding[0] + ky * s.dilation[0];
            if (iy < 0 || iy >= s.h) continue;
            for (int kx = 0; kx < s.kw; kx++) {
                int64_t ix = ox * s.stride[1] - s.padding[1] + kx * s.dilation[1];
                if (ix < 0 || ix >= s.w) continue;
                acc += ldf(xp, iy * s.w + ix) * ldf(wp, ky * s.kw + kx);
            }
        }
        if (bias) acc += ldf(bias, o);
        if (res) acc += ldf(res, i);
        stf(y, i, act_dev(kind, mn, mx, acc));
    }
}

extern "C" infer_status cuda_depthwise_conv2d(void *stream, infer_dtype dtype, const cuda_dwconv_shape *s,
                                              const void *x, const void *w, const void *bias, const void *residual,
                                              void *y, act_params act, infer_error *err) {
    NEED_FLOAT_STORAGE("depthwise_conv2d", dtype);
    int64_t n = s->n * s->o * s->oh * s->ow;
    if (n <= 0) return INFER_OK;
    if (s->c <= 0 || s->o % s->c != 0)
        return infer_fail(err, INFER_ERR_INTERNAL, "depthwise conv2d: %lld output channels for %lld groups",
                          (long long)s->o, (long long)s->c);
    if (dtype == INFER_F16)
        depthwise_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            *s, (const __half *)x, (const __half *)w, (const __half *)bias, (const __half *)residual, (__half *)y,
            act.kind, act.min, act.max);
    else
        depthwise_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            *s, (const float *)x, (const float *)w, (const float *)bias, (const float *)residual, (float *)y, act.kind,
            act.min, act.max);
    KERNEL_CHECK("depthwise conv2d");
    return INFER_OK;
}
