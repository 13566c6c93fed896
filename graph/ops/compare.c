/* compare.c — op descriptor of compare: eq, ne, lt, le, gt, ge, logical and/or/xor with broadcasting, or with a
 * scalar; bool output. */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_compare(const shape_ctx *c) {
    INFER_TRY(shape_need_elementwise(c, 0));
    INFER_TRY(shape_need_elementwise(c, 1));
    return shape_broadcast_ab(c, INFER_BOOL);
}

static infer_status decode_compare(const op_attrs *a, op_params *p) {
    int kind;
    INFER_TRY(attr_small(a, "kind", ATTR_REQUIRED, 0, 0, CMP_COUNT - 1, &kind));
    p->compare.kind = (compare_kind)kind;
    return attr_float(a, "scalar", !attr_has_input(a, 1), 0.0, &p->compare.scalar);
}

const op_desc op_desc_compare = {
    .code = OP_COMPARE,
    .optional_inputs = OP_INPUT(1),
    .decode = decode_compare,
    .shape = shape_compare,
};
