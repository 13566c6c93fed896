/* test_int8_layers.c — the INT8 linear and conv2d kernel entries through the engine: int8 per-channel weights
 * (written by the C writer), static and dynamic inputs; every CPU ISA (each its own INT8 path) and thread count
 * gives the same bytes, within the INT8 error of the FP32 model and measurably quantized; the layer info names
 * the path; weights the kernels cannot take are refused with the node's name; the dequantizing pass of backends
 * without INT8 kernels. */
#include <criterion/criterion.h>
#include <string.h>
#include "testutil.h"
#include "engine_util.h"
#include "../../quant/quant_params.h"
#include "../../graph/graph.h"
#include "../../graph/ir_build.h"

/* Relative L2 against the FP32 model: 8-bit weights and inputs; the linear's static input range [-8, 8] is wide
 * for an input of RMS ~1 (step / sqrt(12) / RMS ~ 2%), the conv layers' errors are ~0.5%. */
#define INT8_TOL 3e-2

typedef struct {
    float *w1, *b1, *w2, *wl, *bl; /* conv 12x5x3x3 (static), depthwise 12x1x3x3 (dynamic), linear 7x36 (static) */
} weights;

static weights make_weights(void) {
    test_rng r = rng_seed(77);
    weights w = { rng_array(&r, 12 * 45, -0.5f, 0.5f), rng_array(&r, 12, -0.5f, 0.5f), rng_array(&r, 12 * 9, -0.5f, 0.5f),
                  rng_array(&r, 7 * 36, -0.2f, 0.2f), rng_array(&r, 7, -0.5f, 0.5f) };
    return w;
}

static void free_weights(weights *w) {
    free(w->w1), free(w->b1), free(w->w2), free(w->wl), free(w->bl);
}

/* weight (f32 [n, ...]) as a dense constant (int8 0) or int8 per channel with its scales */
static uint32_t weight(ifg_writer *w, const char *name, const float *v, int ndim, const int64_t *dims, int int8,
                       int32_t zero_point) {
    int64_t n = dims[0], per = 1;
    for (int d = 1; d < ndim; d++) per *= dims[d];
    if (!int8) return tw_const(w, name, INFER_F32, ndim, dims, v);
    int8_t *q = malloc((size_t)(n * per));
    float *s = malloc((size_t)n * sizeof(float));
    int32_t *z = malloc((size_t)n * sizeof(int32_t));
    cr_assert_eq(quant_weights_per_channel(v, n, per, q, s), 0);
    for (int64_t c = 0; c < n; c++) z[c] = c == n - 1 ? zero_point : 0;
    char sn[64], zn[64];
    snprintf(sn, sizeof sn, "%s.scale", name);
    snprintf(zn, sizeof zn, "%s.zero", name);
    uint32_t id = ifg_writer_tensor(w, name, INFER_F32, ndim, dims, q, (uint64_t)(n * per));
    uint32_t aux[3] = { tw_const(w, sn, INFER_F32, 1, &n, s), tw_const(w, zn, INFER_I32, 1, &n, z), IFG_NONE };
    ifg_writer_encoding(w, id, IFG_ENC_INT8_CHANNEL, aux, 0, 0.0f, 0, 0);
    free(q), free(s), free(z);
    return id;
}

/* x [b,5,9,11] -> conv 3x3 p1 relu (static) -> depthwise 3x3 s2 p1 (dynamic) [b,12,5,6] -> reshape [b,10,36] ->
 * linear 36 -> 7 (static, its input range [-8, 8]). */
/* int8: a bit mask of the layers stored int8 (1 c1, 2 dw, 4 fc). */
static infer_model *model(const weights *v, int int8, int32_t zero_point) {
    ifg_writer *w = tw_new();
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(-1, 5, 9, 11));
    uint32_t w1 = weight(w, "c1.weight", v->w1, DIMS(12, 5, 3, 3), int8 & 1, zero_point);
    uint32_t b1 = tw_const(w, "c1.bias", INFER_F32, DIMS(12), v->b1);
    uint32_t y1 = tw_act(w, "y1", INFER_F32, DIMS(-1, 12, 9, 11));
    tw_node(w, OP_CONV2D, "c1", TW_IDS(x, w1, b1), TW_IDS(y1));
    ifg_writer_attr_ints(w, "padding", (const int64_t[]){ 1, 1 }, 2);
    ifg_writer_attr_int(w, "act", ACT_RELU);
    if (int8 & 1) ifg_writer_attr_float(w, "in_scale", 2.0 / 255), ifg_writer_attr_int(w, "in_zero", 128);
    uint32_t w2 = weight(w, "dw.weight", v->w2, DIMS(12, 1, 3, 3), int8 & 2, 0);
    uint32_t y2 = tw_act(w, "y2", INFER_F32, DIMS(-1, 12, 5, 6));
    tw_node(w, OP_CONV2D, "dw", TW_IDS(y1, w2), TW_IDS(y2));
    ifg_writer_attr_ints(w, "padding", (const int64_t[]){ 1, 1 }, 2);
    ifg_writer_attr_ints(w, "stride", (const int64_t[]){ 2, 2 }, 2);
    ifg_writer_attr_int(w, "groups", 12);
    uint32_t y3 = tw_act(w, "y3", INFER_F32, DIMS(-1, 10, 36));
    tw_node(w, OP_RESHAPE, "flat", TW_IDS(y2), TW_IDS(y3));
    ifg_writer_attr_ints(w, "shape", (const int64_t[]){ -1, 10, 36 }, 3);
    uint32_t wl = weight(w, "fc.weight", v->wl, DIMS(7, 36), int8 & 4, 0);
    uint32_t bl = tw_const(w, "fc.bias", INFER_F32, DIMS(7), v->bl);
    uint32_t y = tw_act(w, "y", INFER_F32, DIMS(-1, 10, 7));
    tw_node(w, OP_LINEAR, "fc", TW_IDS(y3, wl, bl), TW_IDS(y));
    if (int8 & 4) ifg_writer_attr_float(w, "in_scale", 16.0 / 255), ifg_writer_attr_int(w, "in_zero", 128);
    tw_graph(w, TW_IDS(x), TW_IDS(y));
    return model_from_writer(w);
}

/* Runs m at batch 3 on x (CPU, isa, threads); the output copied into y (3*10*7); INFER_ERR_UNSUPPORTED when
 * this CPU lacks isa. */
static infer_status run(const infer_model *m, infer_cpu_isa isa, int threads, const float *x, float *y,
                        infer_engine **keep) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.max_batch = 3;
    o.cpu_isa = isa;
    o.threads = threads;
    infer_engine *e = NULL;
    infer_error err;
    infer_status s = infer_engine_create(m, &o, &e, &err);
    if (s == INFER_ERR_UNSUPPORTED && isa != INFER_CPU_ISA_SCALAR) return s;
    cr_assert_eq(s, INFER_OK, "%s", err.message);
    infer_tensor in = model_input(m, 0, 3, (void *)x), out;
    cr_assert_eq(infer_engine_run(e, &in, 1, &out, 1, &err), INFER_OK, "%s", err.message);
    memcpy(y, out.data, 3 * 10 * 7 * sizeof(float));
    if (keep) *keep = e;
    else infer_engine_destroy(e);
    return INFER_OK;
}

Test(int8_layers, every_isa_and_thread_count_agrees_exactly) {
    weights v = make_weights();
    infer_model *q = model(&v, 7, 0), *f = model(&v, 0, 0);
    test_rng r = rng_seed(5);
    float *x = rng_array(&r, 3 * 5 * 9 * 11, -1.0f, 1.0f), ref[210], want[210], got[210];
    run(f, INFER_CPU_ISA_SCALAR, 1, x, ref, NULL);
    for (int layer = 1; layer <= 4; layer *= 2) { /* each alone */
        infer_model *one = model(&v, layer, 0);
        run(one, INFER_CPU_ISA_SCALAR, 1, x, want, NULL);
        double e = rel_l2(want, ref, 210);
        cr_assert(e < INT8_TOL && e > 1e-4, "layer %d alone INT8 against FP32: relative L2 %g", layer, e);
        infer_model_free(one);
    }
    run(q, INFER_CPU_ISA_SCALAR, 1, x, want, NULL);
    double e = rel_l2(want, ref, 210);
    cr_assert(e < INT8_TOL && e > 1e-4, "INT8 against FP32: relative L2 %g (quantized, and within the INT8 error)", e);
    const infer_cpu_isa isas[] = { INFER_CPU_ISA_SCALAR, INFER_CPU_ISA_AVX2, INFER_CPU_ISA_AVX512, INFER_CPU_ISA_AUTO };
    for (int i = 0; i < 4; i++)
        for (int threads = 1; threads <= 3; threads += 2) {
            if (run(q, isas[i], threads, x, got, NULL) != INFER_OK) {
                cr_log_info("INT8 layers: %s not on this CPU", infer_cpu_isa_name(isas[i]));
                continue;
            }
            cr_assert(!memcmp(got, want, sizeof got), "%s, %d threads: the INT8 output differs from scalar's",
                      infer_cpu_isa_name(isas[i]), threads);
        }
    free(x);
    infer_model_free(q);
    infer_model_free(f);
    free_weights(&v);
}

Test(int8_layers, layer_info_names_storage_mode_and_path) {
    weights v = make_weights();
    infer_model *q = model(&v, 7, 0);
    test_rng r = rng_seed(6);
    float *x = rng_array(&r, 3 * 5 * 9 * 11, -1.0f, 1.0f), y[210];
    infer_engine *e = NULL;
    run(q, INFER_CPU_ISA_SCALAR, 1, x, y, &e);
    const char *want[] = { "int8 per-channel, static, scalar", "int8 per-channel, dynamic, depthwise scalar", NULL,
                           "int8 per-channel, static, scalar" };
    cr_assert_eq(infer_engine_layer_count(e), 4);
    for (int i = 0; i < 4; i++) {
        infer_layer_info l;
        cr_assert_eq(infer_engine_layer(e, i, &l), INFER_OK);
        if (!want[i]) cr_assert_null(l.weights);
        else cr_assert(l.weights && !strcmp(l.weights, want[i]), "layer %d: '%s', want '%s'", i, l.weights, want[i]);
    }
    infer_engine_destroy(e);
    free(x);
    infer_model_free(q);
    free_weights(&v);
}

/* A non-zero weight zero point: the kernels take symmetric weights only; the run names the node. */
Test(int8_layers, asymmetric_weights_are_refused) {
    weights v = make_weights();
    infer_model *q = model(&v, 7, 3);
    infer_engine *e = engine_ok(q, 3, 1, 1);
    test_rng r = rng_seed(7);
    float *x = rng_array(&r, 3 * 5 * 9 * 11, -1.0f, 1.0f);
    infer_tensor in = model_input(q, 0, 3, x), out;
    infer_error err;
    cr_assert_eq(infer_engine_run(e, &in, 1, &out, 1, &err), INFER_ERR_UNSUPPORTED);
    cr_assert(strstr(err.message, "conv2d 'c1'") && strstr(err.message, "zero points 0"), "%s", err.message);
    infer_engine_destroy(e);
    free(x);
    infer_model_free(q);
    free_weights(&v);
}

/* Backends without INT8 kernels (CUDA) get the weights dequantized at engine build: the values scale[c] * q. */
Test(int8_layers, dequantize_pass_for_backends_without_int8) {
    weights v = make_weights();
    ifg_writer *w = tw_new();
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(-1, 36));
    uint32_t wl = weight(w, "fc.weight", v.wl, DIMS(7, 36), 1, 0);
    uint32_t y = tw_act(w, "y", INFER_F32, DIMS(-1, 7));
    tw_node(w, OP_LINEAR, "fc", TW_IDS(x, wl), TW_IDS(y));
    tw_graph(w, TW_IDS(x), TW_IDS(y));
    uint64_t size;
    uint8_t *bytes = writer_bytes(w, &size);
    ifg_file f;
    ir_graph g;
    infer_error err;
    cr_assert_eq(ifg_open_memory(bytes, size, &f, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(ir_build(&f, &g, &err), INFER_OK, "%s", err.message);
    int8_t q[7 * 36];
    float s[7];
    cr_assert_eq(quant_weights_per_channel(v.wl, 7, 36, q, s), 0);
    cr_assert_eq(ir_dequantize_int8(&g, &err), INFER_OK, "%s", err.message);
    const ir_tensor *t = &g.tensors[g.nodes[0].in[1]];
    cr_assert_eq(t->storage.kind, IR_STORAGE_DENSE);
    cr_assert_eq(t->nbytes, 7 * 36 * sizeof(float));
    for (int i = 0; i < 7 * 36; i++) cr_assert_eq(((const float *)t->data)[i], s[i / 36] * (float)q[i], "value %d", i);
    for (int k = 0; k < g.n_tensors; k++) cr_assert(strcmp(g.tensors[k].name, "fc.weight.scale"), "the scales stay");
    ir_free(&g);
    ifg_close(&f);
    free(bytes);
    free_weights(&v);
}

/* A BatchNorm after an int8 conv2d folds into it (the channel scales take its factor): one layer is left, and
 * the output is the unfolded graph's up to f32 rounding. */
Test(int8_layers, batchnorm_folds_into_int8_weights) {
    weights v = make_weights();
    test_rng r = rng_seed(8);
    float *gamma = rng_array(&r, 12, -1.5f, 1.5f), *beta = rng_array(&r, 12, -0.5f, 0.5f);
    float *mean = rng_array(&r, 12, -0.5f, 0.5f), *var = rng_array(&r, 12, 0.5f, 2.0f);
    ifg_writer *w = tw_new();
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(-1, 5, 9, 11));
    uint32_t w1 = weight(w, "c1.weight", v.w1, DIMS(12, 5, 3, 3), 1, 0);
    uint32_t y1 = tw_act(w, "y1", INFER_F32, DIMS(-1, 12, 7, 9));
    tw_node(w, OP_CONV2D, "c1", TW_IDS(x, w1), TW_IDS(y1));
    ifg_writer_attr_float(w, "in_scale", 2.0 / 255), ifg_writer_attr_int(w, "in_zero", 128);
    uint32_t p[4] = { tw_const(w, "g", INFER_F32, DIMS(12), gamma), tw_const(w, "b", INFER_F32, DIMS(12), beta),
                      tw_const(w, "m", INFER_F32, DIMS(12), mean), tw_const(w, "v", INFER_F32, DIMS(12), var) };
    uint32_t y = tw_act(w, "y", INFER_F32, DIMS(-1, 12, 7, 9));
    tw_node(w, OP_BATCHNORM, "bn", TW_IDS(y1, p[0], p[1], p[2], p[3]), TW_IDS(y));
    tw_graph(w, TW_IDS(x), TW_IDS(y));
    infer_model *m = model_from_writer(w);
    float *xin = rng_array(&r, 3 * 5 * 9 * 11, -1.0f, 1.0f);
    float out[2][3 * 12 * 7 * 9];
    for (int optimize = 0; optimize < 2; optimize++) {
        infer_engine *e = engine_ok(m, 3, optimize, 1);
        cr_assert_eq(infer_engine_layer_count(e), optimize ? 1 : 2);
        infer_tensor in = model_input(m, 0, 3, xin), o;
        infer_error err;
        cr_assert_eq(infer_engine_run(e, &in, 1, &o, 1, &err), INFER_OK, "%s", err.message);
        memcpy(out[optimize], o.data, sizeof out[0]);
        infer_engine_destroy(e);
    }
    double e = rel_l2(out[1], out[0], 3 * 12 * 7 * 9);
    cr_assert(e < 1e-6, "folded against unfolded: relative L2 %g", e);
    free(xin), free(gamma), free(beta), free(mean), free(var);
    infer_model_free(m);
    free_weights(&v);
}
