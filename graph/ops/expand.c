/* expand.c — op descriptor of expand: x broadcast to a larger shape, dims fixed or taken from input 1's. */
#include <string.h>
#include "../op_rules.h"

/* The target size of output dim i: like's dim like[i] when input 1 names one, else the `shape` entry. */
static infer_status target_dim(const shape_ctx *c, int i, int64_t *want) {
    const shape_params *p = &c->n->p.shape;
    *want = p->shape[i];
    if (!shape_has(c, 1) || p->like[i] < 0) return INFER_OK;
    const infer_tensor *like = &c->in[1];
    if (p->like[i] >= like->ndim)
        return SHAPE_FAIL(c, "like_dims[%d] = %d names a dim input 1 %s lacks", i, p->like[i], DIMS(like));
    *want = like->dims[p->like[i]];
    return INFER_OK;
}

static infer_status shape_expand(const shape_ctx *c) {
    const shape_params *p = &c->n->p.shape;
    const infer_tensor *x = &c->in[0];
    if (p->ndim < x->ndim)
        return SHAPE_FAIL(c, "target %s has fewer dims than input %s", shape_text(p->ndim, p->shape).s, DIMS(x));
    int64_t y[INFER_MAX_DIMS], want[INFER_MAX_DIMS];
    int lead = p->ndim - x->ndim;
    for (int i = 0; i < p->ndim; i++) INFER_TRY(target_dim(c, i, &want[i]));
    for (int i = 0; i < p->ndim; i++) {
        int64_t have = i >= lead ? x->dims[i - lead] : -1;
        if (want[i] == -1 && have < 0)
            return SHAPE_FAIL(c, "target %s keeps (-1) a dimension input %s lacks", shape_text(p->ndim, want).s,
                              DIMS(x));
        if (want[i] != -1 && have >= 0 && have != 1 && have != want[i])
            return SHAPE_FAIL(c, "cannot expand input %s to %s", DIMS(x), shape_text(p->ndim, want).s);
        y[i] = want[i] == -1 ? have : want[i];
    }
    shape_set_out(c, 0, x->dtype, p->ndim, y);
    return INFER_OK;
}

/* "shape" as reshape's; with input 1, "like_dims" (one entry per target dim: -1, or a dim of input 1). */
static infer_status decode_expand(const op_attrs *a, op_params *p) {
    INFER_TRY(attr_shape(a, INFER_MAX_DIMS, &p->shape));
    memset(p->shape.like, -1, sizeof p->shape.like);
    if (!attr_has_input(a, 1)) return INFER_OK;
    int64_t like[INFER_MAX_DIMS];
    int count;
    INFER_TRY(attr_ints(a, "like_dims", ATTR_REQUIRED, p->shape.ndim, p->shape.ndim, -1, INFER_MAX_DIMS - 1, like,
                        &count));
    if (count != p->shape.ndim)
        return attr_fail(a, "like_dims", "has %d entries, the target shape %d", count, p->shape.ndim);
    for (int i = 0; i < count; i++) p->shape.like[i] = (int8_t)like[i];
    return INFER_OK;
}

const op_desc op_desc_expand = {
    .code = OP_EXPAND,
    .optional_inputs = OP_INPUT(1),
    .decode = decode_expand,
    .shape = shape_expand,
};
