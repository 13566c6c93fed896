/* fake_quant.c — op descriptor of fake_quant: x rounded to a per-tensor integer grid and back (PyTorch's
 * quantize_per_tensor then dequantize; with out_scale 1 the integers minus the zero point), elementwise. */
#include <math.h>
#include "../op_rules.h"

static infer_status shape_fake_quant(const shape_ctx *c) {
    INFER_TRY(shape_need_float(c, 0, "input"));
    shape_set_out(c, 0, c->in[0].dtype, c->in[0].ndim, c->in[0].dims);
    return INFER_OK;
}

static infer_status decode_fake_quant(const op_attrs *a, op_params *p) {
    fake_quant_params *q = &p->fake_quant;
    INFER_TRY(attr_float(a, "scale", ATTR_REQUIRED, 0.0, &q->scale));
    if (!(q->scale > 0.0f) || !isfinite(q->scale) || !isfinite(1.0f / q->scale))
        return attr_fail(a, "scale", "is %g, must be a finite positive scale with a finite inverse", q->scale);
    INFER_TRY(attr_float(a, "out_scale", ATTR_OPTIONAL, q->scale, &q->out_scale));
    if (!(q->out_scale > 0.0f) || !isfinite(q->out_scale))
        return attr_fail(a, "out_scale", "is %g, must be a finite positive scale", q->out_scale);
    INFER_TRY(attr_small(a, "qmin", ATTR_OPTIONAL, 0, -65536, 65536, &q->qmin));
    INFER_TRY(attr_small(a, "qmax", ATTR_OPTIONAL, 255, -65536, 65536, &q->qmax));
    if (q->qmin > q->qmax) return attr_fail(a, "qmax", "is %d, below qmin %d", q->qmax, q->qmin);
    return attr_small(a, "zero", ATTR_REQUIRED, 0, q->qmin, q->qmax, &q->zero);
}

const op_desc op_desc_fake_quant = {
    .code = OP_FAKE_QUANT,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_fake_quant,
    .shape = shape_fake_quant,
    .in_place = OP_IN_PLACE_ALWAYS,
};
