/* adaptive_avgpool2d.c — op descriptor of adaptive_avgpool2d: average pooling to a given output size. */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_adaptive_pool(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    INFER_TRY(shape_need_float(c, 0, "input"));
    if (x->ndim != 4) return SHAPE_FAIL(c, "input %s must be 4-D [N,C,H,W]", DIMS(x));
    const int *size = c->n->p.adaptive_pool.output_size;
    for (int i = 0; i < 2; i++) { /* the kernel's bin bounds compute (output index + 1) * input size */
        int64_t bound;
        if (__builtin_mul_overflow((int64_t)size[i] + 1, x->dims[2 + i], &bound))
            return shape_fail_as(c, INFER_ERR_FORMAT, "attribute 'output_size' (%d,%d) with input %s overflows 64 bits",
                                 size[0], size[1], DIMS(x));
    }
    int64_t y[4] = { x->dims[0], x->dims[1], size[0], size[1] };
    shape_set_out(c, 0, x->dtype, 4, y);
    return INFER_OK;
}

static infer_status decode_adaptive_avgpool2d(const op_attrs *a, op_params *p) {
    return attr_pair(a, "output_size", ATTR_REQUIRED, 1, 1, ATTR_BIG, p->adaptive_pool.output_size);
}

const op_desc op_desc_adaptive_avgpool2d = {
    .code = OP_ADAPTIVE_AVGPOOL2D,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_adaptive_avgpool2d,
    .shape = shape_adaptive_pool,
};
