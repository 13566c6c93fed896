/* binary.cu — y = a op b with numpy broadcasting, or a op scalar: add, sub, mul, div, pow, max, min. */
#include "cuda_common.cuh"

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

extern "C" infer_status cuda_binary(void *stream, int half, const cuda_bcast *bc, const void *a, const void *b,
                                    void *y, int64_t n, binary_kind kind, float scalar, int reverse,
                                    infer_error *err) {
    if (n <= 0) return INFER_OK;
    return half ? binary_launch<__half>(KSTREAM(stream), bc, a, b, y, n, kind, scalar, reverse, err)
                : binary_launch<float>(KSTREAM(stream), bc, a, b, y, n, kind, scalar, reverse, err);
}
