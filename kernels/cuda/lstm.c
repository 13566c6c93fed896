/* lstm.c — lstm on CUDA: each layer's input projection for all steps as one cuBLASLt GEMM, then one fused
 * kernel per time step (lstm.cu). */
#include <stdlib.h>
#include <string.h>
#include "cuda_plan.h"
#include "../../base/checked.h"

static int supports_lstm(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    int L = n->p.lstm.layers;
    if (L < 1 || n->n_in != 3 + 4 * L) return cuda_refuse(why, len, "lstm with %d layers and %d inputs", L, n->n_in);
    if (n->n_out != 3) return cuda_refuse(why, len, "lstm with %d outputs", n->n_out);
    if (n->p.lstm.bidirectional) return cuda_refuse(why, len, "bidirectional lstm (runs on the CPU)");
    return cuda_floats_only(g, n, fp16, 0, 0, why, len);
}

typedef struct {
    int64_t T, B, H, L;
    int batch_first;
} lstm_shape;

static lstm_shape lstm_shape_of(const ir_node *n, const infer_tensor *in) {
    lstm_shape s;
    s.batch_first = n->p.lstm.batch_first;
    s.B = s.batch_first ? in[0].dims[0] : in[0].dims[1];
    s.T = s.batch_first ? in[0].dims[1] : in[0].dims[0];
    s.H = n->p.lstm.hidden;
    s.L = n->p.lstm.layers;
    return s;
}

/* Layer l's inputs: w_ih, w_hh, b_ih, b_hh. */
static const infer_tensor *layer_input(const infer_tensor *in, int64_t l, int k) { return &in[3 + 4 * l + k]; }

static infer_status prepare_lstm(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                 cuda_node_plan *p, infer_error *err) {
    lstm_shape s = lstm_shape_of(n, in);
    size_t es = cuda_esize(&in[0]);
    p->lstm = calloc((size_t)s.L, sizeof *p->lstm);
    if (!p->lstm) return infer_fail(err, INFER_ERR_MEMORY, "out of memory planning an LSTM");
    p->lstm_layers = (int)s.L;
    for (int64_t l = 0; l < s.L; l++) {
        cuda_gemm_desc d;
        memset(&d, 0, sizeof d);
        d.M = s.T * s.B, d.N = 4 * s.H, d.K = layer_input(in, l, 0)->dims[1], d.trans_b = 1, d.batch = 1;
        d.align_a = d.align_b = d.align_c = 256;
        INFER_TRY(cuda_gemm_prepare(c, &p->lstm[l], &d, err));
    }
    size_t gates = round_up((size_t)(s.T * s.B * 4 * s.H) * es, 256);
    size_t between = s.L > 1 ? round_up((size_t)(s.T * s.B * s.H) * es, 256) : 0; /* a layer's output */
    size_t cell = round_up((size_t)(s.B * s.H) * es, 256); /* the cell state when c_n has no storage */
    p->scratch = gates + between + cell;
    return INFER_OK;
}

static infer_status tune_lstm(cuda_ctx *c, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                              const infer_tensor *out, infer_error *err) {
    lstm_shape s = lstm_shape_of(n, in);
    if (p->scratch > c->scratch_bytes)
        return infer_fail(err, INFER_ERR_INTERNAL, "LSTM needs %zu bytes of scratch, %zu allocated", p->scratch,
                          c->scratch_bytes);
    char *gates = (char *)c->scratch;
    char *between = gates + round_up((size_t)(s.T * s.B * 4 * s.H) * cuda_esize(&in[0]), 256);
    for (int64_t l = 0; l < s.L; l++)
        INFER_TRY(cuda_gemm_tune(c, &p->lstm[l], l == 0 ? in[0].data : between, layer_input(in, l, 0)->data, gates,
                                 NULL, NULL, err));
    return INFER_OK;
}

/* h_n[l] = h at the last step (h0, or zeros, when there are no steps). */
static infer_status final_state(cudaStream_t stream, const lstm_shape *s, int64_t l, const char *y, int64_t row_t,
                                int64_t row_b, const infer_tensor *h0, const infer_tensor *h_n, size_t es,
                                infer_error *err) {
    size_t state_bytes = (size_t)(s->B * s->H) * es;
    char *hn = (char *)h_n->data + (size_t)l * state_bytes;
    if (s->T > 0)
        CUDA_CHECK(cudaMemcpy2DAsync(hn, (size_t)s->H * es, y + (size_t)((s->T - 1) * row_t * s->H) * es,
                                     (size_t)(row_b * s->H) * es, (size_t)s->H * es, (size_t)s->B,
                                     cudaMemcpyDeviceToDevice, stream));
    else if (h0->data)
        CUDA_CHECK(cudaMemcpyAsync(hn, (const char *)h0->data + (size_t)l * state_bytes, state_bytes,
                                   cudaMemcpyDeviceToDevice, stream));
    else CUDA_CHECK(cudaMemsetAsync(hn, 0, state_bytes, stream));
    return INFER_OK;
}

static infer_status run_lstm(const cuda_launch *launch, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                             const infer_tensor *out, infer_error *err) {
    cuda_ctx *c = launch->ctx;
    lstm_shape s = lstm_shape_of(n, in);
    size_t es = cuda_esize(&in[0]), state_bytes = (size_t)(s.B * s.H) * es;
    if (p->scratch > c->scratch_bytes)
        return infer_fail(err, INFER_ERR_INTERNAL, "LSTM needs %zu bytes of scratch, %zu allocated", p->scratch,
                          c->scratch_bytes);
    char *gates = (char *)c->scratch;
    char *between = gates + round_up((size_t)(s.T * s.B * 4 * s.H) * es, 256);
    char *cell_spare = between + (s.L > 1 ? round_up((size_t)(s.T * s.B * s.H) * es, 256) : 0);
    const infer_tensor *h0 = &in[1], *c0 = &in[2];
    int64_t row_t = s.batch_first ? 1 : s.B, row_b = s.batch_first ? s.T : 1; /* element strides of (t, b) rows */
    for (int64_t l = 0; l < s.L; l++) {
        const infer_tensor *w_ih = layer_input(in, l, 0), *w_hh = layer_input(in, l, 1);
        const void *b_ih = layer_input(in, l, 2)->data, *b_hh = layer_input(in, l, 3)->data;
        INFER_TRY(cuda_gemm_run(c, &p->lstm[l], l == 0 ? in[0].data : between, w_ih->data, gates, NULL, NULL, err));
        char *y = l == s.L - 1 ? (char *)out[0].data : between;
        char *cell = out[2].data ? (char *)out[2].data + (size_t)l * state_bytes : cell_spare;
        if (c0->data)
            CUDA_CHECK(cudaMemcpyAsync(cell, (const char *)c0->data + (size_t)l * state_bytes, state_bytes,
                                       cudaMemcpyDeviceToDevice, c->stream));
        else CUDA_CHECK(cudaMemsetAsync(cell, 0, state_bytes, c->stream));
        for (int64_t t = 0; t < s.T; t++) {
            const char *h_prev = t == 0 ? (h0->data ? (const char *)h0->data + (size_t)l * state_bytes : NULL)
                                        : y + (size_t)((t - 1) * row_t * s.H) * es;
            int64_t h_prev_stride = t == 0 ? s.H : row_b * s.H;
            INFER_TRY(cuda_lstm_step(c->stream, in[0].dtype, gates + (size_t)(t * row_t * 4 * s.H) * es,
                                     row_b * 4 * s.H, w_hh->data, b_ih, b_hh, h_prev, h_prev_stride, cell,
                                     y + (size_t)(t * row_t * s.H) * es, row_b * s.H, s.B, s.H, err));
        }
        if (out[1].data) INFER_TRY(final_state(c->stream, &s, l, y, row_t, row_b, h0, &out[1], es, err));
    }
    return INFER_OK;
}

const cuda_kernel cuda_kernels_lstm[] = {
    { CUDA_DENSE, supports_lstm, prepare_lstm, tune_lstm, run_lstm, 0, NULL },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
