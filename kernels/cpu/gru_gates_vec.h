/* gru_gates_vec.h — the GRU gate math with VW-lane vectors; included by gru.c after epilogue_vec.h, once per
 * width, with GATES_FN naming the function. Same contract as gru_gates_scalar. */

static void GATES_FN(const rnn_step_io *io, int64_t j0, int64_t j1) {
    int64_t H = io->H;
    for (int64_t b = 0; b < io->B; b++) {
        const float *x = io->x + b * io->ld_x, *hh = io->hh + b * io->ld_hh, *hp = io->h_prev + b * io->ld_prev;
        float *h = io->h + b * io->ld_h;
        for (int64_t j = j0; j < j1; j += VW) {
            int64_t left = j1 - j < VW ? j1 - j : VW;
            float buf[7][VW]; /* through full-width buffers: the tail gets the same math */
            memset(buf, 0, sizeof buf);
            const float *src[7] = { x + j, x + H + j, x + 2 * H + j, hh + j, hh + H + j, hh + 2 * H + j, hp + j };
            for (int q = 0; q < 7; q++) memcpy(buf[q], src[q], (size_t)left * sizeof(float));
            VNAME(vf) r = 1.0f / VNAME(sigmoid_den)(VNAME(load)(buf[0]) + VNAME(load)(buf[3]));
            VNAME(vf) z = 1.0f / VNAME(sigmoid_den)(VNAME(load)(buf[1]) + VNAME(load)(buf[4]));
            VNAME(vf) nn = VNAME(tanh)(VNAME(load)(buf[2]) + r * VNAME(load)(buf[5]));
            VNAME(vf) hv = (1.0f - z) * nn + z * VNAME(load)(buf[6]);
            float out[VW];
            VNAME(store)(out, hv);
            memcpy(h + j, out, (size_t)left * sizeof(float));
        }
    }
}
