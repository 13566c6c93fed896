/* conv2d.c — op descriptor of conv2d: 2-D convolution with a fused bias, residual and activation epilogue. */
#include <string.h>
#include "../op_rules.h"

static infer_status decode_conv2d_params(const op_attrs *c, conv2d_params *p) {
    INFER_TRY(attr_pair(c, "stride", ATTR_OPTIONAL, 1, 1, ATTR_BIG, p->stride));
    INFER_TRY(attr_pair(c, "padding", ATTR_OPTIONAL, 0, 0, ATTR_BIG, p->padding));
    INFER_TRY(attr_pair(c, "dilation", ATTR_OPTIONAL, 1, 1, ATTR_BIG, p->dilation));
    INFER_TRY(attr_small(c, "groups", ATTR_OPTIONAL, 1, 1, ATTR_BIG, &p->groups));
    INFER_TRY(attr_act_quant(c, &p->in_q));
    return attr_act(c, "act", ATTR_OPTIONAL, &p->act);
}

static infer_status shape_conv2d(const shape_ctx *c) {
    const conv2d_params *p = &c->n->p.conv2d;
    const infer_tensor *x = &c->in[0], *w = &c->in[1];
    static const char *what[4] = { "input", "weight", "bias", "residual" };
    for (int i = 0; i < 4; i++) INFER_TRY(shape_need_float(c, i, what[i]));
    if (x->ndim != 4 || w->ndim != 4 || w->dims[2] < 1 || w->dims[3] < 1)
        return SHAPE_FAIL(c, "input %s and weight %s must be 4-D with a kernel of at least 1x1", DIMS(x), DIMS(w));
    int64_t expect, groups = p->groups;
    if (__builtin_mul_overflow(w->dims[1], groups, &expect) || expect != x->dims[1])
        return SHAPE_FAIL(c, "input has %lld channels, weight expects %lld (weight %s, %d groups)",
                          (long long)x->dims[1], (long long)expect, DIMS(w), p->groups);
    if (w->dims[0] % groups)
        return SHAPE_FAIL(c, "weight %s has %lld output channels, not divisible by %d groups", DIMS(w),
                          (long long)w->dims[0], p->groups);
    int64_t y[4] = { x->dims[0], w->dims[0], 0, 0 };
    for (int i = 0; i < 2; i++) {
        y[2 + i] = shape_window_out(x->dims[2 + i], w->dims[2 + i], p->stride[i], p->padding[i], p->dilation[i], 0);
        if (y[2 + i] < 1)
            return SHAPE_FAIL(c, "input %s is too small for kernel %lldx%lld with padding %d,%d and dilation %d,%d",
                              DIMS(x), (long long)w->dims[2], (long long)w->dims[3], p->padding[0], p->padding[1],
                              p->dilation[0], p->dilation[1]);
    }
    shape_set_out(c, 0, x->dtype, 4, y);
    return shape_check_bias_residual(c, w->dims[0]);
}

static infer_status decode_conv2d(const op_attrs *a, op_params *p) { return decode_conv2d_params(a, &p->conv2d); }

static act_params *epilogue_act(op_params *p) { return &p->conv2d.act; }

const op_desc op_desc_conv2d = {
    .code = OP_CONV2D,
    .optional_inputs = OP_INPUT(2) | OP_INPUT(3),
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_conv2d,
    .shape = shape_conv2d,
    .fusions = OP_FUSE_ACT | OP_FUSE_RESIDUAL | OP_FUSE_BATCHNORM,
    .epilogue_act = epilogue_act,
};
