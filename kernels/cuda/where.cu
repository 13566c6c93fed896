/* where.cu — z = cond ? x : y with broadcasting of all three (any element size; cond is bool). */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename E>
__global__ void where_kernel(cuda_bcast bc, const uint8_t *cond, const E *x, const E *y, E *z, int64_t n) {
    GRID_STRIDE(i, n) {
        int64_t off[3];
        bcast_offsets<3>(bc, i, off);
        z[i] = cond[off[0]] ? x[off[1]] : y[off[2]];
    }
}

extern "C" infer_status cuda_where(void *stream, size_t es, const cuda_bcast *bc, const void *cond, const void *x,
                                   const void *y, void *z, int64_t n, infer_error *err) {
    if (n <= 0) return INFER_OK;
    unsigned g = kernel_grid(n);
    cudaStream_t s = KSTREAM(stream);
    const uint8_t *c = (const uint8_t *)cond;
    switch (es) {
    case 1: where_kernel<uint8_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, c, (const uint8_t *)x, (const uint8_t *)y, (uint8_t *)z, n); break;
    case 2: where_kernel<uint16_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, c, (const uint16_t *)x, (const uint16_t *)y, (uint16_t *)z, n); break;
    case 4: where_kernel<uint32_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, c, (const uint32_t *)x, (const uint32_t *)y, (uint32_t *)z, n); break;
    case 8: where_kernel<uint64_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, c, (const uint64_t *)x, (const uint64_t *)y, (uint64_t *)z, n); break;
    default: return infer_fail(err, INFER_ERR_INTERNAL, "where: element size %zu", es);
    }
    KERNEL_CHECK("where");
    return INFER_OK;
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static int supports_where(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *c = cuda_node_input(g, n, 0);
    if (!c || (c->dtype != INFER_BOOL && c->dtype != INFER_U8))
        return cuda_refuse(why, len, "where condition is not bool");
    return cuda_same_elem(g, n, fp16, 1u << 0, why, len);
}

static infer_status run_where(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                              const infer_tensor *out, infer_error *err) {
    const infer_tensor *y = &out[0];
    cuda_bcast bc;
    const infer_tensor *xs[3] = { &in[0], &in[1], &in[2] };
    if (!cuda_bcast_of(&bc, y, 3, xs)) return infer_fail(err, INFER_ERR_SHAPE, "where: inputs do not broadcast");
    return cuda_where(l->stream, cuda_esize(y), &bc, in[0].data, in[1].data, in[2].data, y->data, cuda_numel(y), err);
}

extern "C" const cuda_kernel cuda_kernels_where[] = {
    { CUDA_DENSE, supports_where, NULL, NULL, run_where, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
