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

/* int8: for rnn_run with an INT8 block (recurrent_s8.c) rather than f32 weights. */
size_t rnn_workspace(const rnn_kind *k, const ir_node *n, const infer_tensor *in, int int8);
size_t rnn_prepack_size(const rnn_kind *k, const ir_node *n, const infer_tensor *in, int isa);
void rnn_prepack(const rnn_kind *k, const ir_node *n, const infer_tensor *in, int isa, void *dst);
/* Each layer and direction's w_ih and w_hh are prepacked. */
int rnn_prepacks_input(const rnn_kind *k, const ir_node *n, int input);
/* s8: NULL (f32 weights, prepacked or read as given), or the node's INT8 block from rnn_s8_pack: then both
 * projections run as dynamic INT8 linears (rnn_s8_input_projection, rnn_s8_step). */
infer_status rnn_run(const rnn_kind *k, cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                     const void *s8, infer_error *err);

/* ---- dynamic INT8 weights (recurrent_s8.c): w_ih and w_hh int8 per gate row ---- */

/* Bytes of the row buffers of the INT8 projections: rows of in_f (all steps) and B rows of H (one step). */
size_t rnn_s8_workspace(int64_t rows, int64_t in_f, int64_t B, int64_t H);
/* Bytes of the node's INT8 block for isa (0: a w_ih or w_hh is not int8 per channel along axis 0 with zero points
 * 0, or the node's shape does not fit), and its fill: per layer and direction both weights packed for the INT8
 * GEMM path isa allows (s8_layer.h). */
size_t rnn_s8_pack_size(const rnn_kind *k, const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa);
void rnn_s8_pack(const rnn_kind *k, const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, void *dst);
void rnn_s8_describe(const void *packed, char *buf, size_t size);
/* The message of a node whose block is missing (a weight's storage does not fit, or memory ran out). */
infer_status rnn_s8_missing(const rnn_kind *k, const ir_node *n, infer_error *err);
/* xp[rows, G*H] (ld_xp) = x[rows, in_f] · w_ihᵀ + bias of layer-direction group, x quantized per row. */
void rnn_s8_input_projection(cpu_ctx *ctx, const void *s8, int group, int64_t rows, const float *x, int64_t in_f,
                             const float *bias, float *xp, int64_t ld_xp, void *row_buffers);
/* One step: hh = h_prev · w_hhᵀ (GRU: + b_hh; LSTM: + x), h_prev quantized per row (no product when io->h_prev is
 * NULL), then the kind's gate math over `chunks` parallel items of nr hidden units (1: serially). */
void rnn_s8_step(cpu_ctx *ctx, const void *s8, int group, const rnn_kind *k, const rnn_step_io *io, const float *b_hh,
                 float *hh, int64_t chunks, int nr, void *row_buffers);

/* The INT8 kernel-list entry of an op of rnn_kind `kind` (its functions named prefix_s8_*). */
#define RNN_S8_KERNEL_FUNCTIONS(prefix, kind)                                                                     \
    static infer_status prefix##_s8_run(cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out, \
                                        infer_error *err) {                                                       \
        if (!ctx->prepacked) return rnn_s8_missing(&kind, n, err);                                                \
        return rnn_run(&kind, ctx, n, in, out, ctx->prepacked, err);                                              \
    }                                                                                                             \
    static size_t prefix##_s8_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out,        \
                                        int threads) {                                                            \
        (void)out, (void)threads;                                                                                 \
        return rnn_workspace(&kind, n, in, 1);                                                                    \
    }                                                                                                             \
    static size_t prefix##_s8_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa,     \
                                        int threads) {                                                            \
        (void)threads;                                                                                            \
        return rnn_s8_pack_size(&kind, g, n, in, isa);                                                            \
    }                                                                                                             \
    static void prefix##_s8_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads, \
                                 void *dst) {                                                                     \
        (void)threads;                                                                                            \
        rnn_s8_pack(&kind, g, n, in, isa, dst);                                                                   \
    }
#define RNN_S8_KERNEL(prefix, prepacks)                                                                           \
    { .storages = CPU_DENSE | IR_STORAGE_BIT(IR_STORAGE_INT8_CHANNEL), .run = prefix##_s8_run,                    \
      .workspace = prefix##_s8_workspace, .prepack_input = prepacks, .pack_size = prefix##_s8_pack_size,          \
      .pack = prefix##_s8_pack, .describe = rnn_s8_describe }

#endif
