/* conv_transpose2d.cu — transposed 2-D convolution, direct: one thread per output element gathers its input taps. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

typedef struct {
    int64_t channels, height, width, out_channels, out_height, out_width, kh, kw, groups;
    int stride[2], padding[2], dilation[2];
} convt_geometry;

template <typename T>
__global__ void conv_transpose2d_kernel(const T *x, const T *w, const T *b, T *y, int64_t n, convt_geometry g) {
    GRID_STRIDE(e, n) {
        int64_t ox = e % g.out_width, oy = (e / g.out_width) % g.out_height;
        int64_t o = (e / (g.out_width * g.out_height)) % g.out_channels, img = e / (g.out_width * g.out_height * g.out_channels);
        int64_t cg = g.channels / g.groups, og = g.out_channels / g.groups, gi = o / og, oo = o % og;
        float acc = b ? ldf(b, o) : 0.0f;
        for (int64_t ky = 0; ky < g.kh; ky++) {
            int64_t ty = oy + g.padding[0] - ky * g.dilation[0];
            if (ty < 0 || ty % g.stride[0]) continue;
            int64_t iy = ty / g.stride[0];
            if (iy >= g.height) continue;
            for (int64_t kx = 0; kx < g.kw; kx++) {
                int64_t tx = ox + g.padding[1] - kx * g.dilation[1];
                if (tx < 0 || tx % g.stride[1]) continue;
                int64_t ix = tx / g.stride[1];
                if (ix >= g.width) continue;
                for (int64_t c = 0; c < cg; c++) {
                    int64_t ci = gi * cg + c;
                    acc += ldf(x, ((img * g.channels + ci) * g.height + iy) * g.width + ix) *
                           ldf(w, ((ci * og + oo) * g.kh + ky) * g.kw + kx);
                }
            }
        }
        stf(y, e, acc);
    }
}

static infer_status run_conv_transpose2d(const cuda_launch *l, const ir_node *node, struct cuda_node_plan *plan,
                                         const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const conv_transpose2d_params *p = &node->p.conv_transpose2d;
    const infer_tensor *x = &in[0], *w = &in[1], *y = &out[0];
    NEED_FLOAT_STORAGE("conv_transpose2d", y->dtype);
    convt_geometry g = { x->dims[1], x->dims[2], x->dims[3], y->dims[1], y->dims[2], y->dims[3], w->dims[2],
                         w->dims[3], p->groups, { p->stride[0], p->stride[1] }, { p->padding[0], p->padding[1] },
                         { p->dilation[0], p->dilation[1] } };
    const void *b = node->n_in > 2 ? in[2].data : NULL;
    int64_t n = cuda_numel(y);
    if (n <= 0) return INFER_OK;
    if (y->dtype == INFER_F16)
        conv_transpose2d_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(l->stream)>>>(
            (const __half *)x->data, (const __half *)w->data, (const __half *)b, (__half *)y->data, n, g);
    else
        conv_transpose2d_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(l->stream)>>>(
            (const float *)x->data, (const float *)w->data, (const float *)b, (float *)y->data, n, g);
    KERNEL_CHECK("conv_transpose2d");
    return INFER_OK;
}

extern "C" const cuda_kernel cuda_kernels_conv_transpose2d[] = {
    { CUDA_DENSE, cuda_floats_only_rule, NULL, NULL, run_conv_transpose2d },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
