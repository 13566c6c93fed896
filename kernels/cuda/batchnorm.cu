/* batchnorm.cu — inference BatchNorm over channel axis 1: y = (x - mean) / sqrt(var + eps) * w + b. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename T>
__global__ void batchnorm_kernel(const T *x, const T *w, const T *b, const T *mean, const T *var, T *y, int64_t total,
                                 int64_t c, int64_t inner, float eps) {
    GRID_STRIDE(i, total) {
        int64_t ch = (i / inner) % c;
        float v = (ldf(x, i) - ldf(mean, ch)) / sqrtf(ldf(var, ch) + eps);
        stf(y, i, v * ldf(w, ch) + ldf(b, ch));
    }
}

extern "C" infer_status cuda_batchnorm(void *stream, infer_dtype dtype, const void *x, const void *w, const void *b,
                                       const void *mean, const void *var, void *y, int64_t n, int64_t c, int64_t inner,
                                       float eps, infer_error *err) {
    NEED_FLOAT_STORAGE("batchnorm", dtype);
    int64_t total = n * c * inner;
    if (total <= 0) return INFER_OK;
    if (dtype == INFER_F16)
        batchnorm_kernel<__half><<<kernel_grid(total), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const __half *)x, (const __half *)w, (const __half *)b, (const __half *)mean, (const __half *)var,
            (__half *)y, total, c, inner, eps);
    else
        batchnorm_kernel<float><<<kernel_grid(total), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const float *)x, (const float *)w, (const float *)b, (const float *)mean, (const float *)var,
            (float *)y, total, c, inner, eps);
    KERNEL_CHECK("batchnorm");
    return INFER_OK;
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static infer_status run_batchnorm(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                  const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    return cuda_batchnorm(l->stream, y->dtype, x->data, in[1].data, in[2].data, in[3].data, in[4].data, y->data,
                          x->dims[0], x->ndim > 1 ? x->dims[1] : 1, cuda_prod(x->dims, 2, x->ndim), n->p.batchnorm.eps,
                          err);
}

extern "C" const cuda_kernel cuda_kernels_batchnorm[] = {
    { CUDA_DENSE, cuda_floats_only_rule, NULL, NULL, run_batchnorm },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
