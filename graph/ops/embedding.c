/* embedding.c — op descriptor of embedding: rows of a table picked by integer ids. */
#include <string.h>
#include "../op_rules.h"

static infer_status shape_embedding(const shape_ctx *c) {
    const infer_tensor *ids = &c->in[0], *w = &c->in[1];
    if (ids->dtype != INFER_I64 && ids->dtype != INFER_I32)
        return SHAPE_FAIL_DTYPE(c, "ids are %s, expected i64 or i32", infer_dtype_name(ids->dtype));
    if (w->ndim != 2) return SHAPE_FAIL(c, "weight %s must be 2-D [V,D]", DIMS(w));
    if (ids->ndim >= INFER_MAX_DIMS)
        return SHAPE_FAIL(c, "ids %s leave no room for the embedding dimension", DIMS(ids));
    shape_set_out(c, 0, w->dtype, ids->ndim + 1, ids->dims);
    c->out[0].dims[ids->ndim] = w->dims[1];
    return INFER_OK;
}

const op_desc op_desc_embedding = {
    .code = OP_EMBEDDING,
    .shape = shape_embedding,
};
