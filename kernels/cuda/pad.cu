/* pad.cu — constant, reflect, replicate or circular padding of the trailing dims: one thread per output element. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

typedef struct {
    int ndim, mode;
    int64_t xd[INFER_MAX_DIMS], yd[INFER_MAX_DIMS], before[INFER_MAX_DIMS];
    float value;
} pad_geometry;

__device__ int64_t pad_source_dev(int64_t o, int64_t before, int64_t size, int mode) {
    int64_t i = o - before;
    if (i >= 0 && i < size) return i;
    if (mode == PAD_REFLECT) return i < 0 ? -i : 2 * (size - 1) - i;
    if (mode == PAD_REPLICATE) return i < 0 ? 0 : size - 1;
    if (mode == PAD_CIRCULAR) return ((i % size) + size) % size;
    return -1;
}

template <typename T>
__global__ void pad_kernel(const T *x, T *y, int64_t n, pad_geometry g) {
    GRID_STRIDE(e, n) {
        int64_t rest = e, src = 0, stride = 1;
        int inside = 1;
        for (int d = g.ndim - 1; d >= 0; d--) {
            int64_t o = rest % g.yd[d];
            rest /= g.yd[d];
            int64_t i = pad_source_dev(o, g.before[d], g.xd[d], g.mode);
            if (i < 0) inside = 0;
            src += i * stride;
            stride *= g.xd[d];
        }
        stf(y, e, inside ? ldf(x, src) : g.value);
    }
}

static infer_status run_pad(const cuda_launch *l, const ir_node *node, struct cuda_node_plan *plan,
                            const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const pad_params *p = &node->p.pad;
    const infer_tensor *x = &in[0], *y = &out[0];
    NEED_FLOAT_STORAGE("pad", y->dtype);
    pad_geometry g = { x->ndim, (int)p->mode, { 0 }, { 0 }, { 0 }, p->value };
    for (int d = 0; d < x->ndim; d++) {
        int k = x->ndim - 1 - d;
        g.xd[d] = x->dims[d];
        g.yd[d] = y->dims[d];
        g.before[d] = k < p->npads / 2 ? p->pads[2 * k] : 0;
    }
    int64_t n = cuda_numel(y);
    if (n <= 0) return INFER_OK;
    if (y->dtype == INFER_F16)
        pad_kernel<__half><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(l->stream)>>>((const __half *)x->data,
                                                                                    (__half *)y->data, n, g);
    else
        pad_kernel<float><<<kernel_grid(n), KERNEL_BLOCK, 0, KSTREAM(l->stream)>>>((const float *)x->data,
                                                                                   (float *)y->data, n, g);
    KERNEL_CHECK("pad");
    return INFER_OK;
}

extern "C" const cuda_kernel cuda_kernels_pad[] = {
    { CUDA_DENSE, cuda_floats_only_rule, NULL, NULL, run_pad },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
