/* slice.c — op descriptor of slice: start:end:step along one axis, clamped as in Python. */
#include <string.h>
#include "../op_rules.h"

static infer_status decode_slice_params(const op_attrs *c, slice_params *p) {
    INFER_TRY(attr_small(c, "axis", ATTR_REQUIRED, 0, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, &p->axis));
    INFER_TRY(attr_int(c, "start", ATTR_REQUIRED, 0, INT64_MIN, INT64_MAX, &p->start));
    INFER_TRY(attr_int(c, "end", ATTR_REQUIRED, 0, INT64_MIN, INT64_MAX, &p->end));
    int64_t end_expr;
    INFER_TRY(attr_int(c, "end_expr", ATTR_OPTIONAL, -1, -1, INT32_MAX - 1, &end_expr));
    p->end_expr = (int)end_expr + 1; /* ir_build checks that the expression exists */
    return attr_int(c, "step", ATTR_OPTIONAL, 1, 1, INT64_MAX, &p->step);
}

static infer_status shape_slice(const shape_ctx *c) {
    const slice_params *p = &c->n->p.slice;
    const infer_tensor *x = &c->in[0];
    int axis;
    if (!shape_norm_axis(p->axis, x->ndim, &axis))
        return SHAPE_FAIL(c, "axis %d is out of range for input %s", p->axis, DIMS(x));
    int64_t size = x->dims[axis], start = p->start, end = p->end;
    if (start < 0) start += size;
    if (end < 0) end += size;
    start = start < 0 ? 0 : start > size ? size : start;
    end = end < 0 ? 0 : end > size ? size : end;
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    c->out[0].dims[axis] = end > start ? (end - start - 1) / p->step + 1 : 0;
    return INFER_OK;
}

static infer_status decode_slice(const op_attrs *a, op_params *p) { return decode_slice_params(a, &p->slice); }

const op_desc op_desc_slice = {
    .code = OP_SLICE,
    .decode = decode_slice,
    .shape = shape_slice,
};
