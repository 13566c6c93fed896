/* pad.c — op descriptor of pad: constant, reflect, replicate or circular padding of the trailing dims. */
#include <string.h>
#include "../op_rules.h"

static infer_status decode_pad(const op_attrs *a, op_params *p) {
    pad_params *q = &p->pad;
    int mode;
    INFER_TRY(attr_small(a, "mode", ATTR_OPTIONAL, PAD_CONSTANT, 0, PAD_COUNT - 1, &mode));
    q->mode = (pad_mode)mode;
    INFER_TRY(attr_ints(a, "pads", ATTR_REQUIRED, 2, INFER_MAX_DIMS, -ATTR_BIG, ATTR_BIG, q->pads, &q->npads));
    if (q->npads % 2) return attr_fail(a, "pads", "has %d values, expected (begin, end) pairs", q->npads);
    if (q->mode != PAD_CONSTANT)
        for (int i = 0; i < q->npads; i++)
            if (q->pads[i] < 0) return attr_fail(a, "pads", "is negative (%lld) in a non-constant mode", (long long)q->pads[i]);
    return attr_float(a, "value", ATTR_OPTIONAL, 0.0, &q->value);
}

static infer_status shape_pad(const shape_ctx *c) {
    const pad_params *p = &c->n->p.pad;
    const infer_tensor *x = &c->in[0];
    INFER_TRY(shape_need_float(c, 0, "input"));
    if (p->npads / 2 > x->ndim) return SHAPE_FAIL(c, "%d pads for input %s", p->npads, DIMS(x));
    int64_t y[INFER_MAX_DIMS];
    memcpy(y, x->dims, sizeof y);
    for (int k = 0; k < p->npads / 2; k++) {
        int d = x->ndim - 1 - k;
        int64_t before = p->pads[2 * k], after = p->pads[2 * k + 1], size = x->dims[d];
        if (p->mode == PAD_REFLECT && (before >= size || after >= size))
            return SHAPE_FAIL(c, "reflect padding (%lld, %lld) of dim %d must be smaller than its size %lld (input %s)",
                              (long long)before, (long long)after, d, (long long)size, DIMS(x));
        if (p->mode == PAD_CIRCULAR && (before > size || after > size))
            return SHAPE_FAIL(c, "circular padding (%lld, %lld) of dim %d is larger than its size %lld (input %s)",
                              (long long)before, (long long)after, d, (long long)size, DIMS(x));
        if (p->mode != PAD_CONSTANT && size < 1 && (before || after))
            return SHAPE_FAIL(c, "cannot pad the empty dim %d of input %s in a non-constant mode", d, DIMS(x));
        y[d] = size + before + after;
        if (y[d] < 0) return SHAPE_FAIL(c, "padding (%lld, %lld) leaves dim %d of input %s negative", (long long)before,
                                        (long long)after, d, DIMS(x));
    }
    shape_set_out(c, 0, x->dtype, x->ndim, y);
    return INFER_OK;
}

const op_desc op_desc_pad = {
    .code = OP_PAD,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_pad,
    .shape = shape_pad,
};
