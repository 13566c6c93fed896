/* group_norm.c — op descriptor of group_norm: per-sample normalization over channel groups (instance norm: groups = C). */
#include <string.h>
#include "../op_rules.h"

static infer_status decode_group_norm(const op_attrs *a, op_params *p) {
    INFER_TRY(attr_small(a, "groups", ATTR_REQUIRED, 1, 1, ATTR_BIG, &p->group_norm.groups));
    return attr_eps(a, &p->group_norm.eps);
}

static infer_status shape_group_norm(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    int groups = c->n->p.group_norm.groups;
    static const char *what[3] = { "input", "weight", "bias" };
    for (int i = 0; i < 3; i++) INFER_TRY(shape_need_float(c, i, what[i]));
    if (x->ndim < 2) return SHAPE_FAIL(c, "input %s must be at least 2-D [N,C,...]", DIMS(x));
    if (x->dims[1] % groups)
        return SHAPE_FAIL(c, "input %s has %lld channels, not divisible by %d groups", DIMS(x), (long long)x->dims[1],
                          groups);
    for (int i = 1; i < 3; i++)
        if (shape_has(c, i) && (c->in[i].ndim != 1 || c->in[i].dims[0] != x->dims[1]))
            return SHAPE_FAIL(c, "%s %s, expected [%lld]", what[i], DIMS(&c->in[i]), (long long)x->dims[1]);
    shape_set_out(c, 0, x->dtype, x->ndim, x->dims);
    return INFER_OK;
}

const op_desc op_desc_group_norm = {
    .code = OP_GROUP_NORM,
    .optional_inputs = OP_INPUT(1) | OP_INPUT(2),
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_group_norm,
    .shape = shape_group_norm,
};
