/* unary.c — op descriptor of unary: neg, exp, log, sqrt, rsqrt, abs, reciprocal, erf, sign, rounding, elementwise. */
#include <string.h>
#include "../op_rules.h"

/* neg, abs, sign and the roundings keep the dtype; the others compute in float and give f32 (as PyTorch does). */
static infer_status shape_unary(const shape_ctx *c) {
    INFER_TRY(shape_need_elementwise(c, 0));
    unary_kind kind = c->n->p.unary.kind;
    const infer_tensor *x = &c->in[0];
    shape_set_out(c, 0, UNARY_KEEPS_DTYPE(kind) || dtype_is_float(x->dtype) ? x->dtype : DEFAULT_FLOAT,
                  x->ndim, x->dims);
    return INFER_OK;
}

static infer_status decode_unary(const op_attrs *a, op_params *p) {
    int kind;
    INFER_TRY(attr_small(a, "kind", ATTR_REQUIRED, 0, 0, UN_COUNT - 1, &kind));
    p->unary.kind = (unary_kind)kind;
    return INFER_OK;
}

const op_desc op_desc_unary = {
    .code = OP_UNARY,
    .decode = decode_unary,
    .shape = shape_unary,
    .in_place = OP_IN_PLACE_ALWAYS,
};
