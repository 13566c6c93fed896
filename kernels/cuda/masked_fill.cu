/* masked_fill.cu — y = mask ? value : x, the bool mask broadcast to x (any element size). */
#include "cuda_common.cuh"
#include "cuda_ops.h"
#include "../../base/half.h"

template <typename E>
__global__ void masked_fill_kernel(cuda_bcast bc, const E *x, const uint8_t *mask, E *y, int64_t n, E value) {
    GRID_STRIDE(i, n) {
        int64_t off[2];
        bcast_offsets<2>(bc, i, off);
        y[i] = mask[off[1]] ? value : x[off[0]];
    }
}

extern "C" infer_status cuda_masked_fill(void *stream, size_t es, const cuda_bcast *bc, const void *x,
                                         const void *mask, void *y, int64_t n, uint64_t value_bits,
                                         infer_error *err) {
    if (n <= 0) return INFER_OK;
    unsigned g = kernel_grid(n);
    cudaStream_t s = KSTREAM(stream);
    const uint8_t *m = (const uint8_t *)mask;
    switch (es) {
    case 1: masked_fill_kernel<uint8_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const uint8_t *)x, m, (uint8_t *)y, n, (uint8_t)value_bits); break;
    case 2: masked_fill_kernel<uint16_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const uint16_t *)x, m, (uint16_t *)y, n, (uint16_t)value_bits); break;
    case 4: masked_fill_kernel<uint32_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const uint32_t *)x, m, (uint32_t *)y, n, (uint32_t)value_bits); break;
    case 8: masked_fill_kernel<uint64_t><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const uint64_t *)x, m, (uint64_t *)y, n, (uint64_t)value_bits); break;
    default: return infer_fail(err, INFER_ERR_INTERNAL, "masked_fill: element size %zu", es);
    }
    KERNEL_CHECK("masked_fill");
    return INFER_OK;
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

/* The fill value in the bits of dtype dt. */
static uint64_t value_bits(infer_dtype dt, float v) {
    uint64_t bits = 0;
    switch (dt) {
    case INFER_F32: memcpy(&bits, &v, 4); break;
    case INFER_F16: bits = half_from_float_sat(v); break; /* -1e9 stays a large finite negative */
    case INFER_I64: {
        int64_t i = (int64_t)v;
        memcpy(&bits, &i, 8);
        break;
    }
    case INFER_I32: {
        int32_t i = (int32_t)v;
        uint32_t u;
        memcpy(&u, &i, 4);
        bits = u;
        break;
    }
    case INFER_I8: bits = (uint8_t)(int8_t)v; break;
    case INFER_U8: bits = (uint8_t)v; break;
    case INFER_BOOL: bits = v != 0.0f; break;
    default: break;
    }
    return bits;
}

static int supports_masked_fill(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *m = cuda_node_input(g, n, 1);
    if (!m || (m->dtype != INFER_BOOL && m->dtype != INFER_U8)) return cuda_refuse(why, len, "mask is not bool");
    const ir_tensor *x = cuda_node_input(g, n, 0);
    if (!x || !(cuda_is_float(x->dtype) || x->dtype == INFER_I32 || x->dtype == INFER_I64 || x->dtype == INFER_I8 ||
                x->dtype == INFER_U8 || x->dtype == INFER_BOOL))
        return cuda_refuse(why, len, "masked_fill of %s", x ? infer_dtype_name(x->dtype) : "?");
    return cuda_same_elem(g, n, fp16, 1u << 1, why, len);
}

static infer_status run_masked_fill(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                    const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    cuda_bcast bc;
    const infer_tensor *xs[2] = { x, &in[1] };
    if (!cuda_bcast_of(&bc, y, 2, xs)) return infer_fail(err, INFER_ERR_SHAPE, "masked_fill: mask does not broadcast");
    return cuda_masked_fill(l->stream, cuda_esize(y), &bc, x->data, in[1].data, y->data, cuda_numel(y),
                            value_bits(y->dtype, n->p.masked_fill.value), err);
}

extern "C" const cuda_kernel cuda_kernels_masked_fill[] = {
    { CUDA_DENSE, supports_masked_fill, NULL, NULL, run_masked_fill, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
