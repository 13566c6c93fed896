/* cast.cu — elementwise dtype conversion among f32, f16, i32, i64, i8, u8 and bool (also the f32<->f16 edges). */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename T> struct cv {
    static __device__ double to(T x) { return (double)x; }
    static __device__ T from(double v) { return (T)v; }
    static __device__ int64_t toi(T x) { return (int64_t)x; }
    static __device__ T fromi(int64_t v) { return (T)v; }
};
template <> struct cv<__half> {
    static __device__ double to(__half x) { return (double)__half2float(x); }
    static __device__ __half from(double v) { return half_sat((float)v); }
    static __device__ int64_t toi(__half x) { return (int64_t)__half2float(x); }
    static __device__ __half fromi(int64_t v) { return half_sat((float)v); }
};
struct boolean { uint8_t v; };
template <> struct cv<boolean> {
    static __device__ double to(boolean x) { return x.v ? 1.0 : 0.0; }
    static __device__ boolean from(double v) { boolean b; b.v = v != 0.0; return b; }
    static __device__ int64_t toi(boolean x) { return x.v ? 1 : 0; }
    static __device__ boolean fromi(int64_t v) { boolean b; b.v = v != 0; return b; }
};

/* ints: both sides integers, converted through int64 to stay exact; else through double */
template <typename F, typename T>
__global__ void cast_kernel(const F *x, T *y, int64_t n, int ints) {
    if (ints) {
        GRID_STRIDE(i, n) y[i] = cv<T>::fromi(cv<F>::toi(x[i]));
    } else {
        GRID_STRIDE(i, n) y[i] = cv<T>::from(cv<F>::to(x[i]));
    }
}
template <typename F>
__global__ void cast_f32_kernel(const F *x, float *y, int64_t n) {
    GRID_STRIDE(i, n) y[i] = (float)cv<F>::to(x[i]);
}
__global__ void cast_f32_f16_kernel(const float *x, __half *y, int64_t n) { GRID_STRIDE(i, n) y[i] = half_sat(x[i]); }
__global__ void cast_f16_f32_kernel(const __half *x, float *y, int64_t n) { GRID_STRIDE(i, n) y[i] = __half2float(x[i]); }

static inline int is_int(infer_dtype d) { return d == INFER_I32 || d == INFER_I64 || d == INFER_I8 || d == INFER_U8; }

extern "C" int cuda_cast_supported(infer_dtype from, infer_dtype to) {
    int ok_from = from == INFER_F32 || from == INFER_F16 || is_int(from) || from == INFER_BOOL;
    int ok_to = to == INFER_F32 || to == INFER_F16 || is_int(to) || to == INFER_BOOL;
    return ok_from && ok_to;
}

template <typename F, typename T>
static void cast_go(cudaStream_t s, const void *x, void *y, int64_t n, int ints) {
    cast_kernel<F, T><<<kernel_grid(n), KERNEL_BLOCK, 0, s>>>((const F *)x, (T *)y, n, ints);
}

template <typename F>
static int cast_from(cudaStream_t s, infer_dtype from, infer_dtype to, const void *x, void *y, int64_t n) {
    int ints = (is_int(from) || from == INFER_BOOL) && (is_int(to) || to == INFER_BOOL);
    switch (to) {
    case INFER_F32: cast_f32_kernel<F><<<kernel_grid(n), KERNEL_BLOCK, 0, s>>>((const F *)x, (float *)y, n); return 1;
    case INFER_F16: cast_go<F, __half>(s, x, y, n, 0); return 1;
    case INFER_I32: cast_go<F, int32_t>(s, x, y, n, ints); return 1;
    case INFER_I64: cast_go<F, int64_t>(s, x, y, n, ints); return 1;
    case INFER_I8: cast_go<F, int8_t>(s, x, y, n, ints); return 1;
    case INFER_U8: cast_go<F, uint8_t>(s, x, y, n, ints); return 1;
    case INFER_BOOL: cast_go<F, boolean>(s, x, y, n, 0); return 1;
    default: return 0;
    }
}

extern "C" infer_status cuda_cast(void *stream, infer_dtype from, infer_dtype to, const void *x, void *y, int64_t n,
                                  infer_error *err) {
    if (n <= 0) return INFER_OK;
    cudaStream_t s = KSTREAM(stream);
    if (from == to) {
        KCUDA(cudaMemcpyAsync(y, x, (size_t)n * infer_dtype_size(from), cudaMemcpyDeviceToDevice, s));
        return INFER_OK;
    }
    int ok = 0;
    if (from == INFER_F32 && to == INFER_F16) {
        cast_f32_f16_kernel<<<kernel_grid(n), KERNEL_BLOCK, 0, s>>>((const float *)x, (__half *)y, n);
        ok = 1;
    } else if (from == INFER_F16 && to == INFER_F32) {
        cast_f16_f32_kernel<<<kernel_grid(n), KERNEL_BLOCK, 0, s>>>((const __half *)x, (float *)y, n);
        ok = 1;
    } else {
        switch (from) {
        case INFER_F32: ok = cast_from<float>(s, from, to, x, y, n); break;
        case INFER_F16: ok = cast_from<__half>(s, from, to, x, y, n); break;
        case INFER_I32: ok = cast_from<int32_t>(s, from, to, x, y, n); break;
        case INFER_I64: ok = cast_from<int64_t>(s, from, to, x, y, n); break;
        case INFER_I8: ok = cast_from<int8_t>(s, from, to, x, y, n); break;
        case INFER_U8: ok = cast_from<uint8_t>(s, from, to, x, y, n); break;
        case INFER_BOOL: ok = cast_from<boolean>(s, from, to, x, y, n); break;
        default: break;
        }
    }
    if (!ok)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "cast from %s to %s on CUDA", infer_dtype_name(from),
                          infer_dtype_name(to));
    KERNEL_CHECK("cast");
    return INFER_OK;
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static int supports_cast(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *x = cuda_node_input(g, n, 0), *y = cuda_node_output(g, n, 0);
    if (!x || !y) return cuda_refuse(why, len, "cast without input or output");
    if (!cuda_cast_supported(cuda_dev_dtype(x->dtype, fp16), cuda_dev_dtype(y->dtype, fp16)))
        return cuda_refuse(why, len, "cast %s to %s", infer_dtype_name(x->dtype), infer_dtype_name(y->dtype));
    return 1;
}

static infer_status run_cast(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                             const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    return cuda_cast(l->stream, x->dtype, y->dtype, x->data, y->data, cuda_numel(y), err);
}

/* Cast to an integer or bool: its f32 input holds integer values. */
static int exact_input_cast(const ir_graph *g, const ir_node *n, int k) {
    infer_dtype y = n->n_out > 0 ? g->tensors[n->out[0]].dtype : INFER_F32;
    return k == 0 && (y == INFER_I32 || y == INFER_I64 || y == INFER_I8 || y == INFER_U8 || y == INFER_BOOL);
}

extern "C" const cuda_kernel cuda_kernels_cast[] = {
    { CUDA_DENSE, supports_cast, NULL, NULL, run_cast, 1, exact_input_cast },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
