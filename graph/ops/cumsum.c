/* cumsum.c — op descriptor of cumsum: running sums along one axis (integers and bool sum in i64, as PyTorch). */
#include "../op_rules.h"

static infer_status decode_cumsum(const op_attrs *a, op_params *p) {
    return attr_small(a, "axis", ATTR_REQUIRED, 0, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, &p->axis.axis);
}

static infer_status shape_cumsum(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    int axis;
    INFER_TRY(shape_need_elementwise(c, 0));
    if (!shape_norm_axis(c->n->p.axis.axis, x->ndim, &axis))
        return SHAPE_FAIL(c, "axis %d is out of range for input %s", c->n->p.axis.axis, DIMS(x));
    /* a float keeps its dtype; integers and bool give i64, or f32 when declared (torch.cumsum(x, dtype=...)) */
    infer_dtype dtype = x->dtype;
    if (!dtype_is_float(dtype)) dtype = c->declared[0] == DEFAULT_FLOAT ? DEFAULT_FLOAT : INFER_I64;
    shape_set_out(c, 0, dtype, x->ndim, x->dims);
    return INFER_OK;
}

const op_desc op_desc_cumsum = {
    .code = OP_CUMSUM,
    .decode = decode_cumsum,
    .shape = shape_cumsum,
};
