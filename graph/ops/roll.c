/* roll.c — op descriptor of roll: circular shifts along listed dims, any dtype. */
#include "../op_rules.h"

static infer_status decode_roll(const op_attrs *a, op_params *p) {
    roll_params *q = &p->roll;
    int nshifts;
    INFER_TRY(attr_dim_list(a, q->dims, &q->n));
    INFER_TRY(attr_ints(a, "shifts", ATTR_REQUIRED, 1, INFER_MAX_DIMS, -DIM_MAX, DIM_MAX, q->shifts, &nshifts));
    if (nshifts != q->n) return attr_fail(a, "shifts", "has %d values for %d dims", nshifts, q->n);
    return INFER_OK;
}

static infer_status shape_roll(const shape_ctx *c) {
    return shape_dims_of_input(c, c->n->p.roll.dims, c->n->p.roll.n, 0); /* a dim listed twice shifts twice */
}

const op_desc op_desc_roll = {
    .code = OP_ROLL,
    .decode = decode_roll,
    .shape = shape_roll,
};
