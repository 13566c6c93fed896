/* index_select.c — op descriptor of index_select: y = x[:, ..., index, ...] along one axis, index of any rank. */
#include <string.h>
#include "../op_rules.h"

static infer_status decode_index_select(const op_attrs *a, op_params *p) {
    return attr_small(a, "axis", ATTR_REQUIRED, 0, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, &p->axis.axis);
}

static infer_status shape_index_select(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0], *index = &c->in[1];
    int axis;
    if (index->dtype != INFER_I64 && index->dtype != INFER_I32)
        return SHAPE_FAIL_DTYPE(c, "index is %s, expected i64 or i32", infer_dtype_name(index->dtype));
    if (infer_dtype_size(x->dtype) == 0) return SHAPE_FAIL_DTYPE(c, "input of dtype %s", infer_dtype_name(x->dtype));
    if (!shape_norm_axis(c->n->p.axis.axis, x->ndim, &axis))
        return SHAPE_FAIL(c, "axis %d is out of range for input %s", c->n->p.axis.axis, DIMS(x));
    int nd = x->ndim - 1 + index->ndim;
    if (nd > INFER_MAX_DIMS) return SHAPE_FAIL(c, "input %s indexed by %s has too many dims", DIMS(x), DIMS(index));
    int64_t y[INFER_MAX_DIMS];
    memcpy(y, x->dims, (size_t)axis * sizeof *y);
    memcpy(y + axis, index->dims, (size_t)index->ndim * sizeof *y);
    memcpy(y + axis + index->ndim, x->dims + axis + 1, (size_t)(x->ndim - axis - 1) * sizeof *y);
    shape_set_out(c, 0, x->dtype, nd, y);
    return INFER_OK;
}

const op_desc op_desc_index_select = {
    .code = OP_INDEX_SELECT,
    .decode = decode_index_select,
    .shape = shape_index_select,
};
