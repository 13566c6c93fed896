/* maxpool2d.cu — max pooling over [nc, h, w] with stride, padding (implicit -inf), dilation. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

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

extern "C" infer_status cuda_maxpool2d(void *stream, infer_dtype dtype, const void *x, void *y, int64_t nc, int h,
                                       int w, int oh, int ow, const pool2d_params *p, infer_error *err) {
    NEED_FLOAT_STORAGE("maxpool2d", dtype);
    int64_t n = nc * oh * ow;
    if (n <= 0) return INFER_OK;
    if (dtype == INFER_F16)
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

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static int supports_pool(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *x = cuda_node_input(g, n, 0);
    if (!x || x->ndim != 4) return cuda_refuse(why, len, "pooling of a %d-D tensor", x ? x->ndim : 0);
    return cuda_floats_only(g, n, fp16, 0, 0, why, len);
}

static infer_status run_maxpool2d(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                  const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    return cuda_maxpool2d(l->stream, y->dtype, x->data, y->data, x->dims[0] * x->dims[1], (int)x->dims[2],
                          (int)x->dims[3], (int)y->dims[2], (int)y->dims[3], &n->p.pool2d, err);
}

extern "C" const cuda_kernel cuda_kernels_maxpool2d[] = {
    { CUDA_DENSE, supports_pool, NULL, NULL, run_maxpool2d },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
