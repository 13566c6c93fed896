/* batchnorm.c — op descriptor of batchnorm: inference BatchNorm over dim 1 (usually folded away by the passes). */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_batchnorm(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    if (x->ndim < 2) return SHAPE_FAIL(c, "input %s must be at least 2-D [N,C,...]", DIMS(x));
    static const char *what[5] = { "input", "weight", "bias", "mean", "var" };
    for (int i = 0; i < 5; i++) INFER_TRY(shape_need_float(c, i, what[i]));
    for (int i = 1; i < 5; i++)
        if (c->in[i].ndim != 1 || c->in[i].dims[0] != x->dims[1])
            return SHAPE_FAIL(c, "%s %s, expected [%lld] for input %s", what[i], DIMS(&c->in[i]), (long long)x->dims[1],
                              DIMS(x));
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    return INFER_OK;
}

static infer_status decode_batchnorm(const op_attrs *a, op_params *p) { return attr_eps(a, &p->batchnorm.eps); }

const op_desc op_desc_batchnorm = {
    .code = OP_BATCHNORM,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_batchnorm,
    .shape = shape_batchnorm,
};
