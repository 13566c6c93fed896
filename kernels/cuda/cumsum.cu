/* cumsum.cu — running sums of f32 (or f16 storage) along one axis: one thread per line, summed in double. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename T>
__global__ void cumsum_kernel(const T *x, T *y, int64_t lines, int64_t size, int64_t inner) {
    GRID_STRIDE(line, lines) {
        int64_t base = (line / inner) * size * inner + line % inner;
        double sum = 0;
        for (int64_t i = 0; i < size; i++) {
            sum += (double)ldf(x, base + i * inner);
            stf(y, base + i * inner, (float)sum);
        }
    }
}

static int supports_cumsum(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *x = cuda_node_input(g, n, 0);
    if (!x || x->dtype != INFER_F32) return cuda_refuse(why, len, "cumsum of %s (runs on the CPU)", x ? infer_dtype_name(x->dtype) : "?");
    return cuda_floats_only(g, n, fp16, 0, 0, why, len);
}

static infer_status run_cumsum(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                               const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0];
    int ax = cuda_norm_axis(n->p.axis.axis, x->ndim);
    if (ax < 0 || ax >= x->ndim) return infer_fail(err, INFER_ERR_SHAPE, "cumsum: axis %d", n->p.axis.axis);
    NEED_FLOAT_STORAGE("cumsum", x->dtype);
    int64_t size = x->dims[ax], inner = cuda_prod(x->dims, ax + 1, x->ndim), total = cuda_numel(x);
    if (size <= 0 || inner <= 0 || total <= 0) return INFER_OK;
    int64_t lines = total / size;
    cudaStream_t s = KSTREAM(l->stream);
    if (x->dtype == INFER_F16)
        cumsum_kernel<__half><<<kernel_grid(lines), KERNEL_BLOCK, 0, s>>>((const __half *)x->data, (__half *)out[0].data,
                                                                          lines, size, inner);
    else
        cumsum_kernel<float><<<kernel_grid(lines), KERNEL_BLOCK, 0, s>>>((const float *)x->data, (float *)out[0].data,
                                                                         lines, size, inner);
    KERNEL_CHECK("cumsum");
    return INFER_OK;
}

extern "C" const cuda_kernel cuda_kernels_cumsum[] = {
    { CUDA_DENSE, supports_cumsum, NULL, NULL, run_cumsum, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
