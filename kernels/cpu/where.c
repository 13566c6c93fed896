/* where.c — z = cond ? x : y with cond, x and y broadcast to z; any dtype (copied by element size). */
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../base/error.h"

typedef struct {
    const bcast_plan *plan;
    const uint8_t *cond;
    const void *x, *y;
    void *z;
} where_args;

#define WHERE_RUN(NAME, T)                                                                  \
    static void NAME(void *arg, const int64_t *off, int64_t out_off, int64_t n) {           \
        const where_args *A = arg;                                                          \
        const bcast_plan *p = A->plan;                                                      \
        int64_t sc = p->stride[0][p->ndim - 1], sx = p->stride[1][p->ndim - 1];             \
        int64_t sy = p->stride[2][p->ndim - 1];                                             \
        const uint8_t *c = A->cond + off[0];                                                \
        const T *x = (const T *)A->x + off[1], *y = (const T *)A->y + off[2];               \
        T *z = (T *)A->z + out_off;                                                         \
        for (int64_t i = 0; i < n; i++) z[i] = c[i * sc] ? x[i * sx] : y[i * sy];           \
    }

WHERE_RUN(where_run_1, uint8_t)
WHERE_RUN(where_run_2, uint16_t)
WHERE_RUN(where_run_4, uint32_t)
WHERE_RUN(where_run_8, uint64_t)

CPU_KERNEL(where) {
    const infer_tensor *ins[3] = { &in[0], &in[1], &in[2] };
    if (in[0].dtype != INFER_BOOL && in[0].dtype != INFER_U8)
        return infer_fail(err, INFER_ERR_DTYPE, "where: condition must be bool, got %s", infer_dtype_name(in[0].dtype));
    if (in[1].dtype != out[0].dtype || in[2].dtype != out[0].dtype)
        return infer_fail(err, INFER_ERR_DTYPE, "where: x (%s) and y (%s) must have the output's dtype %s",
                          infer_dtype_name(in[1].dtype), infer_dtype_name(in[2].dtype), infer_dtype_name(out[0].dtype));
    bcast_run_fn run;
    switch (infer_dtype_size(out[0].dtype)) {
    case 1: run = where_run_1; break;
    case 2: run = where_run_2; break;
    case 4: run = where_run_4; break;
    case 8: run = where_run_8; break;
    default: return infer_fail(err, INFER_ERR_DTYPE, "where: unsupported dtype %s", infer_dtype_name(out[0].dtype));
    }
    bcast_plan plan;
    infer_status st = bcast_plan_init(&plan, &out[0], ins, 3, "where", err);
    if (st != INFER_OK) return st;
    where_args args = { &plan, in[0].data, in[1].data, in[2].data, out[0].data };
    bcast_for_each(ctx->pool, &plan, run, &args);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_where[] = {
    { .storages = CPU_DENSE, .run = cpu_where },
    { 0 },
};
