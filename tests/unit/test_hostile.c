/* test_hostile.c — crafted model files that once got past the checks (re-created with the C writer), the
 * workspace sizes of crafted shapes, and a fuzzer that builds and runs an engine for every mutant of a
 * few small valid models that still loads (run it under `make sanitize`). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include "testutil.h"
#include "engine_util.h"
#include "kernel_util.h"
#include "test_ifg_util.h"

/* Engine creation must fail with status and a message containing fragment, optimized or not. */
static void expect_refused(const infer_model *m, int max_batch, infer_status status, const char *fragment) {
    for (int optimize = 0; optimize <= 1; optimize++) {
        infer_engine *e;
        infer_error err;
        infer_status s = engine_for(m, max_batch, optimize, 1, &e, &err);
        cr_assert_eq(s, status, "optimize %d: %s, expected %s (%s)", optimize, infer_status_name(s),
                     infer_status_name(status), s == INFER_OK ? "built" : err.message);
        cr_assert(strstr(err.message, fragment), "optimize %d: message '%s' lacks '%s'", optimize, err.message,
                  fragment);
        cr_assert_null(e);
    }
}

/* linear_u8out.ifg: a linear whose output is declared u8. The arena was sized for 1 byte per element and
 * the kernel wrote 4. */
Test(hostile, declared_output_dtype_refused) {
    static float w[4096 * 64];
    ifg_writer *wr = tw_new();
    uint32_t x = tw_act(wr, "x", INFER_F32, DIMS(1, 64)), wt = tw_const(wr, "w", INFER_F32, DIMS(4096, 64), w);
    uint32_t y = tw_act(wr, "y", INFER_U8, DIMS(1, 4096));
    tw_node(wr, OP_LINEAR, "fc", TW_IDS(x, wt), TW_IDS(y));
    tw_graph(wr, TW_IDS(x), TW_IDS(y));
    infer_model *m = model_from_writer(wr);
    expect_refused(m, 1, INFER_ERR_FORMAT, "node 0 'fc' (linear): output 0 'y' is declared u8, expected f32");
    infer_model_free(m);

    wr = tw_new(); /* softmax_boolout.ifg */
    x = tw_act(wr, "x", INFER_F32, DIMS(1, 64));
    y = tw_act(wr, "y", INFER_BOOL, DIMS(1, 64));
    tw_node(wr, OP_SOFTMAX, "sm", TW_IDS(x), TW_IDS(y));
    tw_graph(wr, TW_IDS(x), TW_IDS(y));
    m = model_from_writer(wr);
    expect_refused(m, 1, INFER_ERR_FORMAT, "output 0 'y' is declared bool, expected f32");
    infer_model_free(m);
}

/* lstm_f16b.ifg: w_hh stored as f16 was read as f32, past the end of its data. */
Test(hostile, lstm_f16_weights_refused) {
    enum { H = 8, I = 16 };
    static float wih[4 * H * I];
    static uint16_t whh[4 * H * H];
    ifg_writer *wr = tw_new();
    uint32_t x = tw_act(wr, "x", INFER_F32, DIMS(1, 5, I));
    uint32_t a = tw_const(wr, "wih", INFER_F32, DIMS(4 * H, I), wih), b = tw_const(wr, "whh", INFER_F16, DIMS(4 * H, H), whh);
    uint32_t y = tw_act(wr, "y", INFER_F32, DIMS(1, 5, H)), hn = tw_act(wr, "hn", INFER_F32, DIMS(1, 1, H));
    uint32_t cn = tw_act(wr, "cn", INFER_F32, DIMS(1, 1, H));
    tw_node(wr, OP_LSTM, "lstm", TW_IDS(x, IFG_NONE, IFG_NONE, a, b, IFG_NONE, IFG_NONE), TW_IDS(y, hn, cn));
    ifg_writer_attr_int(wr, "hidden", H);
    ifg_writer_attr_int(wr, "layers", 1);
    ifg_writer_attr_int(wr, "batch_first", 1);
    tw_graph(wr, TW_IDS(x), TW_IDS(y));
    infer_model *m = model_from_writer(wr);
    expect_refused(m, 1, INFER_ERR_FORMAT, "node 0 'lstm' (lstm): layer 0 w_hh (input 4) is f16, expected f32");
    infer_model_free(m);

    /* The kernel itself refuses it too. */
    cpu_ctx ctx = kernel_ctx(1);
    float xd[5 * I] = { 0 }, yd[5 * H], hd[H], cd[H];
    ir_node n = kernel_node(OP_LSTM, 7);
    n.n_out = 3;
    n.p.lstm = (lstm_params){ H, 1, 1, 0 };
    infer_tensor in[7] = { tview(INFER_F32, xd, DIMS(1, 5, I)), { 0 }, { 0 }, tview(INFER_F32, wih, DIMS(4 * H, I)),
                           tview(INFER_F16, whh, DIMS(4 * H, H)), { 0 }, { 0 } };
    infer_tensor out[3] = { tview(INFER_F32, yd, DIMS(1, 5, H)), tview(INFER_F32, hd, DIMS(1, 1, H)),
                            tview(INFER_F32, cd, DIMS(1, 1, H)) };
    infer_error err;
    cr_assert_eq(cpu_lstm(&ctx, &n, in, out, &err), INFER_ERR_DTYPE);
    cr_assert(strstr(err.message, "lstm: input 4 is f16, expected f32"), "%s", err.message);
}

/* attn_wrap.ifg: 256 threads x Lq x Lk x 4 bytes with Lq = Lk = 2^27 is 2^64: the size wrapped to 0 and the
 * kernel, checking against the same wrapped size, ran with no workspace. */
Test(hostile, workspace_sizes_do_not_wrap) {
    const int64_t L = (int64_t)1 << 27;
    float tiny[4] = { 0 };
    infer_tensor in[4] = { tview(INFER_F32, tiny, DIMS(1, L, 1)), tview(INFER_F32, tiny, DIMS(1, L, 1)),
                           tview(INFER_F32, tiny, DIMS(1, L, 1)), { 0 } };
    infer_tensor out = tview(INFER_F32, tiny, DIMS(1, L, 1));
    ir_node n = kernel_node(OP_ATTENTION, 3);
    n.p.attention = (attention_params){ 1, 0, 0 };
    cr_assert_eq(cpu_attention_workspace(&n, in, &out, 256), SIZE_MAX);
    cr_assert_eq(cpu_workspace_size(&n, in, &out, 256), SIZE_MAX, "the engine sees it too");
    cr_assert_eq(cpu_attention_workspace(&n, in, &out, 1), (size_t)1 << 56);
    cr_assert_eq(cpu_attention_workspace(&n, in, &out, 1 << 6), (size_t)1 << 62);
    cr_assert_eq(cpu_attention_workspace(&n, in, &out, 1 << 7), SIZE_MAX, "2^63 bytes: more than PTRDIFF_MAX");
    cpu_ctx ctx = kernel_ctx(1);
    ctx.threads = 256;
    ctx.scratch = (uint8_t *)tiny;
    infer_error err;
    cr_assert_eq(cpu_attention(&ctx, &n, in, &out, &err), INFER_ERR_INTERNAL, "it must not run on no workspace");

    /* lstm: [T*B, 4H] floats and more */
    const int64_t big = (int64_t)1 << 31;
    ir_node l = kernel_node(OP_LSTM, 7);
    l.n_out = 3;
    l.p.lstm = (lstm_params){ 1 << 30, 2, 1, 0 };
    infer_tensor lin[1] = { tview(INFER_F32, tiny, DIMS(big, big, 4)) };
    cr_assert_eq(cpu_lstm_workspace(&l, lin, NULL, 1), SIZE_MAX);
    l.p.lstm.hidden = 4;
    lin[0] = tview(INFER_F32, tiny, DIMS(2, 3, 4));
    size_t need = cpu_lstm_workspace(&l, lin, NULL, 1);
    cr_assert(need != SIZE_MAX && need >= (size_t)(6 * 16 + 2 * 16 + 16 + 6 * 4) * sizeof(float), "%zu", need);
}

/* bn_linear3d.ifg: the linear's output declared [-1,4] but really [1,4,4]; BatchNorm was folded into it on
 * the declared rank, so optimized and unoptimized engines disagreed. The declaration is refused. */
Test(hostile, undeclared_rank_refused) {
    float eye[16] = { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1 }, g[4] = { 1, 2, 3, 4 }, z[4] = { 0 };
    float one[4] = { 1, 1, 1, 1 };
    ifg_writer *wr = tw_new();
    uint32_t x = tw_act(wr, "x", INFER_F32, DIMS(1, 4, 4)), w = tw_const(wr, "w", INFER_F32, DIMS(4, 4), eye);
    uint32_t l = tw_act(wr, "l", INFER_F32, DIMS(-1, 4)), y = tw_act(wr, "y", INFER_F32, DIMS(1, 4, 4));
    uint32_t gam = tw_const(wr, "gam", INFER_F32, DIMS(4), g), bet = tw_const(wr, "bet", INFER_F32, DIMS(4), z);
    uint32_t mu = tw_const(wr, "mu", INFER_F32, DIMS(4), z), var = tw_const(wr, "var", INFER_F32, DIMS(4), one);
    tw_node(wr, OP_LINEAR, "lin", TW_IDS(x, w), TW_IDS(l));
    tw_node(wr, OP_BATCHNORM, "bn", TW_IDS(l, gam, bet, mu, var), TW_IDS(y));
    ifg_writer_attr_float(wr, "eps", 0.0);
    tw_graph(wr, TW_IDS(x), TW_IDS(y));
    infer_model *m = model_from_writer(wr);
    expect_refused(m, 1, INFER_ERR_FORMAT, "tensor 'l' (output 0 of node 0 'lin' (linear)) is declared [-1,4], "
                                           "inferred [1,4,4] at batch 1");
    infer_model_free(m);
}

/* inplace_bcast.ifg: y = relu(x [B,4]) + c [3,4], y declared [3,4], max_batch 3. At batch 3 the add's input
 * and output have the same size, so it ran in place; at batch 1 its input is one row broadcast over three,
 * and writing row 0 of y destroyed what rows 1 and 2 read. */
Test(hostile, in_place_broadcast_at_a_smaller_batch) {
    float c[12];
    for (int i = 0; i < 12; i++) c[i] = (float)(i * 100);
    ifg_writer *wr = tw_new();
    uint32_t x = tw_act(wr, "x", INFER_F32, DIMS(-1, 4)), a = tw_act(wr, "a", INFER_F32, DIMS(-1, 4));
    uint32_t ct = tw_const(wr, "c", INFER_F32, DIMS(3, 4), c), y = tw_act(wr, "y", INFER_F32, DIMS(3, 4));
    tw_node(wr, OP_ACTIVATION, "relu", TW_IDS(x), TW_IDS(a));
    ifg_writer_attr_int(wr, "kind", ACT_RELU);
    tw_node(wr, OP_BINARY, "add", TW_IDS(a, ct), TW_IDS(y));
    ifg_writer_attr_int(wr, "kind", BIN_ADD);
    tw_graph(wr, TW_IDS(x), TW_IDS(y));
    infer_model *m = model_from_writer(wr);
    float xd[12] = { 1, -2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
    for (int optimize = 0; optimize <= 1; optimize++) {
        infer_engine *e = engine_ok(m, 3, optimize, 1);
        infer_error err;
        infer_tensor out[1];
        for (int pass = 0; pass < 2; pass++) {
            infer_tensor in = model_input(m, 0, 1, xd);
            cr_assert_eq(infer_engine_run(e, &in, 1, out, 1, &err), INFER_OK, "%s", err.message);
            cr_assert_eq(out[0].dims[0], 3);
            for (int i = 0; i < 12; i++) {
                float want = (xd[i % 4] > 0 ? xd[i % 4] : 0) + c[i];
                cr_assert_eq(((float *)out[0].data)[i], want, "optimize %d, element %d: %g, expected %g", optimize, i,
                             ((float *)out[0].data)[i], want);
            }
            in = model_input(m, 0, 3, xd); /* and back at the maximum batch */
            cr_assert_eq(infer_engine_run(e, &in, 1, out, 1, &err), INFER_OK, "%s", err.message);
            for (int i = 0; i < 12; i++) cr_assert_eq(((float *)out[0].data)[i], (xd[i] > 0 ? xd[i] : 0) + c[i]);
        }
        infer_engine_destroy(e);
    }
    infer_model_free(m);
}

/* reduce_empty.ifg: reduce with no axes. Shape inference read it as reducing nothing ([2,3]), the kernel as
 * reducing everything. It reduces every dim (docs/OPS.md), like torch.sum(x, dim=[]). */
Test(hostile, reduce_without_axes) {
    for (int declared_scalar = 0; declared_scalar <= 1; declared_scalar++) {
        ifg_writer *wr = tw_new();
        uint32_t x = tw_act(wr, "x", INFER_F32, DIMS(2, 3));
        uint32_t y = declared_scalar ? tw_act(wr, "y", INFER_F32, 0, NULL) : tw_act(wr, "y", INFER_F32, DIMS(2, 3));
        tw_node(wr, OP_REDUCE, "r", TW_IDS(x), TW_IDS(y));
        ifg_writer_attr_int(wr, "kind", RED_SUM);
        ifg_writer_attr_ints(wr, "axes", NULL, 0);
        tw_graph(wr, TW_IDS(x), TW_IDS(y));
        infer_model *m = model_from_writer(wr);
        if (!declared_scalar) {
            expect_refused(m, 0, INFER_ERR_FORMAT, "tensor 'y' (output 0 of node 0 'r' (reduce)) is declared [2,3], "
                                                   "inferred []");
        } else {
            infer_engine *e = engine_ok(m, 0, 1, 1);
            float xd[6] = { 1, 2, 3, 4, 5, 6.5f };
            infer_tensor in = model_input(m, 0, 1, xd), out[1];
            infer_error err;
            cr_assert_eq(infer_engine_run(e, &in, 1, out, 1, &err), INFER_OK, "%s", err.message);
            cr_assert_eq(out[0].ndim, 0);
            cr_assert_eq(((float *)out[0].data)[0], 21.5f);
            infer_engine_destroy(e);
        }
        infer_model_free(m);
    }
}

/* ---- fuzzing: every mutant that loads is built and run ------------------------------------------- */

/* ids [-1,5] (i64) -> embedding [10,8] -> layernorm -> attention (2 heads) + residual -> lstm (H 4)
 * -> mean over time [-1,4]; compare > 0 -> where(cond, mean, neg), and cast to i64 -> sum; a transpose, a
 * slice, a concat and an expand on the way. */
static uint8_t *sequence_model(uint64_t *size) {
    test_rng r = rng_seed(31);
    static float emb[80], lnw[8], wih[16 * 8], whh[16 * 4], bih[16], zero4[4];
    rng_fill(&r, emb, 80, -1, 1);
    rng_fill(&r, lnw, 8, 0.5f, 1.5f);
    rng_fill(&r, wih, 128, -0.5f, 0.5f);
    rng_fill(&r, whh, 64, -0.5f, 0.5f);
    rng_fill(&r, bih, 16, -0.5f, 0.5f);
    ifg_writer *w = tw_new();
    uint32_t ids = tw_act(w, "ids", INFER_I64, DIMS(-1, 5));
    uint32_t E = tw_const(w, "emb", INFER_F32, DIMS(10, 8), emb), LW = tw_const(w, "ln.w", INFER_F32, DIMS(8), lnw);
    uint32_t WI = tw_const(w, "w_ih", INFER_F32, DIMS(16, 8), wih), WH = tw_const(w, "w_hh", INFER_F32, DIMS(16, 4), whh);
    uint32_t BI = tw_const(w, "b_ih", INFER_F32, DIMS(16), bih), Z = tw_const(w, "zero", INFER_F32, DIMS(1, 4), zero4);
    uint32_t e = tw_act(w, "e", INFER_F32, DIMS(-1, 5, 8)), n = tw_act(w, "n", INFER_F32, DIMS(-1, 5, 8));
    uint32_t at = tw_act(w, "at", INFER_F32, DIMS(-1, 5, 8)), s = tw_act(w, "s", INFER_F32, DIMS(-1, 5, 8));
    uint32_t y = tw_act(w, "y", INFER_F32, DIMS(-1, 5, 4)), hn = tw_act(w, "hn", INFER_F32, DIMS(1, 1, 4));
    uint32_t cn = tw_act(w, "cn", INFER_F32, DIMS(1, 1, 4)), mean = tw_act(w, "mean", INFER_F32, DIMS(-1, 4));
    uint32_t cond = tw_act(w, "cond", INFER_BOOL, DIMS(-1, 4)), neg = tw_act(w, "neg", INFER_F32, DIMS(-1, 4));
    uint32_t wh = tw_act(w, "wh", INFER_F32, DIMS(-1, 4)), ci = tw_act(w, "ci", INFER_I64, DIMS(-1, 4));
    uint32_t tot = tw_act(w, "tot", INFER_I64, DIMS(-1)), tr = tw_act(w, "tr", INFER_F32, DIMS(-1, 4, 5));
    uint32_t sl = tw_act(w, "sl", INFER_F32, DIMS(-1, 4, 2)), zx = tw_act(w, "zx", INFER_F32, DIMS(2, 4));
    uint32_t cat = tw_act(w, "cat", INFER_F32, DIMS(-1, 8));
    tw_node(w, OP_EMBEDDING, "embed", TW_IDS(ids, E), TW_IDS(e));
    tw_node(w, OP_LAYERNORM, "ln", TW_IDS(e, LW, IFG_NONE), TW_IDS(n));
    tw_node(w, OP_ATTENTION, "attn", TW_IDS(n, n, n), TW_IDS(at));
    ifg_writer_attr_int(w, "heads", 2);
    tw_node(w, OP_BINARY, "res", TW_IDS(at, e), TW_IDS(s));
    ifg_writer_attr_int(w, "kind", BIN_ADD);
    tw_node(w, OP_LSTM, "lstm", TW_IDS(s, IFG_NONE, IFG_NONE, WI, WH, BI, IFG_NONE), TW_IDS(y, hn, cn));
    ifg_writer_attr_int(w, "hidden", 4);
    ifg_writer_attr_int(w, "layers", 1);
    ifg_writer_attr_int(w, "batch_first", 1);
    const int64_t axes[1] = { 1 }, perm[3] = { 0, 2, 1 }, shape[2] = { 2, 4 };
    tw_node(w, OP_REDUCE, "mean", TW_IDS(y), TW_IDS(mean));
    ifg_writer_attr_int(w, "kind", RED_MEAN);
    ifg_writer_attr_ints(w, "axes", axes, 1);
    tw_node(w, OP_COMPARE, "gt", TW_IDS(mean), TW_IDS(cond));
    ifg_writer_attr_int(w, "kind", CMP_GT);
    ifg_writer_attr_float(w, "scalar", 0.0);
    tw_node(w, OP_UNARY, "neg", TW_IDS(mean), TW_IDS(neg));
    ifg_writer_attr_int(w, "kind", UN_NEG);
    tw_node(w, OP_WHERE, "where", TW_IDS(cond, mean, neg), TW_IDS(wh));
    tw_node(w, OP_CAST, "cast", TW_IDS(cond), TW_IDS(ci));
    ifg_writer_attr_int(w, "dtype", INFER_I64);
    tw_node(w, OP_REDUCE, "sum", TW_IDS(ci), TW_IDS(tot));
    ifg_writer_attr_int(w, "kind", RED_SUM);
    ifg_writer_attr_ints(w, "axes", axes, 1);
    tw_node(w, OP_TRANSPOSE, "tr", TW_IDS(y), TW_IDS(tr));
    ifg_writer_attr_ints(w, "perm", perm, 3);
    tw_node(w, OP_SLICE, "sl", TW_IDS(tr), TW_IDS(sl));
    ifg_writer_attr_int(w, "axis", -1);
    ifg_writer_attr_int(w, "start", 1);
    ifg_writer_attr_int(w, "end", 3);
    tw_node(w, OP_EXPAND, "ex", TW_IDS(Z), TW_IDS(zx));
    ifg_writer_attr_ints(w, "shape", shape, 2);
    tw_node(w, OP_CONCAT, "cat", TW_IDS(wh, neg), TW_IDS(cat));
    ifg_writer_attr_int(w, "axis", 1);
    tw_graph(w, TW_IDS(ids), TW_IDS(cat, tot, sl, zx));
    return writer_bytes(w, size);
}

/* x [-1,2,6,6] -> conv 3x3 + BN + relu -> avgpool 2 -> adaptive pool 2x2 -> reshape [-1,16] -> linear 16->5
 * (+ residual from a second linear) -> softmax; a matmul and a masked_fill on a side branch. */
static uint8_t *vision_model(uint64_t *size) {
    test_rng r = rng_seed(32);
    static float cw[4 * 2 * 9], cb[4], bn[16], fw[5 * 16], gw[5 * 16], mm[16 * 3];
    static uint8_t mask[5] = { 0, 1, 0, 0, 1 };
    rng_fill(&r, cw, 72, -0.5f, 0.5f);
    rng_fill(&r, cb, 4, -0.5f, 0.5f);
    rng_fill(&r, bn, 16, 0.5f, 1.5f);
    rng_fill(&r, fw, 80, -0.5f, 0.5f);
    rng_fill(&r, gw, 80, -0.5f, 0.5f);
    rng_fill(&r, mm, 48, -0.5f, 0.5f);
    ifg_writer *w = tw_new();
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(-1, 2, 6, 6));
    uint32_t CW = tw_const(w, "cw", INFER_F32, DIMS(4, 2, 3, 3), cw), CB = tw_const(w, "cb", INFER_F32, DIMS(4), cb);
    uint32_t B[4];
    for (int i = 0; i < 4; i++) B[i] = tw_const(w, (const char *[]){ "g", "b", "m", "v" }[i], INFER_F32, DIMS(4), bn + 4 * i);
    uint32_t FW = tw_const(w, "fw", INFER_F32, DIMS(5, 16), fw), GW = tw_const(w, "gw", INFER_F32, DIMS(5, 16), gw);
    uint32_t MM = tw_const(w, "mm", INFER_F32, DIMS(16, 3), mm), MK = tw_const(w, "mask", INFER_BOOL, DIMS(5), mask);
    uint32_t c = tw_act(w, "c", INFER_F32, DIMS(-1, 4, 6, 6)), nb = tw_act(w, "nb", INFER_F32, DIMS(-1, 4, 6, 6));
    uint32_t re = tw_act(w, "re", INFER_F32, DIMS(-1, 4, 6, 6)), ap = tw_act(w, "ap", INFER_F32, DIMS(-1, 4, 3, 3));
    uint32_t ad = tw_act(w, "ad", INFER_F32, DIMS(-1, 4, 2, 2)), f = tw_act(w, "f", INFER_F32, DIMS(-1, 16));
    uint32_t g = tw_act(w, "g2", INFER_F32, DIMS(-1, 5)), l = tw_act(w, "l", INFER_F32, DIMS(-1, 5));
    uint32_t sm = tw_act(w, "sm", INFER_F32, DIMS(-1, 5)), mo = tw_act(w, "mo", INFER_F32, DIMS(-1, 3));
    uint32_t mf = tw_act(w, "mf", INFER_F32, DIMS(-1, 5));
    tw_node(w, OP_CONV2D, "conv", TW_IDS(x, CW, CB), TW_IDS(c));
    const int64_t one[2] = { 1, 1 }, two[2] = { 2, 2 }, flat[2] = { -1, 16 };
    ifg_writer_attr_ints(w, "padding", one, 2);
    tw_node(w, OP_BATCHNORM, "bn", TW_IDS(c, B[0], B[1], B[2], B[3]), TW_IDS(nb));
    tw_node(w, OP_ACTIVATION, "relu", TW_IDS(nb), TW_IDS(re));
    ifg_writer_attr_int(w, "kind", ACT_RELU);
    tw_node(w, OP_AVGPOOL2D, "avg", TW_IDS(re), TW_IDS(ap));
    ifg_writer_attr_ints(w, "kernel", two, 2);
    tw_node(w, OP_ADAPTIVE_AVGPOOL2D, "adapt", TW_IDS(ap), TW_IDS(ad));
    ifg_writer_attr_ints(w, "output_size", two, 2);
    tw_node(w, OP_RESHAPE, "flat", TW_IDS(ad), TW_IDS(f));
    ifg_writer_attr_ints(w, "shape", flat, 2);
    tw_node(w, OP_LINEAR, "side", TW_IDS(f, GW), TW_IDS(g));
    tw_node(w, OP_LINEAR, "fc", TW_IDS(f, FW, IFG_NONE, g), TW_IDS(l));
    tw_node(w, OP_SOFTMAX, "softmax", TW_IDS(l), TW_IDS(sm));
    tw_node(w, OP_MATMUL, "mm", TW_IDS(f, MM), TW_IDS(mo));
    tw_node(w, OP_MASKED_FILL, "mf", TW_IDS(sm, MK), TW_IDS(mf));
    ifg_writer_attr_float(w, "value", -1.0);
    tw_graph(w, TW_IDS(x), TW_IDS(mf, mo));
    return writer_bytes(w, size);
}

static int64_t small_value(test_rng *r) {
    static const int64_t v[] = { -2, -1, 0, 1, 2, 3, 4, 5, 8 };
    return v[rng_u64(r) % (sizeof v / sizeof v[0])];
}

/* Where the tables of a base model are, read once from the valid base (a mutation may garble the section
 * table itself). */
typedef struct {
    uint64_t offset[IFG_SEC_COUNT], count[IFG_SEC_COUNT], entry[IFG_SEC_COUNT], data_offset;
} layout;

static layout layout_of(blob b) {
    layout l;
    memset(&l, 0, sizeof l);
    for (uint32_t kind = IFG_SEC_STRINGS; kind < IFG_SEC_COUNT_1_0; kind++) { /* a 1.0 base */
        const uint8_t *s = section_of(b, kind);
        cr_assert_not_null(s);
        l.entry[kind] = get32(s + 4);
        l.offset[kind] = get64(s + 8);
        l.count[kind] = get64(s + 24);
    }
    l.data_offset = get64(b.bytes + H_DATA_OFFSET);
    return l;
}

static uint8_t *entry_at(blob b, const layout *l, uint32_t kind, uint64_t i) {
    return b.bytes + l->offset[kind] + (i % l->count[kind]) * l->entry[kind];
}

/* One structural mutation: a tensor's dtype, rank or a dim; a node's op; an attribute value; a tensor id of a
 * node or the graph; or a random byte of the tables. Values stay small, so that what loads stays small. */
static void mutate_model(test_rng *r, blob b, const layout *l) {
    uint64_t pick = rng_u64(r);
    switch (rng_u64(r) % 6) {
    case 0:
    case 1: {
        uint8_t *e = entry_at(b, l, IFG_SEC_TENSORS, pick);
        int ndim = e[T_NDIM] < 1 ? 1 : e[T_NDIM] > INFER_MAX_DIMS ? INFER_MAX_DIMS : e[T_NDIM];
        switch (rng_u64(r) % 3) {
        case 0: e[T_DTYPE] = (uint8_t)(1 + rng_u64(r) % 8); break;
        case 1: e[T_NDIM] = (uint8_t)(rng_u64(r) % 5); break;
        default: put64(e + T_DIMS + 8 * (rng_u64(r) % (uint64_t)ndim), (uint64_t)small_value(r)); break;
        }
        break;
    }
    case 2: put16(entry_at(b, l, IFG_SEC_NODES, pick) + N_OP, (uint16_t)(1 + rng_u64(r) % 26)); break;
    case 3: {
        uint8_t *a = entry_at(b, l, IFG_SEC_ATTRS, pick);
        uint64_t type = get32(a + A_TYPE), count = get32(a + A_COUNT), first = get64(a + A_VALUE);
        if (type == IFG_ATTR_INT) put64(a + A_VALUE, (uint64_t)small_value(r));
        else if (type == IFG_ATTR_FLOAT) put64(a + A_VALUE, (uint64_t)small_value(r) << 52);
        else if (type == IFG_ATTR_INTS && count && first < l->count[IFG_SEC_VALUES])
            put64(entry_at(b, l, IFG_SEC_VALUES, first + rng_u64(r) % count), (uint64_t)small_value(r));
        break;
    }
    case 4:
        put32(entry_at(b, l, IFG_SEC_IDS, pick),
              rng_u64(r) % 8 ? (uint32_t)(rng_u64(r) % l->count[IFG_SEC_TENSORS]) : IFG_NONE);
        break;
    default: b.bytes[128 + pick % (l->data_offset - 128)] = (uint8_t)rng_u64(r); break;
    }
}

/* Input data for a model input: small values of its dtype (ids and indices 0..2, bools 0/1). */
static void *input_data(test_rng *r, const infer_tensor *t) {
    int64_t n = infer_tensor_elements(t);
    size_t es = infer_dtype_size(t->dtype);
    uint8_t *p = calloc((size_t)(n ? n : 1), es ? es : 1);
    for (int64_t i = 0; i < n; i++) {
        if (t->dtype == INFER_F32) ((float *)p)[i] = rng_float(r, -1, 1);
        else if (t->dtype == INFER_F16 || t->dtype == INFER_BF16) ((uint16_t *)p)[i] = 0x3C00;
        else {
            uint64_t v = rng_u64(r) % (t->dtype == INFER_BOOL ? 2 : 3);
            switch (es) {
            case 1: p[i] = (uint8_t)v; break;
            case 4: ((int32_t *)p)[i] = (int32_t)v; break;
            default: ((int64_t *)p)[i] = (int64_t)v; break;
            }
        }
    }
    return p;
}

/* Builds an engine (optimized or not) for a model that loaded and runs it at batch 1 and at max_batch;
 * anything may be refused, nothing may crash. Counts engines built and runs that succeeded. */
static void build_and_run(test_rng *r, const infer_model *m, int *built, int *ran) {
    for (int optimize = 0; optimize <= 1; optimize++) {
        infer_engine *e;
        infer_error err;
        int max_batch = 1 + (int)(rng_u64(r) % 3);
        infer_status s = engine_for(m, max_batch, optimize, 1 + (int)(rng_u64(r) % 2), &e, &err);
        if (s != INFER_OK) {
            cr_assert(strlen(err.message) > 0, "refused without a message");
            cr_assert_null(e);
            continue;
        }
        (*built)++;
        infer_engine_stats st;
        infer_engine_stats_get(e, &st);
        int n_in = infer_model_input_count(m), n_out = infer_model_output_count(m);
        for (int batch = 1; batch <= max_batch && st.arena_bytes < ((uint64_t)64 << 20); batch += max_batch > 1 ? max_batch - 1 : 1) {
            infer_tensor in[8], out[8];
            void *data[8] = { 0 };
            int ok = n_in <= 8 && n_out <= 8;
            for (int i = 0; ok && i < n_in; i++) {
                in[i] = model_input(m, i, batch, NULL);
                ok = infer_tensor_elements(&in[i]) <= (1 << 20);
                if (ok) in[i].data = data[i] = input_data(r, &in[i]);
            }
            if (ok) {
                s = infer_engine_run(e, in, n_in, out, n_out, &err);
                if (s == INFER_OK) {
                    (*ran)++;
                    for (int k = 0; k < n_out; k++) { /* every byte of every output is readable */
                        volatile uint8_t sink = 0;
                        size_t bytes = (size_t)infer_tensor_elements(&out[k]) * infer_dtype_size(out[k].dtype);
                        for (size_t j = 0; j < bytes; j++) sink ^= ((const uint8_t *)out[k].data)[j];
                        (void)sink;
                    }
                } else {
                    cr_assert(strlen(err.message) > 0, "a run refused without a message");
                }
            }
            for (int i = 0; i < n_in; i++) free(data[i]);
        }
        infer_engine_destroy(e);
    }
}

/* A base model builds and runs at batch 2, optimized or not. */
static void expect_runs(test_rng *r, const infer_model *m) {
    for (int optimize = 0; optimize <= 1; optimize++) {
        infer_engine *e = engine_ok(m, 2, optimize, 1);
        int n_in = infer_model_input_count(m), n_out = infer_model_output_count(m);
        infer_tensor in[8], out[8];
        for (int i = 0; i < n_in; i++) {
            in[i] = model_input(m, i, 2, NULL);
            in[i].data = input_data(r, &in[i]);
        }
        infer_error err;
        cr_assert_eq(infer_engine_run(e, in, n_in, out, n_out, &err), INFER_OK, "optimize %d: %s", optimize,
                     err.message);
        for (int i = 0; i < n_in; i++) free(in[i].data);
        infer_engine_destroy(e);
    }
}

Test(hostile, fuzz_mutants_build_and_run, .timeout = 600) {
    blob bases[3];
    bases[0] = sample_blob();
    bases[1].bytes = sequence_model(&bases[1].size);
    bases[2].bytes = vision_model(&bases[2].size);
    layout layouts[3] = { layout_of(bases[0]), layout_of(bases[1]), layout_of(bases[2]) };
    /* INFER_FUZZ_ITERATIONS and INFER_FUZZ_SEED run a longer or another campaign. */
    const char *env_it = getenv("INFER_FUZZ_ITERATIONS"), *env_seed = getenv("INFER_FUZZ_SEED");
    int iterations = env_it ? atoi(env_it) : 3000;
    test_rng r = rng_seed(env_seed ? strtoull(env_seed, NULL, 10) : 77);
    int loaded = 0, built = 0, ran = 0;
    for (int b = 0; b < 3; b++) { /* the bases themselves build and run */
        infer_model *m;
        infer_error err;
        cr_assert_eq(model_from_bytes(bases[b].bytes, bases[b].size, &m, &err), INFER_OK, "base %d: %s", b, err.message);
        expect_runs(&r, m);
        infer_model_free(m);
    }
    for (int it = 0; it < iterations; it++) {
        blob b = blob_prefix(bases[it % 3], bases[it % 3].size);
        int mutations = 1 + (int)(rng_u64(&r) % 3);
        for (int k = 0; k < mutations; k++) mutate_model(&r, b, &layouts[it % 3]);
        restamp(b);
        infer_model *m;
        infer_error err;
        if (model_from_bytes(b.bytes, b.size, &m, &err) == INFER_OK) {
            loaded++;
            build_and_run(&r, m, &built, &ran);
            infer_model_free(m);
        }
        free(b.bytes);
    }
    cr_log_info("engine fuzz: %d mutants loaded, %d engines built, %d runs succeeded", loaded, built, ran);
    cr_assert_gt(loaded, iterations / 5, "mutants that load: %d", loaded);
    cr_assert_gt(built, iterations / 10, "engines built: %d", built);
    for (int b = 0; b < 3; b++) free(bases[b].bytes);
}
