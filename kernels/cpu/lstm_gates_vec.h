/* lstm_gates_vec.h — the LSTM gate math with VW-lane vectors; included by lstm.c after epilogue_vec.h,
 * once per width, with GATES_FN naming the function. Same contract as gates_scalar. */

static void GATES_FN(const float *pre, int64_t ld_pre, float *c, float *h, int64_t ld_h, int64_t B, int64_t H,
                     int64_t j0, int64_t j1) {
    for (int64_t b = 0; b < B; b++) {
        const float *p = pre + b * ld_pre;
        float *cb = c + b * H, *hb = h + b * ld_h;
        for (int64_t j = j0; j < j1; j += VW) {
            int64_t left = j1 - j;
            VNAME(vf) pi, pf, pg, po, cv;
            if (left >= VW) {
                pi = VNAME(load)(p + j), pf = VNAME(load)(p + H + j), pg = VNAME(load)(p + 2 * H + j);
                po = VNAME(load)(p + 3 * H + j), cv = VNAME(load)(cb + j);
            } else { /* the tail through full-width buffers, so that it gets the same math */
                float buf[5][VW];
                memset(buf, 0, sizeof buf);
                for (int64_t q = 0; q < left; q++) {
                    buf[0][q] = p[j + q], buf[1][q] = p[H + j + q], buf[2][q] = p[2 * H + j + q];
                    buf[3][q] = p[3 * H + j + q], buf[4][q] = cb[j + q];
                }
                pi = VNAME(load)(buf[0]), pf = VNAME(load)(buf[1]), pg = VNAME(load)(buf[2]);
                po = VNAME(load)(buf[3]), cv = VNAME(load)(buf[4]);
            }
            VNAME(vf) ig = 1.0f / VNAME(sigmoid_den)(pi), fg = 1.0f / VNAME(sigmoid_den)(pf);
            VNAME(vf) og = 1.0f / VNAME(sigmoid_den)(po), gg = VNAME(tanh)(pg);
            VNAME(vf) cn = fg * cv + ig * gg, hn = og * VNAME(tanh)(cn);
            if (left >= VW) {
                VNAME(store)(cb + j, cn);
                VNAME(store)(hb + j, hn);
            } else {
                float cbuf[VW], hbuf[VW];
                VNAME(store)(cbuf, cn);
                VNAME(store)(hbuf, hn);
                memcpy(cb + j, cbuf, (size_t)left * sizeof *cb);
                memcpy(hb + j, hbuf, (size_t)left * sizeof *hb);
            }
        }
    }
}
