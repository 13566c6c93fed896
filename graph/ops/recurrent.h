/* recurrent.h — the shape rule lstm and gru share: x, states, then 4 weights per layer and direction. */
#ifndef INFER_GRAPH_OPS_RECURRENT_H
#define INFER_GRAPH_OPS_RECURRENT_H

#include "../op_rules.h"

/* Decodes hidden, layers, batch_first, bidirectional. */
infer_status recurrent_decode(const op_attrs *a, lstm_params *p);
/* Inputs: x, n_states states [L*D, B, H], then per layer and direction w_ih [G*H, I_l], w_hh [G*H, H],
 * b_ih? [G*H], b_hh? [G*H] (I_l: x's features for layer 0, D*H after). Outputs: y, then n_states states. */
infer_status recurrent_shape(const shape_ctx *c, const lstm_params *p, int gates, int n_states);

#endif
