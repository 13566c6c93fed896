/* expand.cu — broadcast a tensor to a larger shape (any element size). */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename E>
__global__ void expand_kernel(cuda_bcast bc, const E *x, E *y, int64_t n) {
    GRID_STRIDE(i, n) {
        int64_t off[1];
        bcast_offsets<1>(bc, i, off);
        y[i] = x[off[0]];
    }
}

extern "C" infer_status cuda_expand(void *stream, size_t es, const cuda_bcast *bc, const void *x, void *y, int64_t n,
                                    infer_error *err) {
    if (n <= 0) return INFER_OK;
    unsigned g = kernel_grid(n);
    cudaStream_t s = KSTREAM(stream);
    switch (es) {
    case 1: expand_kernel<uint8_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const uint8_t *)x, (uint8_t *)y, n); break;
    case 2: expand_kernel<uint16_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const uint16_t *)x, (uint16_t *)y, n); break;
    case 4: expand_kernel<uint32_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const uint32_t *)x, (uint32_t *)y, n); break;
    case 8: expand_kernel<uint64_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const uint64_t *)x, (uint64_t *)y, n); break;
    default: return infer_fail(err, INFER_ERR_INTERNAL, "expand: element size %zu", es);
    }
    KERNEL_CHECK("expand");
    return INFER_OK;
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static infer_status run_expand(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                               const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    cuda_bcast bc;
    const infer_tensor *xs[1] = { x };
    if (!cuda_bcast_of(&bc, y, 1, xs)) return infer_fail(err, INFER_ERR_SHAPE, "expand: input does not broadcast");
    return cuda_expand(l->stream, cuda_esize(y), &bc, x->data, y->data, cuda_numel(y), err);
}

/* Input 1 ("like", when present) lends only its shape: its dtype does not matter. */
static int expand_rule(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    return cuda_same_elem(g, n, fp16, 1u << 1, why, len);
}

extern "C" const cuda_kernel cuda_kernels_expand[] = {
    { CUDA_DENSE, expand_rule, NULL, NULL, run_expand, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
