/* activation.c — op descriptor of activation: y = act(x), elementwise (relu, clip, gelu, silu, ...). */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_activation(const shape_ctx *c) {
    INFER_TRY(shape_need_float(c, 0, "input"));
    shape_set_out(c, 0, c->in[0].dtype, c->in[0].ndim, c->in[0].dims);
    return INFER_OK;
}

static infer_status decode_activation(const op_attrs *a, op_params *p) {
    return attr_act(a, "kind", ATTR_REQUIRED, &p->activation);
}

const op_desc op_desc_activation = {
    .code = OP_ACTIVATION,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_activation,
    .shape = shape_activation,
    .in_place = OP_IN_PLACE_ALWAYS,
};
