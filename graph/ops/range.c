/* range.c — op descriptor of range: start + i * step for i < length (aten::arange), no inputs; the length
 * may be a dim expression (length_expr), evaluated by shape inference. */
#include "../op_rules.h"

static infer_status decode_range(const op_attrs *a, op_params *p) {
    range_params *r = &p->range;
    int dtype;
    INFER_TRY(attr_small(a, "dtype", ATTR_REQUIRED, 0, 1, INFER_DTYPE_COUNT - 1, &dtype));
    if (dtype != INFER_I64 && dtype != INFER_F32)
        return attr_fail(a, "dtype", "is %s; range makes i64 or f32", infer_dtype_name((infer_dtype)dtype));
    r->dtype = (infer_dtype)dtype;
    INFER_TRY(attr_int(a, "length", ATTR_REQUIRED, 0, 0, ATTR_BIG, &r->length));
    int64_t expr;
    INFER_TRY(attr_int(a, "length_expr", ATTR_OPTIONAL, -1, -1, INT32_MAX - 1, &expr));
    r->length_expr = (int)expr + 1; /* ir_build checks that the expression exists */
    if (r->dtype == INFER_I64) {
        INFER_TRY(attr_int(a, "start", ATTR_OPTIONAL, 0, -ATTR_BIG, ATTR_BIG, &r->start));
        INFER_TRY(attr_int(a, "step", ATTR_OPTIONAL, 1, -ATTR_BIG, ATTR_BIG, &r->step));
        if (r->step == 0) return attr_fail(a, "step", "is 0");
        r->fstart = (float)r->start;
        r->fstep = (float)r->step;
        return INFER_OK;
    }
    INFER_TRY(attr_float(a, "start", ATTR_OPTIONAL, 0, &r->fstart));
    INFER_TRY(attr_float(a, "step", ATTR_OPTIONAL, 1, &r->fstep));
    if (r->fstep == 0) return attr_fail(a, "step", "is 0");
    return INFER_OK;
}

static infer_status shape_range(const shape_ctx *c) {
    int64_t length = c->n->p.range.length;
    if (length < 0) return SHAPE_FAIL(c, "length %lld is negative", (long long)length);
    shape_set_out(c, 0, c->n->p.range.dtype, 1, &length);
    return INFER_OK;
}

const op_desc op_desc_range = {
    .code = OP_RANGE,
    .decode = decode_range,
    .shape = shape_range,
};
