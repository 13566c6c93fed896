/* test_int8_recurrent.c — lstm and gru with int8 w_ih / w_hh (dynamic INT8) and the int8 per-row embedding table
 * through the engine: every CPU ISA (its own INT8 GEMM path) and thread count against the scalar engine, the
 * INT8 recurrent layers within the INT8 error of the same weights in f32 (and measurably quantized), the gather
 * bit for bit the dequantized table, and the layer info. */
#include <criterion/criterion.h>
#include <string.h>
#include "testutil.h"
#include "engine_util.h"
#include "../../quant/quant_params.h"

#define T 6
#define B 3
#define I 13
#define H 17
#define RNN_TOL 1e-2 /* activation rounding (8 bits per row) over the sequence: measured 0.1-0.3% */

/* v as an int8 per-row constant (int8 1) or its dequantized values as a dense one (int8 0). */
static uint32_t weight(ifg_writer *w, const char *name, const float *v, int64_t n, int64_t per, int int8) {
    int8_t *q = malloc((size_t)(n * per));
    float *s = malloc((size_t)n * sizeof(float)), *deq = malloc((size_t)(n * per) * sizeof(float));
    cr_assert_eq(quant_weights_per_channel(v, n, per, q, s), 0);
    for (int64_t i = 0; i < n * per; i++) deq[i] = s[i / per] * (float)q[i];
    const int64_t dims[2] = { n, per };
    uint32_t id;
    if (int8) {
        char sn[64];
        snprintf(sn, sizeof sn, "%s.scale", name);
        id = ifg_writer_tensor(w, name, INFER_F32, 2, dims, q, (uint64_t)(n * per));
        uint32_t aux[3] = { tw_const(w, sn, INFER_F32, 1, &n, s), IFG_NONE, IFG_NONE };
        ifg_writer_encoding(w, id, IFG_ENC_INT8_CHANNEL, aux, 0, 0.0f, 0, 0);
    } else {
        id = tw_const(w, name, INFER_F32, 2, dims, deq);
    }
    free(q), free(s), free(deq);
    return id;
}

/* x [T, B, I] -> op (lstm or gru), 2 layers, bidirectional, hidden H, biases, no states -> y [T, B, 2H]. */
static infer_model *rnn_model(op_code op, int int8) {
    int gates = op == OP_LSTM ? 4 : 3;
    test_rng r = rng_seed(op == OP_LSTM ? 31 : 32);
    ifg_writer *w = tw_new();
    uint32_t ids[3 + 16], n = 0;
    ids[n++] = tw_act(w, "x", INFER_F32, DIMS(T, B, I));
    ids[n++] = IFG_NONE;
    if (op == OP_LSTM) ids[n++] = IFG_NONE;
    for (int g = 0; g < 4; g++) {
        int64_t in_f = g < 2 ? I : 2 * H, gh = gates * H;
        float *wi = rng_array(&r, gh * in_f, -0.4f, 0.4f), *wh = rng_array(&r, gh * H, -0.4f, 0.4f);
        float *bi = rng_array(&r, gh, -0.5f, 0.5f), *bh = rng_array(&r, gh, -0.5f, 0.5f);
        char name[32];
        snprintf(name, sizeof name, "w_ih%d", g);
        ids[n++] = weight(w, name, wi, gh, in_f, int8);
        snprintf(name, sizeof name, "w_hh%d", g);
        ids[n++] = weight(w, name, wh, gh, H, int8);
        snprintf(name, sizeof name, "b_ih%d", g);
        ids[n++] = tw_const(w, name, INFER_F32, DIMS(gh), bi);
        snprintf(name, sizeof name, "b_hh%d", g);
        ids[n++] = tw_const(w, name, INFER_F32, DIMS(gh), bh);
        free(wi), free(wh), free(bi), free(bh);
    }
    uint32_t y = tw_act(w, "y", INFER_F32, DIMS(T, B, 2 * H)), hn = tw_act(w, "h_n", INFER_F32, DIMS(4, B, H));
    uint32_t cn = tw_act(w, "c_n", INFER_F32, DIMS(4, B, H));
    if (op == OP_LSTM) tw_node(w, op, "rnn", (int)n, ids, TW_IDS(y, hn, cn));
    else tw_node(w, op, "rnn", (int)n, ids, TW_IDS(y, hn));
    ifg_writer_attr_int(w, "hidden", H);
    ifg_writer_attr_int(w, "layers", 2);
    ifg_writer_attr_int(w, "bidirectional", 1);
    tw_graph(w, TW_IDS(ids[0]), TW_IDS(y));
    return model_from_writer(w);
}

/* Runs m on x (CPU, isa, threads), output 0 (count floats) into y; INFER_ERR_UNSUPPORTED when the CPU lacks isa. */
static infer_status run(const infer_model *m, infer_cpu_isa isa, int threads, void *x, float *y, int64_t count,
                        infer_engine **keep) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.cpu_isa = isa;
    o.threads = threads;
    infer_engine *e = NULL;
    infer_error err;
    infer_status s = infer_engine_create(m, &o, &e, &err);
    if (s == INFER_ERR_UNSUPPORTED && isa != INFER_CPU_ISA_SCALAR) return s;
    cr_assert_eq(s, INFER_OK, "%s", err.message);
    infer_tensor in = model_input(m, 0, 1, x), out;
    cr_assert_eq(infer_engine_run(e, &in, 1, &out, 1, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(infer_tensor_elements(&out), count);
    memcpy(y, out.data, (size_t)count * sizeof(float));
    if (keep) *keep = e;
    else infer_engine_destroy(e);
    return INFER_OK;
}

static void check_rnn(op_code op) {
    infer_model *q = rnn_model(op, 1), *f = rnn_model(op, 0);
    test_rng r = rng_seed(9);
    float *x = rng_array(&r, T * B * I, -1.0f, 1.0f), ref[T * B * 2 * H], want[T * B * 2 * H], got[T * B * 2 * H];
    const int64_t count = T * B * 2 * H;
    run(f, INFER_CPU_ISA_SCALAR, 1, x, ref, count, NULL);
    infer_engine *e = NULL;
    run(q, INFER_CPU_ISA_SCALAR, 1, x, want, count, &e);
    double err = rel_l2(want, ref, count);
    cr_log_info("%s int8 against the same weights in f32: rel L2 %g", op_name(op), err);
    cr_assert(err < RNN_TOL && err > 1e-5, "%s INT8 against f32: relative L2 %g (quantized, within the INT8 error)",
              op_name(op), err);
    infer_layer_info l;
    cr_assert_eq(infer_engine_layer(e, 0, &l), INFER_OK);
    cr_assert(l.weights && strstr(l.weights, "int8 per-channel, dynamic, scalar"), "layer info '%s'", l.weights);
    infer_engine_destroy(e);
    /* the INT8 GEMM paths agree bit for bit; the gate math's vector exp/tanh differ from the scalar's by ulps */
    const infer_cpu_isa isas[] = { INFER_CPU_ISA_SCALAR, INFER_CPU_ISA_AVX2, INFER_CPU_ISA_AVX512, INFER_CPU_ISA_AUTO };
    for (int i = 0; i < 4; i++)
        for (int threads = 1; threads <= 3; threads += 2) {
            if (run(q, isas[i], threads, x, got, count, NULL) != INFER_OK) continue;
            double d = rel_l2(got, want, count);
            cr_assert(d < 1e-5, "%s %s, %d threads: rel L2 %g from the scalar engine", op_name(op),
                      infer_cpu_isa_name(isas[i]), threads, d);
        }
    free(x);
    infer_model_free(q);
    infer_model_free(f);
}

Test(int8_recurrent, lstm_every_isa_and_thread_count) { check_rnn(OP_LSTM); }
Test(int8_recurrent, gru_every_isa_and_thread_count) { check_rnn(OP_GRU); }

/* ids [2, 11] (i64) -> embedding of an int8 per-row table [37, 19] -> y [2, 11, 19]: exactly scale[id] * q[id]. */
Test(int8_recurrent, embedding_table_gathers_dequantized_rows_exactly) {
    test_rng r = rng_seed(12);
    float *table = rng_array(&r, 37 * 19, -2.0f, 2.0f);
    ifg_writer *w = tw_new();
    uint32_t ids = tw_act(w, "ids", INFER_I64, DIMS(2, 11)), tab = weight(w, "table", table, 37, 19, 1);
    uint32_t y = tw_act(w, "y", INFER_F32, DIMS(2, 11, 19));
    tw_node(w, OP_EMBEDDING, "embed", TW_IDS(ids, tab), TW_IDS(y));
    tw_graph(w, TW_IDS(ids), TW_IDS(y));
    infer_model *m = model_from_writer(w);
    int64_t id[22];
    for (int i = 0; i < 22; i++) id[i] = (int64_t)(rng_u64(&r) % 37);
    id[0] = 0, id[21] = 36;
    int8_t q[37 * 19];
    float s[37], want[22 * 19], got[22 * 19];
    cr_assert_eq(quant_weights_per_channel(table, 37, 19, q, s), 0);
    for (int i = 0; i < 22 * 19; i++) want[i] = s[id[i / 19]] * (float)q[id[i / 19] * 19 + i % 19];
    const infer_cpu_isa isas[] = { INFER_CPU_ISA_SCALAR, INFER_CPU_ISA_AVX512 };
    for (int i = 0; i < 2; i++)
        for (int threads = 1; threads <= 3; threads += 2) {
            infer_engine *e = NULL;
            if (run(m, isas[i], threads, id, got, 22 * 19, &e) != INFER_OK) continue;
            cr_assert(!memcmp(got, want, sizeof got), "%s, %d threads: not the dequantized rows",
                      infer_cpu_isa_name(isas[i]), threads);
            infer_layer_info l;
            cr_assert_eq(infer_engine_layer(e, 0, &l), INFER_OK);
            cr_assert(l.weights && strstr(l.weights, "int8 per-row"), "layer info '%s'", l.weights);
            infer_engine_destroy(e);
        }
    free(table);
    infer_model_free(m);
}
