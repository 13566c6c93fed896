/* cast.c — op descriptor of cast: elementwise conversion to another dtype. */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_cast(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    shape_set_out(c, 0, c->n->p.cast.dtype, x->ndim, x->dims);
    return INFER_OK;
}

static infer_status decode_cast(const op_attrs *a, op_params *p) {
    int dtype;
    INFER_TRY(attr_small(a, "dtype", ATTR_REQUIRED, 0, 1, INFER_DTYPE_COUNT - 1, &dtype));
    p->cast.dtype = (infer_dtype)dtype;
    return INFER_OK;
}

const op_desc op_desc_cast = {
    .code = OP_CAST,
    .decode = decode_cast,
    .shape = shape_cast,
};
