/* slice.cu — y [outer, len, inner] = x [outer, dim, inner] taken at start, start + step, ... along the middle axis. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename E>
__global__ void slice_kernel(const E *x, E *y, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t step,
                             int64_t len) {
    GRID_STRIDE(i, outer * len * inner) {
        int64_t j = i % inner, l = (i / inner) % len, o = i / (inner * len);
        y[i] = x[(o * dim + start + l * step) * inner + j];
    }
}

extern "C" infer_status cuda_slice(void *stream, size_t es, const void *x, void *y, int64_t outer, int64_t dim,
                                   int64_t inner, int64_t start, int64_t step, int64_t len, infer_error *err) {
    int64_t n = outer * len * inner;
    if (n <= 0) return INFER_OK;
    unsigned g = kernel_grid(n);
    cudaStream_t s = KSTREAM(stream);
    switch (es) {
    case 1: slice_kernel<uint8_t><<<g, KERNEL_BLOCK, 0, s>>>((const uint8_t *)x, (uint8_t *)y, outer, dim, inner, start, step, len); break;
    case 2: slice_kernel<uint16_t><<<g, KERNEL_BLOCK, 0, s>>>((const uint16_t *)x, (uint16_t *)y, outer, dim, inner, start, step, len); break;
    case 4: slice_kernel<uint32_t><<<g, KERNEL_BLOCK, 0, s>>>((const uint32_t *)x, (uint32_t *)y, outer, dim, inner, start, step, len); break;
    case 8: slice_kernel<uint64_t><<<g, KERNEL_BLOCK, 0, s>>>((const uint64_t *)x, (uint64_t *)y, outer, dim, inner, start, step, len); break;
    default: return infer_fail(err, INFER_ERR_INTERNAL, "slice: element size %zu", es);
    }
    KERNEL_CHECK("slice");
    return INFER_OK;
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static infer_status run_slice(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                              const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    int ax = cuda_norm_axis(n->p.slice.axis, x->ndim);
    if (ax < 0 || ax >= x->ndim) return infer_fail(err, INFER_ERR_SHAPE, "slice: axis %d", n->p.slice.axis);
    int64_t size = x->dims[ax], start = n->p.slice.start;
    if (start < 0) start = start < -size ? 0 : start + size;
    if (start > size) start = size;
    return cuda_slice(l->stream, cuda_esize(x), x->data, y->data, cuda_prod(x->dims, 0, ax), size,
                      cuda_prod(x->dims, ax + 1, x->ndim), start, n->p.slice.step, y->dims[ax], err);
}

extern "C" const cuda_kernel cuda_kernels_slice[] = {
    { CUDA_DENSE, cuda_same_elem_rule, NULL, NULL, run_slice, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
