/* cumsum.c — running sums along one axis: f32 summed in double (as PyTorch's CPU), integers and bool in i64. */
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../base/error.h"

#define CUMSUM_TASK_ELEMENTS 16384 /* elements a parallel task sums at least */

typedef struct {
    const infer_tensor *x;
    infer_tensor *y;
    int64_t size, inner; /* the axis's length, the elements after it (the stride along it) */
} cumsum_args;

/* Lines [begin, end) of outer * inner lines along the axis. */
static void cumsum_lines(void *arg, int64_t begin, int64_t end, int thread) {
    const cumsum_args *A = arg;
    (void)thread;
    infer_dtype xd = A->x->dtype, yd = A->y->dtype;
    for (int64_t line = begin; line < end; line++) {
        int64_t base = (line / A->inner) * A->size * A->inner + line % A->inner;
        if (xd == INFER_F32) {
            const float *x = A->x->data;
            float *y = A->y->data;
            double sum = 0;
            for (int64_t i = 0; i < A->size; i++) {
                sum += x[base + i * A->inner];
                y[base + i * A->inner] = (float)sum;
            }
        } else {
            int64_t sum = 0;
            for (int64_t i = 0; i < A->size; i++) {
                int64_t at = base + i * A->inner;
                sum = (int64_t)((uint64_t)sum + (uint64_t)elem_get_i64(A->x->data, xd, at)); /* wraps like PyTorch */
                if (yd == INFER_F32) ((float *)A->y->data)[at] = (float)sum;
                else ((int64_t *)A->y->data)[at] = sum;
            }
        }
    }
}

CPU_KERNEL(cumsum) {
    const infer_tensor *x = &in[0];
    int axis = n->p.axis.axis < 0 ? n->p.axis.axis + x->ndim : n->p.axis.axis;
    if (axis < 0 || axis >= x->ndim || !elem_dtype_supported(x->dtype) || out[0].ndim != x->ndim ||
        infer_tensor_elements(&out[0]) != infer_tensor_elements(x))
        return infer_fail(err, INFER_ERR_SHAPE, "cumsum: axis %d of a %d-d input, output of another shape", n->p.axis.axis,
                          x->ndim);
    int float_in = x->dtype == INFER_F32;
    if ((float_in && out[0].dtype != INFER_F32) || (!float_in && out[0].dtype != INFER_I64 && out[0].dtype != INFER_F32))
        return infer_fail(err, INFER_ERR_DTYPE, "cumsum: %s to %s", infer_dtype_name(x->dtype),
                          infer_dtype_name(out[0].dtype));
    cumsum_args A = { x, &out[0], x->dims[axis], 1 };
    for (int d = axis + 1; d < x->ndim; d++) A.inner *= x->dims[d];
    if (A.size == 0 || A.inner == 0) return INFER_OK;
    int64_t lines = infer_tensor_elements(x) / A.size, grain = CUMSUM_TASK_ELEMENTS / A.size;
    pool_parallel_for(ctx->pool, lines, grain > 1 ? grain : 1, cumsum_lines, &A);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_cumsum[] = {
    { .storages = CPU_DENSE, .run = cpu_cumsum },
    { 0 },
};
