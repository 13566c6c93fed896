/* concat.c — joins inputs of any dtype along one axis: per outer index, one block copy per input. */
#include <string.h>
#include "cpu_kernels.h"
#include "../../base/error.h"

#define CONCAT_TASK_BYTES 65536 /* bytes a parallel task copies at least */

typedef struct {
    const uint8_t *src[IR_MAX_INPUTS];
    int64_t block[IR_MAX_INPUTS];  /* bytes of input i per outer index */
    int64_t offset[IR_MAX_INPUTS]; /* where that block starts in an output row */
    int n_in;
    uint8_t *y;
    int64_t row_bytes;             /* bytes of the output per outer index */
} concat_args;

/* Unit u copies input u % n_in's block of outer index u / n_in. */
static void concat_units(void *arg, int64_t begin, int64_t end, int thread) {
    const concat_args *A = arg;
    for (int64_t u = begin; u < end; u++) {
        int64_t o = u / A->n_in;
        int i = (int)(u % A->n_in);
        if (A->block[i]) memcpy(A->y + o * A->row_bytes + A->offset[i], A->src[i] + o * A->block[i], (size_t)A->block[i]);
    }
}

CPU_KERNEL(concat) {
    const infer_tensor *y = &out[0];
    int axis = n->p.concat.axis < 0 ? n->p.concat.axis + y->ndim : n->p.concat.axis;
    if (axis < 0 || axis >= y->ndim || n->n_in > IR_MAX_INPUTS)
        return infer_fail(err, INFER_ERR_SHAPE, "concat: axis %d of a %d-d output, %d inputs", n->p.concat.axis, y->ndim,
                          n->n_in);
    int64_t outer = 1, inner_bytes = (int64_t)infer_dtype_size(y->dtype);
    for (int k = 0; k < axis; k++) outer *= y->dims[k];
    for (int k = axis + 1; k < y->ndim; k++) inner_bytes *= y->dims[k];
    concat_args args = { .n_in = n->n_in, .y = y->data, .row_bytes = 0 };
    for (int i = 0; i < n->n_in; i++) {
        const infer_tensor *t = &in[i];
        int fits = t->ndim == y->ndim && t->dtype == y->dtype;
        for (int k = 0; fits && k < y->ndim; k++) fits = k == axis || t->dims[k] == y->dims[k];
        if (!fits)
            return infer_fail(err, INFER_ERR_SHAPE, "concat: input %d (%s, %d dims) does not fit the output along axis %d",
                              i, infer_dtype_name(t->dtype), t->ndim, axis);
        args.src[i] = t->data;
        args.block[i] = t->dims[axis] * inner_bytes;
        args.offset[i] = args.row_bytes;
        args.row_bytes += args.block[i];
    }
    if (args.row_bytes != y->dims[axis] * inner_bytes)
        return infer_fail(err, INFER_ERR_SHAPE, "concat: inputs do not add up to the output's %lld along axis %d",
                          (long long)y->dims[axis], axis);
    if (args.row_bytes == 0 || outer == 0) return INFER_OK;
    int64_t grain = CONCAT_TASK_BYTES / (args.row_bytes / n->n_in + 1);
    pool_parallel_for(ctx->pool, outer * n->n_in, grain > 1 ? grain : 1, concat_units, &args);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_concat[] = {
    { .storages = CPU_DENSE, .run = cpu_concat },
    { 0 },
};
