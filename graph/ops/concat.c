/* concat.c — op descriptor of concat: inputs joined along one axis. */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_concat(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    int axis;
    if (!shape_norm_axis(c->n->p.concat.axis, x->ndim, &axis))
        return SHAPE_FAIL(c, "axis %d is out of range for input %s", c->n->p.concat.axis, DIMS(x));
    int64_t y[INFER_MAX_DIMS];
    memcpy(y, x->dims, sizeof y);
    for (int i = 1; i < c->n->n_in; i++) {
        const infer_tensor *t = &c->in[i];
        if (t->dtype != x->dtype)
            return SHAPE_FAIL_DTYPE(c, "input %d is %s, input 0 is %s", i, infer_dtype_name(t->dtype),
                                    infer_dtype_name(x->dtype));
        int fits = t->ndim == x->ndim;
        for (int d = 0; fits && d < x->ndim; d++) fits = d == axis || t->dims[d] == x->dims[d];
        if (!fits)
            return SHAPE_FAIL(c, "input %d %s does not match input 0 %s outside axis %d", i, DIMS(t), DIMS(x), axis);
        y[axis] += t->dims[axis];
    }
    shape_set_out(c, 0, x->dtype, x->ndim, y);
    return INFER_OK;
}

static infer_status decode_concat(const op_attrs *a, op_params *p) {
    return attr_small(a, "axis", ATTR_REQUIRED, 0, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, &p->concat.axis);
}

const op_desc op_desc_concat = {
    .code = OP_CONCAT,
    .decode = decode_concat,
    .shape = shape_concat,
};
