/* gru.c — op descriptor of gru: multi-layer, uni- or bidirectional GRU, gates r, z, n as in PyTorch. */
#include "recurrent.h"

static infer_status shape_gru(const shape_ctx *c) { return recurrent_shape(c, &c->n->p.gru, 3, 1); }

static infer_status decode_gru(const op_attrs *a, op_params *p) { return recurrent_decode(a, &p->gru); }

const op_desc op_desc_gru = {
    .code = OP_GRU,
    .optional_inputs = GRU_OPTIONAL_INPUTS,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_gru,
    .shape = shape_gru,
};
