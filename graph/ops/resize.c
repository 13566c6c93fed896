/* resize.c — op descriptor of resize: nearest, nearest-exact, (bi)linear or bicubic resampling of 1 or 2 trailing dims. */
#include <math.h>
#include <string.h>
#include "../op_rules.h"

static infer_status decode_resize(const op_attrs *a, op_params *p) {
    resize_params *q = &p->resize;
    int mode;
    INFER_TRY(attr_small(a, "mode", ATTR_REQUIRED, 0, 0, RESIZE_COUNT - 1, &mode));
    q->mode = (resize_mode)mode;
    INFER_TRY(attr_small(a, "align_corners", ATTR_OPTIONAL, 0, 0, 1, &q->align_corners));
    if (q->align_corners && q->mode < RESIZE_LINEAR)
        return attr_fail(a, "align_corners", "is set for a nearest mode");
    INFER_TRY(attr_ints(a, "size", ATTR_REQUIRED, 1, 2, 1, ATTR_BIG, q->size, &q->nsize));
    static const char *keys[2] = { "scale_h", "scale_w" }; /* scale_w: the last dim */
    for (int i = 0; i < 2; i++) {
        INFER_TRY(attr_float(a, keys[i], ATTR_OPTIONAL, 0.0, &q->scale[i]));
        if (!(q->scale[i] >= 0.0f) || isinf(q->scale[i])) return attr_fail(a, keys[i], "must be finite and >= 0");
    }
    return INFER_OK;
}

static infer_status shape_resize(const shape_ctx *c) {
    const resize_params *p = &c->n->p.resize;
    const infer_tensor *x = &c->in[0];
    INFER_TRY(shape_need_float(c, 0, "input"));
    if (x->ndim != 2 + p->nsize)
        return SHAPE_FAIL(c, "input %s must be %d-D [N,C,%s] for %d output sizes", DIMS(x), 2 + p->nsize,
                          p->nsize == 1 ? "W" : "H,W", p->nsize);
    for (int i = 2; i < x->ndim; i++)
        if (x->dims[i] < 1) return SHAPE_FAIL(c, "input %s has an empty spatial dim", DIMS(x));
    int64_t y[4] = { x->dims[0], x->dims[1], p->size[0], p->size[1] };
    shape_set_out(c, 0, x->dtype, x->ndim, y);
    return INFER_OK;
}

const op_desc op_desc_resize = {
    .code = OP_RESIZE,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_resize,
    .shape = shape_resize,
};
