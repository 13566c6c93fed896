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
        int hs = oy * sh - ph, ws = ox * sw - pw;
        int he = min(hs + kh, h + ph), we = min(ws + kw, w + pw);
        int pool = (he - hs) * (we - ws);
        hs = max(hs, 0);
        ws = max(ws, 0);
        he = min(he, h);
        we = min(we, w);
        float s = 0.0f;
        for (int iy = hs; iy < he; iy++)
            for (int ix = ws; ix < we; ix++) s += ldf(xp, (int64_t)iy * w + ix);
        int div = include_pad ? pool : (he - hs) * (we - ws);
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
