/* test_sparse_choice.c — the engine option that chooses how sparse weights run on the CPU (infer_engine_options.sparse):
 * forced sparse or dense, or timed per layer at engine build; every choice gives the dense result. */
#include <math.h>
#include <string.h>
#include "engine_util.h"

#define ROWS 64
#define COLS 96

/* y = x · wᵀ + b with w [ROWS, COLS] stored CSR at about 5% density; the dense weight in *dense; x [batch, COLS]
 * (-1: a dynamic batch). */
static infer_model *csr_linear_model_at(float *dense, int64_t batch) {
    static float val[ROWS * COLS];
    static int32_t idx[ROWS * COLS], ptr[ROWS + 1];
    float bias[ROWS];
    uint32_t s = 12345u;
    int64_t nnz = 0;
    ptr[0] = 0;
    for (int r = 0; r < ROWS; r++) {
        for (int c = 0; c < COLS; c++) {
            s = s * 1664525u + 1013904223u;
            float v = (s >> 24) < 13 ? (float)((int)(s >> 8 & 255) - 128) / 64.0f + 0.01f : 0.0f;
            dense[r * COLS + c] = v;
            if (v != 0.0f) val[nnz] = v, idx[nnz++] = c;
        }
        ptr[r + 1] = (int32_t)nnz;
        bias[r] = (float)r / ROWS - 0.5f;
    }
    ifg_writer *w = tw_new();
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(batch, COLS)), y = tw_act(w, "y", INFER_F32, DIMS(batch, ROWS));
    uint32_t wt = ifg_writer_tensor(w, "w", INFER_F32, DIMS(ROWS, COLS), val, (uint64_t)nnz * sizeof(float));
    uint32_t aux[3] = { tw_const(w, "w.col_idx", INFER_I32, DIMS(nnz), idx),
                        tw_const(w, "w.row_ptr", INFER_I32, DIMS(ROWS + 1), ptr), IFG_NONE };
    ifg_writer_encoding(w, wt, IFG_ENC_CSR, aux, 0, 0.0f, 0, 0);
    uint32_t b = tw_const(w, "b", INFER_F32, DIMS(ROWS), bias);
    tw_node(w, OP_LINEAR, "fc", TW_IDS(x, wt, b), TW_IDS(y));
    tw_graph(w, TW_IDS(x), TW_IDS(y));
    return model_from_writer(w);
}

static infer_model *csr_linear_model(float *dense) { return csr_linear_model_at(dense, 3); }

/* Builds an engine with option sparse, runs it on x and checks y against the dense product; returns the layer's
 * weights text in text. */
static void run_mode(const infer_model *m, infer_sparse sparse, const float *dense, char *text, size_t size) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.threads = 2;
    o.sparse = sparse;
    infer_engine *e = NULL;
    infer_error err;
    cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_OK, "%s", err.message);
    infer_layer_info li;
    cr_assert_eq(infer_engine_layer(e, 0, &li), INFER_OK);
    cr_assert_not_null(li.weights);
    snprintf(text, size, "%s", li.weights);
    float x[3 * COLS];
    for (int i = 0; i < 3 * COLS; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    infer_tensor in = model_input(m, 0, 3, x), out;
    cr_assert_eq(infer_engine_run(e, &in, 1, &out, 1, &err), INFER_OK, "%s", err.message);
    const float *y = out.data;
    double diff = 0, norm = 0;
    for (int i = 0; i < 3; i++)
        for (int r = 0; r < ROWS; r++) {
            double want = (double)r / ROWS - 0.5;
            for (int c = 0; c < COLS; c++) want += (double)x[i * COLS + c] * dense[r * COLS + c];
            diff += (y[i * ROWS + r] - want) * (y[i * ROWS + r] - want);
            norm += want * want;
        }
    cr_expect(sqrt(diff / norm) < 1e-5, "%s: rel L2 %g", infer_sparse_name(sparse), sqrt(diff / norm));
    infer_engine_destroy(e);
}

Test(sparse_choice, forced_and_timed_choices_run_and_say_so) {
    static float dense[ROWS * COLS];
    infer_model *m = csr_linear_model(dense);
    char text[160];
    run_mode(m, INFER_SPARSE_SPARSE, dense, text, sizeof text);
    cr_expect(strstr(text, "sparse kernel") && !strstr(text, "timed"), "%s", text);
    run_mode(m, INFER_SPARSE_DENSE, dense, text, sizeof text);
    cr_expect(strstr(text, "densified") && !strstr(text, "timed"), "%s", text);
    run_mode(m, INFER_SPARSE_AUTO, dense, text, sizeof text); /* which one wins depends on the machine */
    cr_expect((strstr(text, "sparse kernel") || strstr(text, "densified")) && strstr(text, "; timed ") &&
                  strstr(text, " ms sparse, ") && strstr(text, " ms dense"), "%s", text);
    cr_expect(strstr(text, "density 5.") || strstr(text, "density 4."), "%s", text);
    infer_model_free(m);
}

Test(sparse_choice, an_unknown_choice_is_refused) {
    static float dense[ROWS * COLS];
    infer_model *m = csr_linear_model(dense);
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.sparse = (infer_sparse)7;
    infer_engine *e = NULL;
    infer_error err;
    cr_expect_eq(infer_engine_create(m, &o, &e, &err), INFER_ERR_ARGUMENT);
    cr_expect(strstr(err.message, "sparse 7") != NULL, "%s", err.message);
    infer_model_free(m);
}

Test(sparse_choice, names) {
    cr_expect_str_eq(infer_sparse_name(INFER_SPARSE_AUTO), "auto");
    cr_expect_str_eq(infer_sparse_name(INFER_SPARSE_SPARSE), "sparse");
    cr_expect_str_eq(infer_sparse_name(INFER_SPARSE_DENSE), "dense");
    cr_expect_str_eq(infer_sparse_name((infer_sparse)9), "?");
}

/* An engine planned for batch 16 keeps the sparse kernel only when it was timed faster at batch 16 and at batch
 * 1 too (no batch runs slower than dense); the note says both timings. */
Test(sparse_choice, sparse_kept_only_when_faster_at_batch_one_too) {
    static float dense[ROWS * COLS];
    infer_model *m = csr_linear_model_at(dense, -1);
    for (int attempt = 0; attempt < 3; attempt++) {
        infer_engine_options o;
        infer_engine_options_init(&o);
        o.device = INFER_DEVICE_CPU;
        o.threads = 2;
        o.max_batch = 16;
        infer_engine *e = NULL;
        infer_error err;
        cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_OK, "%s", err.message);
        infer_layer_info li;
        cr_assert_eq(infer_engine_layer(e, 0, &li), INFER_OK);
        cr_assert_not_null(li.weights);
        const char *one = strstr(li.weights, "; batch 1: ");
        if (strstr(li.weights, "sparse kernel")) {
            cr_assert_not_null(one, "sparse chosen without a timing at batch 1: %s", li.weights);
            double s1 = 0, d1 = 0;
            cr_assert_eq(sscanf(one, "; batch 1: %lf ms sparse, %lf ms dense", &s1, &d1), 2, "%s", li.weights);
            cr_expect_lt(s1, 0.97 * d1, "sparse must win by 3%%: %s", li.weights);
        }
        float x[16 * COLS];
        for (int i = 0; i < 16 * COLS; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
        infer_tensor in = model_input(m, 0, 1, x), out;
        cr_assert_eq(infer_engine_run(e, &in, 1, &out, 1, &err), INFER_OK, "%s", err.message);
        infer_engine_destroy(e);
    }
    infer_model_free(m);
}
