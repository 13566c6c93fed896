/* resize.cu — nearest, nearest-exact, (bi)linear and bicubic resampling with PyTorch's coordinates: one thread per output element. */
#include "cuda_common.cuh"
#include "cuda_ops.h"
#include "../cpu/resize.h"

typedef struct {
    int mode, align_corners;
    int64_t h, w, oh, ow;
    float scale_h, scale_w;
} resize_geometry;

__device__ int64_t clamp_dev(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

template <typename T>
__global__ void resize_kernel(const T *x, T *y, int64_t n, resize_geometry g) {
    GRID_STRIDE(e, n) {
        int64_t ox = e % g.ow, oy = (e / g.ow) % g.oh, plane = e / (g.ow * g.oh);
        const T *xp = x + plane * g.h * g.w;
        int ac = g.align_corners;
        float v;
        if (g.mode == RESIZE_LINEAR) {
            int64_t h0, h1, w0, w1;
            float lh, lw;
            resize_linear_taps(resize_area_scale(g.h, g.oh, ac, g.scale_h), oy, g.h, ac, &h0, &h1, &lh);
            resize_linear_taps(resize_area_scale(g.w, g.ow, ac, g.scale_w), ox, g.w, ac, &w0, &w1, &lw);
            float top = (1.0f - lw) * ldf(xp, h0 * g.w + w0) + lw * ldf(xp, h0 * g.w + w1);
            float bottom = (1.0f - lw) * ldf(xp, h1 * g.w + w0) + lw * ldf(xp, h1 * g.w + w1);
            v = (1.0f - lh) * top + lh * bottom;
        } else if (g.mode == RESIZE_CUBIC) {
            float sy = resize_source(resize_area_scale(g.h, g.oh, ac, g.scale_h), oy, ac, 1);
            float sx = resize_source(resize_area_scale(g.w, g.ow, ac, g.scale_w), ox, ac, 1), wy[4], wx[4];
            int64_t iy = (int64_t)floorf(sy), ix = (int64_t)floorf(sx);
            resize_cubic_weights(sy - (float)iy, wy);
            resize_cubic_weights(sx - (float)ix, wx);
            v = 0.0f;
            for (int r = 0; r < 4; r++) {
                int64_t row = clamp_dev(iy - 1 + r, g.h) * g.w;
                float t = 0.0f;
                for (int k = 0; k < 4; k++) t += wx[k] * ldf(xp, row + clamp_dev(ix - 1 + k, g.w));
                v += wy[r] * t;
            }
        } else {
            int exact = g.mode == RESIZE_NEAREST_EXACT;
            v = ldf(xp, resize_nearest(oy, g.h, g.oh, g.scale_h, exact) * g.w +
                            resize_nearest(ox, g.w, g.ow, g.scale_w, exact));
        }
        stf(y, e, v);
    }
}

static infer_status run_resize(const cuda_launch *l, const ir_node *node, struct cuda_node_plan *plan,
                               const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const resize_params *p = &node->p.resize;
    const infer_tensor *x = &in[0], *y = &out[0];
    NEED_FLOAT_STORAGE("resize", y->dtype);
    int nd = x->ndim;
    resize_geometry g = { (int)p->mode, p->align_corners, 1, x->dims[nd - 1], 1, y->dims[nd - 1], 0.0f, p->scale[1] };
    if (nd == 4) {
        g.h = x->dims[2];
        g.oh = y->dims[2];
        g.scale_h = p->scale[0];
    }
    int64_t n = cuda_numel(y);
    if (n <= 0) return INFER_OK;
    if (y->dtype == INFER_F16)
        resize_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(l->stream)>>>((const __half *)x->data,
                                                                                       (__half *)y->data, n, g);
    else
        resize_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(l->stream)>>>((const float *)x->data,
                                                                                      (float *)y->data, n, g);
    KERNEL_CHECK("resize");
    return INFER_OK;
}

extern "C" const cuda_kernel cuda_kernels_resize[] = {
    { CUDA_DENSE, cuda_floats_only_rule, NULL, NULL, run_resize },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
