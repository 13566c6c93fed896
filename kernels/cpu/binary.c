/* binary.c — elementwise add/sub/mul/div/pow/max/min with numpy broadcasting or a scalar operand. */
#include <math.h>
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../base/error.h"

/* Loops of y[i] = EXPR(u, v) for each combination of the operands' strides (0 or 1). */
#define BINARY_LOOPS(EXPR)                                                                       \
    do {                                                                                         \
        if (sa && sb) {                                                                          \
            for (int64_t i = 0; i < n; i++) { float u = a[i], v = b[i]; y[i] = (EXPR); }         \
        } else if (sa) {                                                                         \
            const float v = b[0];                                                                \
            for (int64_t i = 0; i < n; i++) { float u = a[i]; y[i] = (EXPR); }                   \
        } else if (sb) {                                                                         \
            const float u = a[0];                                                                \
            for (int64_t i = 0; i < n; i++) { float v = b[i]; y[i] = (EXPR); }                   \
        } else {                                                                                 \
            const float u = a[0], v = b[0], r = (EXPR);                                          \
            for (int64_t i = 0; i < n; i++) y[i] = r;                                            \
        }                                                                                        \
    } while (0)

/* max/min propagate NaN like torch.maximum / torch.minimum. */
static inline float max_nan(float u, float v) { return (u > v || u != u) ? u : v; }
static inline float min_nan(float u, float v) { return (u < v || u != u) ? u : v; }

/* y may alias a (in place): every loop reads a[i] before writing y[i]. Compiled once per ISA below (the same
 * operations elementwise, so every copy gives the same bits). */
static inline __attribute__((always_inline)) void binary_row(binary_kind kind, float *y, const float *a, int64_t sa,
                                                             const float *b, int64_t sb, int64_t n) {
    switch (kind) {
    case BIN_ADD: BINARY_LOOPS(u + v); break;
    case BIN_SUB: BINARY_LOOPS(u - v); break;
    case BIN_MUL: BINARY_LOOPS(u * v); break;
    case BIN_DIV: BINARY_LOOPS(u / v); break;
    case BIN_POW:
        if (!sb && b[0] == 2.0f) {
            for (int64_t i = 0; i < n; i++) { float u = a[i * sa]; y[i] = u * u; }
        } else {
            BINARY_LOOPS(powf(u, v));
        }
        break;
    case BIN_MAX: BINARY_LOOPS(max_nan(u, v)); break;
    case BIN_MIN: BINARY_LOOPS(min_nan(u, v)); break;
    default: break;
    }
}

typedef void (*binary_row_fn)(binary_kind kind, float *y, const float *a, int64_t sa, const float *b, int64_t sb,
                              int64_t n);

static void binary_row_f32(binary_kind kind, float *y, const float *a, int64_t sa, const float *b, int64_t sb,
                           int64_t n) {
    binary_row(kind, y, a, sa, b, sb, n);
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) static void binary_row_avx512(
    binary_kind kind, float *y, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n) {
    binary_row(kind, y, a, sa, b, sb, n);
}

__attribute__((target("avx2"))) static void binary_row_avx2(binary_kind kind, float *y, const float *a, int64_t sa,
                                                            const float *b, int64_t sb, int64_t n) {
    binary_row(kind, y, a, sa, b, sb, n);
}
#endif

static binary_row_fn binary_row_for(int isa) {
#if defined(__x86_64__)
    if (isa == CPU_ISA_AVX512) return binary_row_avx512;
    if (isa == CPU_ISA_AVX2) return binary_row_avx2;
#endif
    (void)isa;
    return binary_row_f32;
}

typedef struct {
    binary_row_fn row;
    const bcast_plan *plan;
    binary_kind kind;
    const infer_tensor *a, *b; /* b NULL: the scalar */
    infer_tensor *y;
    float scalar;
    int reverse;
} binary_args;

static void binary_run_f32(void *arg, const int64_t *off, int64_t out_off, int64_t n) {
    const binary_args *A = arg;
    const bcast_plan *p = A->plan;
    const float *a = (const float *)A->a->data + off[0];
    int64_t sa = p->stride[0][p->ndim - 1];
    const float *b = &A->scalar;
    int64_t sb = 0;
    if (A->b) {
        b = (const float *)A->b->data + off[1];
        sb = p->stride[1][p->ndim - 1];
    }
    float *y = (float *)A->y->data + out_off;
    if (A->reverse) A->row(A->kind, y, b, sb, a, sa, n);
    else A->row(A->kind, y, a, sa, b, sb, n);
}

static float binary_scalar_f32(binary_kind kind, float u, float v) {
    float r;
    binary_row_f32(kind, &r, &u, 0, &v, 0, 1);
    return r;
}

/* u^v in wrapping int64 arithmetic; a negative exponent gives 0 unless u is 1 or -1, like PyTorch. */
static int64_t pow_i64(int64_t u, int64_t v) {
    if (v < 0) return u == 1 ? 1 : u == -1 ? (v & 1 ? -1 : 1) : 0;
    uint64_t result = 1, base = (uint64_t)u;
    for (; v; v >>= 1, base *= base)
        if (v & 1) result *= base;
    return (int64_t)result;
}

/* Integer and bool outputs: int64 arithmetic, wrapping on overflow like PyTorch. */
static int64_t binary_scalar_i64(binary_kind kind, int64_t u, int64_t v) {
    switch (kind) {
    case BIN_POW: return pow_i64(u, v);
    case BIN_ADD: return (int64_t)((uint64_t)u + (uint64_t)v);
    case BIN_SUB: return (int64_t)((uint64_t)u - (uint64_t)v);
    case BIN_MUL: return (int64_t)((uint64_t)u * (uint64_t)v);
    case BIN_MAX: return u > v ? u : v;
    case BIN_MIN: return u < v ? u : v;
    default: return 0;
    }
}

/* Mixed or non-f32 dtypes, one element at a time: f32 outputs compute in float, others in int64. */
static void binary_run_generic(void *arg, const int64_t *off, int64_t out_off, int64_t n) {
    const binary_args *A = arg;
    const bcast_plan *p = A->plan;
    int64_t sa = p->stride[0][p->ndim - 1], sb = A->b ? p->stride[1][p->ndim - 1] : 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t ia = off[0] + i * sa, ib = A->b ? off[1] + i * sb : 0;
        if (A->y->dtype == INFER_F32) {
            float u = (float)elem_get_f64(A->a->data, A->a->dtype, ia);
            float v = A->b ? (float)elem_get_f64(A->b->data, A->b->dtype, ib) : A->scalar;
            ((float *)A->y->data)[out_off + i] = A->reverse ? binary_scalar_f32(A->kind, v, u)
                                                            : binary_scalar_f32(A->kind, u, v);
        } else {
            int64_t u = elem_get_i64(A->a->data, A->a->dtype, ia);
            int64_t v = A->b ? elem_get_i64(A->b->data, A->b->dtype, ib) : f64_to_i64(A->scalar);
            elem_set_i64(A->y->data, A->y->dtype, out_off + i,
                         A->reverse ? binary_scalar_i64(A->kind, v, u) : binary_scalar_i64(A->kind, u, v));
        }
    }
}

CPU_KERNEL(binary) {
    const binary_params *bp = &n->p.binary;
    const infer_tensor *b = (n->n_in > 1 && in[1].data) ? &in[1] : NULL;
    const infer_tensor *ins[2] = { &in[0], b };
    if (bp->kind < 0 || bp->kind >= BIN_COUNT)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "binary: unknown kind %d", (int)bp->kind);
    int all_f32 = in[0].dtype == INFER_F32 && (!b || b->dtype == INFER_F32) && out[0].dtype == INFER_F32;
    if (!all_f32) {
        if (!elem_dtype_supported(in[0].dtype) || (b && !elem_dtype_supported(b->dtype)) ||
            !elem_dtype_supported(out[0].dtype))
            return infer_fail(err, INFER_ERR_DTYPE, "binary: unsupported dtypes %s, %s -> %s",
                              infer_dtype_name(in[0].dtype), b ? infer_dtype_name(b->dtype) : "scalar",
                              infer_dtype_name(out[0].dtype));
        if (out[0].dtype != INFER_F32 && bp->kind == BIN_DIV)
            return infer_fail(err, INFER_ERR_UNSUPPORTED, "binary: div with a %s output is not supported",
                              infer_dtype_name(out[0].dtype));
    }
    bcast_plan plan;
    infer_status st = bcast_plan_init(&plan, &out[0], ins, b ? 2 : 1, "binary", err);
    if (st != INFER_OK) return st;
    binary_args args = { binary_row_for(ctx->isa), &plan, bp->kind, &in[0], b, &out[0], bp->scalar, b ? 0 : bp->reverse };
    bcast_for_each(ctx->pool, &plan, all_f32 ? binary_run_f32 : binary_run_generic, &args);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_binary[] = {
    { .storages = CPU_DENSE, .run = cpu_binary },
    { 0 },
};
