/* adaptive_avgpool2d.cu — adaptive average pooling: output cell i covers [floor(i*H/oh), ceil((i+1)*H/oh)). */
#include "cuda_common.cuh"
#include "cuda_ops.h"

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

extern "C" infer_status cuda_adaptive_avgpool2d(void *stream, infer_dtype dtype, const void *x, void *y, int64_t nc,
                                                int h, int w, int oh, int ow, infer_error *err) {
    NEED_FLOAT_STORAGE("adaptive_avgpool2d", dtype);
    int64_t n = nc * oh * ow;
    if (n <= 0) return INFER_OK;
    if (dtype == INFER_F16)
        adaptive_avgpool_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const __half *)x, (__half *)y, nc, h, w, oh, ow);
    else
        adaptive_avgpool_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const float *)x, (float *)y, nc, h, w, oh, ow);
    KERNEL_CHECK("adaptive_avgpool2d");
    return INFER_OK;
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static int supports_pool(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *x = cuda_node_input(g, n, 0);
    if (!x || x->ndim != 4) return cuda_refuse(why, len, "pooling of a %d-D tensor", x ? x->ndim : 0);
    return cuda_floats_only(g, n, fp16, 0, 0, why, len);
}

static infer_status run_adaptive_avgpool2d(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                           const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    return cuda_adaptive_avgpool2d(l->stream, y->dtype, x->data, y->data, x->dims[0] * x->dims[1], (int)x->dims[2],
                                   (int)x->dims[3], (int)y->dims[2], (int)y->dims[3], err);
}

extern "C" const cuda_kernel cuda_kernels_adaptive_avgpool2d[] = {
    { CUDA_DENSE, supports_pool, NULL, NULL, run_adaptive_avgpool2d },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
