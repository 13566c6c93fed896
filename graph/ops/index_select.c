/* index_select.c — op descriptor of index_select: y = x[:, ..., index, ...] along one axis, index of any rank. */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_index_select(const shape_ctx *c) {
    const infer_tensor *x = &c->in[0], *index = &c->in[1];
    int axis;
    INFER_TRY(shape_indexing(c, &axis));
    int nd = x->ndim - 1 + index->ndim;
    if (nd > INFER_MAX_DIMS) return SHAPE_FAIL(c, "input %s indexed by %s has too many dims", DIMS(x), DIMS(index));
    int64_t y[INFER_MAX_DIMS];
    memcpy(y, x->dims, (size_t)axis * sizeof *y);
    memcpy(y + axis, index->dims, (size_t)index->ndim * sizeof *y);
    memcpy(y + axis + index->ndim, x->dims + axis + 1, (size_t)(x->ndim - axis - 1) * sizeof *y);
    shape_set_out(c, 0, x->dtype, nd, y);
    return INFER_OK;
}

const op_desc op_desc_index_select = {
    .code = OP_INDEX_SELECT,
    .decode = decode_axis_params,
    .shape = shape_index_select,
};
