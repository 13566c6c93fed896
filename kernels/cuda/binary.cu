/* binary.cu — y = a op b with numpy broadcasting, or a op scalar: add, sub, mul, div, pow, max, min. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

__device__ __forceinline__ float binary_dev(int kind, float a, float b) {
    switch (kind) {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    case BIN_DIV: return a / b;
    case BIN_POW: return powf(a, b);
    case BIN_MAX: return fmaxf(a, b);
    case BIN_MIN: return fminf(a, b);
    default: return a;
    }
}

template <typename T>
__global__ void binary_same_kernel(const T *a, const T *b, T *y, int64_t n, int kind) {
    GRID_STRIDE(i, n) stf(y, i, binary_dev(kind, ldf(a, i), ldf(b, i)));
}

template <typename T>
__global__ void binary_bcast_kernel(cuda_bcast bc, const T *a, const T *b, T *y, int64_t n, int kind) {
    GRID_STRIDE(i, n) {
        int64_t off[2];
        bcast_offsets<2>(bc, i, off);
        stf(y, i, binary_dev(kind, ldf(a, off[0]), ldf(b, off[1])));
    }
}

template <typename T>
__global__ void binary_scalar_kernel(const T *a, T *y, int64_t n, int kind, float s, int reverse) {
    GRID_STRIDE(i, n) {
        float v = ldf(a, i);
        stf(y, i, reverse ? binary_dev(kind, s, v) : binary_dev(kind, v, s));
    }
}

template <typename T>
static infer_status binary_launch(cudaStream_t s, const cuda_bcast *bc, const void *a, const void *b, void *y,
                                  int64_t n, int kind, float scalar, int reverse, infer_error *err) {
    unsigned g = kernel_grid(n);
    if (!b)
        binary_scalar_kernel<T><<<g, KERNEL_BLOCK, 0, s>>>((const T *)a, (T *)y, n, kind, scalar, reverse);
    else if (bc->ndim == 1 && bc->st[0][0] == 1 && bc->st[1][0] == 1)
        binary_same_kernel<T><<<g, KERNEL_BLOCK, 0, s>>>((const T *)a, (const T *)b, (T *)y, n, kind);
    else
        binary_bcast_kernel<T><<<g, KERNEL_BLOCK, 0, s>>>(*bc, (const T *)a, (const T *)b, (T *)y, n, kind);
    KERNEL_CHECK("binary");
    return INFER_OK;
}

extern "C" infer_status cuda_binary(void *stream, infer_dtype dtype, const cuda_bcast *bc, const void *a, const void *b,
                                    void *y, int64_t n, binary_kind kind, float scalar, int reverse, infer_error *err) {
    NEED_FLOAT_STORAGE("binary", dtype);
    if (n <= 0) return INFER_OK;
    return dtype == INFER_F16 ? binary_launch<__half>(KSTREAM(stream), bc, a, b, y, n, kind, scalar, reverse, err)
                              : binary_launch<float>(KSTREAM(stream), bc, a, b, y, n, kind, scalar, reverse, err);
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static infer_status run_binary(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                               const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    cuda_bcast bc;
    const infer_tensor *b = n->n_in > 1 && in[1].data ? &in[1] : NULL;
    const infer_tensor *xs[2] = { x, b ? b : x };
    if (!cuda_bcast_of(&bc, y, 2, xs)) return infer_fail(err, INFER_ERR_SHAPE, "binary: inputs do not broadcast");
    return cuda_binary(l->stream, y->dtype, &bc, x->data, b ? b->data : NULL, y->data, cuda_numel(y), n->p.binary.kind,
                       n->p.binary.scalar, n->p.binary.reverse, err);
}

extern "C" const cuda_kernel cuda_kernels_binary[] = {
    { CUDA_DENSE, cuda_floats_only_rule, NULL, NULL, run_binary, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
