/* compare.c — elementwise eq/ne/lt/le/gt/ge with broadcasting or a scalar, giving bool (u8 0/1). */
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../base/error.h"

/* Loops of y[i] = u OP v for each combination of the operands' strides (0 or 1). */
#define COMPARE_LOOPS(OP)                                                                       \
    do {                                                                                        \
        if (sa && sb) {                                                                         \
            for (int64_t i = 0; i < n; i++) y[i] = a[i] OP b[i];                                \
        } else if (sa) {                                                                        \
            const float v = b[0];                                                               \
            for (int64_t i = 0; i < n; i++) y[i] = a[i] OP v;                                   \
        } else if (sb) {                                                                        \
            const float u = a[0];                                                               \
            for (int64_t i = 0; i < n; i++) y[i] = u OP b[i];                                   \
        } else {                                                                                \
            const uint8_t r = a[0] OP b[0];                                                     \
            for (int64_t i = 0; i < n; i++) y[i] = r;                                           \
        }                                                                                       \
    } while (0)

static void compare_row_f32(compare_kind kind, uint8_t *y, const float *a, int64_t sa, const float *b, int64_t sb,
                            int64_t n) {
    switch (kind) {
    case CMP_EQ: COMPARE_LOOPS(==); break;
    case CMP_NE: COMPARE_LOOPS(!=); break;
    case CMP_LT: COMPARE_LOOPS(<); break;
    case CMP_LE: COMPARE_LOOPS(<=); break;
    case CMP_GT: COMPARE_LOOPS(>); break;
    case CMP_GE: COMPARE_LOOPS(>=); break;
    default: break;
    }
}

static uint8_t compare_f64(compare_kind kind, double u, double v) {
    switch (kind) {
    case CMP_EQ: return u == v;
    case CMP_NE: return u != v;
    case CMP_LT: return u < v;
    case CMP_LE: return u <= v;
    case CMP_GT: return u > v;
    case CMP_GE: return u >= v;
    default: return 0;
    }
}

typedef struct {
    const bcast_plan *plan;
    compare_kind kind;
    const infer_tensor *a, *b; /* b NULL: the scalar */
    uint8_t *y;
    float scalar;
} compare_args;

static void compare_run_f32(void *arg, const int64_t *off, int64_t out_off, int64_t n) {
    const compare_args *A = arg;
    const bcast_plan *p = A->plan;
    const float *b = A->b ? (const float *)A->b->data + off[1] : &A->scalar;
    int64_t sb = A->b ? p->stride[1][p->ndim - 1] : 0;
    compare_row_f32(A->kind, A->y + out_off, (const float *)A->a->data + off[0], p->stride[0][p->ndim - 1], b, sb, n);
}

/* Other dtypes: both operands as double (exact for |integers| up to 2^53). */
static void compare_run_generic(void *arg, const int64_t *off, int64_t out_off, int64_t n) {
    const compare_args *A = arg;
    const bcast_plan *p = A->plan;
    int64_t sa = p->stride[0][p->ndim - 1], sb = A->b ? p->stride[1][p->ndim - 1] : 0;
    for (int64_t i = 0; i < n; i++) {
        double u = elem_get_f64(A->a->data, A->a->dtype, off[0] + i * sa);
        double v = A->b ? elem_get_f64(A->b->data, A->b->dtype, off[1] + i * sb) : A->scalar;
        A->y[out_off + i] = compare_f64(A->kind, u, v);
    }
}

CPU_KERNEL(compare) {
    const compare_params *cp = &n->p.compare;
    const infer_tensor *b = (n->n_in > 1 && in[1].data) ? &in[1] : NULL;
    const infer_tensor *ins[2] = { &in[0], b };
    if (cp->kind < 0 || cp->kind >= CMP_COUNT)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "compare: unknown kind %d", (int)cp->kind);
    if (out[0].dtype != INFER_BOOL && out[0].dtype != INFER_U8)
        return infer_fail(err, INFER_ERR_DTYPE, "compare: output must be bool, got %s", infer_dtype_name(out[0].dtype));
    if (!elem_dtype_supported(in[0].dtype) || (b && !elem_dtype_supported(b->dtype)))
        return infer_fail(err, INFER_ERR_DTYPE, "compare: unsupported dtypes %s, %s", infer_dtype_name(in[0].dtype),
                          b ? infer_dtype_name(b->dtype) : "scalar");
    bcast_plan plan;
    infer_status st = bcast_plan_init(&plan, &out[0], ins, b ? 2 : 1, "compare", err);
    if (st != INFER_OK) return st;
    int all_f32 = in[0].dtype == INFER_F32 && (!b || b->dtype == INFER_F32);
    compare_args args = { &plan, cp->kind, &in[0], b, out[0].data, cp->scalar };
    bcast_for_each(ctx->pool, &plan, all_f32 ? compare_run_f32 : compare_run_generic, &args);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_compare[] = {
    { .storages = CPU_DENSE, .run = cpu_compare },
    { 0 },
};
