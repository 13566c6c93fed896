/* test_winograd.c — Winograd F(4x4,3x3) convolution: the engine option picks the layers (auto, off, on), its
 * outputs match im2col's, and a wrong transformed weight at any of the 36 points is caught. */
#include <stdlib.h>
#include "engine_util.h"
#include "../../kernels/cpu/conv2d_winograd.h"

static void fill(float *x, int64_t n, uint32_t seed, float scale) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = ((float)(seed >> 8) / (float)(1 << 23) - 1.0f) * scale;
    }
}

enum { C = 20, O = 24, H = 16, W = 16 };

/* x [batch, C, H, W] -> conv 3x3 pad 1 (+ bias, relu) -> y [batch, O, H, W]. */
static infer_model *conv_model(int64_t batch) {
    static float w[O * C * 9], b[O];
    fill(w, O * C * 9, 7, 0.2f);
    fill(b, O, 8, 0.5f);
    ifg_writer *wr = tw_new();
    uint32_t x = tw_act(wr, "x", INFER_F32, DIMS(batch, C, H, W));
    uint32_t wt = tw_const(wr, "w", INFER_F32, DIMS(O, C, 3, 3), w), bt = tw_const(wr, "b", INFER_F32, DIMS(O), b);
    uint32_t y = tw_act(wr, "y", INFER_F32, DIMS(batch, O, H, W));
    tw_node(wr, OP_CONV2D, "conv", TW_IDS(x, wt, bt), TW_IDS(y));
    int64_t pad[2] = { 1, 1 };
    ifg_writer_attr_ints(wr, "padding", pad, 2);
    ifg_writer_attr_int(wr, "act", ACT_RELU);
    tw_graph(wr, TW_IDS(x), TW_IDS(y));
    return model_from_writer(wr);
}

/* Builds an engine in mode, runs it on seeded data into y; returns whether its layer ran Winograd. */
static int run_mode(const infer_model *m, int64_t batch, infer_winograd mode, float *y) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.threads = 2;
    o.winograd = mode;
    infer_engine *e = NULL;
    infer_error err;
    cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_OK, "%s", err.message);
    int64_t n_in = batch * C * H * W, n_out = batch * O * H * W;
    float *x = malloc((size_t)n_in * sizeof *x);
    fill(x, n_in, 3, 1.0f);
    infer_tensor in = model_input(m, 0, batch, x), out;
    cr_assert_eq(infer_engine_run(e, &in, 1, &out, 1, &err), INFER_OK, "%s", err.message);
    memcpy(y, out.data, (size_t)n_out * sizeof *y);
    int wino = layers_described(e, "Winograd") > 0;
    free(x);
    infer_engine_destroy(e);
    return wino;
}

Test(winograd, option_picks_the_layers_and_outputs_match_im2col) {
    /* batch 1: 16 tiles, too few for AUTO; batch 2: 32 tiles, AUTO takes it */
    for (int64_t batch = 1; batch <= 2; batch++) {
        infer_model *m = conv_model(batch);
        int64_t n = batch * O * H * W;
        float *off = malloc((size_t)n * sizeof *off), *y = malloc((size_t)n * sizeof *y);
        cr_expect_eq(run_mode(m, batch, INFER_WINOGRAD_OFF, off), 0);
        cr_expect_eq(run_mode(m, batch, INFER_WINOGRAD_ON, y), 1);
        cr_expect_lt(rel_l2(y, off, n), 5e-6, "on vs off: %g", rel_l2(y, off, n));
        cr_expect_eq(run_mode(m, batch, INFER_WINOGRAD_AUTO, y), batch == 2, "auto at batch %lld", (long long)batch);
        cr_expect_lt(rel_l2(y, off, n), 5e-6, "auto vs off: %g", rel_l2(y, off, n));
        free(off);
        free(y);
        infer_model_free(m);
    }
}

Test(winograd, option_out_of_range_is_refused) {
    infer_model *m = conv_model(1);
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.winograd = (infer_winograd)7;
    infer_error err;
    cr_expect_eq(engine_builds(m, &o, &err), INFER_ERR_ARGUMENT);
    cr_expect(strstr(err.message, "winograd 7") != NULL, "%s", err.message);
    infer_model_free(m);
}

/* The kernel on every ISA this CPU has, against its im2col path; then each of the 36 transformed weight matrices
 * in turn off by 1e-3 relative must show (the comparison would catch a wrong transform at any point). */
Test(winograd, every_transform_point_counts) {
    enum { N = 2, CI = 17, CO = 19, HI = 9, WI = 11 };
    static float x[N * CI * HI * WI], w[CO * CI * 9], b[CO], ref[N * CO * HI * WI], y[N * CO * HI * WI];
    fill(x, N * CI * HI * WI, 1, 1.0f);
    fill(w, CO * CI * 9, 2, 0.3f);
    fill(b, CO, 4, 0.5f);
    ir_node node;
    memset(&node, 0, sizeof node);
    node.op = OP_CONV2D;
    node.n_in = 3;
    node.p.conv2d = (conv2d_params){ { 1, 1 }, { 1, 1 }, { 1, 1 }, 1, { ACT_NONE, 0, 0 }, { 0, 0 }, INFER_WINOGRAD_AUTO };
    infer_tensor in[3] = { { INFER_F32, 4, { N, CI, HI, WI }, x }, { INFER_F32, 4, { CO, CI, 3, 3 }, w },
                           { INFER_F32, 1, { CO }, b } };
    infer_tensor out = { INFER_F32, 4, { N, CO, HI, WI }, y };
    size_t ws_bytes = conv2d_workspace_for(&node, in, &out, 1, INFER_WINOGRAD_ON);
    void *ws = malloc(ws_bytes), *scratch = aligned_alloc(64, CPU_SCRATCH_BYTES);
    for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++) {
        size_t bytes = conv_winograd_prepack_size(&node, in, isa, INFER_WINOGRAD_ON);
        cr_assert_gt(bytes, 0);
        float *packed = aligned_alloc(64, (bytes + 63) / 64 * 64);
        cpu_conv2d_winograd_prepack(&node, in, isa, packed);
        conv_winograd_set_mode(packed, INFER_WINOGRAD_ON);
        cpu_ctx ctx = { .pool = NULL, .threads = 1, .isa = isa, .workspace = ws, .workspace_bytes = ws_bytes, .scratch = scratch };
        infer_error err;
        cr_assert_eq(cpu_conv2d(&ctx, &node, in, &out, &err), INFER_OK);
        memcpy(ref, y, sizeof ref);
        ctx.prepacked = packed;
        cr_assert_eq(cpu_conv2d(&ctx, &node, in, &out, &err), INFER_OK);
        double good = rel_l2(y, ref, N * CO * HI * WI);
        cr_expect_lt(good, 5e-6, "isa %d: %g", isa, good);
        float *u = packed + (bytes - (size_t)(36 * CO * CI) * sizeof(float)) / sizeof(float);
        static float saved[CO * CI];
        for (int xi = 0; xi < 36; xi++) {
            float *uxi = u + xi * CO * CI;
            memcpy(saved, uxi, sizeof saved);
            for (int k = 0; k < CO * CI; k++) uxi[k] *= 1.001f;
            cr_assert_eq(cpu_conv2d(&ctx, &node, in, &out, &err), INFER_OK);
            double bad = rel_l2(y, ref, N * CO * HI * WI);
            cr_expect_gt(bad, 1e-5, "isa %d: point %d off by 1e-3 gives only %g", isa, xi, bad);
            memcpy(uxi, saved, sizeof saved);
        }
        free(packed);
    }
    free(ws);
    free(scratch);
}
