/* matmul.c — op descriptor of matmul: batched matrix product with torch.matmul broadcasting of the batch dims. */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_matmul(const shape_ctx *c) {
    const infer_tensor *a = &c->in[0], *b = &c->in[1];
    INFER_TRY(shape_need_float(c, 0, "a"));
    INFER_TRY(shape_need_float(c, 1, "b"));
    if (a->ndim < 2 || b->ndim < 2) return SHAPE_FAIL(c, "inputs %s and %s must be at least 2-D", DIMS(a), DIMS(b));
    if (a->dims[a->ndim - 1] != b->dims[b->ndim - 2])
        return SHAPE_FAIL(c, "inner dimensions differ: %s @ %s", DIMS(a), DIMS(b));
    infer_tensor ba = *a, bb = *b, y;
    ba.ndim -= 2;
    bb.ndim -= 2;
    if (!shape_broadcast(&ba, &bb, &y))
        return SHAPE_FAIL(c, "batch dimensions of %s and %s do not broadcast", DIMS(a), DIMS(b));
    y.dims[y.ndim] = a->dims[a->ndim - 2];
    y.dims[y.ndim + 1] = b->dims[b->ndim - 1];
    shape_set_out(c, 0, a->dtype, y.ndim + 2, y.dims);
    return INFER_OK;
}

const op_desc op_desc_matmul = {
    .code = OP_MATMUL,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .shape = shape_matmul,
};
