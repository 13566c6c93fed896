/* gather.c — op descriptor of gather: y[..i..] = x[..index[..i..]..] along one axis (torch.gather). */
#include "../op_rules.h"

static infer_status decode_gather(const op_attrs *a, op_params *p) {
    return attr_small(a, "axis", ATTR_REQUIRED, 0, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, &p->axis.axis);
}

static infer_status shape_gather(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0], *index = &c->in[1];
    int axis;
    if (index->dtype != INFER_I64 && index->dtype != INFER_I32)
        return SHAPE_FAIL_DTYPE(c, "index is %s, expected i64 or i32", infer_dtype_name(index->dtype));
    if (infer_dtype_size(x->dtype) == 0) return SHAPE_FAIL_DTYPE(c, "input of dtype %s", infer_dtype_name(x->dtype));
    if (!shape_norm_axis(c->n->p.axis.axis, x->ndim, &axis))
        return SHAPE_FAIL(c, "axis %d is out of range for input %s", c->n->p.axis.axis, DIMS(x));
    if (index->ndim != x->ndim) return SHAPE_FAIL(c, "index %s must have the rank of input %s", DIMS(index), DIMS(x));
    for (int d = 0; d < x->ndim; d++)
        if (d != axis && index->dims[d] > x->dims[d])
            return SHAPE_FAIL(c, "index %s is larger than input %s at dim %d", DIMS(index), DIMS(x), d);
    shape_set_out(c, 0, x->dtype, index->ndim, index->dims);
    return INFER_OK;
}

const op_desc op_desc_gather = {
    .code = OP_GATHER,
    .decode = decode_gather,
    .shape = shape_gather,
};
