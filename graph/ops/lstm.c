/* lstm.c — op descriptor of lstm: multi-layer, uni- or bidirectional LSTM, gates i, f, g, o as in PyTorch. */
#include "recurrent.h"

static infer_status shape_lstm(const shape_ctx *c) { return recurrent_shape(c, &c->n->p.lstm, 4, 2); }

static infer_status decode_lstm(const op_attrs *a, op_params *p) { return recurrent_decode(a, &p->lstm); }

const op_desc op_desc_lstm = {
    .code = OP_LSTM,
    .optional_inputs = LSTM_OPTIONAL_INPUTS,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_lstm,
    .shape = shape_lstm,
};
