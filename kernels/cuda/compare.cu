/* compare.cu — y (bool) = a cmp b with broadcasting, or a cmp scalar: eq, ne, lt, le, gt, ge, and, or, xor. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename V>
__device__ __forceinline__ uint8_t cmp_dev(int kind, V a, V b) {
    switch (kind) {
    case CMP_EQ: return a == b;
    case CMP_NE: return a != b;
    case CMP_LT: return a < b;
    case CMP_LE: return a <= b;
    case CMP_GT: return a > b;
    case CMP_GE: return a >= b;
    case CMP_AND: return a != V(0) && b != V(0);
    case CMP_OR: return a != V(0) || b != V(0);
    case CMP_XOR: return (a != V(0)) != (b != V(0));
    default: return 0;
    }
}

/* The value compared: float types as float, integers as int64 (exact). */
template <typename T> struct cmp_val { typedef int64_t V; static __device__ V get(T x) { return (int64_t)x; } };
template <> struct cmp_val<float> { typedef float V; static __device__ float get(float x) { return x; } };
template <> struct cmp_val<__half> { typedef float V; static __device__ float get(__half x) { return __half2float(x); } };

template <typename T>
__global__ void compare_kernel(cuda_bcast bc, const T *a, const T *b, uint8_t *y, int64_t n, int kind) {
    GRID_STRIDE(i, n) {
        int64_t off[2];
        bcast_offsets<2>(bc, i, off);
        y[i] = cmp_dev(kind, cmp_val<T>::get(a[off[0]]), cmp_val<T>::get(b[off[1]]));
    }
}

template <typename T>
__global__ void compare_scalar_kernel(const T *a, uint8_t *y, int64_t n, int kind, float s) {
    GRID_STRIDE(i, n) y[i] = cmp_dev(kind, (double)cmp_val<T>::get(a[i]), (double)s);
}

template <typename T>
static infer_status compare_launch(cudaStream_t s, const cuda_bcast *bc, const void *a, const void *b, void *y,
                                   int64_t n, int kind, float scalar, infer_error *err) {
    if (b)
        compare_kernel<T><<<kernel_grid(n), KERNEL_BLOCK, 0, s>>>(*bc, (const T *)a, (const T *)b, (uint8_t *)y, n, kind);
    else
        compare_scalar_kernel<T><<<kernel_grid(n), KERNEL_BLOCK, 0, s>>>((const T *)a, (uint8_t *)y, n, kind, scalar);
    KERNEL_CHECK("compare");
    return INFER_OK;
}

extern "C" infer_status cuda_compare(void *stream, infer_dtype dt, const cuda_bcast *bc, const void *a, const void *b,
                                     void *y, int64_t n, compare_kind kind, float scalar, infer_error *err) {
    if (n <= 0) return INFER_OK;
    cudaStream_t s = KSTREAM(stream);
    switch (dt) {
    case INFER_F32: return compare_launch<float>(s, bc, a, b, y, n, kind, scalar, err);
    case INFER_F16: return compare_launch<__half>(s, bc, a, b, y, n, kind, scalar, err);
    case INFER_I32: return compare_launch<int32_t>(s, bc, a, b, y, n, kind, scalar, err);
    case INFER_I64: return compare_launch<int64_t>(s, bc, a, b, y, n, kind, scalar, err);
    case INFER_I8: return compare_launch<int8_t>(s, bc, a, b, y, n, kind, scalar, err);
    case INFER_U8:
    case INFER_BOOL: return compare_launch<uint8_t>(s, bc, a, b, y, n, kind, scalar, err);
    default: return infer_fail(err, INFER_ERR_UNSUPPORTED, "compare: dtype %s on CUDA", infer_dtype_name(dt));
    }
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static int supports_compare(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *a = cuda_node_input(g, n, 0), *b = cuda_node_input(g, n, 1), *y = cuda_node_output(g, n, 0);
    if (!a || !y) return cuda_refuse(why, len, "compare without input or output");
    infer_dtype d = a->dtype;
    if (!(cuda_is_float(d) || d == INFER_I32 || d == INFER_I64 || d == INFER_I8 || d == INFER_U8 || d == INFER_BOOL))
        return cuda_refuse(why, len, "compare of %s", infer_dtype_name(d));
    if (b && cuda_dev_dtype(b->dtype, fp16) != cuda_dev_dtype(d, fp16))
        return cuda_refuse(why, len, "compare of %s with %s", infer_dtype_name(d), infer_dtype_name(b->dtype));
    if (y->dtype != INFER_BOOL && y->dtype != INFER_U8)
        return cuda_refuse(why, len, "compare output %s", infer_dtype_name(y->dtype));
    return 1;
}

static infer_status run_compare(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    cuda_bcast bc;
    const infer_tensor *b = n->n_in > 1 && in[1].data ? &in[1] : NULL;
    const infer_tensor *xs[2] = { x, b ? b : x };
    if (!cuda_bcast_of(&bc, y, 2, xs)) return infer_fail(err, INFER_ERR_SHAPE, "compare: inputs do not broadcast");
    return cuda_compare(l->stream, x->dtype, &bc, x->data, b ? b->data : NULL, y->data, cuda_numel(y),
                        n->p.compare.kind, n->p.compare.scalar, err);
}

/* Compared values decide a bool exactly. */
static int exact_input_compare(const ir_graph *g, const ir_node *n, int k) { return k < 2; }

extern "C" const cuda_kernel cuda_kernels_compare[] = {
    { CUDA_DENSE, supports_compare, NULL, NULL, run_compare, 1, exact_input_compare },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
