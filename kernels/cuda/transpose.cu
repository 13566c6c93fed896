/* transpose.cu — permute the axes of a tensor of up to 8 dimensions (any element size). */
#include "cuda_common.cuh"
#include "cuda_ops.h"

struct perm_t {
    int ndim;
    int64_t out_dims[INFER_MAX_DIMS];
    int64_t in_strides[INFER_MAX_DIMS]; /* stride in x of output dimension d */
};

template <typename E>
__global__ void transpose_kernel(perm_t p, const E *x, E *y, int64_t n) {
    GRID_STRIDE(i, n) {
        int64_t rem = i, off = 0;
        for (int d = p.ndim - 1; d >= 0; d--) {
            int64_t idx = rem % p.out_dims[d];
            rem /= p.out_dims[d];
            off += idx * p.in_strides[d];
        }
        y[i] = x[off];
    }
}

extern "C" infer_status cuda_transpose(void *stream, size_t es, const void *x, void *y, int ndim,
                                       const int64_t *x_dims, const int *perm, infer_error *err) {
    if (ndim < 1 || ndim > INFER_MAX_DIMS)
        return infer_fail(err, INFER_ERR_INTERNAL, "transpose: %d dimensions", ndim);
    int64_t xs[INFER_MAX_DIMS], n = 1;
    xs[ndim - 1] = 1;
    for (int d = ndim - 2; d >= 0; d--) xs[d] = xs[d + 1] * x_dims[d + 1];
    perm_t p;
    p.ndim = 0;
    /* merge output dims that are consecutive in x too, and drop size-1 dims */
    for (int d = 0; d < ndim; d++) {
        int64_t size = x_dims[perm[d]];
        n *= size;
        if (size == 1) continue;
        if (p.ndim > 0 && p.in_strides[p.ndim - 1] == xs[perm[d]] * size) {
            p.out_dims[p.ndim - 1] *= size;
            p.in_strides[p.ndim - 1] = xs[perm[d]];
            continue;
        }
        p.out_dims[p.ndim] = size;
        p.in_strides[p.ndim] = xs[perm[d]];
        p.ndim++;
    }
    if (n <= 0) return INFER_OK;
    if (p.ndim == 0) {
        p.ndim = 1;
        p.out_dims[0] = 1;
        p.in_strides[0] = 1;
    }
    unsigned g = kernel_grid(n);
    cudaStream_t s = KSTREAM(stream);
    switch (es) {
    case 1: transpose_kernel<uint8_t><<<g, KERNEL_BLOCK, 0, s>>>(p, (const uint8_t *)x, (uint8_t *)y, n); break;
    case 2: transpose_kernel<uint16_t><<<g, KERNEL_BLOCK, 0, s>>>(p, (const uint16_t *)x, (uint16_t *)y, n); break;
    case 4: transpose_kernel<uint32_t><<<g, KERNEL_BLOCK, 0, s>>>(p, (const uint32_t *)x, (uint32_t *)y, n); break;
    case 8: transpose_kernel<uint64_t><<<g, KERNEL_BLOCK, 0, s>>>(p, (const uint64_t *)x, (uint64_t *)y, n); break;
    default: return infer_fail(err, INFER_ERR_INTERNAL, "transpose: element size %zu", es);
    }
    KERNEL_CHECK("transpose");
    return INFER_OK;
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static infer_status run_transpose(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                  const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    return cuda_transpose(l->stream, cuda_esize(x), x->data, y->data, x->ndim, x->dims, n->p.transpose.perm, err);
}

extern "C" const cuda_kernel cuda_kernels_transpose[] = {
    { CUDA_DENSE, cuda_same_elem_rule, NULL, NULL, run_transpose, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
