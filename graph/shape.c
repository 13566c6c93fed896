/* shape.c — shape and dtype inference: one node from its inputs' shapes and dtypes, and a whole graph for
 * a batch, checked against the shapes and dtypes the file declares. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "graph.h"
#include "../runtime/error.h"

#define DIM_MAX ((int64_t)1 << 48) /* larger dimensions are refused: keeps the arithmetic below exact */

typedef struct {
    const ir_node *n;
    long index;
    const infer_tensor *in;
    infer_tensor *out;
    infer_error *err;
    infer_dtype declared[IR_MAX_OUTPUTS]; /* the outputs' declared dtypes; 0: none declared */
} shape_ctx;

static infer_status fail_as(const shape_ctx *c, infer_status status, const char *fmt, ...) INFER_PRINTF(3, 4);
static infer_status fail_as(const shape_ctx *c, infer_status status, const char *fmt, ...) {
    char what[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return infer_fail(c->err, status, "node %ld '%s' (%s): %s", c->index, c->n->name ? c->n->name : "",
                      op_name(c->n->op), what);
}
#define FAIL(c, ...) fail_as(c, INFER_ERR_SHAPE, __VA_ARGS__)
/* A dtype the file gives a tensor that the op cannot take: the file contradicts itself. */
#define FAIL_DTYPE(c, ...) fail_as(c, INFER_ERR_FORMAT, __VA_ARGS__)

/* "[2,3,4]", valid until the end of the full expression that calls it. */
typedef struct {
    char s[200];
} dims_text;

static dims_text text_of(int ndim, const int64_t *dims) {
    dims_text t;
    int len = snprintf(t.s, sizeof t.s, "[");
    for (int i = 0; i < ndim && len < (int)sizeof t.s; i++)
        len += snprintf(t.s + len, sizeof t.s - (size_t)len, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (len < (int)sizeof t.s) snprintf(t.s + len, sizeof t.s - (size_t)len, "]");
    return t;
}
#define D(t) (text_of((t)->ndim, (t)->dims).s)

static int has(const shape_ctx *c, int i) { return i < c->n->n_in && c->n->in[i] != IR_NONE; }

#define TRY(expr)                                  \
    do {                                           \
        infer_status try_status_ = (expr);         \
        if (try_status_ != INFER_OK) return try_status_; \
    } while (0)

static const char *dt(infer_dtype d) { return infer_dtype_name(d); }

/* The dtypes the elementwise CPU kernels compute with (kernels/cpu/broadcast.h, elem_dtype_supported). */
static int elementwise_dtype(infer_dtype d) {
    return d == INFER_F32 || d == INFER_I64 || d == INFER_I32 || d == INFER_I8 || d == INFER_U8 || d == INFER_BOOL;
}
static int integer_or_bool(infer_dtype d) { return elementwise_dtype(d) && d != INFER_F32; }

/* Input i, when present, must be f32 (the op's kernels read it as f32). */
static infer_status need_f32(const shape_ctx *c, int i, const char *what) {
    if (has(c, i) && c->in[i].dtype != INFER_F32)
        return FAIL_DTYPE(c, "%s (input %d) is %s, expected f32", what, i, dt(c->in[i].dtype));
    return INFER_OK;
}

/* Input i, when present, must be a dtype the elementwise kernels compute with. */
static infer_status need_elementwise(const shape_ctx *c, int i) {
    if (has(c, i) && !elementwise_dtype(c->in[i].dtype))
        return FAIL_DTYPE(c, "input %d is %s, expected f32, i64, i32, i8, u8 or bool", i, dt(c->in[i].dtype));
    return INFER_OK;
}

/* PyTorch's result dtype for two tensor operands of the elementwise dtypes; 0 when it is none of them
 * (u8 with i8 gives i16). */
static infer_dtype promote(infer_dtype a, infer_dtype b) {
    if (a == b) return a;
    if (a == INFER_F32 || b == INFER_F32) return INFER_F32;
    if (a == INFER_BOOL) return b;
    if (b == INFER_BOOL) return a;
    if ((a == INFER_U8 && b == INFER_I8) || (a == INFER_I8 && b == INFER_U8)) return (infer_dtype)0;
    return infer_dtype_size(a) >= infer_dtype_size(b) ? a : b;
}

static void set_out(const shape_ctx *c, int k, infer_dtype dtype, int ndim, const int64_t *dims) {
    c->out[k].dtype = dtype;
    c->out[k].ndim = ndim;
    memmove(c->out[k].dims, dims, (size_t)ndim * sizeof *dims);
}

static int same_dims(const infer_tensor *a, const infer_tensor *b) {
    return a->ndim == b->ndim && !memcmp(a->dims, b->dims, (size_t)a->ndim * sizeof *a->dims);
}

/* Product of the dims; -1 when it exceeds INT64_MAX. */
static int64_t elements(int ndim, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (__builtin_mul_overflow(n, dims[i], &n)) return -1;
    return n;
}

/* Normalizes a possibly negative axis; 0 when it is outside [-ndim, ndim). */
static int norm_axis(int axis, int ndim, int *out) {
    if (axis < -ndim || axis >= ndim) return 0;
    *out = axis < 0 ? axis + ndim : axis;
    return 1;
}

/* numpy broadcasting of a and b into out; 0 when incompatible. */
static int broadcast(const infer_tensor *a, const infer_tensor *b, infer_tensor *out) {
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
static int64_t window_out(int64_t in, int64_t k, int stride, int pad, int dil, int ceil_mode) {
    int64_t extent;
    if (__builtin_mul_overflow((int64_t)dil, k - 1, &extent) || extent > 4 * DIM_MAX) return -1;
    int64_t num = in + 2 * (int64_t)pad - extent - 1 + (ceil_mode ? stride - 1 : 0);
    int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
    if (ceil_mode && out > 0 && (out - 1) * stride >= in + pad) out--;
    return out;
}

static infer_status check_bias_residual(const shape_ctx *c, int64_t channels) {
    const infer_tensor *b = &c->in[2], *r = &c->in[3];
    if (has(c, 2) && (b->ndim != 1 || b->dims[0] != channels))
        return FAIL(c, "bias %s, expected [%lld]", D(b), (long long)channels);
    if (has(c, 3) && !same_dims(r, &c->out[0]))
        return FAIL(c, "residual %s differs from the output %s", D(r), D(&c->out[0]));
    return INFER_OK;
}

static infer_status shape_conv2d(const shape_ctx *c) {
    const conv2d_params *p = &c->n->p.conv2d;
    const infer_tensor *x = &c->in[0], *w = &c->in[1];
    static const char *what[4] = { "input", "weight", "bias", "residual" };
    for (int i = 0; i < 4; i++) TRY(need_f32(c, i, what[i]));
    if (x->ndim != 4 || w->ndim != 4 || w->dims[2] < 1 || w->dims[3] < 1)
        return FAIL(c, "input %s and weight %s must be 4-D with a kernel of at least 1x1", D(x), D(w));
    int64_t expect, groups = p->groups;
    if (__builtin_mul_overflow(w->dims[1], groups, &expect) || expect != x->dims[1])
        return FAIL(c, "input has %lld channels, weight expects %lld (weight %s, %d groups)", (long long)x->dims[1],
                    (long long)expect, D(w), p->groups);
    if (w->dims[0] % groups)
        return FAIL(c, "weight %s has %lld output channels, not divisible by %d groups", D(w), (long long)w->dims[0],
                    p->groups);
    int64_t y[4] = { x->dims[0], w->dims[0], 0, 0 };
    for (int i = 0; i < 2; i++) {
        y[2 + i] = window_out(x->dims[2 + i], w->dims[2 + i], p->stride[i], p->padding[i], p->dilation[i], 0);
        if (y[2 + i] < 1)
            return FAIL(c, "input %s is too small for kernel %lldx%lld with padding %d,%d and dilation %d,%d", D(x),
                        (long long)w->dims[2], (long long)w->dims[3], p->padding[0], p->padding[1], p->dilation[0],
                        p->dilation[1]);
    }
    set_out(c, 0, INFER_F32, 4, y);
    return check_bias_residual(c, w->dims[0]);
}

static infer_status shape_linear(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0], *w = &c->in[1];
    static const char *what[4] = { "input", "weight", "bias", "residual" };
    for (int i = 0; i < 4; i++) TRY(need_f32(c, i, what[i]));
    if (x->ndim < 1 || w->ndim != 2) return FAIL(c, "input %s must be at least 1-D and weight %s 2-D", D(x), D(w));
    if (x->dims[x->ndim - 1] != w->dims[1])
        return FAIL(c, "input %s has %lld features, weight %s expects %lld", D(x), (long long)x->dims[x->ndim - 1],
                    D(w), (long long)w->dims[1]);
    set_out(c, 0, INFER_F32, x->ndim, x->dims);
    c->out[0].dims[x->ndim - 1] = w->dims[0];
    return check_bias_residual(c, w->dims[0]);
}

static infer_status shape_matmul(const shape_ctx *c) {
    const infer_tensor *a = &c->in[0], *b = &c->in[1];
    TRY(need_f32(c, 0, "a"));
    TRY(need_f32(c, 1, "b"));
    if (a->ndim < 2 || b->ndim < 2) return FAIL(c, "inputs %s and %s must be at least 2-D", D(a), D(b));
    if (a->dims[a->ndim - 1] != b->dims[b->ndim - 2])
        return FAIL(c, "inner dimensions differ: %s @ %s", D(a), D(b));
    infer_tensor ba = *a, bb = *b, y;
    ba.ndim -= 2;
    bb.ndim -= 2;
    if (!broadcast(&ba, &bb, &y)) return FAIL(c, "batch dimensions of %s and %s do not broadcast", D(a), D(b));
    y.dims[y.ndim] = a->dims[a->ndim - 2];
    y.dims[y.ndim + 1] = b->dims[b->ndim - 1];
    set_out(c, 0, INFER_F32, y.ndim + 2, y.dims);
    return INFER_OK;
}

static infer_status shape_batchnorm(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    if (x->ndim < 2) return FAIL(c, "input %s must be at least 2-D [N,C,...]", D(x));
    static const char *what[5] = { "input", "weight", "bias", "mean", "var" };
    for (int i = 0; i < 5; i++) TRY(need_f32(c, i, what[i]));
    for (int i = 1; i < 5; i++)
        if (c->in[i].ndim != 1 || c->in[i].dims[0] != x->dims[1])
            return FAIL(c, "%s %s, expected [%lld] for input %s", what[i], D(&c->in[i]), (long long)x->dims[1], D(x));
    set_out(c, 0, INFER_F32, x->ndim, x->dims);
    return INFER_OK;
}

static infer_status shape_layernorm(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    int axes = c->n->p.layernorm.axes;
    static const char *what[3] = { "input", "weight", "bias" };
    for (int i = 0; i < 3; i++) TRY(need_f32(c, i, what[i]));
    if (axes < 1 || axes > x->ndim) return FAIL(c, "normalizes %d trailing dims of input %s", axes, D(x));
    infer_tensor tail = { .ndim = axes };
    memcpy(tail.dims, x->dims + x->ndim - axes, (size_t)axes * sizeof *tail.dims);
    for (int i = 1; i < 3; i++)
        if (has(c, i) && !same_dims(&c->in[i], &tail))
            return FAIL(c, "%s %s, expected %s", i == 1 ? "weight" : "bias", D(&c->in[i]), D(&tail));
    set_out(c, 0, INFER_F32, x->ndim, x->dims);
    return INFER_OK;
}

/* Broadcast shape of a binary or compare node (b may be absent: a scalar). */
static infer_status broadcast_ab(const shape_ctx *c, infer_dtype dtype) {
    infer_tensor y = c->in[0];
    if (has(c, 1) && !broadcast(&c->in[0], &c->in[1], &y))
        return FAIL(c, "shapes %s and %s do not broadcast", D(&c->in[0]), D(&c->in[1]));
    set_out(c, 0, dtype, y.ndim, y.dims);
    return INFER_OK;
}

/* Output dtype as PyTorch promotes, among the dtypes kernels/cpu/binary.c computes with: two tensors give
 * promote(a, b); a tensor with the scalar keeps its dtype, except that an integer or bool tensor with a
 * float scalar gives f32 and a bool tensor with an integer scalar gives i64 (the file's declared dtype
 * says which, as the scalar is stored as a float); div is true division, always f32. */
static infer_status shape_binary(const shape_ctx *c) {
    TRY(need_elementwise(c, 0));
    TRY(need_elementwise(c, 1));
    infer_dtype a = c->in[0].dtype, dtype = a, want = c->declared[0];
    if (has(c, 1)) {
        dtype = promote(a, c->in[1].dtype);
        if (!dtype)
            return FAIL_DTYPE(c, "inputs %s and %s promote to i16, which binary does not compute with", dt(a),
                              dt(c->in[1].dtype));
    } else if ((want == INFER_F32 && integer_or_bool(a)) || (want == INFER_I64 && a == INFER_BOOL)) {
        dtype = want;
    }
    if (c->n->p.binary.kind == BIN_DIV) dtype = INFER_F32;
    return broadcast_ab(c, dtype);
}

static infer_status shape_compare(const shape_ctx *c) {
    TRY(need_elementwise(c, 0));
    TRY(need_elementwise(c, 1));
    return broadcast_ab(c, INFER_BOOL);
}

/* neg and abs keep the dtype; the others compute in float and give f32 (as PyTorch does for integers). */
static infer_status shape_unary(const shape_ctx *c) {
    TRY(need_elementwise(c, 0));
    unary_kind kind = c->n->p.unary.kind;
    const infer_tensor *x = &c->in[0];
    set_out(c, 0, kind == UN_NEG || kind == UN_ABS ? x->dtype : INFER_F32, x->ndim, x->dims);
    return INFER_OK;
}

static infer_status shape_activation(const shape_ctx *c) {
    TRY(need_f32(c, 0, "input"));
    set_out(c, 0, INFER_F32, c->in[0].ndim, c->in[0].dims);
    return INFER_OK;
}

static infer_status shape_softmax(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    int axis;
    TRY(need_f32(c, 0, "input"));
    if (!norm_axis(c->n->p.softmax.axis, x->ndim, &axis))
        return FAIL(c, "axis %d is out of range for input %s", c->n->p.softmax.axis, D(x));
    set_out(c, 0, INFER_F32, x->ndim, x->dims);
    return INFER_OK;
}

static infer_status shape_pool(const shape_ctx *c) {
    const pool2d_params *p = &c->n->p.pool2d;
    const infer_tensor *x = &c->in[0];
    TRY(need_f32(c, 0, "input"));
    if (x->ndim != 4) return FAIL(c, "input %s must be 4-D [N,C,H,W]", D(x));
    int64_t y[4] = { x->dims[0], x->dims[1], 0, 0 };
    for (int i = 0; i < 2; i++) {
        y[2 + i] = window_out(x->dims[2 + i], p->kernel[i], p->stride[i], p->padding[i], p->dilation[i], p->ceil_mode);
        if (y[2 + i] < 1)
            return FAIL(c, "input %s is too small for kernel %dx%d with padding %d,%d", D(x), p->kernel[0],
                        p->kernel[1], p->padding[0], p->padding[1]);
    }
    set_out(c, 0, INFER_F32, 4, y);
    return INFER_OK;
}

static infer_status shape_adaptive_pool(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    TRY(need_f32(c, 0, "input"));
    if (x->ndim != 4) return FAIL(c, "input %s must be 4-D [N,C,H,W]", D(x));
    const int *size = c->n->p.adaptive_pool.output_size;
    for (int i = 0; i < 2; i++) { /* the kernel's bin bounds compute (output index + 1) * input size */
        int64_t bound;
        if (__builtin_mul_overflow((int64_t)size[i] + 1, x->dims[2 + i], &bound))
            return fail_as(c, INFER_ERR_FORMAT, "attribute 'output_size' (%d,%d) with input %s overflows 64 bits",
                           size[0], size[1], D(x));
    }
    int64_t y[4] = { x->dims[0], x->dims[1], size[0], size[1] };
    set_out(c, 0, INFER_F32, 4, y);
    return INFER_OK;
}

static infer_status shape_reshape(const shape_ctx *c) {
    const shape_params *p = &c->n->p.shape;
    const infer_tensor *x = &c->in[0];
    int64_t total = elements(x->ndim, x->dims), known = 1, y[INFER_MAX_DIMS];
    int infer_at = -1;
    for (int i = 0; i < p->ndim; i++) {
        y[i] = p->shape[i];
        if (y[i] == -1) infer_at = i;
        else if (__builtin_mul_overflow(known, y[i], &known)) return FAIL(c, "target shape %s overflows",
                                                                          text_of(p->ndim, p->shape).s);
    }
    if (infer_at >= 0) {
        if (known == 0 || total % known)
            return FAIL(c, "cannot reshape %s (%lld elements) to %s", D(x), (long long)total,
                        text_of(p->ndim, p->shape).s);
        y[infer_at] = total / known;
    } else if (known != total) {
        return FAIL(c, "cannot reshape %s (%lld elements) to %s (%lld elements)", D(x), (long long)total,
                    text_of(p->ndim, p->shape).s, (long long)known);
    }
    set_out(c, 0, x->dtype, p->ndim, y);
    return INFER_OK;
}

static infer_status shape_transpose(const shape_ctx *c) {
    const transpose_params *p = &c->n->p.transpose;
    const infer_tensor *x = &c->in[0];
    if (p->ndim != x->ndim) return FAIL(c, "perm has %d entries for input %s", p->ndim, D(x));
    int64_t y[INFER_MAX_DIMS];
    for (int i = 0; i < p->ndim; i++) y[i] = x->dims[p->perm[i]];
    set_out(c, 0, x->dtype, x->ndim, y);
    return INFER_OK;
}

static infer_status shape_concat(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    int axis;
    if (!norm_axis(c->n->p.concat.axis, x->ndim, &axis))
        return FAIL(c, "axis %d is out of range for input %s", c->n->p.concat.axis, D(x));
    int64_t y[INFER_MAX_DIMS];
    memcpy(y, x->dims, sizeof y);
    for (int i = 1; i < c->n->n_in; i++) {
        const infer_tensor *t = &c->in[i];
        if (t->dtype != x->dtype)
            return FAIL_DTYPE(c, "input %d is %s, input 0 is %s", i, infer_dtype_name(t->dtype),
                              infer_dtype_name(x->dtype));
        int fits = t->ndim == x->ndim;
        for (int d = 0; fits && d < x->ndim; d++) fits = d == axis || t->dims[d] == x->dims[d];
        if (!fits) return FAIL(c, "input %d %s does not match input 0 %s outside axis %d", i, D(t), D(x), axis);
        y[axis] += t->dims[axis];
    }
    set_out(c, 0, x->dtype, x->ndim, y);
    return INFER_OK;
}

static infer_status shape_slice(const shape_ctx *c) {
    const slice_params *p = &c->n->p.slice;
    const infer_tensor *x = &c->in[0];
    int axis;
    if (!norm_axis(p->axis, x->ndim, &axis)) return FAIL(c, "axis %d is out of range for input %s", p->axis, D(x));
    int64_t size = x->dims[axis], start = p->start, end = p->end;
    if (start < 0) start += size;
    if (end < 0) end += size;
    start = start < 0 ? 0 : start > size ? size : start;
    end = end < 0 ? 0 : end > size ? size : end;
    set_out(c, 0, x->dtype, x->ndim, x->dims);
    c->out[0].dims[axis] = end > start ? (end - start - 1) / p->step + 1 : 0;
    return INFER_OK;
}

static infer_status shape_masked_fill(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0], *mask = &c->in[1];
    infer_tensor y;
    TRY(need_elementwise(c, 0));
    if (mask->dtype != INFER_BOOL && mask->dtype != INFER_U8)
        return FAIL_DTYPE(c, "mask is %s, expected bool", infer_dtype_name(mask->dtype));
    if (!broadcast(x, mask, &y) || !same_dims(&y, x)) return FAIL(c, "mask %s does not broadcast to input %s",
                                                                 D(mask), D(x));
    set_out(c, 0, x->dtype, x->ndim, x->dims);
    return INFER_OK;
}

static infer_status shape_embedding(const shape_ctx *c) {
    const infer_tensor *ids = &c->in[0], *w = &c->in[1];
    if (ids->dtype != INFER_I64 && ids->dtype != INFER_I32)
        return FAIL_DTYPE(c, "ids are %s, expected i64 or i32", infer_dtype_name(ids->dtype));
    if (w->ndim != 2) return FAIL(c, "weight %s must be 2-D [V,D]", D(w));
    if (ids->ndim >= INFER_MAX_DIMS) return FAIL(c, "ids %s leave no room for the embedding dimension", D(ids));
    set_out(c, 0, w->dtype, ids->ndim + 1, ids->dims);
    c->out[0].dims[ids->ndim] = w->dims[1];
    return INFER_OK;
}

static infer_status shape_reduce(const shape_ctx *c) {
    const reduce_params *p = &c->n->p.reduce;
    const infer_tensor *x = &c->in[0];
    TRY(need_elementwise(c, 0));
    int reduced[INFER_MAX_DIMS] = { 0 };
    if (p->naxes == 0) /* no axes: all of them, like torch.sum(x, dim=[]) */
        for (int d = 0; d < x->ndim; d++) reduced[d] = 1;
    for (int i = 0; i < p->naxes; i++) {
        int axis;
        if (!norm_axis(p->axes[i], x->ndim, &axis))
            return FAIL(c, "axis %d is out of range for input %s", p->axes[i], D(x));
        if (reduced[axis]) return FAIL(c, "axis %d is listed twice", p->axes[i]);
        reduced[axis] = 1;
    }
    int64_t y[INFER_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (!reduced[d]) y[nd++] = x->dims[d];
        else if (p->keepdim) y[nd++] = 1;
    }
    /* mean: f32; max, min: the input's dtype; sum: f32 from f32, i64 from integers and bool (as PyTorch),
     * or f32 when the file declares it (torch.sum(x, dtype=torch.float32)). */
    infer_dtype dtype = x->dtype;
    if (p->kind == RED_MEAN) dtype = INFER_F32;
    else if (p->kind == RED_SUM && x->dtype != INFER_F32) dtype = c->declared[0] == INFER_F32 ? INFER_F32 : INFER_I64;
    set_out(c, 0, dtype, nd, y);
    return INFER_OK;
}

static infer_status shape_attention(const shape_ctx *c) {
    const infer_tensor *q = &c->in[0], *k = &c->in[1], *v = &c->in[2], *mask = &c->in[3];
    if (q->ndim != 3 || k->ndim != 3 || v->ndim != 3)
        return FAIL(c, "q %s, k %s and v %s must be 3-D [B,L,E]", D(q), D(k), D(v));
    static const char *what[3] = { "q", "k", "v" };
    for (int i = 0; i < 3; i++) TRY(need_f32(c, i, what[i]));
    if (k->dims[0] != q->dims[0] || v->dims[0] != q->dims[0] || k->dims[1] != v->dims[1] ||
        k->dims[2] != q->dims[2] || v->dims[2] != q->dims[2])
        return FAIL(c, "q %s, k %s and v %s do not fit [B,Lq,E], [B,Lk,E], [B,Lk,E]", D(q), D(k), D(v));
    int heads = c->n->p.attention.heads;
    if (q->dims[2] % heads) return FAIL(c, "embedding size %lld is not divisible by %d heads", (long long)q->dims[2],
                                        heads);
    if (has(c, 3)) {
        if (mask->dtype != INFER_F32 && mask->dtype != INFER_BOOL)
            return FAIL_DTYPE(c, "mask is %s, expected f32 or bool", infer_dtype_name(mask->dtype));
        if (mask->ndim != 2 || mask->dims[0] != q->dims[1] || mask->dims[1] != k->dims[1])
            return FAIL(c, "mask %s, expected [%lld,%lld]", D(mask), (long long)q->dims[1], (long long)k->dims[1]);
    }
    set_out(c, 0, INFER_F32, 3, q->dims);
    return INFER_OK;
}

static infer_status shape_lstm(const shape_ctx *c) {
    static const char *weight_names[4] = { "w_ih", "w_hh", "b_ih", "b_hh" };
    const lstm_params *p = &c->n->p.lstm;
    const infer_tensor *x = &c->in[0];
    if (c->n->n_in - 3 != 4 * p->layers)
        return FAIL(c, "%d inputs for %d layers, expected %d (x, h0, c0, then w_ih, w_hh, b_ih, b_hh per layer)",
                    c->n->n_in, p->layers, 3 + 4 * p->layers);
    if (x->ndim != 3) return FAIL(c, "input %s must be 3-D", D(x));
    static const char *what[3] = { "x", "h0", "c0" };
    for (int i = 0; i < 3; i++) TRY(need_f32(c, i, what[i]));
    for (int l = 0; l < p->layers; l++)
        for (int j = 0; j < 4; j++) {
            char name[32];
            snprintf(name, sizeof name, "layer %d %s", l, weight_names[j]);
            TRY(need_f32(c, 3 + 4 * l + j, name));
        }
    int64_t B = x->dims[p->batch_first ? 0 : 1], T = x->dims[p->batch_first ? 1 : 0], H = p->hidden;
    int64_t state[3] = { p->layers, B, H };
    for (int i = 1; i < 3; i++)
        if (has(c, i) && (c->in[i].ndim != 3 || memcmp(c->in[i].dims, state, sizeof state)))
            return FAIL(c, "%s %s, expected %s", i == 1 ? "h0" : "c0", D(&c->in[i]), text_of(3, state).s);
    for (int l = 0; l < p->layers; l++) {
        int64_t in_features = l == 0 ? x->dims[2] : H;
        const infer_tensor *w = &c->in[3 + 4 * l];
        int64_t expect[4][2] = { { 4 * H, in_features }, { 4 * H, H }, { 4 * H, 0 }, { 4 * H, 0 } };
        for (int j = 0; j < 4; j++) {
            int ndim = j < 2 ? 2 : 1;
            if ((j < 2 || has(c, 3 + 4 * l + j)) && (w[j].ndim != ndim || memcmp(w[j].dims, expect[j],
                                                                                  (size_t)ndim * sizeof(int64_t))))
                return FAIL(c, "layer %d %s %s, expected %s", l, weight_names[j],
                            D(&w[j]), text_of(ndim, expect[j]).s);
        }
    }
    int64_t y[3] = { p->batch_first ? B : T, p->batch_first ? T : B, H };
    set_out(c, 0, INFER_F32, 3, y);
    set_out(c, 1, INFER_F32, 3, state);
    set_out(c, 2, INFER_F32, 3, state);
    return INFER_OK;
}

static infer_status shape_where(const shape_ctx *c) {
    const infer_tensor *cond = &c->in[0], *x = &c->in[1], *y = &c->in[2];
    if (cond->dtype != INFER_BOOL && cond->dtype != INFER_U8)
        return FAIL_DTYPE(c, "condition is %s, expected bool", infer_dtype_name(cond->dtype));
    if (x->dtype != y->dtype)
        return FAIL_DTYPE(c, "x is %s and y is %s", infer_dtype_name(x->dtype), infer_dtype_name(y->dtype));
    infer_tensor xy, z;
    if (!broadcast(x, y, &xy) || !broadcast(cond, &xy, &z))
        return FAIL(c, "condition %s, x %s and y %s do not broadcast", D(cond), D(x), D(y));
    set_out(c, 0, x->dtype, z.ndim, z.dims);
    return INFER_OK;
}

static infer_status shape_expand(const shape_ctx *c) {
    const shape_params *p = &c->n->p.shape;
    const infer_tensor *x = &c->in[0];
    if (p->ndim < x->ndim) return FAIL(c, "target %s has fewer dims than input %s", text_of(p->ndim, p->shape).s,
                                       D(x));
    int64_t y[INFER_MAX_DIMS];
    int lead = p->ndim - x->ndim;
    for (int i = 0; i < p->ndim; i++) {
        int64_t want = p->shape[i], have = i >= lead ? x->dims[i - lead] : -1;
        if (want == -1 && have < 0) return FAIL(c, "target %s keeps (-1) a dimension input %s lacks",
                                                text_of(p->ndim, p->shape).s, D(x));
        if (want != -1 && have >= 0 && have != 1 && have != want)
            return FAIL(c, "cannot expand input %s to %s", D(x), text_of(p->ndim, p->shape).s);
        y[i] = want == -1 ? have : want;
    }
    set_out(c, 0, x->dtype, p->ndim, y);
    return INFER_OK;
}

static infer_status check_inputs(const shape_ctx *c) {
    for (int i = 0; i < c->n->n_in; i++) {
        if (!has(c, i)) continue;
        const infer_tensor *t = &c->in[i];
        if (t->ndim < 0 || t->ndim > INFER_MAX_DIMS) return FAIL(c, "input %d has %d dims", i, t->ndim);
        int bad = elements(t->ndim, t->dims) < 0;
        for (int d = 0; d < t->ndim; d++) bad |= t->dims[d] < 0 || t->dims[d] > DIM_MAX;
        if (bad) return FAIL(c, "input %d has shape %s", i, D(t));
    }
    return INFER_OK;
}

static infer_status check_outputs(const shape_ctx *c) {
    for (int k = 0; k < c->n->n_out; k++) {
        const infer_tensor *t = &c->out[k];
        int64_t n = elements(t->ndim, t->dims);
        int64_t bytes;
        int too_big = n < 0 || __builtin_mul_overflow(n, (int64_t)infer_dtype_size(t->dtype), &bytes);
        for (int d = 0; d < t->ndim; d++) too_big |= t->dims[d] > DIM_MAX;
        if (too_big) return FAIL(c, "output %d %s is too large", k, D(t));
    }
    return INFER_OK;
}

static infer_status dispatch(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    switch (c->n->op) {
    case OP_IDENTITY: set_out(c, 0, x->dtype, x->ndim, x->dims); return INFER_OK;
    case OP_CONV2D: return shape_conv2d(c);
    case OP_LINEAR: return shape_linear(c);
    case OP_MATMUL: return shape_matmul(c);
    case OP_BATCHNORM: return shape_batchnorm(c);
    case OP_LAYERNORM: return shape_layernorm(c);
    case OP_ACTIVATION: return shape_activation(c);
    case OP_UNARY: return shape_unary(c);
    case OP_BINARY: return shape_binary(c);
    case OP_SOFTMAX: return shape_softmax(c);
    case OP_MAXPOOL2D:
    case OP_AVGPOOL2D: return shape_pool(c);
    case OP_ADAPTIVE_AVGPOOL2D: return shape_adaptive_pool(c);
    case OP_RESHAPE: return shape_reshape(c);
    case OP_TRANSPOSE: return shape_transpose(c);
    case OP_CONCAT: return shape_concat(c);
    case OP_SLICE: return shape_slice(c);
    case OP_MASKED_FILL: return shape_masked_fill(c);
    case OP_EMBEDDING: return shape_embedding(c);
    case OP_REDUCE: return shape_reduce(c);
    case OP_ATTENTION: return shape_attention(c);
    case OP_LSTM: return shape_lstm(c);
    case OP_CAST: set_out(c, 0, c->n->p.cast.dtype, x->ndim, x->dims); return INFER_OK;
    case OP_COMPARE: return shape_compare(c);
    case OP_WHERE: return shape_where(c);
    case OP_EXPAND: return shape_expand(c);
    default: return fail_as(c, INFER_ERR_INTERNAL, "no shape rule for op code %d", c->n->op);
    }
}

/* The declared dtype of every output must be the one the op computes (INFER_ERR_FORMAT otherwise). */
static infer_status check_declared_dtypes(const shape_ctx *c, const ir_graph *g) {
    for (int k = 0; k < c->n->n_out; k++) {
        if (!c->declared[k] || c->declared[k] == c->out[k].dtype) continue;
        int id = c->n->out[k];
        const char *name = g->tensors && id >= 0 && id < g->n_tensors ? g->tensors[id].name : "";
        return fail_as(c, INFER_ERR_FORMAT, "output %d '%s' is declared %s, expected %s", k, name ? name : "",
                       dt(c->declared[k]), dt(c->out[k].dtype));
    }
    return INFER_OK;
}

infer_status ir_node_shape(const ir_graph *g, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                           infer_error *err) {
    uintptr_t base = (uintptr_t)g->nodes, at = (uintptr_t)n;
    long index = at >= base && at < base + (uintptr_t)g->n_nodes * sizeof *n ? (long)(n - g->nodes) : -1;
    shape_ctx c = { n, index, in, out, err, { 0 } };
    const op_info *info = op_get_info(n->op);
    if (!info || n->n_in < info->min_inputs || n->n_in > IR_MAX_INPUTS || n->n_out != info->outputs)
        return fail_as(&c, INFER_ERR_INTERNAL, "malformed node: %d inputs, %d outputs", n->n_in, n->n_out);
    for (int k = 0; k < n->n_out; k++) c.declared[k] = out[k].dtype;
    for (int i = 0; i < info->min_inputs; i++)
        if (!has(&c, i) && !(n->op == OP_LSTM && (i == 1 || i == 2))) /* h0, c0 are optional */
            return fail_as(&c, INFER_ERR_INTERNAL, "input %d is absent", i);
    infer_status s = check_inputs(&c);
    if (s == INFER_OK) s = dispatch(&c);
    if (s == INFER_OK) s = check_outputs(&c);
    if (s == INFER_OK) s = check_declared_dtypes(&c, g);
    return s;
}

/* A declared shape holds at this batch: same rank, every static dim equal, a -1 at dim 0 equal to the
 * batch. free_dim (or -1) is not compared: lstm's h_n and c_n are [layers, B, H], and the format can mark
 * a dynamic batch at dim 0 only, so a converter declares their B as the example batch. Whatever reads
 * them has its own declared shapes checked. */
static int declared_holds(const ir_tensor *t, const infer_tensor *y, int64_t batch, int free_dim) {
    if (t->ndim != y->ndim) return 0;
    for (int d = 0; d < t->ndim; d++)
        if (d != free_dim && y->dims[d] != (d == 0 && t->dims[0] == -1 ? batch : t->dims[d])) return 0;
    return 1;
}

infer_status ir_infer_shapes(const ir_graph *g, int64_t batch, int64_t *dims, int *ndims, infer_error *err) {
    if (batch < 1 || batch > DIM_MAX) return infer_fail(err, INFER_ERR_ARGUMENT, "batch %lld must be >= 1",
                                                         (long long)batch);
    for (int t = 0; t < g->n_tensors; t++) {
        const ir_tensor *src = &g->tensors[t];
        int64_t *d = dims + (size_t)t * INFER_MAX_DIMS;
        ndims[t] = src->ndim;
        memcpy(d, src->dims, sizeof src->dims);
        if (!src->is_constant && src->ndim > 0 && d[0] == -1) d[0] = batch;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
        if (n->n_in < 0 || n->n_in > IR_MAX_INPUTS || n->n_out < 1 || n->n_out > IR_MAX_OUTPUTS)
            return infer_fail(err, INFER_ERR_INTERNAL, "node %d '%s': %d inputs, %d outputs", i, n->name, n->n_in,
                              n->n_out);
        memset(in, 0, (size_t)n->n_in * sizeof *in);
        memset(out, 0, sizeof out);
        for (int k = 0; k < n->n_in; k++) {
            int id = n->in[k];
            if (id == IR_NONE) continue;
            const ir_tensor *t = id >= 0 && id < g->n_tensors ? &g->tensors[id] : NULL;
            if (!t || (!t->is_constant && !t->is_input && (t->producer == IR_NONE || t->producer >= i)))
                return infer_fail(err, INFER_ERR_INTERNAL, "node %d '%s': input %d (tensor %d) is not available yet",
                                  i, n->name, k, id);
            in[k].dtype = t->dtype;
            in[k].ndim = ndims[id];
            memcpy(in[k].dims, dims + (size_t)id * INFER_MAX_DIMS, sizeof in[k].dims);
        }
        for (int k = 0; k < n->n_out; k++) {
            int id = n->out[k];
            if (id < 0 || id >= g->n_tensors)
                return infer_fail(err, INFER_ERR_INTERNAL, "node %d '%s': output %d is tensor %d of %d", i, n->name, k,
                                  id, g->n_tensors);
            out[k].dtype = g->tensors[id].dtype; /* declared: ir_node_shape checks it */
        }
        infer_status s = ir_node_shape(g, n, in, out, err);
        if (s != INFER_OK) return s;
        for (int k = 0; k < n->n_out; k++) {
            int id = n->out[k];
            const ir_tensor *t = &g->tensors[id];
            if (!declared_holds(t, &out[k], batch, n->op == OP_LSTM && k > 0 ? 1 : -1))
                return infer_fail(err, INFER_ERR_FORMAT,
                                  "tensor '%s' (output %d of node %d '%s' (%s)) is declared %s, inferred %s at batch %lld",
                                  t->name, k, i, n->name ? n->name : "", op_name(n->op), text_of(t->ndim, t->dims).s,
                                  D(&out[k]), (long long)batch);
            ndims[id] = out[k].ndim;
            memcpy(dims + (size_t)id * INFER_MAX_DIMS, out[k].dims, sizeof out[k].dims);
        }
    }
    return INFER_OK;
}
