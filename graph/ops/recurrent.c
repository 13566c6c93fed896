/* recurrent.c — the shape rule lstm and gru share (recurrent.h). */
#include <stdio.h>
#include <string.h>
#include "recurrent.h"

infer_status recurrent_decode(const op_attrs *a, lstm_params *p) {
    INFER_TRY(attr_small(a, "hidden", ATTR_REQUIRED, 1, 1, ATTR_BIG, &p->hidden));
    INFER_TRY(attr_small(a, "layers", ATTR_REQUIRED, 1, 1, IR_MAX_INPUTS, &p->layers));
    INFER_TRY(attr_small(a, "batch_first", ATTR_OPTIONAL, 0, 0, 1, &p->batch_first));
    return attr_small(a, "bidirectional", ATTR_OPTIONAL, 0, 0, 1, &p->bidirectional);
}

infer_status recurrent_shape(const shape_ctx *c, const lstm_params *p, int gates, int n_states) {
    static const char *weight_names[4] = { "w_ih", "w_hh", "b_ih", "b_hh" };
    static const char *state_names[2] = { "h0", "c0" };
    const infer_tensor *x = &c->in[0];
    int dirs = p->bidirectional ? 2 : 1, groups = p->layers * dirs, first = 1 + n_states;
    if (c->n->n_in != first + 4 * groups)
        return SHAPE_FAIL(c, "%d inputs for %d layers%s, expected %d (x, %s, then w_ih, w_hh, b_ih, b_hh per layer%s)",
                          c->n->n_in, p->layers, dirs == 2 ? " x 2 directions" : "", first + 4 * groups,
                          n_states == 2 ? "h0, c0" : "h0", dirs == 2 ? " and direction" : "");
    if (x->ndim != 3) return SHAPE_FAIL(c, "input %s must be 3-D", DIMS(x));
    INFER_TRY(shape_need_float(c, 0, "x"));
    for (int i = 0; i < n_states; i++) INFER_TRY(shape_need_float(c, 1 + i, state_names[i]));
    for (int k = 0; k < groups; k++)
        for (int j = 0; j < 4; j++) {
            char name[48];
            snprintf(name, sizeof name, "layer %d%s %s", k / dirs, k % dirs ? " reverse" : "", weight_names[j]);
            INFER_TRY(shape_need_float(c, first + 4 * k + j, name));
        }
    int64_t B = x->dims[p->batch_first ? 0 : 1], T = x->dims[p->batch_first ? 1 : 0], H = p->hidden, GH = gates * H;
    int64_t state[3] = { groups, B, H };
    for (int i = 0; i < n_states; i++)
        if (shape_has(c, 1 + i) && (c->in[1 + i].ndim != 3 || memcmp(c->in[1 + i].dims, state, sizeof state)))
            return SHAPE_FAIL(c, "%s %s, expected %s", state_names[i], DIMS(&c->in[1 + i]), shape_text(3, state).s);
    for (int k = 0; k < groups; k++) {
        int64_t in_features = k < dirs ? x->dims[2] : dirs * H;
        const infer_tensor *w = &c->in[first + 4 * k];
        int64_t expect[4][2] = { { GH, in_features }, { GH, H }, { GH, 0 }, { GH, 0 } };
        for (int j = 0; j < 4; j++) {
            int ndim = j < 2 ? 2 : 1;
            if ((j < 2 || shape_has(c, first + 4 * k + j)) &&
                (w[j].ndim != ndim || memcmp(w[j].dims, expect[j], (size_t)ndim * sizeof(int64_t))))
                return SHAPE_FAIL(c, "layer %d%s %s %s, expected %s", k / dirs, k % dirs ? " reverse" : "", weight_names[j],
                                  DIMS(&w[j]), shape_text(ndim, expect[j]).s);
        }
    }
    int64_t y[3] = { p->batch_first ? B : T, p->batch_first ? T : B, dirs * H };
    shape_set_out(c, 0, x->dtype, 3, y);
    for (int i = 0; i < n_states; i++) shape_set_out(c, 1 + i, x->dtype, 3, state);
    return INFER_OK;
}
