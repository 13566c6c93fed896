/* reshape.c — op descriptor of reshape: the same elements under a new shape (one size may be inferred). */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_reshape(const shape_ctx *c) {
    const shape_params *p = &c->n->p.shape;
    const infer_tensor *x = &c->in[0];
    int64_t total = shape_elements(x->ndim, x->dims), known = 1, y[INFER_MAX_DIMS];
    int infer_at = -1;
    for (int i = 0; i < p->ndim; i++) {
        y[i] = p->shape[i];
        if (y[i] == -1) infer_at = i;
        else if (__builtin_mul_overflow(known, y[i], &known))
            return SHAPE_FAIL(c, "target shape %s overflows", shape_text(p->ndim, p->shape).s);
    }
    if (infer_at >= 0) {
        if (known == 0 || total % known)
            return SHAPE_FAIL(c, "cannot reshape %s (%lld elements) to %s", DIMS(x), (long long)total,
                              shape_text(p->ndim, p->shape).s);
        y[infer_at] = total / known;
    } else if (known != total) {
        return SHAPE_FAIL(c, "cannot reshape %s (%lld elements) to %s (%lld elements)", DIMS(x), (long long)total,
                          shape_text(p->ndim, p->shape).s, (long long)known);
    }
    shape_set_out(c, 0, x->dtype, p->ndim, y);
    return INFER_OK;
}

static infer_status decode_reshape(const op_attrs *a, op_params *p) { return attr_shape(a, 1, &p->shape); }

const op_desc op_desc_reshape = {
    .code = OP_RESHAPE,
    .decode = decode_reshape,
    .shape = shape_reshape,
    .in_place = OP_IN_PLACE_ALWAYS,
};
