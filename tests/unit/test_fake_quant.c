/* test_fake_quant.c — the fake_quant op (int8import): exact values at rounding ties, clamps, NaN, the integer
 * form (out_scale 1), on every CPU ISA; bad attributes refused naming the attribute. */
#include <criterion/criterion.h>
#include <math.h>
#include "engine_util.h"

/* x [batch, n] -> fake_quant -> y; out_scale 0 leaves the attribute out (its default, scale). */
static infer_model *fake_quant_model(int64_t n, double scale, int64_t zero, int64_t qmin, int64_t qmax,
                                     double out_scale) {
    ifg_writer *w = tw_new();
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(-1, n)), y = tw_act(w, "y", INFER_F32, DIMS(-1, n));
    tw_node(w, OP_FAKE_QUANT, "fq", TW_IDS(x), TW_IDS(y));
    ifg_writer_attr_float(w, "scale", scale);
    ifg_writer_attr_int(w, "zero", zero);
    ifg_writer_attr_int(w, "qmin", qmin);
    ifg_writer_attr_int(w, "qmax", qmax);
    if (out_scale != 0.0) ifg_writer_attr_float(w, "out_scale", out_scale);
    tw_graph(w, TW_IDS(x), TW_IDS(y));
    return model_from_writer(w);
}

static void run_expect(infer_model *m, const float *x, const float *expected, int n) {
    for (int isa = INFER_CPU_ISA_SCALAR; isa <= INFER_CPU_ISA_AVX512; isa++) {
        infer_engine_options o;
        infer_engine_options_init(&o);
        o.device = INFER_DEVICE_CPU;
        o.threads = 2;
        o.cpu_isa = (infer_cpu_isa)isa;
        infer_engine *e = NULL;
        infer_error err;
        infer_status s = infer_engine_create(m, &o, &e, &err);
        if (s == INFER_ERR_UNSUPPORTED) continue; /* an ISA this CPU lacks */
        cr_assert_eq(s, INFER_OK, "%s", err.message);
        infer_tensor in = model_input(m, 0, 1, (void *)x), out;
        cr_assert_eq(infer_engine_run(e, &in, 1, &out, 1, &err), INFER_OK, "%s", err.message);
        const float *y = out.data;
        for (int i = 0; i < n; i++)
            cr_assert(y[i] == expected[i], "isa %d, x[%d] = %.9g: y %.9g, expected %.9g", isa, i, (double)x[i],
                      (double)y[i], (double)expected[i]);
        infer_engine_destroy(e);
    }
}

/* scale 0.5, zero 3, [0, 10]: x * 2 rounded half to even, + 3, clamped, - 3, * 0.5. */
Test(fake_quant, ties_clamps_nan) {
    enum { N = 11 };
    const float x[N] = { 0.25f, 0.75f, -0.25f, -0.75f, 1.0f, 1.3f, -1.5f, -1.75f, 3.5f, 100.0f, NAN };
    const float y[N] = { 0.0f, 1.0f, 0.0f, -1.0f, 1.0f, 1.5f, -1.5f, -1.5f, 3.5f, 3.5f, -1.5f };
    infer_model *m = fake_quant_model(N, 0.5, 3, 0, 10, 0.0);
    run_expect(m, x, y, N);
    infer_model_free(m);
}

/* out_scale 1 gives q - zero; scale 1 with out_scale s rounds integers' means back to the grid. */
Test(fake_quant, integer_form) {
    enum { N = 5 };
    /* round(x / 0.05) clamped to [-5, 10], + 5 */
    const float x[N] = { 0.1f, 0.2f, 0.25f, 2.0f, -1.0f }, ints[N] = { 2, 4, 5, 15, 0 };
    infer_model *m = fake_quant_model(N, 0.05, -5, -5, 10, 1.0);
    run_expect(m, x, ints, N);
    infer_model_free(m);
    const float mean[N] = { 2.5f, 3.5f, -0.5f, 7.25f, 300.0f }, back[N] = { 0.5f, 1.0f, 0.0f, 1.75f, 63.75f };
    m = fake_quant_model(N, 1.0, 0, -128, 255, 0.25); /* 2.5 -> 2, 3.5 -> 4, -0.5 -> -0 (0), 7.25 -> 7, 300 -> 255 */
    run_expect(m, mean, back, N);
    infer_model_free(m);
}

static void expect_refused(infer_model *m, const char *fragment) {
    infer_engine *e = NULL;
    infer_error err;
    infer_status s = engine_for(m, 1, 1, 1, &e, &err);
    cr_assert_neq(s, INFER_OK, "built an engine, expected a refusal with '%s'", fragment);
    cr_assert(strstr(err.message, fragment), "message '%s' lacks '%s'", err.message, fragment);
    infer_model_free(m);
}

Test(fake_quant, bad_attributes_refused) {
    expect_refused(fake_quant_model(3, 0.0, 0, 0, 255, 0.0), "'scale'");
    expect_refused(fake_quant_model(3, -1.0, 0, 0, 255, 0.0), "'scale'");
    expect_refused(fake_quant_model(3, NAN, 0, 0, 255, 0.0), "'scale'");
    expect_refused(fake_quant_model(3, 1e-45, 0, 0, 255, 0.0), "'scale'"); /* 1/scale is infinite */
    expect_refused(fake_quant_model(3, 0.1, 300, 0, 255, 0.0), "'zero'");
    expect_refused(fake_quant_model(3, 0.1, 0, 10, 5, 0.0), "'qmax'");
    expect_refused(fake_quant_model(3, 0.1, 0, 0, 255, -2.0), "'out_scale'");
}
