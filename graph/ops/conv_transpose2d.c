/* conv_transpose2d.c — op descriptor of conv_transpose2d: transposed 2-D convolution (the gradient of conv2d). */
#include <string.h>
#include "../op_rules.h"

static infer_status decode_conv_transpose2d(const op_attrs *a, op_params *p) {
    conv_transpose2d_params *q = &p->conv_transpose2d;
    INFER_TRY(attr_pair(a, "stride", ATTR_OPTIONAL, 1, 1, ATTR_BIG, q->stride));
    INFER_TRY(attr_pair(a, "padding", ATTR_OPTIONAL, 0, 0, ATTR_BIG, q->padding));
    INFER_TRY(attr_pair(a, "output_padding", ATTR_OPTIONAL, 0, 0, ATTR_BIG, q->output_padding));
    INFER_TRY(attr_pair(a, "dilation", ATTR_OPTIONAL, 1, 1, ATTR_BIG, q->dilation));
    for (int i = 0; i < 2; i++)
        if (q->output_padding[i] >= q->stride[i] && q->output_padding[i] >= q->dilation[i])
            return attr_fail(a, "output_padding", "(%d) must be smaller than the stride (%d) or the dilation (%d)",
                             q->output_padding[i], q->stride[i], q->dilation[i]);
    return attr_small(a, "groups", ATTR_OPTIONAL, 1, 1, ATTR_BIG, &q->groups);
}

static infer_status shape_conv_transpose2d(const shape_ctx *c) {
    const conv_transpose2d_params *p = &c->n->p.conv_transpose2d;
    const infer_tensor *x = &c->in[0], *w = &c->in[1];
    static const char *what[3] = { "input", "weight", "bias" };
    for (int i = 0; i < 3; i++) INFER_TRY(shape_need_float(c, i, what[i]));
    if (x->ndim != 4 || w->ndim != 4 || w->dims[2] < 1 || w->dims[3] < 1)
        return SHAPE_FAIL(c, "input %s and weight %s must be 4-D with a kernel of at least 1x1", DIMS(x), DIMS(w));
    if (w->dims[0] != x->dims[1] || x->dims[1] % p->groups)
        return SHAPE_FAIL(c, "input has %lld channels, weight %s [C_in, C_out/groups, kh, kw] with %d groups",
                          (long long)x->dims[1], DIMS(w), p->groups);
    int64_t y[4] = { x->dims[0], w->dims[1] * p->groups, 0, 0 };
    for (int i = 0; i < 2; i++) {
        if (x->dims[2 + i] < 1) return SHAPE_FAIL(c, "input %s has an empty spatial dim", DIMS(x));
        y[2 + i] = (x->dims[2 + i] - 1) * p->stride[i] - 2 * (int64_t)p->padding[i] +
                   (int64_t)p->dilation[i] * (w->dims[2 + i] - 1) + p->output_padding[i] + 1;
        if (y[2 + i] < 1 || y[2 + i] > DIM_MAX)
            return SHAPE_FAIL(c, "output size %lld of input %s, weight %s, stride %d, padding %d", (long long)y[2 + i],
                              DIMS(x), DIMS(w), p->stride[i], p->padding[i]);
    }
    if (shape_has(c, 2) && (c->in[2].ndim != 1 || c->in[2].dims[0] != y[1]))
        return SHAPE_FAIL(c, "bias %s, expected [%lld]", DIMS(&c->in[2]), (long long)y[1]);
    shape_set_out(c, 0, x->dtype, 4, y);
    return INFER_OK;
}

const op_desc op_desc_conv_transpose2d = {
    .code = OP_CONV_TRANSPOSE2D,
    .optional_inputs = OP_INPUT(2),
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_conv_transpose2d,
    .shape = shape_conv_transpose2d,
};
