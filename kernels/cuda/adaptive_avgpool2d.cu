/* adaptive_avgpool2d.cu — adaptive average pooling: output cell i covers [floor(i*H/oh), ceil((i+1)*H/oh)). */
#include "cuda_common.cuh"

template <typename T>
__global__ void adaptive_avgpool_kernel(const T *x, T *y, int64_t nc, int h, int w, int oh, int ow) {
    GRID_STRIDE(i, nc * oh * ow) {
        int ox = (int)(i % ow), oy = (int)((i / ow) % oh);
        int64_t p = i / ((int64_t)ow * oh);
        const T *xp = x + p * h * w;
        int hs = (int)(((int64_t)oy * h) / oh), he = (int)(((int64_t)(oy + 1) * h + oh - 1) / oh);
        int ws = (int)(((int64_t)ox * w) / ow), we = (int)(((int64_t)(ox + 1) * w + ow - 1) / ow);
        float s = 0.0f;
        for (int iy = hs; iy < he; iy++)
            for (int ix = ws; ix < we; ix++) s += ldf(xp, (int64_t)iy * w + ix);
        int cnt = (he - hs) * (we - ws);
        stf(y, i, cnt > 0 ? s / (float)cnt : 0.0f);
    }
}

extern "C" infer_status cuda_adaptive_avgpool2d(void *stream, int half, const void *x, void *y, int64_t nc, int h,
                                                int w, int oh, int ow, infer_error *err) {
    int64_t n = nc * oh * ow;
    if (n <= 0) return INFER_OK;
    if (half)
        adaptive_avgpool_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const __half *)x, (__half *)y, nc, h, w, oh, ow);
    else
        adaptive_avgpool_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const float *)x, (float *)y, nc, h, w, oh, ow);
    KERNEL_CHECK("adaptive_avgpool2d");
    return INFER_OK;
}
