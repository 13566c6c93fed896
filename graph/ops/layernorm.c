/* layernorm.c — op descriptor of layernorm: normalization over the trailing dims, with optional weight and bias. */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_layernorm(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    int axes = c->n->p.layernorm.axes;
    static const char *what[3] = { "input", "weight", "bias" };
    for (int i = 0; i < 3; i++) INFER_TRY(shape_need_float(c, i, what[i]));
    if (axes < 1 || axes > x->ndim) return SHAPE_FAIL(c, "normalizes %d trailing dims of input %s", axes, DIMS(x));
    infer_tensor tail = { .ndim = axes };
    memcpy(tail.dims, x->dims + x->ndim - axes, (size_t)axes * sizeof *tail.dims);
    for (int i = 1; i < 3; i++)
        if (shape_has(c, i) && !shape_same_dims(&c->in[i], &tail))
            return SHAPE_FAIL(c, "%s %s, expected %s", i == 1 ? "weight" : "bias", DIMS(&c->in[i]), DIMS(&tail));
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    return INFER_OK;
}

static infer_status decode_layernorm(const op_attrs *a, op_params *p) {
    INFER_TRY(attr_small(a, "axes", ATTR_OPTIONAL, 1, 1, INFER_MAX_DIMS, &p->layernorm.axes));
    return attr_eps(a, &p->layernorm.eps);
}

const op_desc op_desc_layernorm = {
    .code = OP_LAYERNORM,
    .optional_inputs = OP_INPUT(1) | OP_INPUT(2),
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_layernorm,
    .shape = shape_layernorm,
};
