/* triangle.cu — triu / tril of the last two dims: elements on the kept side copied, the others zero. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename E>
__global__ void triangle_kernel(const E *x, E *y, int64_t n, int64_t rows, int64_t cols, int64_t diagonal, int upper) {
    GRID_STRIDE(i, n) {
        int64_t j = i % cols, r = (i / cols) % rows;
        int keep = upper ? j - r >= diagonal : j - r <= diagonal;
        y[i] = keep ? x[i] : E(0);
    }
}

template <typename E>
static void triangle_go(cudaStream_t s, const void *x, void *y, int64_t n, int64_t rows, int64_t cols, int64_t diagonal,
                        int upper) {
    triangle_kernel<E><<<kernel_grid(n), KERNEL_BLOCK, 0, s>>>((const E *)x, (E *)y, n, rows, cols, diagonal, upper);
}

static infer_status run_triangle(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                                 const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0];
    if (x->ndim < 2) return infer_fail(err, INFER_ERR_SHAPE, "triangle: a %d-d input", x->ndim);
    int64_t total = cuda_numel(x), rows = x->dims[x->ndim - 2], cols = x->dims[x->ndim - 1];
    if (total <= 0) return INFER_OK;
    cudaStream_t s = KSTREAM(l->stream);
    int64_t diag = n->p.triangle.diagonal;
    int upper = n->p.triangle.upper;
    switch (cuda_esize(x)) {
    case 1: triangle_go<uint8_t>(s, x->data, out[0].data, total, rows, cols, diag, upper); break;
    case 2: triangle_go<uint16_t>(s, x->data, out[0].data, total, rows, cols, diag, upper); break;
    case 4: triangle_go<uint32_t>(s, x->data, out[0].data, total, rows, cols, diag, upper); break;
    case 8: triangle_go<uint64_t>(s, x->data, out[0].data, total, rows, cols, diag, upper); break;
    default: return infer_fail(err, INFER_ERR_INTERNAL, "triangle: element size %zu", cuda_esize(x));
    }
    KERNEL_CHECK("triangle");
    return INFER_OK;
}

extern "C" const cuda_kernel cuda_kernels_triangle[] = {
    { CUDA_DENSE, cuda_same_elem_rule, NULL, NULL, run_triangle, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
