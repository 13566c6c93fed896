/* softmax.c — op descriptor of softmax: softmax or log-softmax along one axis. */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_softmax(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    int axis;
    INFER_TRY(shape_need_float(c, 0, "input"));
    if (!shape_norm_axis(c->n->p.softmax.axis, x->ndim, &axis))
        return SHAPE_FAIL(c, "axis %d is out of range for input %s", c->n->p.softmax.axis, DIMS(x));
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    return INFER_OK;
}

static infer_status decode_softmax(const op_attrs *a, op_params *p) {
    INFER_TRY(attr_small(a, "axis", ATTR_OPTIONAL, -1, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, &p->softmax.axis));
    return attr_small(a, "log", ATTR_OPTIONAL, 0, 0, 1, &p->softmax.log);
}

const op_desc op_desc_softmax = {
    .code = OP_SOFTMAX,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_softmax,
    .shape = shape_softmax,
};
