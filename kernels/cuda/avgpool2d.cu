/* avgpool2d.cu — average pooling over [nc, h, w] with PyTorch's divisor rules (count_include_pad, ceil_mode). */
#include "cuda_common.cuh"

template <typename T>
__global__ void avgpool_kernel(const T *x, T *y, int64_t nc, int h, int w, int oh, int ow, int kh, int kw, int sh,
                               int sw, int ph, int pw, int include_pad) {
    GRID_STRIDE(i, nc * oh * ow) {
        int ox = (int)(i % ow), oy = (int)((i / ow) % oh);
        int64_t p = i / ((int64_t)ow * oh);
        const T *xp = x + p * h * w;
        /* as at::native avg_pool2d: the window clipped to the padded input gives the divisor with padding */
        int64_t hs = (int64_t)oy * sh - ph, ws = (int64_t)ox * sw - pw; /* 64 bits: windows reach 2^30 */
        int64_t he = min(hs + kh, (int64_t)h + ph), we = min(ws + kw, (int64_t)w + pw);
        int64_t pool = (he - hs) * (we - ws);
        hs = max(hs, (int64_t)0);
        ws = max(ws, (int64_t)0);
        he = min(he, (int64_t)h);
        we = min(we, (int64_t)w);
        float s = 0.0f;
        for (int64_t iy = hs; iy < he; iy++)
            for (int64_t ix = ws; ix < we; ix++) s += ldf(xp, iy * w + ix);
        int64_t div = include_pad ? pool : (he - hs) * (we - ws);
        stf(y, i, div > 0 ? s / (float)div : 0.0f);
    }
}

extern "C" infer_status cuda_avgpool2d(void *stream, int half, const void *x, void *y, int64_t nc, int h, int w,
                                       int oh, int ow, const pool2d_params *p, infer_error *err) {
    int64_t n = nc * oh * ow;
    if (n <= 0) return INFER_OK;
    if (half)
        avgpool_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const __half *)x, (__half *)y, nc, h, w, oh, ow, p->kernel[0], p->kernel[1], p->stride[0], p->stride[1],
            p->padding[0], p->padding[1], p->count_include_pad);
    else
        avgpool_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const float *)x, (float *)y, nc, h, w, oh, ow, p->kernel[0], p->kernel[1], p->stride[0], p->stride[1],
            p->padding[0], p->padding[1], p->count_include_pad);
    KERNEL_CHECK("avgpool2d");
    return INFER_OK;
}
