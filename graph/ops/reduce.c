/* reduce.c — op descriptor of reduce: mean, sum, max or min over a set of axes. */
#include <string.h>
#include "../op_rules.h"

static infer_status decode_reduce_params(const op_attrs *c, reduce_params *p) {
    int kind;
    int64_t v[INFER_MAX_DIMS];
    INFER_TRY(attr_small(c, "kind", ATTR_REQUIRED, 0, 0, RED_COUNT - 1, &kind));
    p->kind = (reduce_kind)kind;
    INFER_TRY(
        attr_ints(c, "axes", ATTR_REQUIRED, 0, INFER_MAX_DIMS, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, v, &p->naxes));
    for (int i = 0; i < p->naxes; i++) p->axes[i] = (int)v[i];
    return attr_small(c, "keepdim", ATTR_OPTIONAL, 0, 0, 1, &p->keepdim);
}

static infer_status shape_reduce(const shape_ctx *c) {
    const reduce_params *p = &c->n->p.reduce;
    const infer_tensor *x = &c->in[0];
    INFER_TRY(shape_need_elementwise(c, 0));
    int reduced[INFER_MAX_DIMS] = { 0 };
    if (p->naxes == 0) /* no axes: all of them, like torch.sum(x, dim=[]) */
        for (int d = 0; d < x->ndim; d++) reduced[d] = 1;
    for (int i = 0; i < p->naxes; i++) {
        int axis;
        if (!shape_norm_axis(p->axes[i], x->ndim, &axis))
            return SHAPE_FAIL(c, "axis %d is out of range for input %s", p->axes[i], DIMS(x));
        if (reduced[axis]) return SHAPE_FAIL(c, "axis %d is listed twice", p->axes[i]);
        reduced[axis] = 1;
    }
    int64_t y[INFER_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (!reduced[d]) y[nd++] = x->dims[d];
        else if (p->keepdim) y[nd++] = 1;
    }
    /* mean: a float input's dtype, else f32; max, min: the input's dtype; sum: a float input's dtype, i64
     * from integers and bool (as PyTorch), or f32 when declared (torch.sum(x, dtype=torch.float32)). */
    infer_dtype dtype = x->dtype;
    if (p->kind == RED_MEAN && !dtype_is_float(x->dtype)) dtype = DEFAULT_FLOAT;
    else if (p->kind == RED_SUM && !dtype_is_float(x->dtype))
        dtype = c->declared[0] == DEFAULT_FLOAT ? DEFAULT_FLOAT : INFER_I64;
    shape_set_out(c, 0, dtype, nd, y);
    return INFER_OK;
}

static infer_status decode_reduce(const op_attrs *a, op_params *p) { return decode_reduce_params(a, &p->reduce); }

const op_desc op_desc_reduce = {
    .code = OP_REDUCE,
    .decode = decode_reduce,
    .shape = shape_reduce,
};
