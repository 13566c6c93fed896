/* softmax.cu — softmax / log-softmax along one axis of x viewed as [outer, dim, inner], in float. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

/* inner == 1: one block per row, the row read three times (max, sum, write). */
template <typename T>
__global__ void softmax_rows_kernel(const T *x, T *y, int64_t rows, int64_t dim, int log) {
    __shared__ float sh[33];
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *xr = x + r * dim;
        T *yr = y + r * dim;
        float m = -INFINITY;
        for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) m = fmaxf(m, ldf(xr, j));
        m = block_max(m, sh);
        float s = 0.0f;
        for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) s += expf(ldf(xr, j) - m);
        s = block_sum(s, sh);
        if (log) {
            float ls = logf(s);
            for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) stf(yr, j, ldf(xr, j) - m - ls);
        } else {
            float inv = 1.0f / s;
            for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) stf(yr, j, expf(ldf(xr, j) - m) * inv);
        }
        __syncthreads();
    }
}

/* inner > 1: one thread per (outer, inner) column, strided along dim. */
template <typename T>
__global__ void softmax_cols_kernel(const T *x, T *y, int64_t outer, int64_t dim, int64_t inner, int log) {
    GRID_STRIDE(i, outer * inner) {
        int64_t o = i / inner, in = i % inner;
        const T *xc = x + o * dim * inner + in;
        T *yc = y + o * dim * inner + in;
        float m = -INFINITY;
        for (int64_t j = 0; j < dim; j++) m = fmaxf(m, ldf(xc, j * inner));
        float s = 0.0f;
        for (int64_t j = 0; j < dim; j++) s += expf(ldf(xc, j * inner) - m);
        if (log) {
            float ls = logf(s);
            for (int64_t j = 0; j < dim; j++) stf(yc, j * inner, ldf(xc, j * inner) - m - ls);
        } else {
            float inv = 1.0f / s;
            for (int64_t j = 0; j < dim; j++) stf(yc, j * inner, expf(ldf(xc, j * inner) - m) * inv);
        }
    }
}

template <typename T>
static infer_status softmax_launch(cudaStream_t s, const void *x, void *y, int64_t outer, int64_t dim,
                                   int64_t inner, int log, infer_error *err) {
    if (inner == 1) {
        int block = dim >= 1024 ? 512 : dim >= 256 ? 256 : dim > 64 ? 128 : 32;
        int64_t grid = outer < 65535 * 16 ? outer : 65535 * 16;
        softmax_rows_kernel<T><<<(unsigned)grid, block, 0, s>>>((const T *)x, (T *)y, outer, dim, log);
    } else {
        softmax_cols_kernel<T><<<kernel_grid(outer * inner), KERNEL_BLOCK, 0, s>>>((const T *)x, (T *)y, outer, dim,
                                                                                   inner, log);
    }
    KERNEL_CHECK("softmax");
    return INFER_OK;
}

extern "C" infer_status cuda_softmax(void *stream, infer_dtype dtype, const void *x, void *y, int64_t outer,
                                     int64_t dim, int64_t inner, int log, infer_error *err) {
    NEED_FLOAT_STORAGE("softmax", dtype);
    if (outer <= 0 || dim <= 0 || inner <= 0) return INFER_OK;
    return dtype == INFER_F16 ? softmax_launch<__half>(KSTREAM(stream), x, y, outer, dim, inner, log, err)
                              : softmax_launch<float>(KSTREAM(stream), x, y, outer, dim, inner, log, err);
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static infer_status run_softmax(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *y = &out[0];
    int ax = cuda_norm_axis(n->p.softmax.axis, x->ndim);
    if (ax < 0 || ax >= x->ndim) return infer_fail(err, INFER_ERR_SHAPE, "softmax: axis %d", n->p.softmax.axis);
    return cuda_softmax(l->stream, y->dtype, x->data, y->data, cuda_prod(x->dims, 0, ax), x->dims[ax],
                        cuda_prod(x->dims, ax + 1, x->ndim), n->p.softmax.log, err);
}

extern "C" const cuda_kernel cuda_kernels_softmax[] = {
    { CUDA_DENSE, cuda_floats_only_rule, NULL, NULL, run_softmax },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
