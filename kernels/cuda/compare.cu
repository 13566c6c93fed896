/* compare.cu — y (bool) = a cmp b with broadcasting, or a cmp scalar: eq, ne, lt, le, gt, ge. */
#include "cuda_common.cuh"

template <typename V>
__device__ __forceinline__ uint8_t cmp_dev(int kind, V a, V b) {
    switch (kind) {
    case CMP_EQ: return a == b;
    case CMP_NE: return a != b;
    case CMP_LT: return a < b;
    case CMP_LE: return a <= b;
    case CMP_GT: return a > b;
    case CMP_GE: return a >= b;
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
