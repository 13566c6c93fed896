/* index_select.cu — y[o, j, i] = x[o, index[j], i]; negative indices count from the end; an index outside the
 * axis zeroes its slice and raises the device flag (a run error, as on the CPU). */
#include "cuda_common.cuh"
#include "cuda_ops.h"

template <typename E, typename I>
__global__ void index_select_kernel(const E *x, const I *index, E *y, int64_t n, int64_t count, int64_t size,
                                    int64_t inner, unsigned long long *flag, unsigned long long code) {
    GRID_STRIDE(i, n) {
        int64_t k = i % inner, j = (i / inner) % count, o = i / (inner * count);
        int64_t v = (int64_t)index[j];
        if (v < 0) v += size;
        if (v < 0 || v >= size) {
            y[i] = E(0);
            if (flag && atomicCAS(&flag[0], 0ull, code) == 0ull) flag[1] = (unsigned long long)index[j];
        } else {
            y[i] = x[(o * size + v) * inner + k];
        }
    }
}

template <typename E>
static void index_select_go(cudaStream_t s, const infer_tensor *x, const infer_tensor *index, void *y, int64_t n,
                            int64_t count, int64_t size, int64_t inner, unsigned long long *flag, unsigned long long code) {
    if (index->dtype == INFER_I64)
        index_select_kernel<E, int64_t><<<kernel_grid(n), KERNEL_BLOCK, 0, s>>>(
            (const E *)x->data, (const int64_t *)index->data, (E *)y, n, count, size, inner, flag, code);
    else
        index_select_kernel<E, int32_t><<<kernel_grid(n), KERNEL_BLOCK, 0, s>>>(
            (const E *)x->data, (const int32_t *)index->data, (E *)y, n, count, size, inner, flag, code);
}

static int supports_index_select(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *index = cuda_node_input(g, n, 1);
    if (!index || (index->dtype != INFER_I64 && index->dtype != INFER_I32))
        return cuda_refuse(why, len, "index of dtype %s", index ? infer_dtype_name(index->dtype) : "?");
    return cuda_same_elem(g, n, fp16, 1u << 1, why, len);
}

static infer_status run_index_select(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                     const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *index = &in[1];
    int ax = cuda_norm_axis(n->p.axis.axis, x->ndim);
    if (ax < 0 || ax >= x->ndim) return infer_fail(err, INFER_ERR_SHAPE, "index_select: axis %d", n->p.axis.axis);
    int64_t total = cuda_numel(&out[0]), count = cuda_numel(index), size = x->dims[ax];
    int64_t inner = cuda_prod(x->dims, ax + 1, x->ndim);
    if (total <= 0) return INFER_OK;
    cudaStream_t s = KSTREAM(l->stream);
    switch (cuda_esize(x)) {
    case 1: index_select_go<uint8_t>(s, x, index, out[0].data, total, count, size, inner, l->err_flag, l->code); break;
    case 2: index_select_go<uint16_t>(s, x, index, out[0].data, total, count, size, inner, l->err_flag, l->code); break;
    case 4: index_select_go<uint32_t>(s, x, index, out[0].data, total, count, size, inner, l->err_flag, l->code); break;
    case 8: index_select_go<uint64_t>(s, x, index, out[0].data, total, count, size, inner, l->err_flag, l->code); break;
    default: return infer_fail(err, INFER_ERR_INTERNAL, "index_select: element size %zu", cuda_esize(x));
    }
    KERNEL_CHECK("index_select");
    return INFER_OK;
}

extern "C" const cuda_kernel cuda_kernels_index_select[] = {
    { CUDA_DENSE, supports_index_select, NULL, NULL, run_index_select, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
