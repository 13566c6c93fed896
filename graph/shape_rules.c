/* shape_rules.c — helpers the ops' shape and dtype rules are written with (graph/ops/<op>.c). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "op_rules.h"

infer_status shape_fail_as(const shape_ctx *c, infer_status status, const char *fmt, ...) {
    char what[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return infer_fail(c->err, status, "node %ld '%s' (%s): %s", c->index, c->n->name ? c->n->name : "",
                      op_name(c->n->op), what);
}

dims_text shape_text(int ndim, const int64_t *dims) {
    dims_text t;
    int len = snprintf(t.s, sizeof t.s, "[");
    for (int i = 0; i < ndim && len < (int)sizeof t.s; i++)
        len += snprintf(t.s + len, sizeof t.s - (size_t)len, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (len < (int)sizeof t.s) snprintf(t.s + len, sizeof t.s - (size_t)len, "]");
    return t;
}

int shape_has(const shape_ctx *c, int i) { return i < c->n->n_in && c->n->in[i] != IR_NONE; }

/* The dtypes the elementwise CPU kernels compute with (kernels/cpu/broadcast.h, elem_dtype_supported). */
int shape_elementwise_dtype(infer_dtype d) {
    return d == INFER_F32 || d == INFER_I64 || d == INFER_I32 || d == INFER_I8 || d == INFER_U8 || d == INFER_BOOL;
}

/* Input i, when present, must have one of the op's float dtypes. */
infer_status shape_need_float(const shape_ctx *c, int i, const char *what) {
    if (!shape_has(c, i) || (OP_DTYPE(c->in[i].dtype) & c->desc->float_dtypes)) return INFER_OK;
    char names[64] = "";
    for (int d = 1, len = 0; d < INFER_DTYPE_COUNT && len < (int)sizeof names; d++)
        if (OP_DTYPE(d) & c->desc->float_dtypes)
            len += snprintf(names + len, sizeof names - (size_t)len, "%s%s", len ? " or " : "",
                            infer_dtype_name((infer_dtype)d));
    return SHAPE_FAIL_DTYPE(c, "%s (input %d) is %s, expected %s", what, i, infer_dtype_name(c->in[i].dtype), names);
}

/* Input i, when present, must be a dtype the elementwise kernels compute with. */
infer_status shape_need_elementwise(const shape_ctx *c, int i) {
    if (shape_has(c, i) && !shape_elementwise_dtype(c->in[i].dtype))
        return SHAPE_FAIL_DTYPE(c, "input %d is %s, expected f32, i64, i32, i8, u8 or bool", i,
                                infer_dtype_name(c->in[i].dtype));
    return INFER_OK;
}

/* PyTorch's result dtype for two tensor operands of the elementwise dtypes; 0 when it is none of them
 * (u8 with i8 gives i16). */
infer_dtype shape_promote(infer_dtype a, infer_dtype b) {
    if (a == b) return a;
    if (a == INFER_F32 || b == INFER_F32) return INFER_F32;
    if (a == INFER_BOOL) return b;
    if (b == INFER_BOOL) return a;
    if ((a == INFER_U8 && b == INFER_I8) || (a == INFER_I8 && b == INFER_U8)) return (infer_dtype)0;
    return infer_dtype_size(a) >= infer_dtype_size(b) ? a : b;
}

void shape_set_out(const shape_ctx *c, int k, infer_dtype dtype, int ndim, const int64_t *dims) {
    c->out[k].dtype = dtype;
    c->out[k].ndim = ndim;
    memmove(c->out[k].dims, dims, (size_t)ndim * sizeof *dims);
}

int shape_same_dims(const infer_tensor *a, const infer_tensor *b) {
    return a->ndim == b->ndim && !memcmp(a->dims, b->dims, (size_t)a->ndim * sizeof *a->dims);
}

/* Product of the dims; -1 when it exceeds INT64_MAX. */
int64_t shape_elements(int ndim, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (__builtin_mul_overflow(n, dims[i], &n)) return -1;
    return n;
}

/* Normalizes a possibly negative axis; 0 when it is outside [-ndim, ndim). */
int shape_norm_axis(int axis, int ndim, int *out) {
    if (axis < -ndim || axis >= ndim) return 0;
    *out = axis < 0 ? axis + ndim : axis;
    return 1;
}

infer_status shape_axis_of_input(const shape_ctx *c, int *axis) {
    const infer_tensor *x = &c->in[0];
    if (!shape_norm_axis(c->n->p.axis.axis, x->ndim, axis))
        return SHAPE_FAIL(c, "axis %d is out of range for input %s", c->n->p.axis.axis, DIMS(x));
    return INFER_OK;
}

infer_status shape_dims_of_input(const shape_ctx *c, const int *dims, int n, int distinct) {
    const infer_tensor *x = &c->in[0];
    unsigned seen = 0;
    for (int i = 0; i < n; i++) {
        int axis;
        if (!shape_norm_axis(dims[i], x->ndim, &axis))
            return SHAPE_FAIL(c, "dim %d is out of range for input %s", dims[i], DIMS(x));
        if (distinct && (seen & (1u << axis))) return SHAPE_FAIL(c, "dim %d is listed twice", axis);
        seen |= 1u << axis;
    }
    if (infer_dtype_size(x->dtype) == 0) return SHAPE_FAIL_DTYPE(c, "input has dtype %s", infer_dtype_name(x->dtype));
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    return INFER_OK;
}

infer_status shape_indexing(const shape_ctx *c, int *axis) {
    const infer_tensor *x = &c->in[0], *index = &c->in[1];
    if (index->dtype != INFER_I64 && index->dtype != INFER_I32)
        return SHAPE_FAIL_DTYPE(c, "index is %s, expected i64 or i32", infer_dtype_name(index->dtype));
    if (infer_dtype_size(x->dtype) == 0) return SHAPE_FAIL_DTYPE(c, "input of dtype %s", infer_dtype_name(x->dtype));
    return shape_axis_of_input(c, axis);
}

/* numpy broadcasting of a and b into out; 0 when incompatible. */
int shape_broadcast(const infer_tensor *a, const infer_tensor *b, infer_tensor *out) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t dims[INFER_MAX_DIMS];
    for (int i = 0; i < nd; i++) {
        int ia = a->ndim - nd + i, ib = b->ndim - nd + i;
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return 0;
        dims[i] = da == 1 ? db : da;
    }
    out->ndim = nd;
    memcpy(out->dims, dims, (size_t)nd * sizeof *dims);
    return 1;
}

/* PyTorch's sliding-window output size (convolutions, and pools with ceil_mode: the last window
 * must start inside the input or the left padding). < 1 when the window does not fit. */
int64_t shape_window_out(int64_t in, int64_t k, int stride, int pad, int dil, int ceil_mode) {
    int64_t extent;
    if (__builtin_mul_overflow((int64_t)dil, k - 1, &extent) || extent > 4 * DIM_MAX) return -1;
    int64_t num = in + 2 * (int64_t)pad - extent - 1 + (ceil_mode ? stride - 1 : 0);
    int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
    if (ceil_mode && out > 0 && (out - 1) * stride >= in + pad) out--;
    return out;
}

infer_status shape_check_bias_residual(const shape_ctx *c, int64_t channels) {
    const infer_tensor *b = &c->in[2], *r = &c->in[3];
    if (shape_has(c, 2) && (b->ndim != 1 || b->dims[0] != channels))
        return SHAPE_FAIL(c, "bias %s, expected [%lld]", DIMS(b), (long long)channels);
    if (shape_has(c, 3) && !shape_same_dims(r, &c->out[0]))
        return SHAPE_FAIL(c, "residual %s differs from the output %s", DIMS(r), DIMS(&c->out[0]));
    return INFER_OK;
}
/* Broadcast shape of a binary or compare node (b may be absent: a scalar). */
infer_status shape_broadcast_ab(const shape_ctx *c, infer_dtype dtype) {
    infer_tensor y = c->in[0];
    if (shape_has(c, 1) && !shape_broadcast(&c->in[0], &c->in[1], &y))
        return SHAPE_FAIL(c, "shapes %s and %s do not broadcast", DIMS(&c->in[0]), DIMS(&c->in[1]));
    shape_set_out(c, 0, dtype, y.ndim, y.dims);
    return INFER_OK;
}

infer_status shape_same_as_input(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    return INFER_OK;
}
