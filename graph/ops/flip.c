/* flip.c — op descriptor of flip: reverses the order along listed dims, any dtype. */
#include "../op_rules.h"

static infer_status decode_flip(const op_attrs *a, op_params *p) { return attr_dim_list(a, p->flip.dims, &p->flip.n); }

static infer_status shape_flip(const shape_ctx *c) {
    return shape_dims_of_input(c, c->n->p.flip.dims, c->n->p.flip.n, 1);
}

const op_desc op_desc_flip = {
    .code = OP_FLIP,
    .decode = decode_flip,
    .shape = shape_flip,
};
