/* compare.c — elementwise eq/ne/lt/le/gt/ge and logical and/or/xor with broadcasting or a scalar, giving bool. */
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../base/error.h"

/* Loops of y[i] = OP(u, v) for each combination of the operands' strides (0 or 1). */
#define COMPARE_LOOPS(OP)                                                                       \
    do {                                                                                        \
        if (sa && sb) {                                                                         \
            for (int64_t i = 0; i < n; i++) y[i] = OP(a[i], b[i]);                                \
        } else if (sa) {                                                                        \
            const float v = b[0];                                                               \
            for (int64_t i = 0; i < n; i++) y[i] = OP(a[i], v);                                   \
        } else if (sb) {                                                                        \
            const float u = a[0];                                                               \
            for (int64_t i = 0; i < n; i++) y[i] = OP(u, b[i]);                                   \
        } else {                                                                                \
            const uint8_t r = OP(a[0], b[0]);                                                     \
            for (int64_t i = 0; i < n; i++) y[i] = r;                                           \
        }                                                                                       \
    } while (0)

#define CMP_EQ_OF(u, v) ((u) == (v))
#define CMP_NE_OF(u, v) ((u) != (v))
#define CMP_LT_OF(u, v) ((u) < (v))
#define CMP_LE_OF(u, v) ((u) <= (v))
#define CMP_GT_OF(u, v) ((u) > (v))
#define CMP_GE_OF(u, v) ((u) >= (v))
#define CMP_AND_OF(u, v) ((u) != 0 && (v) != 0)
#define CMP_OR_OF(u, v) ((u) != 0 || (v) != 0)
#define CMP_XOR_OF(u, v) (((u) != 0) != ((v) != 0))

static void compare_row_f32(compare_kind kind, uint8_t *y, const float *a, int64_t sa, const float *b, int64_t sb,
                            int64_t n) {
    switch (kind) {
    case CMP_EQ: COMPARE_LOOPS(CMP_EQ_OF); break;
    case CMP_NE: COMPARE_LOOPS(CMP_NE_OF); break;
    case CMP_LT: COMPARE_LOOPS(CMP_LT_OF); break;
    case CMP_LE: COMPARE_LOOPS(CMP_LE_OF); break;
    case CMP_GT: COMPARE_LOOPS(CMP_GT_OF); break;
    case CMP_GE: COMPARE_LOOPS(CMP_GE_OF); break;
    case CMP_AND: COMPARE_LOOPS(CMP_AND_OF); break;
    case CMP_OR: COMPARE_LOOPS(CMP_OR_OF); break;
    case CMP_XOR: COMPARE_LOOPS(CMP_XOR_OF); break;
    default: break;
    }
}

static uint8_t compare_f64(compare_kind kind, double u, double v) {
    switch (kind) {
    case CMP_EQ: return CMP_EQ_OF(u, v);
    case CMP_NE: return CMP_NE_OF(u, v);
    case CMP_LT: return CMP_LT_OF(u, v);
    case CMP_LE: return CMP_LE_OF(u, v);
    case CMP_GT: return CMP_GT_OF(u, v);
    case CMP_GE: return CMP_GE_OF(u, v);
    case CMP_AND: return CMP_AND_OF(u, v);
    case CMP_OR: return CMP_OR_OF(u, v);
    case CMP_XOR: return CMP_XOR_OF(u, v);
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
