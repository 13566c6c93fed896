/* flip.c — op descriptor of flip: reverses the order along listed dims, any dtype. */
#include <string.h>
#include "../op_rules.h"

static infer_status decode_flip(const op_attrs *a, op_params *p) {
    int64_t dims[INFER_MAX_DIMS];
    INFER_TRY(attr_ints(a, "dims", ATTR_REQUIRED, 1, INFER_MAX_DIMS, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, dims,
                        &p->flip.n));
    for (int i = 0; i < p->flip.n; i++) p->flip.dims[i] = (int)dims[i];
    return INFER_OK;
}

static infer_status shape_flip(const shape_ctx *c) {
    const flip_params *p = &c->n->p.flip;
    const infer_tensor *x = &c->in[0];
    unsigned seen = 0;
    for (int i = 0; i < p->n; i++) {
        int axis;
        if (!shape_norm_axis(p->dims[i], x->ndim, &axis))
            return SHAPE_FAIL(c, "dim %d is out of range for input %s", p->dims[i], DIMS(x));
        if (seen & (1u << axis)) return SHAPE_FAIL(c, "dim %d is listed twice", axis);
        seen |= 1u << axis;
    }
    if (infer_dtype_size(x->dtype) == 0) return SHAPE_FAIL_DTYPE(c, "input has dtype %s", infer_dtype_name(x->dtype));
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    return INFER_OK;
}

const op_desc op_desc_flip = {
    .code = OP_FLIP,
    .decode = decode_flip,
    .shape = shape_flip,
};
