/* roll.cu — circular shifts along listed dims, any element size: one thread per output element. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

typedef struct {
    int ndim;
    int64_t dims[INFER_MAX_DIMS], shift[INFER_MAX_DIMS]; /* shift in [0, dims) */
} roll_geometry;

template <typename E>
__global__ void roll_kernel(const E *x, E *y, int64_t n, roll_geometry g) {
    GRID_STRIDE(e, n) {
        int64_t rest = e, src = 0, stride = 1;
        for (int d = g.ndim - 1; d >= 0; d--) {
            int64_t o = rest % g.dims[d], i = o - g.shift[d];
            rest /= g.dims[d];
            src += (i < 0 ? i + g.dims[d] : i) * stride;
            stride *= g.dims[d];
        }
        y[e] = x[src];
    }
}

static infer_status run_roll(const cuda_launch *l, const ir_node *node, struct cuda_node_plan *plan,
                             const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const roll_params *p = &node->p.roll;
    const infer_tensor *x = &in[0];
    roll_geometry g = { x->ndim, { 0 }, { 0 } };
    for (int d = 0; d < x->ndim; d++) g.dims[d] = x->dims[d];
    int64_t n = cuda_numel(x);
    if (n <= 0) return INFER_OK;
    for (int i = 0; i < p->n; i++) {
        int d = cuda_norm_axis(p->dims[i], x->ndim);
        if (d < 0 || d >= x->ndim) return infer_fail(err, INFER_ERR_SHAPE, "roll: dim %d", p->dims[i]);
        int64_t s = (g.shift[d] + p->shifts[i] % x->dims[d]) % x->dims[d];
        g.shift[d] = s < 0 ? s + x->dims[d] : s;
    }
    unsigned grid = kernel_grid(n);
    cudaStream_t s = KSTREAM(l->stream);
    switch (cuda_esize(x)) {
    case 1: roll_kernel<uint8_t><<<grid, KERNEL_BLOCK, 0, s>>>((const uint8_t *)x->data, (uint8_t *)out[0].data, n, g); break;
    case 2: roll_kernel<uint16_t><<<grid, KERNEL_BLOCK, 0, s>>>((const uint16_t *)x->data, (uint16_t *)out[0].data, n, g); break;
    case 4: roll_kernel<uint32_t><<<grid, KERNEL_BLOCK, 0, s>>>((const uint32_t *)x->data, (uint32_t *)out[0].data, n, g); break;
    case 8: roll_kernel<uint64_t><<<grid, KERNEL_BLOCK, 0, s>>>((const uint64_t *)x->data, (uint64_t *)out[0].data, n, g); break;
    default: return infer_fail(err, INFER_ERR_INTERNAL, "roll: element size %zu", cuda_esize(x));
    }
    KERNEL_CHECK("roll");
    return INFER_OK;
}

extern "C" const cuda_kernel cuda_kernels_roll[] = {
    { CUDA_DENSE, cuda_same_elem_rule, NULL, NULL, run_roll, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
