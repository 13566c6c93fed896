/* index_select.c — y[o, j, i] = x[o, index[j], i] along one axis; negative indices count from the end, others
 * outside the axis are a run error (every index checked first). */
#include <string.h>
#include "cpu_kernels.h"
#include "../../base/error.h"

#define INDEX_TASK_BYTES 65536 /* bytes a parallel task copies at least */

typedef struct {
    const uint8_t *x;
    uint8_t *y;
    const void *index;
    int index_i64;
    int64_t count, size; /* indices, the axis's length */
    size_t chunk;        /* bytes of one slice after the axis */
} index_args;

static int64_t index_at(const index_args *A, int64_t j) {
    int64_t v = A->index_i64 ? ((const int64_t *)A->index)[j] : ((const int32_t *)A->index)[j];
    return v < 0 ? v + A->size : v;
}

/* Items (o, j) in [begin, end). */
static void index_rows(void *arg, int64_t begin, int64_t end, int thread) {
    const index_args *A = arg;
    (void)thread;
    for (int64_t r = begin; r < end; r++) {
        int64_t o = r / A->count, j = r % A->count;
        memcpy(A->y + (size_t)r * A->chunk, A->x + (size_t)(o * A->size + index_at(A, j)) * A->chunk, A->chunk);
    }
}

CPU_KERNEL(index_select) {
    const infer_tensor *x = &in[0], *index = &in[1];
    int axis = n->p.axis.axis < 0 ? n->p.axis.axis + x->ndim : n->p.axis.axis;
    size_t esize = infer_dtype_size(x->dtype);
    if (axis < 0 || axis >= x->ndim || esize == 0 || (index->dtype != INFER_I64 && index->dtype != INFER_I32) ||
        out[0].dtype != x->dtype)
        return infer_fail(err, INFER_ERR_SHAPE, "index_select: axis %d of a %d-d %s input, %s index", n->p.axis.axis,
                          x->ndim, infer_dtype_name(x->dtype), infer_dtype_name(index->dtype));
    index_args A = { x->data, out[0].data, index->data, index->dtype == INFER_I64, infer_tensor_elements(index),
                     x->dims[axis], esize };
    int64_t outer = 1;
    for (int d = 0; d < axis; d++) outer *= x->dims[d];
    for (int d = axis + 1; d < x->ndim; d++) A.chunk *= (size_t)x->dims[d];
    if (infer_tensor_elements(&out[0]) != outer * A.count * (int64_t)(A.chunk / esize))
        return infer_fail(err, INFER_ERR_SHAPE, "index_select: output has %lld elements, expected %lld",
                          (long long)infer_tensor_elements(&out[0]), (long long)(outer * A.count * (int64_t)(A.chunk / esize)));
    for (int64_t j = 0; j < A.count; j++) {
        int64_t v = index_at(&A, j);
        if (v < 0 || v >= A.size)
            return infer_fail(err, INFER_ERR_RUNTIME, "index_select: index %lld (at position %lld) is outside [-%lld, %lld)",
                              (long long)(A.index_i64 ? ((const int64_t *)A.index)[j] : ((const int32_t *)A.index)[j]),
                              (long long)j, (long long)A.size, (long long)A.size);
    }
    if (A.chunk == 0 || outer * A.count == 0) return INFER_OK;
    int64_t grain = INDEX_TASK_BYTES / (int64_t)A.chunk;
    pool_parallel_for(ctx->pool, outer * A.count, grain > 1 ? grain : 1, index_rows, &A);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_index_select[] = {
    { .storages = CPU_DENSE, .run = cpu_index_select },
    { 0 },
};
