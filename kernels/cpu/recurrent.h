/* recurrent.h — the CPU driver lstm and gru share: per layer and direction one input GEMM over every step,
 * then per step the recurrent GEMM (w_hh packed per gate) and the op's gate math, split over hidden units. */
#ifndef INFER_CPU_RECURRENT_H
#define INFER_CPU_RECURRENT_H

#include "cpu_kernels.h"

/* One step's tensors for the gate math of hidden units [j0, j1) of B rows. */
typedef struct {
    const float *x;      /* input projections [B, G*H] rows ld_x apart (with b_ih; LSTM: and b_hh) */
    int64_t ld_x;
    const float *hh;     /* LSTM: x + h_prev·w_hhᵀ; GRU: h_prev·w_hhᵀ + b_hh; [B, G*H] rows ld_hh apart; NULL:
                          * no previous state (LSTM's first step without h0: x holds the pre-activations) */
    int64_t ld_hh;
    const float *h_prev; /* [B, H] rows ld_prev apart (GRU: zeros when there is no h0) */
    int64_t ld_prev;
    float *c;            /* LSTM: the cell state [B, H], updated in place */
    float *h;            /* the new hidden state, rows ld_h apart */
    int64_t ld_h, B, H;
} rnn_step_io;

typedef struct {
    const char *name;
    int gates;    /* G: 4 (i, f, g, o) or 3 (r, z, n) */
    int n_states; /* 2: h and c (lstm), 1: h (gru) */
    /* 1: b_hh is the recurrent GEMM's bias and a state always exists (zeros without h0): GRU; 0: b_hh is summed
     * into the input projection and the recurrent GEMM adds x as its residual: LSTM. */
    int hh_bias;
    void (*cell)(int isa, const rnn_step_io *io, int64_t j0, int64_t j1);
} rnn_kind;

size_t rnn_workspace(const rnn_kind *k, const ir_node *n, const infer_tensor *in);
size_t rnn_prepack_size(const rnn_kind *k, const ir_node *n, const infer_tensor *in, int isa);
void rnn_prepack(const rnn_kind *k, const ir_node *n, const infer_tensor *in, int isa, void *dst);
/* Each layer and direction's w_ih and w_hh are prepacked. */
int rnn_prepacks_input(const rnn_kind *k, const ir_node *n, int input);
infer_status rnn_run(const rnn_kind *k, cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                     infer_error *err);

#endif
