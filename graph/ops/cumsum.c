/* cumsum.c — op descriptor of cumsum: running sums along one axis (integers and bool sum in i64, as PyTorch). */
#include "../op_rules.h"

static infer_status shape_cumsum(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0];
    int axis;
    INFER_TRY(shape_need_elementwise(c, 0));
    INFER_TRY(shape_axis_of_input(c, &axis));
    /* a float keeps its dtype; integers and bool give i64, or f32 when declared (torch.cumsum(x, dtype=...)) */
    infer_dtype dtype = x->dtype;
    if (!dtype_is_float(dtype)) dtype = c->declared[0] == DEFAULT_FLOAT ? DEFAULT_FLOAT : INFER_I64;
    shape_set_out(c, 0, dtype, x->ndim, x->dims);
    return INFER_OK;
}

const op_desc op_desc_cumsum = {
    .code = OP_CUMSUM,
    .decode = decode_axis_params,
    .shape = shape_cumsum,
};
