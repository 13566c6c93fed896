/* params.c — reading a node's attributes: the helpers op descriptors decode with, and ir_decode_params. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "op_rules.h"

infer_status attr_fail(const op_attrs *c, const char *key, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return infer_fail(c->err, INFER_ERR_FORMAT, "node %d '%s' (%s): attribute '%s' %s", c->index, c->node->name,
                      op_name(c->node->op), key, what);
}

/* The attribute, NULL when absent (an error when required). */
static infer_status find(const op_attrs *c, const char *key, int required, const ifg_attr **out) {
    *out = ifg_node_attr(c->node, key);
    if (!*out && required) return attr_fail(c, key, "is required but missing");
    return INFER_OK;
}

infer_status attr_int(const op_attrs *c, const char *key, int required, int64_t def, int64_t lo, int64_t hi,
                            int64_t *out) {
    const ifg_attr *a;
    INFER_TRY(find(c, key, required, &a));
    *out = def;
    if (!a) return INFER_OK;
    if (a->type != IFG_ATTR_INT) return attr_fail(c, key, "must be an int (type %d)", a->type);
    if (a->i < lo || a->i > hi) return attr_fail(c, key, "is %lld, must be in [%lld, %lld]", (long long)a->i, (long long)lo,
                                           (long long)hi);
    *out = a->i;
    return INFER_OK;
}

infer_status attr_small(const op_attrs *c, const char *key, int required, int def, int lo, int hi, int *out) {
    int64_t v;
    INFER_TRY(attr_int(c, key, required, def, lo, hi, &v));
    *out = (int)v;
    return INFER_OK;
}

infer_status decode_axis_params(const op_attrs *a, op_params *p) {
    return attr_small(a, "axis", ATTR_REQUIRED, 0, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, &p->axis.axis);
}

infer_status attr_dim_list(const op_attrs *a, int *dims, int *n) {
    int64_t v[INFER_MAX_DIMS];
    INFER_TRY(attr_ints(a, "dims", ATTR_REQUIRED, 1, INFER_MAX_DIMS, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, v, n));
    for (int i = 0; i < *n; i++) dims[i] = (int)v[i];
    return INFER_OK;
}

/* A float attribute; an int is accepted as its value. NaN is refused. */
infer_status attr_float(const op_attrs *c, const char *key, int required, double def, float *out) {
    const ifg_attr *a;
    INFER_TRY(find(c, key, required, &a));
    double v = def;
    if (a && a->type == IFG_ATTR_FLOAT) v = a->f;
    else if (a && a->type == IFG_ATTR_INT) v = (double)a->i;
    else if (a) return attr_fail(c, key, "must be a float (type %d)", a->type);
    if (isnan(v)) return attr_fail(c, key, "is NaN");
    *out = (float)v;
    return INFER_OK;
}

/* An int list of min_count..max_count values in [lo, hi]; an int counts as a list of one. */
infer_status attr_ints(const op_attrs *c, const char *key, int required, int min_count, int max_count,
                             int64_t lo, int64_t hi, int64_t *vals, int *count) {
    const ifg_attr *a;
    INFER_TRY(find(c, key, required, &a));
    *count = 0;
    if (!a) return INFER_OK;
    if (a->type == IFG_ATTR_INT) {
        *count = 1;
        vals[0] = a->i;
    } else if (a->type == IFG_ATTR_INTS) {
        if (a->count < (uint32_t)min_count || a->count > (uint32_t)max_count)
            return attr_fail(c, key, "has %u values, expected %d to %d", a->count, min_count, max_count);
        *count = (int)a->count;
        for (int i = 0; i < *count; i++) vals[i] = ifg_attr_int_at(a, (uint32_t)i);
    } else {
        return attr_fail(c, key, "must be ints (type %d)", a->type);
    }
    if (*count < min_count) return attr_fail(c, key, "has %d values, expected %d to %d", *count, min_count, max_count);
    for (int i = 0; i < *count; i++)
        if (vals[i] < lo || vals[i] > hi)
            return attr_fail(c, key, "value %d is %lld, must be in [%lld, %lld]", i, (long long)vals[i], (long long)lo,
                       (long long)hi);
    return INFER_OK;
}

/* A pair (height, width): ints[2], or one int (or ints[1]) used for both. */
infer_status attr_pair(const op_attrs *c, const char *key, int required, int def, int lo, int hi, int out[2]) {
    int64_t v[2];
    int count;
    INFER_TRY(attr_ints(c, key, required, 1, 2, lo, hi, v, &count));
    out[0] = count ? (int)v[0] : def;
    out[1] = count ? (int)v[count - 1] : def;
    return INFER_OK;
}

infer_status attr_act(const op_attrs *c, const char *kind_key, int required, act_params *act) {
    int kind;
    INFER_TRY(attr_small(c, kind_key, required, ACT_NONE, 0, ACT_COUNT - 1, &kind));
    act->kind = (act_kind)kind;
    int clip = act->kind == ACT_CLIP;
    INFER_TRY(attr_float(c, "act_min", clip, 0.0, &act->min));
    INFER_TRY(attr_float(c, "act_max", clip, 0.0, &act->max));
    if (clip && act->min > act->max) return attr_fail(c, "act_min", "(%g) is above act_max (%g)", act->min, act->max);
    return INFER_OK;
}

infer_status attr_act_quant(const op_attrs *c, act_quant *q) {
    INFER_TRY(attr_float(c, "in_scale", ATTR_OPTIONAL, 0.0, &q->scale));
    if (!(q->scale >= 0.0f) || isinf(q->scale) || (q->scale > 0.0f && q->scale < 1e-30f))
        return attr_fail(c, "in_scale", "is %g, must be 0 (none) or a finite positive scale", q->scale);
    return attr_small(c, "in_zero", ATTR_OPTIONAL, 0, 0, 255, &q->zero);
}

int attr_has_input(const op_attrs *c, uint32_t i) {
    return i < c->node->n_inputs && c->node->inputs[i] != IFG_NONE;
}

infer_status attr_eps(const op_attrs *c, float *eps) {
    INFER_TRY(attr_float(c, "eps", ATTR_OPTIONAL, 1e-5, eps));
    if (!(*eps >= 0.0f) || isinf(*eps)) return attr_fail(c, "eps", "is %g, must be finite and >= 0", *eps);
    return INFER_OK;
}

/* reshape / expand: sizes >= 0, -1 where allowed, IR_DIM_EXPR(e) for a named-dim expression (ir_build checks e). */
infer_status attr_shape(const op_attrs *c, int max_minus_one, shape_params *p) {
    INFER_TRY(attr_ints(c, "shape", ATTR_REQUIRED, 0, INFER_MAX_DIMS, IR_DIM_EXPR(INT32_MAX - 1), INT64_MAX, p->shape,
                        &p->ndim));
    int minus_one = 0;
    for (int i = 0; i < p->ndim; i++) minus_one += p->shape[i] == -1;
    if (minus_one > max_minus_one) return attr_fail(c, "shape", "has %d entries of -1, at most %d allowed", minus_one,
                                              max_minus_one);
    return INFER_OK;
}

infer_status ir_decode_params(const ifg_node *node, int index, op_params *p, infer_error *err) {
    op_attrs a = { node, index, err };
    memset(p, 0, sizeof *p);
    const op_desc *d = op_describe(node->op);
    if (!d) return infer_fail(err, INFER_ERR_FORMAT, "node %d '%s': unknown op code %d", index, node->name, node->op);
    return d->decode ? d->decode(&a, p) : INFER_OK;
}
