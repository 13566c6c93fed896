/* gather.c — op descriptor of gather: y[..i..] = x[..index[..i..]..] along one axis (torch.gather). */
#include "../op_rules.h"

static infer_status shape_gather(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0], *index = &c->in[1];
    int axis;
    INFER_TRY(shape_indexing(c, &axis));
    if (index->ndim != x->ndim) return SHAPE_FAIL(c, "index %s must have the rank of input %s", DIMS(index), DIMS(x));
    for (int d = 0; d < x->ndim; d++)
        if (d != axis && index->dims[d] > x->dims[d])
            return SHAPE_FAIL(c, "index %s is larger than input %s at dim %d", DIMS(index), DIMS(x), d);
    shape_set_out(c, 0, x->dtype, index->ndim, index->dims);
    return INFER_OK;
}

const op_desc op_desc_gather = {
    .code = OP_GATHER,
    .decode = decode_axis_params,
    .shape = shape_gather,
};
