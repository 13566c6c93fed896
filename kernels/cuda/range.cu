/* range.cu — start + i * step for i < the output's length: i64 exact, f32 (or f16 storage) computed in double. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

__global__ void range_i64_kernel(int64_t *y, int64_t n, int64_t start, int64_t step) {
    GRID_STRIDE(i, n) y[i] = (int64_t)((uint64_t)start + (uint64_t)i * (uint64_t)step); /* no signed overflow */
}

template <typename T>
__global__ void range_float_kernel(T *y, int64_t n, double start, double step) {
    GRID_STRIDE(i, n) stf(y, i, (float)(start + (double)i * step));
}

static int supports_range(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *y = cuda_node_output(g, n, 0);
    if (!y || (y->dtype != INFER_I64 && y->dtype != INFER_F32))
        return cuda_refuse(why, len, "range of dtype %s", y ? infer_dtype_name(y->dtype) : "?");
    return 1;
}

static infer_status run_range(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                              const infer_tensor *out, infer_error *err) {
    const range_params *r = &n->p.range;
    const infer_tensor *y = &out[0];
    if (y->ndim != 1) return infer_fail(err, INFER_ERR_SHAPE, "range: a %d-d output", y->ndim);
    int64_t count = y->dims[0];
    if (count <= 0) return INFER_OK;
    cudaStream_t s = KSTREAM(l->stream);
    if (y->dtype == INFER_I64)
        range_i64_kernel<<<kernel_grid(count), KERNEL_BLOCK, 0, s>>>((int64_t *)y->data, count, r->start, r->step);
    else if (y->dtype == INFER_F16)
        range_float_kernel<__half><<<kernel_grid(count), KERNEL_BLOCK, 0, s>>>((__half *)y->data, count, r->fstart,
                                                                              r->fstep);
    else if (y->dtype == INFER_F32)
        range_float_kernel<float><<<kernel_grid(count), KERNEL_BLOCK, 0, s>>>((float *)y->data, count, r->fstart,
                                                                             r->fstep);
    else
        return infer_fail(err, INFER_ERR_DTYPE, "range: output of dtype %s", infer_dtype_name(y->dtype));
    KERNEL_CHECK("range");
    return INFER_OK;
}

extern "C" const cuda_kernel cuda_kernels_range[] = {
    { CUDA_DENSE, supports_range, NULL, NULL, run_range, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
