/* triangle.c — op descriptor of triangle: triu / tril of the last two dims, others zeroed. */
#include "../op_rules.h"

static infer_status decode_triangle(const op_attrs *a, op_params *p) {
    INFER_TRY(attr_small(a, "upper", ATTR_REQUIRED, 0, 0, 1, &p->triangle.upper));
    return attr_int(a, "diagonal", ATTR_OPTIONAL, 0, -DIM_MAX, DIM_MAX, &p->triangle.diagonal);
}

static infer_status shape_triangle(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    INFER_TRY(shape_need_elementwise(c, 0));
    if (x->ndim < 2) return SHAPE_FAIL(c, "input %s must be at least 2-D", DIMS(x));
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    return INFER_OK;
}

const op_desc op_desc_triangle = {
    .code = OP_TRIANGLE,
    .decode = decode_triangle,
    .shape = shape_triangle,
    .in_place = OP_IN_PLACE_ALWAYS,
};
