/* lstm.c — multi-layer unidirectional LSTM: one input GEMM per layer, then per step, for each slice of
 * hidden units, the four gates' columns of h·w_hhᵀ (w_hh packed per gate) and the fused gate math. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "cpu_kernels.h"
#include "../../base/error.h"

/* Steps with at least this many multiply-adds in h·w_hhᵀ split their hidden units over the pool; smaller
 * ones run in the calling thread (a dispatch per step costs more than they do). At batch 8, hidden 64
 * (131072): 0.062 ms against 0.085 serial with both cores free, within 2% of serial with one busy. */
#define LSTM_PARALLEL_MACS (1 << 17)

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

static size_t round64(size_t bytes) { return (bytes + 63) & ~(size_t)63; }

/* Bytes of one gate's packed [H, H] block of w_hh for isa (the largest over ISAs when isa < 0). */
static size_t gate_pack_bytes(int64_t H, int isa) {
    size_t most = 0;
    for (int i = isa < 0 ? CPU_ISA_SCALAR : isa; i <= (isa < 0 ? CPU_ISA_AVX512 : isa); i++) {
        size_t b = cpu_sgemm_packed_b_size(i, H, H);
        if (b == SIZE_MAX) return SIZE_MAX;
        if (b > most) most = b;
    }
    return round64(most);
}

/* Workspace: input projections [T*B, 4H], one step's pre-activations [B, 4H], the summed bias [4H],
 * with more than one layer the sequence between layers [T*B, H], and (64-byte aligned, used when the
 * engine did not prepack) one layer's w_hh packed per gate. */
/* SIZE_MAX when the size overflows or exceeds PTRDIFF_MAX (no allocation can satisfy it; rounding it up
 * cannot wrap). */
size_t cpu_lstm_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    lstm_dims d = lstm_dims_of(n, &in[0]);
    if (d.T < 0 || d.B < 0 || d.H < 0) return SIZE_MAX;
    size_t T = (size_t)d.T, B = (size_t)d.B, H = (size_t)d.H, g4, tb, gates, step, seq = 0, floats, bytes;
    if (__builtin_mul_overflow(H, (size_t)4, &g4) || __builtin_mul_overflow(T, B, &tb) ||
        __builtin_mul_overflow(tb, g4, &gates) || __builtin_mul_overflow(B, g4, &step) ||
        (d.layers > 1 && __builtin_mul_overflow(tb, H, &seq)) || __builtin_add_overflow(gates, step, &floats) ||
        __builtin_add_overflow(floats, g4, &floats) || __builtin_add_overflow(floats, seq, &floats) ||
        __builtin_mul_overflow(floats, sizeof(float), &bytes) || bytes > PTRDIFF_MAX)
        return SIZE_MAX;
    size_t gate = gate_pack_bytes(d.H, -1), packed;
    if (gate == SIZE_MAX || __builtin_mul_overflow(gate, (size_t)4, &packed) ||
        __builtin_add_overflow(round64(bytes), packed, &bytes) || __builtin_add_overflow(bytes, (size_t)64, &bytes))
        return SIZE_MAX;
    return bytes > PTRDIFF_MAX ? SIZE_MAX : bytes;
}

/* Prepacked layout, per layer: w_ih packed whole ([in_features, 4H] as op(B)), then w_hh's four gates
 * packed separately ([H, H] each), every block 64-byte aligned. Returns the bytes (0: do not prepack). */
static size_t prepack_layout(const ir_node *n, const infer_tensor *in, int isa, size_t *ih_off, size_t *hh_off) {
    lstm_dims d = lstm_dims_of(n, &in[0]);
    if (in[0].ndim != 3 || d.H < 1 || d.layers < 1 || n->n_in != 3 + 4 * d.layers) return 0;
    size_t total = 0, gate = gate_pack_bytes(d.H, isa);
    if (gate == SIZE_MAX || gate > SIZE_MAX / 8) return 0;
    for (int l = 0; l < d.layers; l++) {
        const infer_tensor *w = &in[3 + 4 * l];
        int64_t in_f = l == 0 ? d.I : d.H;
        if (!w[0].data || !w[1].data || w[0].dtype != INFER_F32 || w[1].dtype != INFER_F32 || w[0].ndim != 2 ||
            w[0].dims[0] != 4 * d.H || w[0].dims[1] != in_f || w[1].ndim != 2 || w[1].dims[0] != 4 * d.H ||
            w[1].dims[1] != d.H)
            return 0;
        size_t ih = cpu_sgemm_packed_b_size(isa, in_f, 4 * d.H);
        if (ih == SIZE_MAX || ih > SIZE_MAX / 4 || total > SIZE_MAX / 4 - round64(ih) - 4 * gate) return 0;
        if (ih_off) ih_off[l] = total;
        total += round64(ih);
        if (hh_off) hh_off[l] = total;
        total += 4 * gate;
    }
    return total;
}

size_t cpu_lstm_prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    return prepack_layout(n, in, isa, NULL, NULL);
}

/* w_hh's gate g rows [gH, (g+1)H) as op(B) = that block transposed. */
static void pack_gates(int isa, const float *w_hh, int64_t H, float *dst, size_t gate_bytes) {
    for (int g = 0; g < 4; g++)
        cpu_sgemm_pack_b(isa, 1, H, H, w_hh + g * H * H, H, (float *)((uint8_t *)dst + g * gate_bytes));
}

void cpu_lstm_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    lstm_dims d = lstm_dims_of(n, &in[0]);
    size_t ih_off[IR_MAX_INPUTS], hh_off[IR_MAX_INPUTS];
    if (d.layers > IR_MAX_INPUTS || !prepack_layout(n, in, isa, ih_off, hh_off)) return;
    for (int l = 0; l < d.layers; l++) {
        const infer_tensor *w = &in[3 + 4 * l];
        int64_t in_f = l == 0 ? d.I : d.H;
        cpu_sgemm_pack_b(isa, 1, in_f, 4 * d.H, w[0].data, in_f, (float *)((uint8_t *)dst + ih_off[l]));
        pack_gates(isa, w[1].data, d.H, (float *)((uint8_t *)dst + hh_off[l]), gate_pack_bytes(d.H, isa));
    }
}

static inline float sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }

/* c = f·c + i·g, h = o·tanh(c) for hidden units [j0, j1) of B rows; p: pre-activations (i, f, g, o). */
static void gates_scalar(const float *pre, int64_t ld_pre, float *c, float *h, int64_t ld_h, int64_t B, int64_t H,
                         int64_t j0, int64_t j1) {
    for (int64_t b = 0; b < B; b++) {
        const float *p = pre + b * ld_pre;
        float *cb = c + b * H, *hb = h + b * ld_h;
        for (int64_t j = j0; j < j1; j++) {
            float i = sigmoid(p[j]), f = sigmoid(p[H + j]), g = tanhf(p[2 * H + j]), o = sigmoid(p[3 * H + j]);
            float cell = f * cb[j] + i * g;
            cb[j] = cell;
            hb[j] = o * tanhf(cell);
        }
    }
}

#if defined(__x86_64__)
/* The epilogue's vector exp/tanh (within a few ulp of expf/tanhf), instantiated per width. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define VW 8
#define VNAME(name) name##_avx2
#include "epilogue_vec.h"
#define GATES_FN gates_avx2
#include "lstm_gates_vec.h"
#undef GATES_FN
#undef VW
#undef VNAME
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,fma")
#define VW 16
#define VNAME(name) name##_avx512
#include "epilogue_vec.h"
#define GATES_FN gates_avx512
#include "lstm_gates_vec.h"
#undef GATES_FN
#undef VW
#undef VNAME
#pragma GCC pop_options
#pragma GCC diagnostic pop
#endif

static void lstm_gates(int isa, const float *pre, int64_t ld_pre, float *c, float *h, int64_t ld_h, int64_t B,
                       int64_t H, int64_t j0, int64_t j1) {
#if defined(__x86_64__)
    if (isa == CPU_ISA_AVX512) {
        gates_avx512(pre, ld_pre, c, h, ld_h, B, H, j0, j1);
        return;
    }
    if (isa == CPU_ISA_AVX2) {
        gates_avx2(pre, ld_pre, c, h, ld_h, B, H, j0, j1);
        return;
    }
#endif
    gates_scalar(pre, ld_pre, c, h, ld_h, B, H, j0, j1);
}

/* One time step for hidden units [j0, j1): pre = h_prev · w_hhᵀ + x-projections (four gate blocks), then
 * the gates. Without h_prev (first step, no h0) the projections are the pre-activations. */
typedef struct {
    int isa;
    uint8_t *scratch;          /* threads x CPU_SCRATCH_BYTES */
    int64_t B, H, chunk;       /* chunk: hidden units per parallel item (a multiple of NR) */
    const float *h_prev;       /* NULL, or [B, H] rows ld_prev apart */
    int64_t ld_prev;
    const float *xproj;        /* [B, 4H] rows ld_x apart */
    int64_t ld_x;
    float *pre;                /* [B, 4H] workspace */
    float *c, *h;              /* [B, H] cell state (in place), new hidden state rows ld_h apart */
    int64_t ld_h;
    const float *whh[4];       /* per gate, packed [H, H] */
} step_args;

static void step_units(const step_args *s, uint8_t *scratch, int64_t j0, int64_t j1) {
    int64_t H = s->H, G4 = 4 * H;
    const float *p = s->xproj;
    int64_t ld = s->ld_x;
    if (s->h_prev) {
        for (int g = 0; g < 4; g++) {
            gemm_epilogue rec;
            memset(&rec, 0, sizeof rec);
            rec.residual = s->xproj + g * H;
            rec.ld_residual = s->ld_x;
            cpu_sgemm_packed_cols(scratch, s->isa, s->B, H, H, s->h_prev, s->ld_prev, s->whh[g], s->pre + g * H, G4,
                                  &rec, j0, j1);
        }
        p = s->pre;
        ld = G4;
    }
    lstm_gates(s->isa, p, ld, s->c, s->h, s->ld_h, s->B, H, j0, j1);
}

static void step_task(void *arg, int64_t begin, int64_t end, int thread) {
    const step_args *s = arg;
    int64_t j1 = end * s->chunk < s->H ? end * s->chunk : s->H;
    step_units(s, s->scratch + (size_t)thread * CPU_SCRATCH_BYTES, begin * s->chunk, j1);
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
    /* Every tensor is read or written as f32. */
    for (int i = 0; i < n->n_in; i++)
        if (in[i].data && in[i].dtype != INFER_F32)
            return infer_fail(err, INFER_ERR_DTYPE, "lstm: input %d is %s, expected f32", i,
                              infer_dtype_name(in[i].dtype));
    for (int k = 0; k < 3; k++)
        if (out[k].dtype != INFER_F32)
            return infer_fail(err, INFER_ERR_DTYPE, "lstm: output %d is %s, expected f32", k,
                              infer_dtype_name(out[k].dtype));
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
    if (need == SIZE_MAX || ctx->workspace_bytes < need)
        return infer_fail(err, INFER_ERR_INTERNAL, "lstm: workspace of %zu bytes, %zu needed", ctx->workspace_bytes, need);
    int64_t T = d.T, B = d.B, H = d.H, G4 = 4 * H;
    const float *h0 = in[1].data, *c0 = in[2].data;
    float *y = out[0].data, *h_n = out[1].data, *c_n = out[2].data;
    float *gates = ctx->workspace, *pre = gates + T * B * G4, *bias = pre + B * G4, *seq = bias + G4;
    float *end = seq + (d.layers > 1 ? T * B * H : 0);
    /* w_hh packed per gate: the engine's prepacked copy, or packed here per layer into the workspace */
    size_t ih_off[IR_MAX_INPUTS], hh_off[IR_MAX_INPUTS], gate_bytes = gate_pack_bytes(H, ctx->isa);
    const uint8_t *prepacked = ctx->prepacked && d.layers <= IR_MAX_INPUTS &&
                                       prepack_layout(n, in, ctx->isa, ih_off, hh_off) ? ctx->prepacked : NULL;
    uint8_t *whh_ws = (uint8_t *)(((uintptr_t)end + 63) & ~(uintptr_t)63);
    int nr = cpu_sgemm_nr(ctx->isa);
    int64_t chunks = (H + nr - 1) / nr;
    int parallel = ctx->pool && ctx->threads > 1 && chunks > 1 && B * G4 * H >= LSTM_PARALLEL_MACS;
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
        if (prepacked && in_features > 0)
            cpu_sgemm_packed(ctx, T * B, G4, in_features, layer_in, in_features, (const float *)(prepacked + ih_off[l]),
                             gates, G4, &ep);
        else cpu_sgemm(ctx, 0, 1, T * B, G4, in_features, layer_in, in_features, w[0].data, in_features, gates, G4, &ep);
        const uint8_t *whh = prepacked ? prepacked + hh_off[l] : whh_ws;
        if (!prepacked && T > 0) pack_gates(ctx->isa, w[1].data, H, (float *)whh_ws, gate_bytes);
        float *layer_out = l == d.layers - 1 ? y : seq, *c = c_n + l * B * H;
        if (c0) memcpy(c, c0 + l * B * H, (size_t)(B * H) * sizeof *c);
        else memset(c, 0, (size_t)(B * H) * sizeof *c);
        step_args s = { ctx->isa, ctx->scratch, B, H, nr, NULL, 0, NULL, 0, pre, c, NULL, bs * H, { NULL } };
        for (int g = 0; g < 4; g++) s.whh[g] = (const float *)(whh + g * gate_bytes);
        for (int64_t t = 0; t < T; t++) {
            s.h_prev = t > 0 ? layer_out + row_of(&d, t - 1, 0) * H : (h0 ? h0 + l * B * H : NULL);
            s.ld_prev = t > 0 ? bs * H : H;
            s.xproj = gates + row_of(&d, t, 0) * G4;
            s.ld_x = bs * G4;
            s.h = layer_out + row_of(&d, t, 0) * H;
            if (parallel) pool_parallel_for(ctx->pool, chunks, 1, step_task, &s);
            else step_units(&s, ctx->scratch, 0, H);
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

/* Each layer's w_ih and w_hh. */
static int prepacks_input(const ir_node *n, int k) { return k >= 3 && (k - 3) % 4 < 2; }

const cpu_kernel cpu_kernels_lstm[] = {
    { .storages = CPU_DENSE,
      .run = cpu_lstm,
      .workspace = cpu_lstm_workspace,
      .prepack_input = prepacks_input,
      .prepack_size = cpu_lstm_prepack_size,
      .prepack = cpu_lstm_prepack },
    { 0 },
};
