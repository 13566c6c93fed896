/* masked_fill.c — op descriptor of masked_fill: y = mask ? value : x, the mask broadcast to x. */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_masked_fill(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0], *mask = &c->in[1];
    infer_tensor y;
    INFER_TRY(shape_need_elementwise(c, 0));
    if (mask->dtype != INFER_BOOL && mask->dtype != INFER_U8)
        return SHAPE_FAIL_DTYPE(c, "mask is %s, expected bool", infer_dtype_name(mask->dtype));
    if (!shape_broadcast(x, mask, &y) || !shape_same_dims(&y, x))
        return SHAPE_FAIL(c, "mask %s does not broadcast to input %s", DIMS(mask), DIMS(x));
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    return INFER_OK;
}

static infer_status decode_masked_fill(const op_attrs *a, op_params *p) {
    return attr_float(a, "value", ATTR_REQUIRED, 0.0, &p->masked_fill.value);
}

const op_desc op_desc_masked_fill = {
    .code = OP_MASKED_FILL,
    .decode = decode_masked_fill,
    .shape = shape_masked_fill,
    .in_place = OP_IN_PLACE_SAME_SHAPE,
};
