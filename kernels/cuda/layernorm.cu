/* layernorm.cu — LayerNorm over the trailing d elements of each row, statistics in float (two passes). */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename T>
__global__ void layernorm_kernel(const T *x, const T *w, const T *b, T *y, int64_t rows, int64_t d, float eps) {
    __shared__ float sh[33];
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *xr = x + r * d;
        T *yr = y + r * d;
        float s = 0.0f;
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += ldf(xr, j);
        float mean = block_sum(s, sh) / (float)d;
        float v = 0.0f;
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
            float t = ldf(xr, j) - mean;
            v += t * t;
        }
        float rstd = 1.0f / sqrtf(block_sum(v, sh) / (float)d + eps);
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
            float t = (ldf(xr, j) - mean) * rstd;
            if (w) t *= ldf(w, j);
            if (b) t += ldf(b, j);
            stf(yr, j, t);
        }
        __syncthreads();
    }
}

template <typename T>
static infer_status layernorm_launch(cudaStream_t s, const void *x, const void *w, const void *b, void *y,
                                     int64_t rows, int64_t d, float eps, infer_error *err) {
    int block = d >= 1024 ? 512 : d >= 256 ? 256 : d > 64 ? 128 : 32;
    int64_t grid = rows < 65535 * 16 ? rows : 65535 * 16;
    layernorm_kernel<T><<<(unsigned)grid, block, 0, s>>>((const T *)x, (const T *)w, (const T *)b, (T *)y, rows, d, eps);
    KERNEL_CHECK("layernorm");
    return INFER_OK;
}

extern "C" infer_status cuda_layernorm(void *stream, infer_dtype dtype, const void *x, const void *w, const void *b,
                                       void *y, int64_t rows, int64_t d, float eps, infer_error *err) {
    NEED_FLOAT_STORAGE("layernorm", dtype);
    if (rows <= 0 || d <= 0) return INFER_OK;
    return dtype == INFER_F16 ? layernorm_launch<__half>(KSTREAM(stream), x, w, b, y, rows, d, eps, err)
                              : layernorm_launch<float>(KSTREAM(stream), x, w, b, y, rows, d, eps, err);
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static infer_status run_layernorm(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                  const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    int axes = n->p.layernorm.axes < 1 ? 1 : n->p.layernorm.axes;
    if (axes > x->ndim) axes = x->ndim;
    int64_t d = cuda_prod(x->dims, x->ndim - axes, x->ndim);
    return cuda_layernorm(l->stream, y->dtype, x->data, n->n_in > 1 ? in[1].data : NULL,
                          n->n_in > 2 ? in[2].data : NULL, y->data, d ? cuda_numel(y) / d : 0, d, n->p.layernorm.eps,
                          err);
}

extern "C" const cuda_kernel cuda_kernels_layernorm[] = {
    { CUDA_DENSE, cuda_floats_only_rule, NULL, NULL, run_layernorm },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
