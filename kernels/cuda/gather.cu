/* gather.cu — torch.gather: y[p] = x[p with index[p] at the axis]; an index outside [0, size) zeroes its element
 * and raises the device flag (a run error, as on the CPU). */
#include "cuda_common.cuh"
#include "cuda_ops.h"

typedef struct {
    int ndim, axis;
    int64_t dims[INFER_MAX_DIMS], xstride[INFER_MAX_DIMS]; /* index (= y) dims, x's element strides */
} gather_geom;

template <typename E, typename I>
__global__ void gather_kernel(const E *x, const I *index, E *y, int64_t n, int64_t size, gather_geom g,
                              unsigned long long *flag, unsigned long long code) {
    GRID_STRIDE(i, n) {
        int64_t v = (int64_t)index[i];
        if (v < 0 || v >= size) {
            y[i] = E(0);
            if (flag && atomicCAS(&flag[0], 0ull, code) == 0ull) flag[1] = (unsigned long long)v;
            continue;
        }
        int64_t rest = i, off = 0;
        for (int d = g.ndim - 1; d >= 0; d--) {
            int64_t c = rest % g.dims[d];
            rest /= g.dims[d];
            off += (d == g.axis ? v : c) * g.xstride[d];
        }
        y[i] = x[off];
    }
}

template <typename E>
static void gather_go(cudaStream_t s, const infer_tensor *x, const infer_tensor *index, void *y, int64_t n, int64_t size,
                      const gather_geom &g, unsigned long long *flag, unsigned long long code) {
    if (index->dtype == INFER_I64)
        gather_kernel<E, int64_t><<<kernel_grid(n), KERNEL_BLOCK, 0, s>>>((const E *)x->data, (const int64_t *)index->data,
                                                                          (E *)y, n, size, g, flag, code);
    else
        gather_kernel<E, int32_t><<<kernel_grid(n), KERNEL_BLOCK, 0, s>>>((const E *)x->data, (const int32_t *)index->data,
                                                                          (E *)y, n, size, g, flag, code);
}

static int supports_gather(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *index = cuda_node_input(g, n, 1);
    if (!index || (index->dtype != INFER_I64 && index->dtype != INFER_I32))
        return cuda_refuse(why, len, "index of dtype %s", index ? infer_dtype_name(index->dtype) : "?");
    return cuda_same_elem(g, n, fp16, 1u << 1, why, len);
}

static infer_status run_gather(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                               const infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *index = &in[1];
    gather_geom g;
    g.ndim = x->ndim;
    g.axis = cuda_norm_axis(n->p.axis.axis, x->ndim);
    if (g.axis < 0 || g.axis >= x->ndim || index->ndim != x->ndim)
        return infer_fail(err, INFER_ERR_SHAPE, "gather: axis %d, %d-d index of a %d-d input", n->p.axis.axis,
                          index->ndim, x->ndim);
    int64_t stride = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        g.dims[d] = index->dims[d];
        g.xstride[d] = stride;
        stride *= x->dims[d];
    }
    int64_t total = cuda_numel(index), size = x->dims[g.axis];
    if (total <= 0) return INFER_OK;
    cudaStream_t s = KSTREAM(l->stream);
    switch (cuda_esize(x)) {
    case 1: gather_go<uint8_t>(s, x, index, out[0].data, total, size, g, l->err_flag, l->code); break;
    case 2: gather_go<uint16_t>(s, x, index, out[0].data, total, size, g, l->err_flag, l->code); break;
    case 4: gather_go<uint32_t>(s, x, index, out[0].data, total, size, g, l->err_flag, l->code); break;
    case 8: gather_go<uint64_t>(s, x, index, out[0].data, total, size, g, l->err_flag, l->code); break;
    default: return infer_fail(err, INFER_ERR_INTERNAL, "gather: element size %zu", cuda_esize(x));
    }
    KERNEL_CHECK("gather");
    return INFER_OK;
}

extern "C" const cuda_kernel cuda_kernels_gather[] = {
    { CUDA_DENSE, supports_gather, NULL, NULL, run_gather, 1 },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
