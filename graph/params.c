/* params.c — decoding a node's attributes into op_params, with the defaults and checks of docs/OPS.md. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "graph.h"
#include "../runtime/error.h"

#define BIG (1 << 30) /* upper bound of sizes, strides and paddings: keeps shape arithmetic far from overflow */
#define TRY(x)                               \
    do {                                     \
        infer_status s_ = (x);               \
        if (s_ != INFER_OK) return s_;       \
    } while (0)

typedef struct {
    const ifg_node *node;
    int index;
    infer_error *err;
} attr_ctx;

enum { OPTIONAL = 0, REQUIRED = 1 };

static infer_status bad(const attr_ctx *c, const char *key, const char *fmt, ...) INFER_PRINTF(3, 4);
static infer_status bad(const attr_ctx *c, const char *key, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return infer_fail(c->err, INFER_ERR_FORMAT, "node %d '%s' (%s): attribute '%s' %s", c->index, c->node->name,
                      op_name(c->node->op), key, what);
}

/* The attribute, NULL when absent (an error when required). */
static infer_status find(const attr_ctx *c, const char *key, int required, const ifg_attr **out) {
    *out = ifg_node_attr(c->node, key);
    if (!*out && required) return bad(c, key, "is required but missing");
    return INFER_OK;
}

static infer_status get_int(const attr_ctx *c, const char *key, int required, int64_t def, int64_t lo, int64_t hi,
                            int64_t *out) {
    const ifg_attr *a;
    TRY(find(c, key, required, &a));
    *out = def;
    if (!a) return INFER_OK;
    if (a->type != IFG_ATTR_INT) return bad(c, key, "must be an int (type %d)", a->type);
    if (a->i < lo || a->i > hi) return bad(c, key, "is %lld, must be in [%lld, %lld]", (long long)a->i, (long long)lo,
                                           (long long)hi);
    *out = a->i;
    return INFER_OK;
}

static infer_status get_small(const attr_ctx *c, const char *key, int required, int def, int lo, int hi, int *out) {
    int64_t v;
    TRY(get_int(c, key, required, def, lo, hi, &v));
    *out = (int)v;
    return INFER_OK;
}

/* A float attribute; an int is accepted as its value. NaN is refused. */
static infer_status get_float(const attr_ctx *c, const char *key, int required, double def, float *out) {
    const ifg_attr *a;
    TRY(find(c, key, required, &a));
    double v = def;
    if (a && a->type == IFG_ATTR_FLOAT) v = a->f;
    else if (a && a->type == IFG_ATTR_INT) v = (double)a->i;
    else if (a) return bad(c, key, "must be a float (type %d)", a->type);
    if (isnan(v)) return bad(c, key, "is NaN");
    *out = (float)v;
    return INFER_OK;
}

/* An int list of min_count..max_count values in [lo, hi]; an int counts as a list of one. */
static infer_status get_ints(const attr_ctx *c, const char *key, int required, int min_count, int max_count,
                             int64_t lo, int64_t hi, int64_t *vals, int *count) {
    const ifg_attr *a;
    TRY(find(c, key, required, &a));
    *count = 0;
    if (!a) return INFER_OK;
    if (a->type == IFG_ATTR_INT) {
        *count = 1;
        vals[0] = a->i;
    } else if (a->type == IFG_ATTR_INTS) {
        if (a->count < (uint32_t)min_count || a->count > (uint32_t)max_count)
            return bad(c, key, "has %u values, expected %d to %d", a->count, min_count, max_count);
        *count = (int)a->count;
        for (int i = 0; i < *count; i++) vals[i] = ifg_attr_int_at(a, (uint32_t)i);
    } else {
        return bad(c, key, "must be ints (type %d)", a->type);
    }
    if (*count < min_count) return bad(c, key, "has %d values, expected %d to %d", *count, min_count, max_count);
    for (int i = 0; i < *count; i++)
        if (vals[i] < lo || vals[i] > hi)
            return bad(c, key, "value %d is %lld, must be in [%lld, %lld]", i, (long long)vals[i], (long long)lo,
                       (long long)hi);
    return INFER_OK;
}

/* A pair (height, width): ints[2], or one int (or ints[1]) used for both. */
static infer_status get_pair(const attr_ctx *c, const char *key, int required, int def, int lo, int hi, int out[2]) {
    int64_t v[2];
    int count;
    TRY(get_ints(c, key, required, 1, 2, lo, hi, v, &count));
    out[0] = count ? (int)v[0] : def;
    out[1] = count ? (int)v[count - 1] : def;
    return INFER_OK;
}

static infer_status get_act(const attr_ctx *c, const char *kind_key, int required, act_params *act) {
    int kind;
    TRY(get_small(c, kind_key, required, ACT_NONE, 0, ACT_COUNT - 1, &kind));
    act->kind = (act_kind)kind;
    int clip = act->kind == ACT_CLIP;
    TRY(get_float(c, "act_min", clip, 0.0, &act->min));
    TRY(get_float(c, "act_max", clip, 0.0, &act->max));
    if (clip && act->min > act->max) return bad(c, "act_min", "(%g) is above act_max (%g)", act->min, act->max);
    return INFER_OK;
}

static int has_input(const attr_ctx *c, uint32_t i) {
    return i < c->node->n_inputs && c->node->inputs[i] != IFG_NONE;
}

static infer_status get_eps(const attr_ctx *c, float *eps) {
    TRY(get_float(c, "eps", OPTIONAL, 1e-5, eps));
    if (!(*eps >= 0.0f) || isinf(*eps)) return bad(c, "eps", "is %g, must be finite and >= 0", *eps);
    return INFER_OK;
}

static infer_status decode_conv2d(const attr_ctx *c, conv2d_params *p) {
    TRY(get_pair(c, "stride", OPTIONAL, 1, 1, BIG, p->stride));
    TRY(get_pair(c, "padding", OPTIONAL, 0, 0, BIG, p->padding));
    TRY(get_pair(c, "dilation", OPTIONAL, 1, 1, BIG, p->dilation));
    TRY(get_small(c, "groups", OPTIONAL, 1, 1, BIG, &p->groups));
    return get_act(c, "act", OPTIONAL, &p->act);
}

static infer_status decode_pool(const attr_ctx *c, int is_max, pool2d_params *p) {
    TRY(get_pair(c, "kernel", REQUIRED, 1, 1, BIG, p->kernel));
    TRY(get_pair(c, "stride", OPTIONAL, 0, 1, BIG, p->stride));
    if (p->stride[0] == 0) memcpy(p->stride, p->kernel, sizeof p->stride);
    TRY(get_pair(c, "padding", OPTIONAL, 0, 0, BIG, p->padding));
    p->dilation[0] = p->dilation[1] = 1;
    if (is_max) TRY(get_pair(c, "dilation", OPTIONAL, 1, 1, BIG, p->dilation));
    TRY(get_small(c, "ceil_mode", OPTIONAL, 0, 0, 1, &p->ceil_mode));
    p->count_include_pad = 1;
    if (!is_max) TRY(get_small(c, "count_include_pad", OPTIONAL, 1, 0, 1, &p->count_include_pad));
    for (int i = 0; i < 2; i++) {
        int64_t extent = (int64_t)(p->kernel[i] - 1) * p->dilation[i] + 1; /* both <= BIG: no overflow */
        if (extent > BIG)
            return bad(c, is_max ? "dilation" : "kernel", "gives a window of %lld (kernel %d, dilation %d), above %d",
                       (long long)extent, p->kernel[i], p->dilation[i], BIG);
        if (p->padding[i] > extent / 2) /* PyTorch: padding at most half the window */
            return bad(c, "padding", "(%d) must be at most half the window (%lld)", p->padding[i], (long long)extent);
    }
    return INFER_OK;
}

/* reshape / expand: sizes >= 0, -1 where allowed. */
static infer_status decode_shape(const attr_ctx *c, int max_minus_one, shape_params *p) {
    TRY(get_ints(c, "shape", REQUIRED, 0, INFER_MAX_DIMS, -1, INT64_MAX, p->shape, &p->ndim));
    int minus_one = 0;
    for (int i = 0; i < p->ndim; i++) minus_one += p->shape[i] == -1;
    if (minus_one > max_minus_one) return bad(c, "shape", "has %d entries of -1, at most %d allowed", minus_one,
                                              max_minus_one);
    return INFER_OK;
}

static infer_status decode_transpose(const attr_ctx *c, transpose_params *p) {
    int64_t v[INFER_MAX_DIMS];
    TRY(get_ints(c, "perm", REQUIRED, 0, INFER_MAX_DIMS, 0, INFER_MAX_DIMS - 1, v, &p->ndim));
    int seen = 0;
    for (int i = 0; i < p->ndim; i++) {
        if (v[i] >= p->ndim || (seen & (1 << v[i])))
            return bad(c, "perm", "is not a permutation of 0..%d (entry %d is %lld)", p->ndim - 1, i, (long long)v[i]);
        seen |= 1 << v[i];
        p->perm[i] = (int)v[i];
    }
    return INFER_OK;
}

static infer_status decode_reduce(const attr_ctx *c, reduce_params *p) {
    int kind;
    int64_t v[INFER_MAX_DIMS];
    TRY(get_small(c, "kind", REQUIRED, 0, 0, RED_COUNT - 1, &kind));
    p->kind = (reduce_kind)kind;
    TRY(get_ints(c, "axes", REQUIRED, 0, INFER_MAX_DIMS, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, v, &p->naxes));
    for (int i = 0; i < p->naxes; i++) p->axes[i] = (int)v[i];
    return get_small(c, "keepdim", OPTIONAL, 0, 0, 1, &p->keepdim);
}

static infer_status decode_slice(const attr_ctx *c, slice_params *p) {
    TRY(get_small(c, "axis", REQUIRED, 0, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, &p->axis));
    TRY(get_int(c, "start", REQUIRED, 0, INT64_MIN, INT64_MAX, &p->start));
    TRY(get_int(c, "end", REQUIRED, 0, INT64_MIN, INT64_MAX, &p->end));
    return get_int(c, "step", OPTIONAL, 1, 1, INT64_MAX, &p->step);
}

static infer_status decode_binary(const attr_ctx *c, binary_params *p) {
    int kind;
    TRY(get_small(c, "kind", REQUIRED, 0, 0, BIN_COUNT - 1, &kind));
    p->kind = (binary_kind)kind;
    TRY(get_float(c, "scalar", !has_input(c, 1), 0.0, &p->scalar));
    return get_small(c, "reverse", OPTIONAL, 0, 0, 1, &p->reverse);
}

static infer_status decode_attention(const attr_ctx *c, attention_params *p) {
    TRY(get_small(c, "heads", REQUIRED, 1, 1, BIG, &p->heads));
    TRY(get_small(c, "causal", OPTIONAL, 0, 0, 1, &p->causal));
    TRY(get_float(c, "scale", OPTIONAL, 0.0, &p->scale));
    if (isinf(p->scale)) return bad(c, "scale", "is infinite");
    return INFER_OK;
}

static infer_status decode_lstm(const attr_ctx *c, lstm_params *p) {
    TRY(get_small(c, "hidden", REQUIRED, 1, 1, BIG, &p->hidden));
    TRY(get_small(c, "layers", REQUIRED, 1, 1, IR_MAX_INPUTS, &p->layers));
    return get_small(c, "batch_first", OPTIONAL, 0, 0, 1, &p->batch_first);
}

infer_status ir_decode_params(const ifg_node *node, int index, op_params *p, infer_error *err) {
    attr_ctx c = { node, index, err };
    memset(p, 0, sizeof *p);
    int kind;
    switch ((op_code)node->op) {
    case OP_IDENTITY:
    case OP_MATMUL:
    case OP_EMBEDDING:
    case OP_WHERE: return INFER_OK;
    case OP_CONV2D: return decode_conv2d(&c, &p->conv2d);
    case OP_LINEAR: return get_act(&c, "act", OPTIONAL, &p->linear.act);
    case OP_BATCHNORM: return get_eps(&c, &p->batchnorm.eps);
    case OP_LAYERNORM:
        TRY(get_small(&c, "axes", OPTIONAL, 1, 1, INFER_MAX_DIMS, &p->layernorm.axes));
        return get_eps(&c, &p->layernorm.eps);
    case OP_ACTIVATION: return get_act(&c, "kind", REQUIRED, &p->activation);
    case OP_BINARY: return decode_binary(&c, &p->binary);
    case OP_SOFTMAX:
        TRY(get_small(&c, "axis", OPTIONAL, -1, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, &p->softmax.axis));
        return get_small(&c, "log", OPTIONAL, 0, 0, 1, &p->softmax.log);
    case OP_MAXPOOL2D: return decode_pool(&c, 1, &p->pool2d);
    case OP_AVGPOOL2D: return decode_pool(&c, 0, &p->pool2d);
    case OP_ADAPTIVE_AVGPOOL2D: return get_pair(&c, "output_size", REQUIRED, 1, 1, BIG, p->adaptive_pool.output_size);
    case OP_RESHAPE: return decode_shape(&c, 1, &p->shape);
    case OP_EXPAND: return decode_shape(&c, INFER_MAX_DIMS, &p->shape);
    case OP_TRANSPOSE: return decode_transpose(&c, &p->transpose);
    case OP_CONCAT: return get_small(&c, "axis", REQUIRED, 0, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, &p->concat.axis);
    case OP_SLICE: return decode_slice(&c, &p->slice);
    case OP_MASKED_FILL: return get_float(&c, "value", REQUIRED, 0.0, &p->masked_fill.value);
    case OP_REDUCE: return decode_reduce(&c, &p->reduce);
    case OP_ATTENTION: return decode_attention(&c, &p->attention);
    case OP_LSTM: return decode_lstm(&c, &p->lstm);
    case OP_CAST:
        TRY(get_small(&c, "dtype", REQUIRED, 0, 1, INFER_DTYPE_COUNT - 1, &kind));
        p->cast.dtype = (infer_dtype)kind;
        return INFER_OK;
    case OP_COMPARE:
        TRY(get_small(&c, "kind", REQUIRED, 0, 0, CMP_COUNT - 1, &kind));
        p->compare.kind = (compare_kind)kind;
        return get_float(&c, "scalar", !has_input(&c, 1), 0.0, &p->compare.scalar);
    case OP_UNARY:
        TRY(get_small(&c, "kind", REQUIRED, 0, 0, UN_COUNT - 1, &kind));
        p->unary.kind = (unary_kind)kind;
        return INFER_OK;
    default:
        return infer_fail(err, INFER_ERR_FORMAT, "node %d '%s': unknown op code %d", index, node->name, node->op);
    }
}
