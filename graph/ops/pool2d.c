/* pool2d.c — op descriptors of maxpool2d and avgpool2d: 2-D windows with PyTorch's ceil_mode and padding. */
#include <string.h>
#include "../op_rules.h"

static infer_status decode_pool(const op_attrs *c, int is_max, pool2d_params *p) {
    INFER_TRY(attr_pair(c, "kernel", ATTR_REQUIRED, 1, 1, ATTR_BIG, p->kernel));
    INFER_TRY(attr_pair(c, "stride", ATTR_OPTIONAL, 0, 1, ATTR_BIG, p->stride));
    if (p->stride[0] == 0) memcpy(p->stride, p->kernel, sizeof p->stride);
    INFER_TRY(attr_pair(c, "padding", ATTR_OPTIONAL, 0, 0, ATTR_BIG, p->padding));
    p->dilation[0] = p->dilation[1] = 1;
    if (is_max) INFER_TRY(attr_pair(c, "dilation", ATTR_OPTIONAL, 1, 1, ATTR_BIG, p->dilation));
    INFER_TRY(attr_small(c, "ceil_mode", ATTR_OPTIONAL, 0, 0, 1, &p->ceil_mode));
    p->count_include_pad = 1;
    if (!is_max) INFER_TRY(attr_small(c, "count_include_pad", ATTR_OPTIONAL, 1, 0, 1, &p->count_include_pad));
    for (int i = 0; i < 2; i++) {
        int64_t extent = (int64_t)(p->kernel[i] - 1) * p->dilation[i] + 1; /* both <= ATTR_BIG: no overflow */
        if (extent > ATTR_BIG)
            return attr_fail(c, is_max ? "dilation" : "kernel", "gives a window of %lld (kernel %d, dilation %d), above %d",
                             (long long)extent, p->kernel[i], p->dilation[i], ATTR_BIG);
        if (p->padding[i] > extent / 2) /* PyTorch: padding at most half the window */
            return attr_fail(c, "padding", "(%d) must be at most half the window (%lld)", p->padding[i],
                             (long long)extent);
    }
    return INFER_OK;
}

static infer_status shape_pool(const shape_ctx *c) {
    const pool2d_params *p = &c->n->p.pool2d;
    const infer_tensor *x = &c->in[0];
    INFER_TRY(shape_need_float(c, 0, "input"));
    if (x->ndim != 4) return SHAPE_FAIL(c, "input %s must be 4-D [N,C,H,W]", DIMS(x));
    int64_t y[4] = { x->dims[0], x->dims[1], 0, 0 };
    for (int i = 0; i < 2; i++) {
        y[2 + i] =
            shape_window_out(x->dims[2 + i], p->kernel[i], p->stride[i], p->padding[i], p->dilation[i], p->ceil_mode);
        if (y[2 + i] < 1)
            return SHAPE_FAIL(c, "input %s is too small for kernel %dx%d with padding %d,%d", DIMS(x), p->kernel[0],
                              p->kernel[1], p->padding[0], p->padding[1]);
    }
    shape_set_out(c, 0, x->dtype, 4, y);
    return INFER_OK;
}

static infer_status decode_maxpool2d(const op_attrs *a, op_params *p) { return decode_pool(a, 1, &p->pool2d); }

static infer_status decode_avgpool2d(const op_attrs *a, op_params *p) { return decode_pool(a, 0, &p->pool2d); }

const op_desc op_desc_maxpool2d = {
    .code = OP_MAXPOOL2D,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_maxpool2d,
    .shape = shape_pool,
};

const op_desc op_desc_avgpool2d = {
    .code = OP_AVGPOOL2D,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_avgpool2d,
    .shape = shape_pool,
};
