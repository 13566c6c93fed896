/* maxpool2d.cu — max pooling over [nc, h, w] with stride, padding (implicit -inf), dilation. */
#include "cuda_common.cuh"

template <typename T>
__global__ void maxpool_kernel(const T *x, T *y, int64_t nc, int h, int w, int oh, int ow, int kh, int kw, int sh,
                               int sw, int ph, int pw, int dh, int dw) {
    GRID_STRIDE(i, nc * oh * ow) {
        int ox = (int)(i % ow), oy = (int)((i / ow) % oh);
        int64_t p = i / ((int64_t)ow * oh);
        const T *xp = x + p * h * w;
        float m = -INFINITY;
        /* only the taps on the input: the work is bounded by the input, whatever the window */
        int64_t top = (int64_t)oy * sh - ph, left = (int64_t)ox * sw - pw;
        int64_t ky0 = top < 0 ? (-top + dh - 1) / dh : 0, ky1 = top >= h ? 0 : (h - 1 - top) / dh + 1;
        int64_t kx0 = left < 0 ? (-left + dw - 1) / dw : 0, kx1 = left >= w ? 0 : (w - 1 - left) / dw + 1;
        for (int64_t ky = ky0; ky < ky1 && ky < kh; ky++) {
            int64_t iy = top + ky * dh;
            if (iy < 0 || iy >= h) continue;
            for (int64_t kx = kx0; kx < kx1 && kx < kw; kx++) {
                int64_t ix = left + kx * dw;
                if (ix < 0 || ix >= w) continue;
                float v = ldf(xp, (int64_t)iy * w + ix);
                if (v > m || v != v) m = v;
            }
        }
        stf(y, i, m);
    }
}

extern "C" infer_status cuda_maxpool2d(void *stream, int half, const void *x, void *y, int64_t nc, int h, int w,
                                       int oh, int ow, const pool2d_params *p, infer_error *err) {
    int64_t n = nc * oh * ow;
    if (n <= 0) return INFER_OK;
    if (half)
        maxpool_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const __half *)x, (__half *)y, nc, h, w, oh, ow, p->kernel[0], p->kernel[1], p->stride[0], p->stride[1],
            p->padding[0], p->padding[1], p->dilation[0] ? p->dilation[0] : 1, p->dilation[1] ? p->dilation[1] : 1);
    else
        maxpool_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const float *)x, (float *)y, nc, h, w, oh, ow, p->kernel[0], p->kernel[1], p->stride[0], p->stride[1],
            p->padding[0], p->padding[1], p->dilation[0] ? p->dilation[0] : 1, p->dilation[1] ? p->dilation[1] : 1);
    KERNEL_CHECK("maxpool2d");
    return INFER_OK;
}
