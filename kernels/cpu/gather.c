/* gather.c — torch.gather: y[p] = x[p with index[p] at the axis]; every index checked against the axis first. */
#include "cpu_kernels.h"
#include "../../base/error.h"

#define GATHER_TASK_ELEMENTS 16384 /* elements a parallel task gathers at least */

typedef struct {
    const uint8_t *x;
    uint8_t *y;
    const void *index;
    int index_i64, ndim, axis;
    size_t esize;
    int64_t dims[INFER_MAX_DIMS], xstride[INFER_MAX_DIMS]; /* index (= y) dims, x's element strides */
} gather_args;

static int64_t index_at(const gather_args *A, int64_t i) {
    return A->index_i64 ? ((const int64_t *)A->index)[i] : ((const int32_t *)A->index)[i];
}

static void gather_elements(void *arg, int64_t begin, int64_t end, int thread) {
    const gather_args *A = arg;
    (void)thread;
    for (int64_t i = begin; i < end; i++) {
        int64_t rest = i, off = 0;
        for (int d = A->ndim - 1; d >= 0; d--) {
            int64_t c = rest % A->dims[d];
            rest /= A->dims[d];
            off += (d == A->axis ? index_at(A, i) : c) * A->xstride[d];
        }
        const uint8_t *src = A->x + (size_t)off * A->esize;
        uint8_t *dst = A->y + (size_t)i * A->esize;
        for (size_t b = 0; b < A->esize; b++) dst[b] = src[b];
    }
}

CPU_KERNEL(gather) {
    const infer_tensor *x = &in[0], *index = &in[1];
    int axis = n->p.axis.axis < 0 ? n->p.axis.axis + x->ndim : n->p.axis.axis;
    gather_args A = { x->data, out[0].data, index->data, index->dtype == INFER_I64, x->ndim, axis,
                      infer_dtype_size(x->dtype), { 0 }, { 0 } };
    if (axis < 0 || axis >= x->ndim || A.esize == 0 || (index->dtype != INFER_I64 && index->dtype != INFER_I32) ||
        index->ndim != x->ndim || out[0].dtype != x->dtype || infer_tensor_elements(&out[0]) != infer_tensor_elements(index))
        return infer_fail(err, INFER_ERR_SHAPE, "gather: axis %d of a %d-d %s input, %d-d %s index", n->p.axis.axis,
                          x->ndim, infer_dtype_name(x->dtype), index->ndim, infer_dtype_name(index->dtype));
    int64_t stride = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        if (d != axis && index->dims[d] > x->dims[d])
            return infer_fail(err, INFER_ERR_SHAPE, "gather: index dim %d is %lld, input's %lld", d,
                              (long long)index->dims[d], (long long)x->dims[d]);
        A.dims[d] = index->dims[d];
        A.xstride[d] = stride;
        stride *= x->dims[d];
    }
    int64_t count = infer_tensor_elements(index), size = x->dims[axis];
    for (int64_t i = 0; i < count; i++) {
        int64_t v = index_at(&A, i);
        if (v < 0 || v >= size)
            return infer_fail(err, INFER_ERR_RUNTIME, "gather: index %lld (at position %lld) is outside [0, %lld)",
                              (long long)v, (long long)i, (long long)size);
    }
    pool_parallel_for(ctx->pool, count, GATHER_TASK_ELEMENTS, gather_elements, &A);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_gather[] = {
    { .storages = CPU_DENSE, .run = cpu_gather },
    { 0 },
};
