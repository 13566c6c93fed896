/* topk.c — op descriptor of topk: the k largest (or smallest) values along an axis, sorted, and their i64 indices. */
#include "../op_rules.h"

static infer_status decode_topk(const op_attrs *a, op_params *p) {
    INFER_TRY(attr_small(a, "axis", ATTR_REQUIRED, 0, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, &p->topk.axis));
    INFER_TRY(attr_int(a, "k", ATTR_REQUIRED, 0, -1, DIM_MAX, &p->topk.k));
    return attr_small(a, "largest", ATTR_OPTIONAL, 1, 0, 1, &p->topk.largest);
}

static infer_status shape_topk(const shape_ctx *c) {
    const topk_params *p = &c->n->p.topk;
    const infer_tensor *x = &c->in[0];
    int axis;
    INFER_TRY(shape_need_elementwise(c, 0));
    if (x->dtype == INFER_BOOL) return SHAPE_FAIL_DTYPE(c, "topk of a bool tensor is not supported");
    if (!shape_norm_axis(p->axis, x->ndim, &axis))
        return SHAPE_FAIL(c, "axis %d is out of range for input %s", p->axis, DIMS(x));
    if (p->k > x->dims[axis])
        return SHAPE_FAIL(c, "k %lld is larger than axis %d of input %s", (long long)p->k, axis, DIMS(x));
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    shape_set_out(c, 1, INFER_I64, x->ndim, x->dims);
    if (p->k >= 0) c->out[0].dims[axis] = c->out[1].dims[axis] = p->k; /* -1: the whole axis (sort) */
    return INFER_OK;
}

const op_desc op_desc_topk = {
    .code = OP_TOPK,
    .decode = decode_topk,
    .shape = shape_topk,
};
