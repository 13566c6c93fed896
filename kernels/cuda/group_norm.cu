/* group_norm.cu — group normalization: one block per (sample, group), two block-reduced passes (mean, then variance). */
#include "cuda_common.cuh"
#include "cuda_ops.h"

#define GN_BLOCK 256

__device__ float gn_block_sum(float v, float *shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = GN_BLOCK / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
        __syncthreads();
    }
    float total = shared[0];
    __syncthreads();
    return total;
}

template <typename T>
__global__ void group_norm_kernel(const T *x, const T *w, const T *b, T *y, int64_t groups, int64_t cpg,
                                  int64_t spatial, float eps) {
    __shared__ float shared[GN_BLOCK];
    int64_t r = blockIdx.x, size = cpg * spatial;
    const T *xr = x + r * size;
    T *yr = y + r * size;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < size; i += GN_BLOCK) s += ldf(xr, i);
    float mean = gn_block_sum(s, shared) / (float)size;
    float q = 0.0f;
    for (int64_t i = threadIdx.x; i < size; i += GN_BLOCK) {
        float d = ldf(xr, i) - mean;
        q += d * d;
    }
    float rstd = rsqrtf(gn_block_sum(q, shared) / (float)size + eps);
    int64_t c0 = (r % groups) * cpg;
    for (int64_t i = threadIdx.x; i < size; i += GN_BLOCK) {
        int64_t c = c0 + i / spatial;
        float v = (ldf(xr, i) - mean) * rstd * (w ? ldf(w, c) : 1.0f) + (b ? ldf(b, c) : 0.0f);
        stf(yr, i, v);
    }
}

static infer_status run_group_norm(const cuda_launch *l, const ir_node *node, struct cuda_node_plan *plan,
                                   const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0];
    int64_t groups = node->p.group_norm.groups, spatial = cuda_prod(x->dims, 2, x->ndim);
    NEED_FLOAT_STORAGE("group_norm", x->dtype);
    if (groups < 1 || x->dims[1] % groups) return infer_fail(err, INFER_ERR_SHAPE, "group_norm: %lld groups", (long long)groups);
    int64_t blocks = x->dims[0] * groups;
    if (blocks <= 0 || x->dims[1] * spatial == 0) return INFER_OK;
    if (blocks > 0x7fffffff) return infer_fail(err, INFER_ERR_UNSUPPORTED, "group_norm: %lld (sample, group) blocks", (long long)blocks);
    const void *w = node->n_in > 1 ? in[1].data : NULL, *b = node->n_in > 2 ? in[2].data : NULL;
    if (x->dtype == INFER_F16)
        group_norm_kernel<__half><<<(unsigned)blocks, GN_BLOCK, 0, KSTREAM(l->stream)>>>(
            (const __half *)x->data, (const __half *)w, (const __half *)b, (__half *)out[0].data, groups,
            x->dims[1] / groups, spatial, node->p.group_norm.eps);
    else
        group_norm_kernel<float><<<(unsigned)blocks, GN_BLOCK, 0, KSTREAM(l->stream)>>>(
            (const float *)x->data, (const float *)w, (const float *)b, (float *)out[0].data, groups,
            x->dims[1] / groups, spatial, node->p.group_norm.eps);
    KERNEL_CHECK("group_norm");
    return INFER_OK;
}

extern "C" const cuda_kernel cuda_kernels_group_norm[] = {
    { CUDA_DENSE, cuda_floats_only_rule, NULL, NULL, run_group_norm },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
