/* concat.cu — concatenation: each input [outer, x_inner] copied into its column range of y [outer, y_inner]. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename E>
__global__ void concat_part_kernel(const E *x, E *y, int64_t outer, int64_t x_inner, int64_t y_inner, int64_t y_off) {
    GRID_STRIDE(i, outer * x_inner) {
        int64_t o = i / x_inner, j = i % x_inner;
        y[o * y_inner + y_off + j] = x[i];
    }
}

extern "C" infer_status cuda_concat_part(void *stream, size_t es, const void *x, void *y, int64_t outer,
                                         int64_t x_inner, int64_t y_inner, int64_t y_offset, infer_error *err) {
    int64_t n = outer * x_inner;
    if (n <= 0) return INFER_OK;
    unsigned g = kernel_grid(n);
    cudaStream_t s = KSTREAM(stream);
    switch (es) {
    case 1: concat_part_kernel<uint8_t><<<g, KERNEL_BLOCK, 0, s>>>((const uint8_t *)x, (uint8_t *)y, outer, x_inner, y_inner, y_offset); break;
    case 2: concat_part_kernel<uint16_t><<<g, KERNEL_BLOCK, 0, s>>>((const uint16_t *)x, (uint16_t *)y, outer, x_inner, y_inner, y_offset); break;
    case 4: concat_part_kernel<uint32_t><<<g, KERNEL_BLOCK, 0, s>>>((const uint32_t *)x, (uint32_t *)y, outer, x_inner, y_inner, y_offset); break;
    case 8: concat_part_kernel<uint64_t><<<g, KERNEL_BLOCK, 0, s>>>((const uint64_t *)x, (uint64_t *)y, outer, x_inner, y_inner, y_offset); break;
    default: return infer_fail(err, INFER_ERR_INTERNAL, "concat: element size %zu", es);
    }
    KERNEL_CHECK("concat");
    return INFER_OK;
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static infer_status run_concat(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                               const infer_tensor *out, infer_error *err) {
    const infer_tensor *y = &out[0];
    int ax = cuda_norm_axis(n->p.concat.axis, y->ndim);
    if (ax < 0 || ax >= y->ndim) return infer_fail(err, INFER_ERR_SHAPE, "concat: axis %d", n->p.concat.axis);
    int64_t outer = cuda_prod(y->dims, 0, ax), inner = cuda_prod(y->dims, ax + 1, y->ndim), off = 0;
    for (int k = 0; k < n->n_in; k++) {
        int64_t xi = in[k].dims[ax] * inner;
        INFER_TRY(
            cuda_concat_part(l->stream, cuda_esize(y), in[k].data, y->data, outer, xi, y->dims[ax] * inner, off, err));
        off += xi;
    }
    return INFER_OK;
}

extern "C" const cuda_kernel cuda_kernels_concat[] = {
    { CUDA_DENSE, cuda_same_elem_rule, NULL, NULL, run_concat, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
