/* test_engine.c — engines through the public API on small written models: optimized against unoptimized
 * (BatchNorm after conv and after linear in 2-D and 3-D, activation and residual fusion), one engine at
 * changing batch sizes against fresh engines, and runs after refused runs. */
#include <criterion/criterion.h>
#include <math.h>
#include "testutil.h"
#include "engine_util.h"
#include "../../runtime/engine.h"

#define TOL 1e-5

/* BatchNorm statistics with a variance away from 0. */
static void bn_params(test_rng *r, float *p, int c) {
    rng_fill(r, p, c, 0.5f, 1.5f);          /* gamma */
    rng_fill(r, p + c, c, -0.5f, 0.5f);     /* beta */
    rng_fill(r, p + 2 * c, c, -0.5f, 0.5f); /* mean */
    rng_fill(r, p + 3 * c, c, 0.5f, 2.0f);  /* var */
}

static void tw_bn(ifg_writer *w, const char *name, const float *p, int c, uint32_t x, uint32_t y) {
    char n[4][64];
    const char *what[4] = { "weight", "bias", "mean", "var" };
    uint32_t ids[4];
    for (int i = 0; i < 4; i++) {
        snprintf(n[i], sizeof n[i], "%s.%s", name, what[i]);
        ids[i] = tw_const(w, n[i], INFER_F32, DIMS(c), p + i * c);
    }
    tw_node(w, OP_BATCHNORM, name, TW_IDS(x, ids[0], ids[1], ids[2], ids[3]), TW_IDS(y));
    ifg_writer_attr_float(w, "eps", 1e-5);
}

static void tw_act_node(ifg_writer *w, const char *name, act_kind kind, uint32_t x, uint32_t y) {
    tw_node(w, OP_ACTIVATION, name, TW_IDS(x), TW_IDS(y));
    ifg_writer_attr_int(w, "kind", kind);
}

static void tw_conv(ifg_writer *w, const char *name, uint32_t x, uint32_t wt, uint32_t b, int pad, uint32_t y) {
    tw_node(w, OP_CONV2D, name, TW_IDS(x, wt, b), TW_IDS(y));
    const int64_t p[2] = { pad, pad };
    ifg_writer_attr_ints(w, "padding", p, 2);
}

/* x [-1,3,6,6]: conv 3x3 + BN + relu; conv 3x3 on that plus a 1x1 conv of x (residual) + relu; maxpool 2;
 * flatten; linear 36->8 + BN (2-D) + sigmoid; times a [1,8] constant (broadcast, in place). 13 nodes;
 * optimized, 7. */
static infer_model *vision_model(uint64_t seed) {
    test_rng r = rng_seed(seed);
    static float w1[4 * 3 * 9], b1[4], w2[4 * 3], w3[4 * 4 * 9], w4[8 * 36], b4[8], k[8], bn1[16], bn2[32];
    rng_fill(&r, w1, 4 * 3 * 9, -0.5f, 0.5f);
    rng_fill(&r, b1, 4, -0.5f, 0.5f);
    rng_fill(&r, w2, 4 * 3, -0.5f, 0.5f);
    rng_fill(&r, w3, 4 * 4 * 9, -0.5f, 0.5f);
    rng_fill(&r, w4, 8 * 36, -0.3f, 0.3f);
    rng_fill(&r, b4, 8, -0.5f, 0.5f);
    rng_fill(&r, k, 8, 0.5f, 2.0f);
    bn_params(&r, bn1, 4);
    bn_params(&r, bn2, 8);
    ifg_writer *w = tw_new();
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(-1, 3, 6, 6));
    uint32_t W1 = tw_const(w, "conv1.weight", INFER_F32, DIMS(4, 3, 3, 3), w1);
    uint32_t B1 = tw_const(w, "conv1.bias", INFER_F32, DIMS(4), b1);
    uint32_t W2 = tw_const(w, "conv2.weight", INFER_F32, DIMS(4, 3, 1, 1), w2);
    uint32_t W3 = tw_const(w, "conv3.weight", INFER_F32, DIMS(4, 4, 3, 3), w3);
    uint32_t W4 = tw_const(w, "fc.weight", INFER_F32, DIMS(8, 36), w4);
    uint32_t B4 = tw_const(w, "fc.bias", INFER_F32, DIMS(8), b4);
    uint32_t K = tw_const(w, "scale", INFER_F32, DIMS(1, 8), k);
    const char *names[] = { "c1", "n1", "r1", "c2", "c3", "s", "s2" };
    uint32_t t[7];
    for (int i = 0; i < 7; i++) t[i] = tw_act(w, names[i], INFER_F32, DIMS(-1, 4, 6, 6));
    uint32_t p = tw_act(w, "p", INFER_F32, DIMS(-1, 4, 3, 3)), f = tw_act(w, "f", INFER_F32, DIMS(-1, 36));
    uint32_t l = tw_act(w, "l", INFER_F32, DIMS(-1, 8)), n2 = tw_act(w, "n2", INFER_F32, DIMS(-1, 8));
    uint32_t a = tw_act(w, "a", INFER_F32, DIMS(-1, 8)), y = tw_act(w, "y", INFER_F32, DIMS(-1, 8));
    tw_conv(w, "conv1", x, W1, B1, 1, t[0]);
    tw_bn(w, "bn1", bn1, 4, t[0], t[1]);
    tw_act_node(w, "relu1", ACT_RELU, t[1], t[2]);
    tw_conv(w, "conv2", x, W2, IFG_NONE, 0, t[3]);
    tw_conv(w, "conv3", t[2], W3, IFG_NONE, 1, t[4]);
    tw_node(w, OP_BINARY, "add", TW_IDS(t[4], t[3]), TW_IDS(t[5]));
    ifg_writer_attr_int(w, "kind", BIN_ADD);
    tw_act_node(w, "relu2", ACT_RELU, t[5], t[6]);
    tw_node(w, OP_MAXPOOL2D, "pool", TW_IDS(t[6]), TW_IDS(p));
    const int64_t k2[2] = { 2, 2 }, shape[2] = { -1, 36 };
    ifg_writer_attr_ints(w, "kernel", k2, 2);
    tw_node(w, OP_RESHAPE, "flatten", TW_IDS(p), TW_IDS(f));
    ifg_writer_attr_ints(w, "shape", shape, 2);
    tw_node(w, OP_LINEAR, "fc", TW_IDS(f, W4, B4), TW_IDS(l));
    tw_bn(w, "bn2", bn2, 8, l, n2);
    tw_act_node(w, "sigmoid", ACT_SIGMOID, n2, a);
    tw_node(w, OP_BINARY, "mul", TW_IDS(a, K), TW_IDS(y));
    ifg_writer_attr_int(w, "kind", BIN_MUL);
    tw_graph(w, TW_IDS(x), TW_IDS(y));
    return model_from_writer(w);
}

/* x [-1,4,4]: linear 4->4 ([N,4,4]: BatchNorm1d then normalizes dim 1, not the linear's features, so it is
 * not folded), BN, then a second linear with x as residual and relu (fused), and a 2-D branch: x flattened,
 * linear 16->5 + BN + gelu. 9 nodes; optimized, 5. */
static infer_model *linear_model(uint64_t seed) {
    test_rng r = rng_seed(seed);
    static float w1[16], b1[4], w2[16], w3[5 * 16], bn1[16], bn3[20];
    rng_fill(&r, w1, 16, -1, 1);
    rng_fill(&r, b1, 4, -1, 1);
    rng_fill(&r, w2, 16, -1, 1);
    rng_fill(&r, w3, 80, -0.5f, 0.5f);
    bn_params(&r, bn1, 4);
    bn_params(&r, bn3, 5);
    ifg_writer *w = tw_new();
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(-1, 4, 4));
    uint32_t W1 = tw_const(w, "fc1.weight", INFER_F32, DIMS(4, 4), w1);
    uint32_t B1 = tw_const(w, "fc1.bias", INFER_F32, DIMS(4), b1);
    uint32_t W2 = tw_const(w, "fc2.weight", INFER_F32, DIMS(4, 4), w2);
    uint32_t W3 = tw_const(w, "fc3.weight", INFER_F32, DIMS(5, 16), w3);
    uint32_t l1 = tw_act(w, "l1", INFER_F32, DIMS(-1, 4, 4)), n1 = tw_act(w, "n1", INFER_F32, DIMS(-1, 4, 4));
    uint32_t l2 = tw_act(w, "l2", INFER_F32, DIMS(-1, 4, 4)), s = tw_act(w, "s", INFER_F32, DIMS(-1, 4, 4));
    uint32_t y = tw_act(w, "y", INFER_F32, DIMS(-1, 4, 4)), f = tw_act(w, "f", INFER_F32, DIMS(-1, 16));
    uint32_t l3 = tw_act(w, "l3", INFER_F32, DIMS(-1, 5)), n3 = tw_act(w, "n3", INFER_F32, DIMS(-1, 5));
    uint32_t z = tw_act(w, "z", INFER_F32, DIMS(-1, 5));
    tw_node(w, OP_LINEAR, "fc1", TW_IDS(x, W1, B1), TW_IDS(l1));
    tw_bn(w, "bn1", bn1, 4, l1, n1);
    tw_node(w, OP_LINEAR, "fc2", TW_IDS(n1, W2), TW_IDS(l2));
    tw_node(w, OP_BINARY, "add", TW_IDS(x, l2), TW_IDS(s)); /* the residual is the first operand */
    ifg_writer_attr_int(w, "kind", BIN_ADD);
    tw_act_node(w, "relu", ACT_RELU, s, y);
    const int64_t shape[2] = { -1, 16 };
    tw_node(w, OP_RESHAPE, "flatten", TW_IDS(x), TW_IDS(f));
    ifg_writer_attr_ints(w, "shape", shape, 2);
    tw_node(w, OP_LINEAR, "fc3", TW_IDS(f, W3), TW_IDS(l3));
    tw_bn(w, "bn3", bn3, 5, l3, n3);
    tw_act_node(w, "gelu", ACT_GELU, n3, z);
    tw_graph(w, TW_IDS(x), TW_IDS(y, z));
    return model_from_writer(w);
}

static float *input_for(const infer_model *m, int64_t batch, uint64_t seed) {
    infer_tensor t = model_input(m, 0, batch, NULL);
    test_rng r = rng_seed(seed);
    return rng_array(&r, infer_tensor_elements(&t), -1, 1);
}

/* Runs e on x at a batch; copies of the outputs (free each). */
static void run_copy(infer_engine *e, const infer_model *m, int64_t batch, float *x, int n_out, float **copies,
                     int64_t *counts) {
    infer_tensor in = model_input(m, 0, batch, x), out[4];
    infer_error err;
    cr_assert_eq(infer_engine_run(e, &in, 1, out, n_out, &err), INFER_OK, "batch %lld: %s", (long long)batch,
                 err.message);
    for (int k = 0; k < n_out; k++) {
        cr_assert_eq(out[k].dims[0], batch);
        counts[k] = infer_tensor_elements(&out[k]);
        copies[k] = malloc((size_t)counts[k] * sizeof(float));
        memcpy(copies[k], out[k].data, (size_t)counts[k] * sizeof(float));
    }
}

static void expect_close(float **got, float **want, const int64_t *counts, int n_out, double tol, const char *what,
                         int64_t batch) {
    for (int k = 0; k < n_out; k++) {
        double e = rel_l2(got[k], want[k], counts[k]);
        cr_assert(e <= tol, "%s, batch %lld, output %d: rel L2 %g", what, (long long)batch, k, e);
    }
}

static void free_all(float **p, int n) {
    for (int k = 0; k < n; k++) free(p[k]);
}

static void check_optimized_matches(infer_model *m, int n_out, int nodes_plain, int nodes_optimized) {
    infer_engine *opt = engine_ok(m, 3, 1, 2), *plain = engine_ok(m, 3, 0, 2);
    infer_engine_stats so, sp;
    infer_engine_stats_get(opt, &so);
    infer_engine_stats_get(plain, &sp);
    cr_assert_eq(sp.nodes, nodes_plain);
    cr_assert_eq(so.nodes, nodes_optimized, "the passes folded and fused %d nodes, expected %d",
                 nodes_plain - so.nodes, nodes_plain - nodes_optimized);
    for (int64_t batch = 1; batch <= 3; batch++) {
        float *x = input_for(m, batch, 100 + (uint64_t)batch), *a[4], *b[4];
        int64_t counts[4];
        run_copy(opt, m, batch, x, n_out, a, counts);
        run_copy(plain, m, batch, x, n_out, b, counts);
        expect_close(a, b, counts, n_out, TOL, "optimized vs unoptimized", batch);
        free_all(a, n_out);
        free_all(b, n_out);
        free(x);
    }
    infer_engine_destroy(opt);
    infer_engine_destroy(plain);
}

Test(engine, optimized_matches_unoptimized_conv_bn_fusion) {
    infer_model *m = vision_model(1);
    check_optimized_matches(m, 1, 13, 7);
    infer_model_free(m);
}

Test(engine, optimized_matches_unoptimized_linear_bn_2d_3d) {
    infer_model *m = linear_model(2);
    check_optimized_matches(m, 2, 9, 5);
    infer_model_free(m);
}

/* Weights made by BN folding that only a packed copy is read from are freed at build (data NULL in the engine's
 * graph), and the engine still gives the unoptimized engine's outputs at every batch (under ASan in CI's
 * sanitize stage: no read of a freed original). */
Test(engine, folded_weights_freed_once_packed) {
    infer_model *m = vision_model(3);
    infer_engine *opt = engine_ok(m, 3, 1, 2), *plain = engine_ok(m, 3, 0, 2);
    int freed = 0;
    for (int t = 0; t < opt->graph.n_tensors; t++) freed += opt->graph.tensors[t].is_constant && !opt->graph.tensors[t].data;
    cr_assert_geq(freed, 1, "conv1's folded weights are read through packed rows only");
    for (int64_t batch = 1; batch <= 3; batch++) {
        float *x = input_for(m, batch, 200 + (uint64_t)batch), *a[1], *b[1];
        int64_t counts[1];
        run_copy(opt, m, batch, x, 1, a, counts);
        run_copy(plain, m, batch, x, 1, b, counts);
        expect_close(a, b, counts, 1, TOL, "freed originals vs unoptimized", batch);
        free_all(a, 1);
        free_all(b, 1);
        free(x);
    }
    infer_engine_destroy(opt);
    infer_engine_destroy(plain);
    infer_model_free(m);
}

/* x [-1,128,S,S]: conv 3x3 128->64 + BN + relu. With 32-64 output positions over the batch (7x7 at batch 1, 4x4 at
 * batch 4; depth 1152) the conv runs as the small-image transposed GEMM (conv2d_small.c). */
static infer_model *small_image_model(uint64_t seed, int64_t S) {
    test_rng r = rng_seed(seed);
    static float wt[64 * 128 * 9], bn[4 * 64];
    rng_fill(&r, wt, 64 * 128 * 9, -0.05f, 0.05f);
    bn_params(&r, bn, 64);
    ifg_writer *w = tw_new();
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(-1, 128, S, S));
    uint32_t W = tw_const(w, "conv.weight", INFER_F32, DIMS(64, 128, 3, 3), wt);
    uint32_t c = tw_act(w, "c", INFER_F32, DIMS(-1, 64, S, S)), b = tw_act(w, "b", INFER_F32, DIMS(-1, 64, S, S));
    uint32_t y = tw_act(w, "y", INFER_F32, DIMS(-1, 64, S, S));
    tw_conv(w, "conv", x, W, IFG_NONE, 1, c);
    tw_bn(w, "bn", bn, 64, c, b);
    tw_act_node(w, "relu", ACT_RELU, b, y);
    tw_graph(w, TW_IDS(x), TW_IDS(y));
    return model_from_writer(w);
}

/* The small-image path serves every run from its packed weights, at the planned batch and below: the folded
 * original is freed there too. 7x7 images planned at batch 1, and 4x4 ones planned at batch 4, run at 1-4. */
Test(engine, folded_weights_freed_on_the_small_image_path) {
    static const struct { int64_t size, max_batch; } cases[] = { { 7, 1 }, { 4, 4 } };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    for (int threads = 1; threads <= 2; threads++) {
        infer_model *m = small_image_model(11, cases[k].size);
        infer_engine *opt = engine_ok(m, (int)cases[k].max_batch, 1, threads);
        infer_engine *plain = engine_ok(m, (int)cases[k].max_batch, 0, threads);
        int freed = 0;
        for (int t = 0; t < opt->graph.n_tensors; t++)
            freed += opt->graph.tensors[t].is_constant && !opt->graph.tensors[t].data;
        infer_layer_info info;
        cr_assert_eq(infer_engine_layer(opt, 0, &info), INFER_OK);
        cr_assert(info.weights && strstr(info.weights, "small image"), "conv runs as: %s",
                  info.weights ? info.weights : "(no description)");
        cr_assert_geq(freed, 1, "the folded conv weight is read through the small path's packed copy only");
        for (int64_t batch = cases[k].max_batch; batch >= 1; batch--) {
            float *x = input_for(m, batch, 300 + (uint64_t)(threads * 10 + batch)), *a[1], *b[1];
            int64_t counts[1];
            run_copy(opt, m, batch, x, 1, a, counts);
            run_copy(plain, m, batch, x, 1, b, counts);
            expect_close(a, b, counts, 1, TOL, "small path on freed originals vs unoptimized", batch);
            free_all(a, 1);
            free_all(b, 1);
            free(x);
        }
        infer_engine_destroy(opt);
        infer_engine_destroy(plain);
        infer_model_free(m);
    }
}

/* One engine at batches 1, max, 2, 1 gives what a fresh engine gives at each. */
static void check_batch_sequence(infer_model *m, int n_out, int optimize) {
    const int64_t seq[] = { 1, 4, 2, 1, 3, 4 };
    infer_engine *e = engine_ok(m, 4, optimize, 1);
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        int64_t batch = seq[i];
        float *x = input_for(m, batch, 7 * i + 1), *a[4], *b[4];
        int64_t counts[4];
        run_copy(e, m, batch, x, n_out, a, counts);
        infer_engine *fresh = engine_ok(m, (int)batch, optimize, 1);
        run_copy(fresh, m, batch, x, n_out, b, counts);
        infer_engine_destroy(fresh);
        expect_close(a, b, counts, n_out, 1e-6, "reused engine vs a fresh one", batch);
        free_all(a, n_out);
        free_all(b, n_out);
        free(x);
    }
    infer_engine_destroy(e);
}

Test(engine, batch_sizes_in_a_row_match_fresh_engines) {
    infer_model *v = vision_model(3), *l = linear_model(4);
    for (int optimize = 0; optimize <= 1; optimize++) {
        check_batch_sequence(v, 1, optimize);
        check_batch_sequence(l, 2, optimize);
    }
    infer_model_free(v);
    infer_model_free(l);
}

/* Refused runs (wrong shape, batch over the maximum, wrong dtype, a shape inference failure) leave the
 * engine usable: the next runs are right. */
Test(engine, runs_after_refused_runs) {
    infer_model *m = vision_model(5);
    infer_engine *e = engine_ok(m, 2, 1, 2);
    float *x = input_for(m, 3, 9), *first[1], *again[1], *fresh_out[1];
    int64_t counts[1];
    run_copy(e, m, 2, x, 1, first, counts);
    infer_tensor in = model_input(m, 0, 2, x), out[1];
    infer_error err;
    in.dims[2] = 7;
    cr_assert_eq(infer_engine_run(e, &in, 1, out, 1, &err), INFER_ERR_SHAPE);
    in = model_input(m, 0, 3, x);
    cr_assert_eq(infer_engine_run(e, &in, 1, out, 1, &err), INFER_ERR_SHAPE, "batch 3 over max_batch 2");
    in = model_input(m, 0, 2, x);
    in.dtype = INFER_I32;
    cr_assert_eq(infer_engine_run(e, &in, 1, out, 1, &err), INFER_ERR_DTYPE);
    run_copy(e, m, 2, x, 1, again, counts);
    cr_assert_eq(rel_l2(again[0], first[0], counts[0]), 0.0);
    free(again[0]);
    cr_assert_eq(infer_engine_run(e, &in, 1, out, 1, &err), INFER_ERR_DTYPE);
    run_copy(e, m, 1, x, 1, again, counts);
    infer_engine *fresh = engine_ok(m, 1, 1, 2);
    run_copy(fresh, m, 1, x, 1, fresh_out, counts);
    expect_close(again, fresh_out, counts, 1, 1e-6, "after refused runs", 1);
    infer_engine_destroy(fresh);
    free(again[0]);
    free(fresh_out[0]);
    free(first[0]);
    free(x);
    infer_engine_destroy(e);
    infer_model_free(m);
}

/* x [-1,6] -> relu a -> reshape to a static [2,6]: only batch 2 works. A batch-1 run fails in shape inference,
 * half-way through the graph; the next batch-2 run must not use the half-updated shapes. */
Test(engine, run_after_a_shape_inference_failure) {
    ifg_writer *w = tw_new();
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(-1, 6)), a = tw_act(w, "a", INFER_F32, DIMS(-1, 6));
    uint32_t r = tw_act(w, "r", INFER_F32, DIMS(2, 6));
    tw_act_node(w, "relu", ACT_RELU, x, a);
    const int64_t shape[2] = { 2, 6 };
    tw_node(w, OP_RESHAPE, "rs", TW_IDS(a), TW_IDS(r));
    ifg_writer_attr_ints(w, "shape", shape, 2);
    tw_graph(w, TW_IDS(x), TW_IDS(r, a));
    infer_model *m = model_from_writer(w);
    infer_error err;
    infer_engine *e;
    cr_assert_eq(engine_for(m, 2, 1, 1, &e, &err), INFER_ERR_SHAPE, "batch 1 (the validation's) cannot reshape");
    cr_assert(strstr(err.message, "cannot reshape [1,6]"), "%s", err.message);
    e = engine_ok(m, 2, 0, 1);
    float x2[12];
    for (int i = 0; i < 12; i++) x2[i] = (float)(i - 5);
    infer_tensor in = model_input(m, 0, 2, x2), out[2];
    cr_assert_eq(infer_engine_run(e, &in, 1, out, 2, &err), INFER_OK, "%s", err.message);
    in = model_input(m, 0, 1, x2);
    cr_assert_eq(infer_engine_run(e, &in, 1, out, 2, &err), INFER_ERR_SHAPE);
    in = model_input(m, 0, 2, x2);
    cr_assert_eq(infer_engine_run(e, &in, 1, out, 2, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(out[0].dims[0], 2);
    cr_assert_eq(out[1].dims[0], 2);
    for (int i = 0; i < 12; i++) {
        cr_assert_eq(((float *)out[0].data)[i], x2[i] > 0 ? x2[i] : 0.0f, "at %d", i);
        cr_assert_eq(((float *)out[1].data)[i], x2[i] > 0 ? x2[i] : 0.0f, "at %d", i);
    }
    infer_engine_destroy(e);
    infer_model_free(m);
}
