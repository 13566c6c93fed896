/* linear.c — op descriptor of linear: y = act(x wᵀ + b + residual). */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_linear(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0], *w = &c->in[1];
    static const char *what[4] = { "input", "weight", "bias", "residual" };
    for (int i = 0; i < 4; i++) INFER_TRY(shape_need_float(c, i, what[i]));
    if (x->ndim < 1 || w->ndim != 2)
        return SHAPE_FAIL(c, "input %s must be at least 1-D and weight %s 2-D", DIMS(x), DIMS(w));
    if (x->dims[x->ndim - 1] != w->dims[1])
        return SHAPE_FAIL(c, "input %s has %lld features, weight %s expects %lld", DIMS(x),
                          (long long)x->dims[x->ndim - 1], DIMS(w), (long long)w->dims[1]);
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    c->out[0].dims[x->ndim - 1] = w->dims[0];
    return shape_check_bias_residual(c, w->dims[0]);
}

static infer_status decode_linear(const op_attrs *a, op_params *p) {
    INFER_TRY(attr_act_quant(a, &p->linear.in_q));
    return attr_act(a, "act", ATTR_OPTIONAL, &p->linear.act);
}

static act_params *epilogue_act(op_params *p) { return &p->linear.act; }

const op_desc op_desc_linear = {
    .code = OP_LINEAR,
    .optional_inputs = OP_INPUT(2) | OP_INPUT(3),
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_linear,
    .shape = shape_linear,
    .fusions = OP_FUSE_ACT | OP_FUSE_RESIDUAL | OP_FUSE_BATCHNORM,
    .epilogue_act = epilogue_act,
};
