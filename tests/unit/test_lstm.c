/* test_lstm.c — multi-layer LSTM (batch_first both ways, optional h0/c0 and biases) vs a naive double step loop. */
#include <criterion/criterion.h>
#include <math.h>
#include "testutil.h"
#include "kernel_util.h"
#include "../../kernels/cpu/cpu_kernels.h"
#include "../../runtime/threadpool.h"

typedef struct {
    int64_t T, B, I, H;
    int layers, batch_first, use_h0, use_c0;
    int biases; /* bit 0: b_ih, bit 1: b_hh */
} lstm_case;

static double sigmoid_d(double v) { return 1.0 / (1.0 + exp(-v)); }

/* Errors of y, h_n and c_n against the reference, the largest of the three; isa < 0: the CPU's best;
 * prepacked: w_ih and w_hh as the engine passes them (cpu_prepack into ctx->prepacked). */
static double run_lstm_on(int threads, int isa, int prepacked, const lstm_case *c, uint64_t seed) {
    test_rng r = rng_seed(seed);
    int64_t T = c->T, B = c->B, I = c->I, H = c->H, L = c->layers;
    float *x = rng_array(&r, T * B * I, -1, 1);
    float *h0 = rng_array(&r, L * B * H, -1, 1), *c0 = rng_array(&r, L * B * H, -1, 1);
    float *w[4 * 8];
    for (int l = 0; l < L; l++) {
        int64_t in_f = l == 0 ? I : H;
        float bound = 1.0f / sqrtf((float)H); /* PyTorch's init range */
        w[4 * l] = rng_array(&r, 4 * H * in_f, -bound, bound);
        w[4 * l + 1] = rng_array(&r, 4 * H * H, -bound, bound);
        w[4 * l + 2] = rng_array(&r, 4 * H, -bound, bound);
        w[4 * l + 3] = rng_array(&r, 4 * H, -bound, bound);
    }
    /* reference, time-major internally */
    double *seq = malloc(sizeof(double) * (size_t)(T * B * (I > H ? I : H))), *next = malloc(sizeof(double) * (size_t)(T * B * H));
    double *h = malloc(sizeof(double) * (size_t)(B * H)), *cs = malloc(sizeof(double) * (size_t)(B * H));
    float *ref_y = malloc(sizeof(float) * (size_t)(T * B * H));
    float *ref_h = malloc(sizeof(float) * (size_t)(L * B * H)), *ref_c = malloc(sizeof(float) * (size_t)(L * B * H));
    for (int64_t t = 0; t < T; t++)
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < I; i++)
                seq[(t * B + b) * I + i] = x[(c->batch_first ? b * T + t : t * B + b) * I + i];
    int64_t in_f = I;
    for (int l = 0; l < L; l++) {
        for (int64_t k = 0; k < B * H; k++) {
            h[k] = c->use_h0 ? h0[l * B * H + k] : 0.0;
            cs[k] = c->use_c0 ? c0[l * B * H + k] : 0.0;
        }
        for (int64_t t = 0; t < T; t++) {
            for (int64_t b = 0; b < B; b++) {
                double pre[4 * 64];
                for (int64_t g = 0; g < 4 * H; g++) {
                    double s = ((c->biases & 1) ? w[4 * l + 2][g] : 0.0) + ((c->biases & 2) ? w[4 * l + 3][g] : 0.0);
                    for (int64_t i = 0; i < in_f; i++) s += w[4 * l][g * in_f + i] * seq[(t * B + b) * in_f + i];
                    for (int64_t j = 0; j < H; j++) s += w[4 * l + 1][g * H + j] * h[b * H + j];
                    pre[g] = s;
                }
                for (int64_t j = 0; j < H; j++) {
                    double ig = sigmoid_d(pre[j]), fg = sigmoid_d(pre[H + j]), gg = tanh(pre[2 * H + j]);
                    double og = sigmoid_d(pre[3 * H + j]);
                    cs[b * H + j] = fg * cs[b * H + j] + ig * gg;
                    next[(t * B + b) * H + j] = og * tanh(cs[b * H + j]);
                }
            }
            for (int64_t b = 0; b < B; b++)
                for (int64_t j = 0; j < H; j++) h[b * H + j] = next[(t * B + b) * H + j];
        }
        for (int64_t k = 0; k < B * H; k++) {
            ref_h[l * B * H + k] = (float)h[k];
            ref_c[l * B * H + k] = (float)cs[k];
        }
        memcpy(seq, next, sizeof(double) * (size_t)(T * B * H));
        in_f = H;
    }
    for (int64_t t = 0; t < T; t++)
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < H; j++)
                ref_y[(c->batch_first ? b * T + t : t * B + b) * H + j] = (float)seq[(t * B + b) * H + j];

    /* the kernel */
    cpu_ctx ctx = kernel_ctx(threads);
    if (isa >= 0) ctx.isa = isa;
    ctx.scratch = aligned_alloc(64, CPU_SCRATCH_BYTES * (size_t)ctx.threads);
    ir_node n = kernel_node(OP_LSTM, 3 + 4 * (int)L);
    n.n_out = 3;
    n.p.lstm.hidden = (int)H;
    n.p.lstm.layers = (int)L;
    n.p.lstm.batch_first = c->batch_first;
    int64_t xd[3] = { c->batch_first ? B : T, c->batch_first ? T : B, I }, sd[3] = { L, B, H };
    int64_t yd[3] = { xd[0], xd[1], H };
    infer_tensor in[3 + 4 * 8];
    in[0] = tview(INFER_F32, x, 3, xd);
    in[1] = tview(INFER_F32, c->use_h0 ? h0 : NULL, 3, sd);
    in[2] = tview(INFER_F32, c->use_c0 ? c0 : NULL, 3, sd);
    for (int l = 0; l < L; l++) {
        int64_t wih[2] = { 4 * H, l == 0 ? I : H }, whh[2] = { 4 * H, H }, bd[1] = { 4 * H };
        in[3 + 4 * l] = tview(INFER_F32, w[4 * l], 2, wih);
        in[4 + 4 * l] = tview(INFER_F32, w[4 * l + 1], 2, whh);
        in[5 + 4 * l] = tview(INFER_F32, (c->biases & 1) ? w[4 * l + 2] : NULL, 1, bd);
        in[6 + 4 * l] = tview(INFER_F32, (c->biases & 2) ? w[4 * l + 3] : NULL, 1, bd);
    }
    float *y = malloc(sizeof(float) * (size_t)(T * B * H)), *hn = malloc(sizeof(float) * (size_t)(L * B * H));
    float *cn = malloc(sizeof(float) * (size_t)(L * B * H));
    infer_tensor out[3] = { tview(INFER_F32, y, 3, yd), tview(INFER_F32, hn, 3, sd), tview(INFER_F32, cn, 3, sd) };
    ctx.workspace_bytes = cpu_lstm_workspace(&n, in, out, ctx.threads);
    ctx.workspace = malloc(ctx.workspace_bytes);
    void *packed = NULL;
    if (prepacked) {
        size_t bytes = cpu_prepack_size(&n, in, ctx.isa);
        cr_assert(bytes > 0);
        packed = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
        cpu_prepack(&n, in, ctx.isa, packed);
        ctx.prepacked = packed;
    }
    infer_error err;
    cr_assert_eq(cpu_lstm(&ctx, &n, in, out, &err), INFER_OK, "%s", err.message);
    double e = rel_l2(y, ref_y, T * B * H), eh = rel_l2(hn, ref_h, L * B * H), ec = rel_l2(cn, ref_c, L * B * H);
    e = e > eh ? e : eh;
    e = e > ec ? e : ec;

    pool_destroy(ctx.pool);
    free(ctx.scratch);
    free(ctx.workspace);
    free(packed);
    for (int l = 0; l < 4 * L; l++) free(w[l]);
    free(x), free(h0), free(c0), free(seq), free(next), free(h), free(cs);
    free(ref_y), free(ref_h), free(ref_c), free(y), free(hn), free(cn);
    return e;
}

static double run_lstm(int threads, const lstm_case *c, uint64_t seed) { return run_lstm_on(threads, -1, 0, c, seed); }

/* fp32 GEMMs and expf/tanhf (1-2 ulp) through a short recurrence: about 1e-7 observed. */
#define LSTM_TOL 1e-6

Test(lstm, layers_layouts_states_biases) {
    lstm_case cases[] = {
        { 5, 3, 7, 13, 2, 1, 1, 1, 3 }, { 5, 3, 7, 13, 2, 0, 1, 1, 3 }, { 5, 3, 7, 13, 2, 1, 0, 0, 3 },
        { 5, 3, 7, 13, 2, 0, 0, 1, 0 }, { 5, 3, 7, 13, 2, 1, 1, 0, 1 }, { 5, 3, 7, 13, 2, 0, 0, 0, 2 },
        { 1, 1, 1, 1, 1, 0, 0, 0, 3 },  { 7, 1, 13, 5, 3, 1, 1, 1, 3 }, { 1, 7, 5, 13, 1, 1, 1, 1, 3 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double e = run_lstm(1, &cases[i], 100 + i);
        cr_assert(e <= LSTM_TOL, "case %zu: rel_l2 %g", i, e);
    }
}

Test(lstm, parallel_larger) {
    lstm_case cases[] = {
        { 9, 5, 33, 64, 2, 1, 1, 1, 3 },
        { 9, 67, 16, 64, 2, 0, 0, 0, 3 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double e = run_lstm(2, &cases[i], 200 + i);
        cr_assert(e <= LSTM_TOL, "case %zu: rel_l2 %g", i, e);
    }
}

Test(lstm, wrong_shapes) {
    cpu_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    float buf[256] = { 1 };
    ir_node n = kernel_node(OP_LSTM, 7);
    n.n_out = 3;
    n.p.lstm.hidden = 2;
    n.p.lstm.layers = 1;
    int64_t xd[3] = { 3, 1, 4 }, sd[3] = { 1, 1, 2 }, yd[3] = { 3, 1, 2 }, wih[2] = { 8, 5 }, whh[2] = { 8, 2 }, bd[1] = { 8 };
    infer_tensor in[7] = { tview(INFER_F32, buf, 3, xd), tview(INFER_F32, NULL, 3, sd), tview(INFER_F32, NULL, 3, sd),
                           tview(INFER_F32, buf, 2, wih), tview(INFER_F32, buf, 2, whh), tview(INFER_F32, buf, 1, bd),
                           tview(INFER_F32, buf, 1, bd) };
    infer_tensor out[3] = { tview(INFER_F32, buf, 3, yd), tview(INFER_F32, buf, 3, sd), tview(INFER_F32, buf, 3, sd) };
    infer_error err;
    cr_assert_eq(cpu_lstm(&ctx, &n, in, out, &err), INFER_ERR_SHAPE); /* w_ih has 5 columns for 4 features */
    cr_assert(strstr(err.message, "layer 0") != NULL, "%s", err.message);
    wih[1] = 4;
    in[3] = tview(INFER_F32, buf, 2, wih);
    cr_assert_eq(cpu_lstm(&ctx, &n, in, out, &err), INFER_ERR_INTERNAL); /* no workspace */
    n.n_in = 6;
    cr_assert_eq(cpu_lstm(&ctx, &n, in, out, &err), INFER_ERR_SHAPE);
}

/* Batch 1, 3, 8; 1 and 2 layers; both layouts; with and without h0/c0 and biases; on every ISA, serial and on
 * 2 threads, with w_ih/w_hh as given and prepacked. */
Test(lstm, prepacked_every_isa) {
    static const int64_t batches[] = { 1, 3, 8 };
    uint64_t seed = 300;
    for (int bi = 0; bi < 3; bi++)
        for (int layers = 1; layers <= 2; layers++)
            for (int bf = 0; bf <= 1; bf++)
                for (int states = 0; states <= 1; states++)
                    for (int biases = 0; biases <= 3; biases += 3) {
                        lstm_case c = { 5, batches[bi], 7, 13, layers, bf, states, states, biases };
                        seed++;
                        for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++)
                            for (int threads = 1; threads <= 2; threads++)
                                for (int prepacked = 0; prepacked <= 1; prepacked++) {
                                    double e = run_lstm_on(threads, isa, prepacked, &c, seed);
                                    cr_assert(e <= LSTM_TOL, "B %lld layers %d batch_first %d states %d biases %d isa %d "
                                              "threads %d prepacked %d: rel_l2 %g", (long long)c.B, layers, bf, states,
                                              biases, isa, threads, prepacked, e);
                                }
                    }
}

/* Steps large enough to split their hidden units over the pool, H not a multiple of the panel width. */
Test(lstm, parallel_steps_every_isa) {
    lstm_case c = { 4, 200, 9, 40, 2, 0, 1, 1, 3 };
    for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++)
        for (int prepacked = 0; prepacked <= 1; prepacked++) {
            double e = run_lstm_on(2, isa, prepacked, &c, 400);
            cr_assert(e <= LSTM_TOL, "isa %d prepacked %d: rel_l2 %g", isa, prepacked, e);
        }
}
