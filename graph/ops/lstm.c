/* lstm.c — op descriptor of lstm: a unidirectional multi-layer LSTM, gates i, f, g, o as in PyTorch. */
#include <string.h>
#include <stdio.h>
#include "../op_rules.h"

static infer_status decode_lstm_params(const op_attrs *c, lstm_params *p) {
    INFER_TRY(attr_small(c, "hidden", ATTR_REQUIRED, 1, 1, ATTR_BIG, &p->hidden));
    INFER_TRY(attr_small(c, "layers", ATTR_REQUIRED, 1, 1, IR_MAX_INPUTS, &p->layers));
    return attr_small(c, "batch_first", ATTR_OPTIONAL, 0, 0, 1, &p->batch_first);
}

static infer_status shape_lstm(const shape_ctx *c) {
    static const char *weight_names[4] = { "w_ih", "w_hh", "b_ih", "b_hh" };
    const lstm_params *p = &c->n->p.lstm;
    const infer_tensor *x = &c->in[0];
    if (c->n->n_in - 3 != 4 * p->layers)
        return SHAPE_FAIL(c, "%d inputs for %d layers, expected %d (x, h0, c0, then w_ih, w_hh, b_ih, b_hh per layer)",
                          c->n->n_in, p->layers, 3 + 4 * p->layers);
    if (x->ndim != 3) return SHAPE_FAIL(c, "input %s must be 3-D", DIMS(x));
    static const char *what[3] = { "x", "h0", "c0" };
    for (int i = 0; i < 3; i++) INFER_TRY(shape_need_float(c, i, what[i]));
    for (int l = 0; l < p->layers; l++)
        for (int j = 0; j < 4; j++) {
            char name[32];
            snprintf(name, sizeof name, "layer %d %s", l, weight_names[j]);
            INFER_TRY(shape_need_float(c, 3 + 4 * l + j, name));
        }
    int64_t B = x->dims[p->batch_first ? 0 : 1], T = x->dims[p->batch_first ? 1 : 0], H = p->hidden;
    int64_t state[3] = { p->layers, B, H };
    for (int i = 1; i < 3; i++)
        if (shape_has(c, i) && (c->in[i].ndim != 3 || memcmp(c->in[i].dims, state, sizeof state)))
            return SHAPE_FAIL(c, "%s %s, expected %s", i == 1 ? "h0" : "c0", DIMS(&c->in[i]), shape_text(3, state).s);
    for (int l = 0; l < p->layers; l++) {
        int64_t in_features = l == 0 ? x->dims[2] : H;
        const infer_tensor *w = &c->in[3 + 4 * l];
        int64_t expect[4][2] = { { 4 * H, in_features }, { 4 * H, H }, { 4 * H, 0 }, { 4 * H, 0 } };
        for (int j = 0; j < 4; j++) {
            int ndim = j < 2 ? 2 : 1;
            if ((j < 2 || shape_has(c, 3 + 4 * l + j)) &&
                (w[j].ndim != ndim || memcmp(w[j].dims, expect[j], (size_t)ndim * sizeof(int64_t))))
                return SHAPE_FAIL(c, "layer %d %s %s, expected %s", l, weight_names[j], DIMS(&w[j]),
                                  shape_text(ndim, expect[j]).s);
        }
    }
    int64_t y[3] = { p->batch_first ? B : T, p->batch_first ? T : B, H };
    shape_set_out(c, 0, x->dtype, 3, y);
    shape_set_out(c, 1, x->dtype, 3, state);
    shape_set_out(c, 2, x->dtype, 3, state);
    return INFER_OK;
}

static infer_status decode_lstm(const op_attrs *a, op_params *p) { return decode_lstm_params(a, &p->lstm); }

const op_desc op_desc_lstm = {
    .code = OP_LSTM,
    .optional_inputs = LSTM_OPTIONAL_INPUTS,
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_lstm,
    .shape = shape_lstm,
};
