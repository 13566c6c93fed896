/* cuda_common.cuh — shared device helpers for the kernels: float/half loads and stores, activations, launch checks. */
#ifndef INFER_CUDA_COMMON_CUH
#define INFER_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <math.h>
#include <stdint.h>
extern "C" {
#include "../../base/error.h"
}
#include "cuda_kernels.h"

#define KERNEL_BLOCK 256

/* After every launch: a bad configuration or an earlier asynchronous fault becomes INFER_ERR_DEVICE. */
#define KERNEL_CHECK(name)                                                                          \
    do {                                                                                            \
        cudaError_t kernel_check_e_ = cudaGetLastError();                                           \
        if (kernel_check_e_ != cudaSuccess)                                                         \
            return infer_fail(err, kernel_check_e_ == cudaErrorMemoryAllocation ? INFER_ERR_MEMORY : INFER_ERR_DEVICE, \
                              "CUDA kernel %s failed to launch at %s:%d: %s (%s)", name, __FILE__, __LINE__, \
                              cudaGetErrorString(kernel_check_e_), cudaGetErrorName(kernel_check_e_)); \
    } while (0)

/* A CUDA runtime call inside a launcher. */
#define KCUDA(call)                                                                                 \
    do {                                                                                            \
        cudaError_t kcuda_e_ = (call);                                                              \
        if (kcuda_e_ != cudaSuccess)                                                                \
            return infer_fail(err, INFER_ERR_DEVICE, "CUDA call %s failed at %s:%d: %s (%s)", #call, __FILE__, \
                              __LINE__, cudaGetErrorString(kcuda_e_), cudaGetErrorName(kcuda_e_));   \
    } while (0)

/* A launcher's float storage dtype: f32 or f16. */
#define NEED_FLOAT_STORAGE(name, dtype)                                                             \
    do {                                                                                            \
        if ((dtype) != INFER_F32 && (dtype) != INFER_F16)                                           \
            return infer_fail(err, INFER_ERR_UNSUPPORTED, "CUDA kernel %s: %s storage is not supported", name, \
                              infer_dtype_name(dtype));                                            \
    } while (0)

#define KSTREAM(s) ((cudaStream_t)(s))

/* Blocks for a grid-stride loop over n items. */
static inline unsigned kernel_grid(int64_t n, int block = KERNEL_BLOCK) {
    int64_t g = (n + block - 1) / block;
    if (g > (1 << 20)) g = 1 << 20;
    return (unsigned)(g < 1 ? 1 : g);
}

#define GRID_STRIDE(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__device__ __forceinline__ float ldf(const float *p, int64_t i) { return p[i]; }
__device__ __forceinline__ float ldf(const __half *p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void stf(float *p, int64_t i, float v) { p[i] = v; }
/* Every half store saturates: a finite value beyond the half range becomes +-65504 (as weights do on the
 * host), so a -1e9 or finfo.min mask stays a large finite negative; inf and NaN stay what they are. */
__device__ __forceinline__ __half half_sat(float v) {
    return __float2half_rn(isfinite(v) ? fminf(fmaxf(v, -65504.0f), 65504.0f) : v);
}
__device__ __forceinline__ void stf(__half *p, int64_t i, float v) { p[i] = half_sat(v); }

/* The scalar activations of base/ops.c (act_apply), bit for bit the same formulas. */
__device__ __forceinline__ float act_dev(int kind, float mn, float mx, float x) {
    switch (kind) {
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_CLIP: return x < mn ? mn : (x > mx ? mx : x);
    case ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case ACT_GELU_TANH: return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case ACT_SILU: return x / (1.0f + expf(-x));
    case ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case ACT_TANH: return tanhf(x);
    case ACT_HARDSWISH: return x * fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    case ACT_HARDSIGMOID: return fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    default: return x;
    }
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float warp_min(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fminf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Block-wide sum for blockDim.x a multiple of 32 (at most 1024); every thread gets the result.
 * shared: at least 33 floats. */
__device__ __forceinline__ float block_sum(float v, float *shared) {
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) shared[wid] = v;
    __syncthreads();
    float t = lane < nw ? shared[lane] : 0.0f;
    t = warp_sum(t);
    return t;
}
__device__ __forceinline__ float block_max(float v, float *shared) {
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) shared[wid] = v;
    __syncthreads();
    float t = lane < nw ? shared[lane] : -INFINITY;
    return warp_max(t);
}

/* Offsets of output element i into each input of a broadcast. */
template <int NIN>
__device__ __forceinline__ void bcast_offsets(const cuda_bcast &b, int64_t i, int64_t *off) {
    for (int k = 0; k < NIN; k++) off[k] = 0;
    for (int d = b.ndim - 1; d >= 0; d--) {
        int64_t n = b.dims[d];
        int64_t idx = i % n;
        i /= n;
        for (int k = 0; k < NIN; k++) off[k] += idx * b.st[k][d];
    }
}

#endif
