/* expand.c — op descriptor of expand: x broadcast to a larger shape. */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_expand(const shape_ctx *c) {
    const shape_params *p = &c->n->p.shape;
    const infer_tensor *x = &c->in[0];
    if (p->ndim < x->ndim)
        return SHAPE_FAIL(c, "target %s has fewer dims than input %s", shape_text(p->ndim, p->shape).s, DIMS(x));
    int64_t y[INFER_MAX_DIMS];
    int lead = p->ndim - x->ndim;
    for (int i = 0; i < p->ndim; i++) {
        int64_t want = p->shape[i], have = i >= lead ? x->dims[i - lead] : -1;
        if (want == -1 && have < 0)
            return SHAPE_FAIL(c, "target %s keeps (-1) a dimension input %s lacks", shape_text(p->ndim, p->shape).s,
                              DIMS(x));
        if (want != -1 && have >= 0 && have != 1 && have != want)
            return SHAPE_FAIL(c, "cannot expand input %s to %s", DIMS(x), shape_text(p->ndim, p->shape).s);
        y[i] = want == -1 ? have : want;
    }
    shape_set_out(c, 0, x->dtype, p->ndim, y);
    return INFER_OK;
}

static infer_status decode_expand(const op_attrs *a, op_params *p) { return attr_shape(a, INFER_MAX_DIMS, &p->shape); }

const op_desc op_desc_expand = {
    .code = OP_EXPAND,
    .decode = decode_expand,
    .shape = shape_expand,
};
