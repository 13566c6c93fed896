/* test_dyndims.c — named dynamic dims: a 1.1 file with DIMS and EXPRS loaded, validated and run at several
 * sizes (a reshape to batch*seq, a slice to seq), the engine's refusals, and corrupt dim tables refused. */
#include <criterion/criterion.h>
#include "testutil.h"
#include "engine_util.h"
#include "../../graph/ir_build.h"

enum { E_BATCH, E_SEQ, E_ROWS }; /* expressions: batch, seq, batch*seq */
#define B IFG_DIM_EXPR(E_BATCH)
#define S IFG_DIM_EXPR(E_SEQ)
#define BS IFG_DIM_EXPR(E_ROWS)

typedef struct {
    int extra_dim;       /* a named dim no input has */
    int bad_power;       /* an expression with power 9 */
    int64_t bad_ref;     /* a tensor dim referring to a missing expression (0: none) */
} variant;

/* x [batch, seq, 4] -> reshape [batch*seq, 4] -> rows; x -> slice dim 1 [0:seq) -> same [batch, seq, 4];
 * rows -> slice dim 0 [0:seq) -> first [seq, 4]. */
static ifg_writer *dyn_model(variant v) {
    ifg_writer *w = tw_new();
    ifg_writer_dyn_dim(w, "batch", 1, 8, 2);
    ifg_writer_dyn_dim(w, "seq", 1, 16, 3);
    if (v.extra_dim) ifg_writer_dyn_dim(w, "extra", 1, 4, 1);
    ifg_writer_expr(w, &(ifg_expr){ .coef = 1, .n_factors = 1, .sym = { 0 }, .power = { 1 } });
    ifg_writer_expr(w, &(ifg_expr){ .coef = 1, .n_factors = 1, .sym = { 1 }, .power = { v.bad_power ? 9u : 1u } });
    ifg_writer_expr(w, &(ifg_expr){ .coef = 1, .n_factors = 2, .sym = { 0, 1 }, .power = { 1, 1 } });
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(B, S, 4));
    uint32_t rows = tw_act(w, "rows", INFER_F32, DIMS(BS, v.bad_ref ? v.bad_ref : 4));
    uint32_t first = tw_act(w, "first", INFER_F32, DIMS(S, 4));
    tw_node(w, OP_RESHAPE, "flat", TW_IDS(x), TW_IDS(rows));
    ifg_writer_attr_ints(w, "shape", (const int64_t[]){ BS, 4 }, 2);
    tw_node(w, OP_SLICE, "head", TW_IDS(rows), TW_IDS(first));
    ifg_writer_attr_int(w, "axis", 0);
    ifg_writer_attr_int(w, "start", 0);
    ifg_writer_attr_int(w, "end", 3);
    ifg_writer_attr_int(w, "end_expr", E_SEQ);
    tw_graph(w, TW_IDS(x), TW_IDS(rows, first));
    return w;
}

static infer_engine *engine_with(const infer_model *m, int64_t max_batch, int64_t max_seq, infer_error *err,
                                 infer_status *s) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.threads = 1;
    infer_dim_max maxes[] = { { "seq", max_seq }, { "batch", max_batch } };
    o.dim_max = maxes;
    o.n_dim_max = 2;
    infer_engine *e = NULL;
    *s = infer_engine_create(m, &o, &e, err);
    return e;
}

Test(dyndims, file_round_trip_and_model_api) {
    uint64_t size;
    uint8_t *bytes = writer_bytes(dyn_model((variant){ 0 }), &size);
    ifg_file f;
    infer_error err;
    cr_assert_eq(ifg_open_memory(bytes, size, &f, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(f.version_minor, 1);
    cr_assert_eq(f.n_dyn_dims, 2);
    cr_assert_str_eq(f.dyn_dims[1].name, "seq");
    cr_assert(f.dyn_dims[1].min == 1 && f.dyn_dims[1].max == 16 && f.dyn_dims[1].example == 3);
    cr_assert_eq(f.n_exprs, 3);
    cr_assert_eq(f.tensors[0].dims[1], S);
    ifg_close(&f);
    infer_model *m = NULL;
    cr_assert_eq(model_from_bytes(bytes, size, &m, &err), INFER_OK, "%s", err.message);
    free(bytes);
    cr_assert_eq(infer_model_dim_count(m), 2);
    infer_tensor_info info;
    cr_assert_eq(infer_model_input(m, 0, &info), INFER_OK);
    cr_assert(info.dims[0] == -1 && info.dims[1] == -1 && info.dims[2] == 4);
    cr_assert(info.dim_index[0] == 0 && info.dim_index[1] == 1 && info.dim_index[2] == -1);
    cr_assert_eq(infer_model_output(m, 0, &info), INFER_OK);
    cr_assert_eq(info.dim_index[0], -1, "batch*seq is no single named dim");
    infer_model_free(m);
}

Test(dyndims, runs_at_every_size_within_the_maxima) {
    infer_model *m = model_from_writer(dyn_model((variant){ 0 }));
    infer_error err;
    infer_status s;
    infer_engine *e = engine_with(m, 4, 9, &err, &s);
    cr_assert_eq(s, INFER_OK, "%s", err.message);
    cr_assert_eq(infer_engine_dim_max(e, 0), 4);
    cr_assert_eq(infer_engine_dim_max(e, 1), 9);
    test_rng r = rng_seed(7);
    const int64_t sizes[][2] = { { 2, 3 }, { 4, 9 }, { 1, 1 }, { 3, 5 } };
    for (int k = 0; k < 4; k++) {
        int64_t b = sizes[k][0], t = sizes[k][1];
        float *x = rng_array(&r, b * t * 4, -1, 1);
        infer_tensor in = tview(INFER_F32, x, 3, (const int64_t[]){ b, t, 4 }), out[2];
        cr_assert_eq(infer_engine_run(e, &in, 1, out, 2, &err), INFER_OK, "%lld x %lld: %s", (long long)b,
                     (long long)t, err.message);
        cr_assert(out[0].ndim == 2 && out[0].dims[0] == b * t && out[0].dims[1] == 4);
        cr_assert(out[1].ndim == 2 && out[1].dims[0] == t && out[1].dims[1] == 4);
        cr_assert(memcmp(out[0].data, x, (size_t)(b * t * 4) * sizeof(float)) == 0);
        cr_assert(memcmp(out[1].data, x, (size_t)(t * 4) * sizeof(float)) == 0);
        free(x);
    }
    float x[5 * 10 * 4] = { 0 };
    infer_tensor in = tview(INFER_F32, x, 3, (const int64_t[]){ 2, 10, 4 }), out[2];
    cr_assert_eq(infer_engine_run(e, &in, 1, out, 2, &err), INFER_ERR_SHAPE);
    cr_assert(strstr(err.message, "input 0 'x' dim 1 (seq) is 10, outside 1..9 (the engine's maximum"), "%s",
              err.message);
    in = tview(INFER_F32, x, 3, (const int64_t[]){ 5, 2, 4 });
    cr_assert_eq(infer_engine_run(e, &in, 1, out, 2, &err), INFER_ERR_SHAPE);
    cr_assert(strstr(err.message, "dim 0 (batch) is 5, outside 1..4"), "%s", err.message);
    in = tview(INFER_F32, x, 3, (const int64_t[]){ 2, 2, 3 });
    cr_assert_eq(infer_engine_run(e, &in, 1, out, 2, &err), INFER_ERR_SHAPE);
    cr_assert(strstr(err.message, "expected f32 [batch,seq,4], given f32 [2,2,3]"), "%s", err.message);
    infer_engine_destroy(e);
    infer_model_free(m);
}

Test(dyndims, maxima_checked_at_creation) {
    infer_model *m = model_from_writer(dyn_model((variant){ 0 }));
    infer_error err;
    infer_status s;
    infer_engine *e = engine_with(m, 4, 17, &err, &s);
    cr_assert_eq(s, INFER_ERR_ARGUMENT);
    cr_assert_null(e);
    cr_assert(strstr(err.message, "a maximum of 17 for dim 'seq' is outside its range 1..16"), "%s", err.message);
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    infer_dim_max unknown = { "len", 3 };
    o.dim_max = &unknown;
    o.n_dim_max = 1;
    cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_ERR_ARGUMENT);
    cr_assert(strstr(err.message, "no dynamic dim 'len' (its dims: batch, seq)"), "%s", err.message);
    o.n_dim_max = 0;
    cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(infer_engine_dim_max(e, 0), 1, "batch defaults to max_batch's default");
    cr_assert_eq(infer_engine_dim_max(e, 1), 3, "other dims default to their example size");
    infer_engine_destroy(e);
    infer_model_free(m);
}

static void expect_bad_file(variant v, const char *fragment) {
    uint64_t size;
    uint8_t *bytes = writer_bytes(dyn_model(v), &size);
    ifg_file f;
    infer_error err;
    cr_assert_eq(ifg_open_memory(bytes, size, &f, &err), INFER_ERR_FORMAT, "expected '%s'", fragment);
    cr_assert(strstr(err.message, fragment), "message '%s' lacks '%s'", err.message, fragment);
    free(bytes);
}

Test(dyndims, corrupt_dim_tables_refused) {
    expect_bad_file((variant){ .extra_dim = 1 }, "dynamic dim 'extra' is not the size of any graph input's dim");
    expect_bad_file((variant){ .bad_power = 1 }, "factor 0 has power 9, must be 1..4");
    expect_bad_file((variant){ .bad_ref = IFG_DIM_EXPR(7) }, "dims[1] is -9; dims are >= 0, or -2-e for dim expression");
    ifg_writer *w = dyn_model((variant){ 0 });
    ifg_writer_dyn_dim(w, "seq", 1, 2, 1);
    uint64_t size;
    uint8_t *bytes = writer_bytes(w, &size);
    ifg_file f;
    infer_error err;
    cr_assert_eq(ifg_open_memory(bytes, size, &f, &err), INFER_ERR_FORMAT);
    cr_assert(strstr(err.message, "name 'seq' is also dim 1's"), "%s", err.message);
    free(bytes);
}

Test(dyndims, shape_inference_names_the_values) {
    uint64_t size;
    uint8_t *bytes = writer_bytes(dyn_model((variant){ 0 }), &size);
    ifg_file f;
    infer_error err;
    cr_assert_eq(ifg_open_memory(bytes, size, &f, &err), INFER_OK, "%s", err.message);
    ir_graph g;
    cr_assert_eq(ir_build(&f, &g, &err), INFER_OK, "%s", err.message);
    int64_t dims[8 * INFER_MAX_DIMS];
    int ndims[8];
    cr_assert_eq(ir_infer_shapes_at(&g, (const int64_t[]){ 3, 5 }, dims, ndims, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(dims[1 * INFER_MAX_DIMS + 0], 15);
    cr_assert_eq(dims[2 * INFER_MAX_DIMS + 0], 5);
    char text[64];
    ir_dim_text(&g, BS, text, sizeof text);
    cr_assert_str_eq(text, "batch*seq");
    g.tensors[2].dims[1] = 5; /* first is [seq, 5] now: refused, naming the dim values */
    cr_assert_eq(ir_infer_shapes_at(&g, (const int64_t[]){ 3, 5 }, dims, ndims, &err), INFER_ERR_FORMAT);
    cr_assert(strstr(err.message, "is declared [seq,5], inferred [5,4] at batch=3, seq=5"), "%s", err.message);
    ir_free(&g);
    ifg_close(&f);
    free(bytes);
}
