/* expand.c — broadcasts x to the output's shape (torch.expand materialized); any dtype. */
#include <string.h>
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../runtime/error.h"

typedef struct {
    const bcast_plan *plan;
    const uint8_t *x;
    uint8_t *y;
    size_t esize;
} expand_args;

/* A run is either a contiguous copy (stride 1) or one element repeated (stride 0). */
static void expand_run(void *arg, const int64_t *off, int64_t out_off, int64_t n) {
    const expand_args *A = arg;
    const uint8_t *x = A->x + (size_t)off[0] * A->esize;
    uint8_t *y = A->y + (size_t)out_off * A->esize;
    if (A->plan->stride[0][A->plan->ndim - 1]) {
        memcpy(y, x, (size_t)n * A->esize);
        return;
    }
    switch (A->esize) {
    case 1: memset(y, x[0], (size_t)n); break;
    case 4: { uint32_t v; memcpy(&v, x, 4); for (int64_t i = 0; i < n; i++) ((uint32_t *)y)[i] = v; } break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(y + (size_t)i * A->esize, x, A->esize);
        break;
    }
}

CPU_KERNEL(expand) {
    const infer_tensor *ins[1] = { &in[0] };
    if (in[0].dtype != out[0].dtype || infer_dtype_size(in[0].dtype) == 0)
        return infer_fail(err, INFER_ERR_DTYPE, "expand: output dtype %s differs from input %s",
                          infer_dtype_name(out[0].dtype), infer_dtype_name(in[0].dtype));
    bcast_plan plan;
    infer_status st = bcast_plan_init(&plan, &out[0], ins, 1, "expand", err);
    if (st != INFER_OK) return st;
    expand_args args = { &plan, in[0].data, out[0].data, infer_dtype_size(in[0].dtype) };
    bcast_for_each(ctx->pool, &plan, expand_run, &args);
    return INFER_OK;
}
