/* recurrent.c — the CPU driver of lstm and gru (recurrent.h): GEMMs, directions, layers, states. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "recurrent.h"
#include "../../base/error.h"

/* Steps with at least this many multiply-adds in h·w_hhᵀ split their hidden units over the pool; smaller
 * ones run in the calling thread (a dispatch per step costs more than they do). At batch 8, hidden 64
 * (131072): 0.062 ms against 0.085 serial with both cores free, within 2% of serial with one busy. */
#define RNN_PARALLEL_MACS (1 << 17)

/* Sizes and the row layout: row (t, b) of x, y and the gate buffers is t*B + b, or b*T + t batch-first. */
typedef struct {
    int64_t T, B, H, I;
    int layers, dirs, batch_first, gates, first_weight; /* first_weight: index of the first w_ih */
} rnn_dims;

static rnn_dims rnn_dims_of(const rnn_kind *k, const ir_node *n, const infer_tensor *x) {
    const lstm_params *p = k->n_states == 2 ? &n->p.lstm : &n->p.gru;
    rnn_dims d = { 0, 0, p->hidden, 0, p->layers, p->bidirectional ? 2 : 1, p->batch_first, k->gates, 1 + k->n_states };
    if (x->ndim == 3) {
        d.T = x->dims[d.batch_first ? 1 : 0];
        d.B = x->dims[d.batch_first ? 0 : 1];
        d.I = x->dims[2];
    }
    return d;
}

static int64_t row_of(const rnn_dims *d, int64_t t, int64_t b) { return d->batch_first ? b * d->T + t : t * d->B + b; }
static int64_t batch_stride(const rnn_dims *d) { return d->batch_first ? d->T : 1; } /* rows between b and b+1 */
static int64_t in_features_of(const rnn_dims *d, int group) { return group < d->dirs ? d->I : d->dirs * d->H; }
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

/* Workspace (floats): input projections of every direction [D, T*B, G*H], one step's recurrent products
 * [B, G*H], the summed bias [G*H], a zero state [B, H], with more than one layer the sequence between
 * layers [T*B, D*H]; then (64-byte aligned) f32: one w_hh packed per gate (used when the engine did not
 * prepack); int8: the dynamic INT8 linear's row buffers (rnn_s8_workspace). SIZE_MAX when the size overflows
 * or exceeds PTRDIFF_MAX. */
size_t rnn_workspace(const rnn_kind *k, const ir_node *n, const infer_tensor *in, int int8) {
    rnn_dims d = rnn_dims_of(k, n, &in[0]);
    if (d.T < 0 || d.B < 0 || d.H < 0) return SIZE_MAX;
    size_t T = (size_t)d.T, B = (size_t)d.B, H = (size_t)d.H, D = (size_t)d.dirs, gh, tb, gates, step, zero, seq = 0,
           floats, bytes;
    if (__builtin_mul_overflow(H, (size_t)d.gates, &gh) || __builtin_mul_overflow(T, B, &tb) ||
        __builtin_mul_overflow(tb, gh, &gates) || __builtin_mul_overflow(gates, D, &gates) ||
        __builtin_mul_overflow(B, gh, &step) || __builtin_mul_overflow(B, H, &zero) ||
        (d.layers > 1 && (__builtin_mul_overflow(tb, H, &seq) || __builtin_mul_overflow(seq, D, &seq))) ||
        __builtin_add_overflow(gates, step, &floats) || __builtin_add_overflow(floats, gh, &floats) ||
        __builtin_add_overflow(floats, zero, &floats) || __builtin_add_overflow(floats, seq, &floats) ||
        __builtin_mul_overflow(floats, sizeof(float), &bytes) || bytes > PTRDIFF_MAX)
        return SIZE_MAX;
    size_t gate = int8 ? 0 : gate_pack_bytes(d.H, -1), packed = 0;
    if (int8) {
        int64_t most_in = d.I > d.dirs * d.H ? d.I : d.dirs * d.H;
        packed = rnn_s8_workspace(d.T * d.B, most_in, d.B, d.H);
        if (packed == SIZE_MAX) return SIZE_MAX;
    }
    if (gate == SIZE_MAX || __builtin_mul_overflow(gate, (size_t)d.gates, &gate) ||
        __builtin_add_overflow(packed, gate, &packed) ||
        __builtin_add_overflow(round64(bytes), packed, &bytes) || __builtin_add_overflow(bytes, (size_t)64, &bytes))
        return SIZE_MAX;
    return bytes > PTRDIFF_MAX ? SIZE_MAX : bytes;
}

/* Prepacked layout, per layer and direction: w_ih packed whole ([in_features, G*H] as op(B)), then w_hh's
 * gates packed separately ([H, H] each), every block 64-byte aligned. Returns the bytes (0: do not prepack). */
static size_t prepack_layout(const rnn_kind *k, const ir_node *n, const infer_tensor *in, int isa, size_t *ih_off,
                             size_t *hh_off) {
    rnn_dims d = rnn_dims_of(k, n, &in[0]);
    int groups = d.layers * d.dirs;
    if (in[0].ndim != 3 || d.H < 1 || d.layers < 1 || groups > IR_MAX_INPUTS || n->n_in != d.first_weight + 4 * groups)
        return 0;
    size_t total = 0, gate = gate_pack_bytes(d.H, isa);
    int64_t GH = d.gates * d.H;
    if (gate == SIZE_MAX || gate > SIZE_MAX / 8) return 0;
    for (int g = 0; g < groups; g++) {
        const infer_tensor *w = &in[d.first_weight + 4 * g];
        int64_t in_f = in_features_of(&d, g);
        if (!w[0].data || !w[1].data || w[0].dtype != INFER_F32 || w[1].dtype != INFER_F32 || w[0].ndim != 2 ||
            w[0].dims[0] != GH || w[0].dims[1] != in_f || w[1].ndim != 2 || w[1].dims[0] != GH || w[1].dims[1] != d.H)
            return 0;
        size_t ih = cpu_sgemm_packed_b_size(isa, in_f, GH);
        if (ih == SIZE_MAX || ih > SIZE_MAX / 4 || total > SIZE_MAX / 4 - round64(ih) - 4 * gate) return 0;
        if (ih_off) ih_off[g] = total;
        total += round64(ih);
        if (hh_off) hh_off[g] = total;
        total += (size_t)d.gates * gate;
    }
    return total;
}

size_t rnn_prepack_size(const rnn_kind *k, const ir_node *n, const infer_tensor *in, int isa) {
    return prepack_layout(k, n, in, isa, NULL, NULL);
}

/* w_hh's gate g rows [gH, (g+1)H) as op(B) = that block transposed. */
static void pack_gates(int isa, int gates, const float *w_hh, int64_t H, float *dst, size_t gate_bytes) {
    for (int g = 0; g < gates; g++)
        cpu_sgemm_pack_b(isa, 1, H, H, w_hh + g * H * H, H, (float *)((uint8_t *)dst + g * gate_bytes));
}

void rnn_prepack(const rnn_kind *k, const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    rnn_dims d = rnn_dims_of(k, n, &in[0]);
    size_t ih_off[IR_MAX_INPUTS], hh_off[IR_MAX_INPUTS];
    if (!prepack_layout(k, n, in, isa, ih_off, hh_off)) return;
    for (int g = 0; g < d.layers * d.dirs; g++) {
        const infer_tensor *w = &in[d.first_weight + 4 * g];
        int64_t in_f = in_features_of(&d, g);
        cpu_sgemm_pack_b(isa, 1, in_f, d.gates * d.H, w[0].data, in_f, (float *)((uint8_t *)dst + ih_off[g]));
        pack_gates(isa, d.gates, w[1].data, d.H, (float *)((uint8_t *)dst + hh_off[g]), gate_pack_bytes(d.H, isa));
    }
}

int rnn_prepacks_input(const rnn_kind *k, const ir_node *n, int input) {
    int first = 1 + k->n_states;
    return input >= first && (input - first) % 4 < 2;
}

/* One time step for hidden units [j0, j1): the recurrent products of each gate block, then the gate math. */
typedef struct {
    const rnn_kind *kind;
    int isa;
    uint8_t *scratch;          /* threads x CPU_SCRATCH_BYTES */
    int64_t chunk;             /* hidden units per parallel item (a multiple of NR) */
    const float *b_hh;         /* GRU: the recurrent GEMM's bias, or NULL */
    const float *whh[4];       /* per gate, packed [H, H] */
    float *hh;                 /* [B, G*H] workspace */
    rnn_step_io io;
} step_args;

static void step_units(const step_args *s, uint8_t *scratch, int64_t j0, int64_t j1) {
    rnn_step_io io = s->io;
    int64_t H = io.H, GH = s->kind->gates * H;
    if (io.h_prev) {
        for (int g = 0; g < s->kind->gates; g++) {
            gemm_epilogue ep;
            memset(&ep, 0, sizeof ep);
            if (s->kind->hh_bias) {
                ep.bias = s->b_hh ? s->b_hh + g * H : NULL;
            } else {
                ep.residual = io.x + g * H;
                ep.ld_residual = io.ld_x;
            }
            cpu_sgemm_packed_cols(scratch, s->isa, io.B, H, H, io.h_prev, io.ld_prev, s->whh[g], s->hh + g * H, GH, &ep,
                                  j0, j1);
        }
        io.hh = s->hh;
        io.ld_hh = GH;
    }
    s->kind->cell(s->isa, &io, j0, j1);
}

static void step_task(void *arg, int64_t begin, int64_t end, int thread) {
    const step_args *s = arg;
    int64_t j1 = end * s->chunk < s->io.H ? end * s->chunk : s->io.H;
    step_units(s, s->scratch + (size_t)thread * CPU_SCRATCH_BYTES, begin * s->chunk, j1);
}

static infer_status check_rnn(const rnn_kind *k, const ir_node *n, const rnn_dims *d, const infer_tensor *in,
                              const infer_tensor *out, infer_error *err) {
    int groups = d->layers * d->dirs;
    if (n->n_in != d->first_weight + 4 * groups || n->n_out != 1 + k->n_states || in[0].ndim != 3 || d->H < 1 ||
        groups > IR_MAX_INPUTS)
        return infer_fail(err, INFER_ERR_SHAPE, "%s: %d inputs, %d outputs for %d layers x %d directions and a %d-d input",
                          k->name, n->n_in, n->n_out, d->layers, d->dirs, in[0].ndim);
    int64_t state[3] = { groups, d->B, d->H }, DH = d->dirs * d->H, GH = d->gates * d->H;
    int64_t y[3] = { d->batch_first ? d->B : d->T, d->batch_first ? d->T : d->B, DH };
    for (int i = 1; i <= k->n_states; i++)
        if (in[i].data && (in[i].ndim != 3 || memcmp(in[i].dims, state, sizeof state)))
            return infer_fail(err, INFER_ERR_SHAPE, "%s: %s must be [layers x directions, B, H]", k->name,
                              i == 1 ? "h0" : "c0");
    int ok = out[0].ndim == 3 && !memcmp(out[0].dims, y, sizeof y);
    for (int i = 1; i <= k->n_states; i++) ok = ok && out[i].ndim == 3 && !memcmp(out[i].dims, state, sizeof state);
    if (!ok)
        return infer_fail(err, INFER_ERR_SHAPE, "%s: outputs must be y %s and states [layers x directions, B, H]",
                          k->name, d->batch_first ? "[B, T, D*H]" : "[T, B, D*H]");
    for (int i = 0; i < n->n_in; i++)
        if (in[i].data && in[i].dtype != INFER_F32)
            return infer_fail(err, INFER_ERR_DTYPE, "%s: input %d is %s, expected f32", k->name, i,
                              infer_dtype_name(in[i].dtype));
    for (int i = 0; i <= k->n_states; i++)
        if (out[i].dtype != INFER_F32)
            return infer_fail(err, INFER_ERR_DTYPE, "%s: output %d is %s, expected f32", k->name, i,
                              infer_dtype_name(out[i].dtype));
    for (int g = 0; g < groups; g++) {
        const infer_tensor *w = &in[d->first_weight + 4 * g];
        int64_t in_f = in_features_of(d, g);
        int good = w[0].ndim == 2 && w[0].dims[0] == GH && w[0].dims[1] == in_f && w[1].ndim == 2 &&
                   w[1].dims[0] == GH && w[1].dims[1] == d->H;
        for (int j = 2; j < 4; j++) good = good && (!w[j].data || infer_tensor_elements(&w[j]) == GH);
        if (!good)
            return infer_fail(err, INFER_ERR_SHAPE, "%s: layer %d direction %d weights must be w_ih [%lld,%lld], "
                              "w_hh [%lld,%lld], biases [%lld]", k->name, g / d->dirs, g % d->dirs, (long long)GH,
                              (long long)in_f, (long long)GH, (long long)d->H, (long long)GH);
    }
    return INFER_OK;
}

infer_status rnn_run(const rnn_kind *k, cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                     const void *s8, infer_error *err) {
    rnn_dims d = rnn_dims_of(k, n, &in[0]);
    INFER_TRY(check_rnn(k, n, &d, in, out, err));
    size_t need = rnn_workspace(k, n, in, s8 != NULL);
    if (need == SIZE_MAX || ctx->workspace_bytes < need)
        return infer_fail(err, INFER_ERR_INTERNAL, "%s: workspace of %zu bytes, %zu needed", k->name,
                          ctx->workspace_bytes, need);
    int64_t T = d.T, B = d.B, H = d.H, D = d.dirs, GH = d.gates * H, DH = D * H;
    const float *h0 = in[1].data, *c0 = k->n_states == 2 ? in[2].data : NULL;
    float *y = out[0].data, *h_n = out[1].data, *c_n = k->n_states == 2 ? out[2].data : NULL;
    float *xproj = ctx->workspace, *hh = xproj + D * T * B * GH, *bias = hh + B * GH, *zero = bias + GH;
    float *seq = zero + B * H, *end = seq + (d.layers > 1 ? T * B * DH : 0);
    memset(zero, 0, (size_t)(B * H) * sizeof *zero);
    /* w_hh packed per gate: the engine's prepacked copy, or packed here per layer and direction */
    size_t ih_off[IR_MAX_INPUTS], hh_off[IR_MAX_INPUTS], gate_bytes = gate_pack_bytes(H, ctx->isa);
    const uint8_t *prepacked =
        !s8 && ctx->prepacked && prepack_layout(k, n, in, ctx->isa, ih_off, hh_off) ? ctx->prepacked : NULL;
    uint8_t *whh_ws = (uint8_t *)(((uintptr_t)end + 63) & ~(uintptr_t)63); /* int8: the row buffers */
    int nr = cpu_sgemm_nr(ctx->isa);
    int64_t chunks = (H + nr - 1) / nr, bs = batch_stride(&d);
    int parallel = ctx->pool && ctx->threads > 1 && chunks > 1 && B * GH * H >= RNN_PARALLEL_MACS;
    const float *layer_in = in[0].data;
    for (int l = 0; l < d.layers; l++) {
        float *layer_out = l == d.layers - 1 ? y : seq;
        /* Input projections of every step and direction first (layer_out may be layer_in's storage). */
        for (int dir = 0; dir < D; dir++) {
            int g = l * (int)D + dir;
            const infer_tensor *w = &in[d.first_weight + 4 * g];
            int64_t in_f = in_features_of(&d, g);
            const float *b_ih = w[2].data, *b_hh = k->hh_bias ? NULL : w[3].data;
            gemm_epilogue ep;
            memset(&ep, 0, sizeof ep);
            if (b_ih && b_hh) {
                for (int64_t j = 0; j < GH; j++) bias[j] = b_ih[j] + b_hh[j];
                ep.bias = bias;
            } else {
                ep.bias = b_ih ? b_ih : b_hh;
            }
            float *xp = xproj + dir * T * B * GH;
            if (s8) rnn_s8_input_projection(ctx, s8, g, T * B, layer_in, in_f, ep.bias, xp, GH, whh_ws);
            else if (prepacked && in_f > 0)
                cpu_sgemm_packed(ctx, T * B, GH, in_f, layer_in, in_f, (const float *)(prepacked + ih_off[g]), xp, GH,
                                 &ep);
            else cpu_sgemm(ctx, 0, 1, T * B, GH, in_f, layer_in, in_f, w[0].data, in_f, xp, GH, &ep);
        }
        for (int dir = 0; dir < D; dir++) {
            int g = l * (int)D + dir;
            const infer_tensor *w = &in[d.first_weight + 4 * g];
            const uint8_t *whh = prepacked ? prepacked + hh_off[g] : whh_ws;
            if (!s8 && !prepacked && T > 0) pack_gates(ctx->isa, d.gates, w[1].data, H, (float *)whh_ws, gate_bytes);
            float *c = c_n ? c_n + g * B * H : NULL;
            if (c) {
                if (c0) memcpy(c, c0 + g * B * H, (size_t)(B * H) * sizeof *c);
                else memset(c, 0, (size_t)(B * H) * sizeof *c);
            }
            const float *first_state = h0 ? h0 + g * B * H : k->hh_bias ? zero : NULL;
            step_args s;
            memset(&s, 0, sizeof s);
            s.kind = k, s.isa = ctx->isa, s.scratch = ctx->scratch, s.chunk = nr;
            s.b_hh = k->hh_bias ? w[3].data : NULL, s.hh = hh;
            for (int q = 0; q < d.gates; q++) s.whh[q] = (const float *)(whh + q * gate_bytes);
            s.io.c = c, s.io.ld_h = bs * DH, s.io.B = B, s.io.H = H, s.io.ld_x = bs * GH;
            const float *xp = xproj + dir * T * B * GH;
            for (int64_t i = 0; i < T; i++) {
                int64_t t = dir ? T - 1 - i : i, prev = dir ? t + 1 : t - 1;
                s.io.h_prev = i > 0 ? layer_out + row_of(&d, prev, 0) * DH + dir * H : first_state;
                s.io.ld_prev = i > 0 ? bs * DH : H;
                s.io.x = xp + row_of(&d, t, 0) * GH;
                s.io.hh = NULL;
                s.io.h = layer_out + row_of(&d, t, 0) * DH + dir * H;
                if (s8) rnn_s8_step(ctx, s8, g, k, &s.io, s.b_hh, hh, parallel ? chunks : 1, nr, whh_ws);
                else if (parallel) pool_parallel_for(ctx->pool, chunks, 1, step_task, &s);
                else step_units(&s, ctx->scratch, 0, H);
            }
            /* h_n: the last step's hidden state (h0, or zeros, for an empty sequence). */
            int64_t last = dir ? 0 : T - 1;
            for (int64_t b = 0; b < B; b++) {
                float *dst = h_n + (g * B + b) * H;
                if (T > 0) memcpy(dst, layer_out + row_of(&d, last, b) * DH + dir * H, (size_t)H * sizeof *dst);
                else if (h0) memcpy(dst, h0 + (g * B + b) * H, (size_t)H * sizeof *dst);
                else memset(dst, 0, (size_t)H * sizeof *dst);
            }
        }
        layer_in = layer_out;
    }
    return INFER_OK;
}
