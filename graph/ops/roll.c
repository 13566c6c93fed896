/* roll.c — op descriptor of roll: circular shifts along listed dims, any dtype. */
#include <string.h>
#include "../op_rules.h"

static infer_status decode_roll(const op_attrs *a, op_params *p) {
    roll_params *q = &p->roll;
    int64_t dims[INFER_MAX_DIMS];
    int nshifts;
    INFER_TRY(attr_ints(a, "dims", ATTR_REQUIRED, 1, INFER_MAX_DIMS, -INFER_MAX_DIMS, INFER_MAX_DIMS - 1, dims, &q->n));
    INFER_TRY(attr_ints(a, "shifts", ATTR_REQUIRED, 1, INFER_MAX_DIMS, -DIM_MAX, DIM_MAX, q->shifts, &nshifts));
    if (nshifts != q->n) return attr_fail(a, "shifts", "has %d values for %d dims", nshifts, q->n);
    for (int i = 0; i < q->n; i++) q->dims[i] = (int)dims[i];
    return INFER_OK;
}

static infer_status shape_roll(const shape_ctx *c) {
    const roll_params *p = &c->n->p.roll;
    const infer_tensor *x = &c->in[0];
    for (int i = 0; i < p->n; i++) {
        int axis;
        if (!shape_norm_axis(p->dims[i], x->ndim, &axis))
            return SHAPE_FAIL(c, "dim %d is out of range for input %s", p->dims[i], DIMS(x));
    }
    if (infer_dtype_size(x->dtype) == 0) return SHAPE_FAIL_DTYPE(c, "input has dtype %s", infer_dtype_name(x->dtype));
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    return INFER_OK;
}

const op_desc op_desc_roll = {
    .code = OP_ROLL,
    .decode = decode_roll,
    .shape = shape_roll,
};
