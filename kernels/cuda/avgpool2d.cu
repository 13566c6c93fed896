/* avgpool2d.cu — average pooling over [nc, h, w] with PyTorch's divisor rules (count_include_pad, ceil_mode). */
#include "cuda_common.cuh"
#include "cuda_ops.h"

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

extern "C" infer_status cuda_avgpool2d(void *stream, infer_dtype dtype, const void *x, void *y, int64_t nc, int h,
                                       int w, int oh, int ow, const pool2d_params *p, infer_error *err) {
    NEED_FLOAT_STORAGE("avgpool2d", dtype);
    int64_t n = nc * oh * ow;
    if (n <= 0) return INFER_OK;
    if (dtype == INFER_F16)
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

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static int supports_pool(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *x = cuda_node_input(g, n, 0);
    if (!x || x->ndim != 4) return cuda_refuse(why, len, "pooling of a %d-D tensor", x ? x->ndim : 0);
    return cuda_floats_only(g, n, fp16, 0, 0, why, len);
}

static infer_status run_avgpool2d(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                  const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    return cuda_avgpool2d(l->stream, y->dtype, x->data, y->data, x->dims[0] * x->dims[1], (int)x->dims[2],
                          (int)x->dims[3], (int)y->dims[2], (int)y->dims[3], &n->p.pool2d, err);
}

extern "C" const cuda_kernel cuda_kernels_avgpool2d[] = {
    { CUDA_DENSE, supports_pool, NULL, NULL, run_avgpool2d },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
