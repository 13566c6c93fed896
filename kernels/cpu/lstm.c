/* lstm.c — multi-layer unidirectional LSTM: one input GEMM per layer, then per step a GEMM and fused gates. */
#include <math.h>
#include <string.h>
#include "cpu_kernels.h"
#include "../../runtime/error.h"

#define LSTM_GATE_TASK 4096 /* hidden units a parallel gate task updates at least */

/* Sizes and the row layout: row (t, b) of x, y and the gate buffer is t*B + b, or b*T + t batch-first. */
typedef struct {
    int64_t T, B, H, I;
    int layers, batch_first;
} lstm_dims;

static lstm_dims lstm_dims_of(const ir_node *n, const infer_tensor *x) {
    lstm_dims d = { 0, 0, n->p.lstm.hidden, 0, n->p.lstm.layers, n->p.lstm.batch_first };
    if (x->ndim == 3) {
        d.T = x->dims[d.batch_first ? 1 : 0];
        d.B = x->dims[d.batch_first ? 0 : 1];
        d.I = x->dims[2];
    }
    return d;
}

static int64_t row_of(const lstm_dims *d, int64_t t, int64_t b) { return d->batch_first ? b * d->T + t : t * d->B + b; }
static int64_t batch_stride(const lstm_dims *d) { return d->batch_first ? d->T : 1; } /* rows between b and b+1 */

/* Workspace: input projections [T*B, 4H], one step's pre-activations [B, 4H], the summed bias [4H],
 * and, with more than one layer, the sequence between layers [T*B, H]. */
size_t cpu_lstm_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    lstm_dims d = lstm_dims_of(n, &in[0]);
    size_t floats = (size_t)(d.T * d.B * 4 * d.H + d.B * 4 * d.H + 4 * d.H);
    if (d.layers > 1) floats += (size_t)(d.T * d.B * d.H);
    return floats * sizeof(float);
}

typedef struct {
    const float *pre; /* [B, 4H] gate pre-activations, rows ld_pre apart; gate order i, f, g, o */
    int64_t ld_pre;
    float *c;         /* [B, H] cell state, updated in place */
    float *h;         /* [B, H] new hidden state, rows ld_h apart */
    int64_t ld_h, H;
} gate_args;

static inline float sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }

static void lstm_gates(void *arg, int64_t begin, int64_t end, int thread) {
    const gate_args *A = arg;
    int64_t H = A->H;
    for (int64_t b = begin; b < end; b++) {
        const float *p = A->pre + b * A->ld_pre;
        float *c = A->c + b * H, *h = A->h + b * A->ld_h;
        for (int64_t j = 0; j < H; j++) {
            float i = sigmoid(p[j]), f = sigmoid(p[H + j]), g = tanhf(p[2 * H + j]), o = sigmoid(p[3 * H + j]);
            float cell = f * c[j] + i * g;
            c[j] = cell;
            h[j] = o * tanhf(cell);
        }
    }
}

static infer_status check_lstm(const ir_node *n, const lstm_dims *d, const infer_tensor *in, const infer_tensor *out,
                               infer_error *err) {
    if (n->n_in != 3 + 4 * d->layers || n->n_out != 3 || in[0].ndim != 3 || d->H < 1)
        return infer_fail(err, INFER_ERR_SHAPE, "lstm: %d inputs, %d outputs for %d layers and a %d-d input", n->n_in,
                          n->n_out, d->layers, in[0].ndim);
    int64_t state[3] = { d->layers, d->B, d->H }, y[3] = { d->batch_first ? d->B : d->T, d->batch_first ? d->T : d->B, d->H };
    for (int i = 1; i < 3; i++)
        if (in[i].data && (in[i].ndim != 3 || memcmp(in[i].dims, state, sizeof state)))
            return infer_fail(err, INFER_ERR_SHAPE, "lstm: %s must be [layers, B, H]", i == 1 ? "h0" : "c0");
    if (memcmp(out[0].dims, y, sizeof y) || out[0].ndim != 3 || out[1].ndim != 3 || out[2].ndim != 3 ||
        memcmp(out[1].dims, state, sizeof state) || memcmp(out[2].dims, state, sizeof state))
        return infer_fail(err, INFER_ERR_SHAPE, "lstm: outputs must be y %s, h_n and c_n [layers, B, H]",
                          d->batch_first ? "[B, T, H]" : "[T, B, H]");
    for (int l = 0; l < d->layers; l++) {
        const infer_tensor *w = &in[3 + 4 * l];
        int64_t in_features = l == 0 ? d->I : d->H;
        int ok = w[0].ndim == 2 && w[0].dims[0] == 4 * d->H && w[0].dims[1] == in_features && w[1].ndim == 2 &&
                 w[1].dims[0] == 4 * d->H && w[1].dims[1] == d->H;
        for (int j = 2; j < 4; j++) ok = ok && (!w[j].data || infer_tensor_elements(&w[j]) == 4 * d->H);
        if (!ok)
            return infer_fail(err, INFER_ERR_SHAPE, "lstm: layer %d weights must be w_ih [%lld,%lld], w_hh [%lld,%lld], "
                              "biases [%lld]", l, (long long)(4 * d->H), (long long)in_features, (long long)(4 * d->H),
                              (long long)d->H, (long long)(4 * d->H));
    }
    return INFER_OK;
}

CPU_KERNEL(lstm) {
    lstm_dims d = lstm_dims_of(n, &in[0]);
    infer_status st = check_lstm(n, &d, in, out, err);
    if (st != INFER_OK) return st;
    size_t need = cpu_lstm_workspace(n, in, out, ctx->threads);
    if (ctx->workspace_bytes < need)
        return infer_fail(err, INFER_ERR_INTERNAL, "lstm: workspace of %zu bytes, %zu needed", ctx->workspace_bytes, need);
    int64_t T = d.T, B = d.B, H = d.H, G4 = 4 * H;
    const float *h0 = in[1].data, *c0 = in[2].data;
    float *y = out[0].data, *h_n = out[1].data, *c_n = out[2].data;
    float *gates = ctx->workspace, *pre = gates + T * B * G4, *bias = pre + B * G4, *seq = bias + G4;
    const float *layer_in = in[0].data;
    int64_t in_features = d.I, bs = batch_stride(&d);
    for (int l = 0; l < d.layers; l++) {
        const infer_tensor *w = &in[3 + 4 * l];
        const float *b_ih = w[2].data, *b_hh = w[3].data;
        gemm_epilogue ep;
        memset(&ep, 0, sizeof ep);
        if (b_ih && b_hh) {
            for (int64_t j = 0; j < G4; j++) bias[j] = b_ih[j] + b_hh[j];
            ep.bias = bias;
        } else {
            ep.bias = b_ih ? b_ih : b_hh;
        }
        /* Input projections of every step at once: gates[T*B, 4H] = x · w_ihᵀ + b_ih + b_hh. */
        cpu_sgemm(ctx, 0, 1, T * B, G4, in_features, layer_in, in_features, w[0].data, in_features, gates, G4, &ep);
        float *layer_out = l == d.layers - 1 ? y : seq, *c = c_n + l * B * H;
        if (c0) memcpy(c, c0 + l * B * H, (size_t)(B * H) * sizeof *c);
        else memset(c, 0, (size_t)(B * H) * sizeof *c);
        for (int64_t t = 0; t < T; t++) {
            const float *h_prev = t > 0 ? layer_out + row_of(&d, t - 1, 0) * H : (h0 ? h0 + l * B * H : NULL);
            int64_t ld_prev = t > 0 ? bs * H : H;
            gate_args g = { gates + row_of(&d, t, 0) * G4, bs * G4, c, layer_out + row_of(&d, t, 0) * H, bs * H, H };
            if (h_prev) { /* pre = h_prev · w_hhᵀ + this step's input projections */
                gemm_epilogue rec;
                memset(&rec, 0, sizeof rec);
                rec.residual = g.pre;
                rec.ld_residual = g.ld_pre;
                cpu_sgemm(ctx, 0, 1, B, G4, H, h_prev, ld_prev, w[1].data, H, pre, G4, &rec);
                g.pre = pre;
                g.ld_pre = G4;
            }
            int64_t grain = LSTM_GATE_TASK / H;
            pool_parallel_for(ctx->pool, B, grain > 1 ? grain : 1, lstm_gates, &g);
        }
        /* h_n: the last step's hidden state (h0, or zeros, for an empty sequence). */
        for (int64_t b = 0; b < B; b++) {
            float *dst = h_n + (l * B + b) * H;
            if (T > 0) memcpy(dst, layer_out + row_of(&d, T - 1, b) * H, (size_t)H * sizeof *dst);
            else if (h0) memcpy(dst, h0 + (l * B + b) * H, (size_t)H * sizeof *dst);
            else memset(dst, 0, (size_t)H * sizeof *dst);
        }
        layer_in = layer_out;
        in_features = H;
    }
    return INFER_OK;
}
