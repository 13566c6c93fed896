/* where.c — op descriptor of where: z = cond ? x : y with broadcasting. */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_where(const shape_ctx *c) {
    const infer_tensor *cond = &c->in[0], *x = &c->in[1], *y = &c->in[2];
    if (cond->dtype != INFER_BOOL && cond->dtype != INFER_U8)
        return SHAPE_FAIL_DTYPE(c, "condition is %s, expected bool", infer_dtype_name(cond->dtype));
    if (x->dtype != y->dtype)
        return SHAPE_FAIL_DTYPE(c, "x is %s and y is %s", infer_dtype_name(x->dtype), infer_dtype_name(y->dtype));
    infer_tensor xy, z;
    if (!shape_broadcast(x, y, &xy) || !shape_broadcast(cond, &xy, &z))
        return SHAPE_FAIL(c, "condition %s, x %s and y %s do not broadcast", DIMS(cond), DIMS(x), DIMS(y));
    shape_set_out(c, 0, x->dtype, z.ndim, z.dims);
    return INFER_OK;
}

const op_desc op_desc_where = {
    .code = OP_WHERE,
    .shape = shape_where,
};
