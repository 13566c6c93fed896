/* test_cuda_robust.c — CUDA engines on their rare paths, every output compared with a CPU engine: graph
 * replays, tuned and cache-read engines, more batch sizes than plans kept, LSTM and matmul under graphs,
 * a refused fused convolution, cuBLASLt without an algorithm, a failed graph launch, FP16 edge values
 * (beyond ±65504, -1e9 and finfo.min masks, fully masked rows, integer-valued f32 above 2048), device
 * selection and debug_sync. The models are checked on the CPU without a GPU; the rest skips visibly. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include <cuda_runtime_api.h>
#include "cuda_testutil.h"
#include "../../loaders/ifg.h"
#include "../../runtime/cuda/cuda_test_hooks.h"

#define MAX_OUT 4

static uint32_t tens(ifg_writer *w, const char *name, infer_dtype dt, int nd, const int64_t *d, const void *data) {
    uint64_t bytes = 0;
    if (data) {
        bytes = infer_dtype_size(dt);
        for (int i = 0; i < nd; i++) bytes *= (uint64_t)d[i];
    }
    uint32_t id = ifg_writer_tensor(w, name, dt, nd, d, data, bytes);
    cr_assert_neq(id, IFG_NONE, "tensor %s", name);
    return id;
}

static char *save(ifg_writer *w) {
    char *path = strdup("/tmp/infer_cuda_robust_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    infer_error err;
    cr_assert_eq(ifg_writer_save(w, path, &err), INFER_OK, "%s", err.message);
    ifg_writer_destroy(w);
    return path;
}

static ifg_writer *writer(void) {
    ifg_writer *w;
    infer_error err;
    cr_assert_eq(ifg_writer_create(&w, &err), INFER_OK);
    return w;
}

/* x [-1,3,10,10] -> conv(bias, relu: the fused cuDNN call) -> conv(bias, relu6: unfused + epilogue)
 * -> adaptive avg 1x1 -> reshape -> linear(bias) -> y [-1,4] */
static char *write_convnet(void) {
    test_rng r = rng_seed(300);
    ifg_writer *w = writer();
    float *w1 = rng_array(&r, 6 * 3 * 9, -0.4f, 0.4f), *b1 = rng_array(&r, 6, -0.1f, 0.1f);
    float *w2 = rng_array(&r, 6 * 6 * 9, -0.3f, 0.3f), *b2 = rng_array(&r, 6, -0.1f, 0.1f);
    float *w3 = rng_array(&r, 4 * 6, -1, 1), *b3 = rng_array(&r, 4, -0.1f, 0.1f);
    uint32_t x = tens(w, "x", INFER_F32, 4, (int64_t[]){ -1, 3, 10, 10 }, NULL);
    uint32_t tw1 = tens(w, "w1", INFER_F32, 4, (int64_t[]){ 6, 3, 3, 3 }, w1), tb1 = tens(w, "b1", INFER_F32, 1, (int64_t[]){ 6 }, b1);
    uint32_t tw2 = tens(w, "w2", INFER_F32, 4, (int64_t[]){ 6, 6, 3, 3 }, w2), tb2 = tens(w, "b2", INFER_F32, 1, (int64_t[]){ 6 }, b2);
    uint32_t tw3 = tens(w, "w3", INFER_F32, 2, (int64_t[]){ 4, 6 }, w3), tb3 = tens(w, "b3", INFER_F32, 1, (int64_t[]){ 4 }, b3);
    uint32_t c1 = tens(w, "c1", INFER_F32, 4, (int64_t[]){ -1, 6, 10, 10 }, NULL);
    uint32_t c2 = tens(w, "c2", INFER_F32, 4, (int64_t[]){ -1, 6, 10, 10 }, NULL);
    uint32_t g1 = tens(w, "g1", INFER_F32, 4, (int64_t[]){ -1, 6, 1, 1 }, NULL);
    uint32_t f1 = tens(w, "f1", INFER_F32, 2, (int64_t[]){ -1, 6 }, NULL);
    uint32_t y = tens(w, "y", INFER_F32, 2, (int64_t[]){ -1, 4 }, NULL);
    ifg_writer_node(w, OP_CONV2D, "conv_relu", (uint32_t[]){ x, tw1, tb1 }, 3, (uint32_t[]){ c1 }, 1);
    ifg_writer_attr_ints(w, "padding", (int64_t[]){ 1, 1 }, 2);
    ifg_writer_attr_int(w, "act", ACT_RELU);
    ifg_writer_node(w, OP_CONV2D, "conv_relu6", (uint32_t[]){ c1, tw2, tb2 }, 3, (uint32_t[]){ c2 }, 1);
    ifg_writer_attr_ints(w, "padding", (int64_t[]){ 1, 1 }, 2);
    ifg_writer_attr_int(w, "act", ACT_CLIP);
    ifg_writer_attr_float(w, "act_min", 0.0);
    ifg_writer_attr_float(w, "act_max", 6.0);
    ifg_writer_node(w, OP_ADAPTIVE_AVGPOOL2D, "gap", (uint32_t[]){ c2 }, 1, (uint32_t[]){ g1 }, 1);
    ifg_writer_attr_ints(w, "output_size", (int64_t[]){ 1, 1 }, 2);
    ifg_writer_node(w, OP_RESHAPE, "flat", (uint32_t[]){ g1 }, 1, (uint32_t[]){ f1 }, 1);
    ifg_writer_attr_ints(w, "shape", (int64_t[]){ -1, 6 }, 2);
    ifg_writer_node(w, OP_LINEAR, "fc", (uint32_t[]){ f1, tw3, tb3 }, 3, (uint32_t[]){ y }, 1);
    ifg_writer_graph(w, (uint32_t[]){ x }, 1, (uint32_t[]){ y }, 1);
    char *path = save(w);
    free(w1), free(b1), free(w2), free(b2), free(w3), free(b3);
    return path;
}

/* x [-1,5,8] -> lstm (hidden 6, 2 layers, batch first, biases) -> y [-1,5,6] -> matmul with b [6,4] -> z [-1,5,4] */
static char *write_lstm_matmul(void) {
    test_rng r = rng_seed(301);
    ifg_writer *w = writer();
    float *wi0 = rng_array(&r, 24 * 8, -0.4f, 0.4f), *wh0 = rng_array(&r, 24 * 6, -0.4f, 0.4f);
    float *bi0 = rng_array(&r, 24, -0.1f, 0.1f), *bh0 = rng_array(&r, 24, -0.1f, 0.1f);
    float *wi1 = rng_array(&r, 24 * 6, -0.4f, 0.4f), *wh1 = rng_array(&r, 24 * 6, -0.4f, 0.4f);
    float *bi1 = rng_array(&r, 24, -0.1f, 0.1f), *bh1 = rng_array(&r, 24, -0.1f, 0.1f);
    float *mb = rng_array(&r, 6 * 4, -1, 1);
    uint32_t x = tens(w, "x", INFER_F32, 3, (int64_t[]){ -1, 5, 8 }, NULL);
    uint32_t twi0 = tens(w, "wi0", INFER_F32, 2, (int64_t[]){ 24, 8 }, wi0), twh0 = tens(w, "wh0", INFER_F32, 2, (int64_t[]){ 24, 6 }, wh0);
    uint32_t tbi0 = tens(w, "bi0", INFER_F32, 1, (int64_t[]){ 24 }, bi0), tbh0 = tens(w, "bh0", INFER_F32, 1, (int64_t[]){ 24 }, bh0);
    uint32_t twi1 = tens(w, "wi1", INFER_F32, 2, (int64_t[]){ 24, 6 }, wi1), twh1 = tens(w, "wh1", INFER_F32, 2, (int64_t[]){ 24, 6 }, wh1);
    uint32_t tbi1 = tens(w, "bi1", INFER_F32, 1, (int64_t[]){ 24 }, bi1), tbh1 = tens(w, "bh1", INFER_F32, 1, (int64_t[]){ 24 }, bh1);
    uint32_t tmb = tens(w, "mb", INFER_F32, 2, (int64_t[]){ 6, 4 }, mb);
    uint32_t y = tens(w, "y", INFER_F32, 3, (int64_t[]){ -1, 5, 6 }, NULL);
    uint32_t hn = tens(w, "hn", INFER_F32, 3, (int64_t[]){ 2, 1, 6 }, NULL); /* [layers, B, H]: B not compared */
    uint32_t cn = tens(w, "cn", INFER_F32, 3, (int64_t[]){ 2, 1, 6 }, NULL);
    uint32_t z = tens(w, "z", INFER_F32, 3, (int64_t[]){ -1, 5, 4 }, NULL);
    ifg_writer_node(w, OP_LSTM, "lstm",
                    (uint32_t[]){ x, IFG_NONE, IFG_NONE, twi0, twh0, tbi0, tbh0, twi1, twh1, tbi1, tbh1 }, 11,
                    (uint32_t[]){ y, hn, cn }, 3);
    ifg_writer_attr_int(w, "hidden", 6);
    ifg_writer_attr_int(w, "layers", 2);
    ifg_writer_attr_int(w, "batch_first", 1);
    ifg_writer_node(w, OP_MATMUL, "mm", (uint32_t[]){ y, tmb }, 2, (uint32_t[]){ z }, 1);
    ifg_writer_graph(w, (uint32_t[]){ x }, 1, (uint32_t[]){ z }, 1);
    char *path = save(w);
    free(wi0), free(wh0), free(bi0), free(bh0), free(wi1), free(wh1), free(bi1), free(bh1), free(mb);
    return path;
}

/* FP16 edge values: x [-1,4] -> * 100 -> relu -> y0 (inputs and intermediates beyond ±65504); pos [-1,4] f32 -> cast i64 -> y1 (i64)
 * and -> embedding [4096,4] -> y2; q [-1,4,8] with an additive f32 mask [4,4] input -> attention (2 heads)
 * -> y3 */
static char *write_edges(void) {
    test_rng r = rng_seed(302);
    ifg_writer *w = writer();
    float *table = rng_array(&r, 4096 * 4, -1, 1);
    uint32_t x = tens(w, "x", INFER_F32, 2, (int64_t[]){ -1, 4 }, NULL);
    uint32_t pos = tens(w, "pos", INFER_F32, 2, (int64_t[]){ -1, 4 }, NULL);
    uint32_t q = tens(w, "q", INFER_F32, 3, (int64_t[]){ -1, 4, 8 }, NULL);
    uint32_t mask = tens(w, "mask", INFER_F32, 2, (int64_t[]){ 4, 4 }, NULL);
    uint32_t tt = tens(w, "table", INFER_F32, 2, (int64_t[]){ 4096, 4 }, table);
    uint32_t x100 = tens(w, "x100", INFER_F32, 2, (int64_t[]){ -1, 4 }, NULL);
    uint32_t y0 = tens(w, "y0", INFER_F32, 2, (int64_t[]){ -1, 4 }, NULL);
    uint32_t y1 = tens(w, "y1", INFER_I64, 2, (int64_t[]){ -1, 4 }, NULL);
    uint32_t y2 = tens(w, "y2", INFER_F32, 3, (int64_t[]){ -1, 4, 4 }, NULL);
    uint32_t y3 = tens(w, "y3", INFER_F32, 3, (int64_t[]){ -1, 4, 8 }, NULL);
    ifg_writer_node(w, OP_BINARY, "times100", (uint32_t[]){ x }, 1, (uint32_t[]){ x100 }, 1);
    ifg_writer_attr_int(w, "kind", BIN_MUL);
    ifg_writer_attr_float(w, "scalar", 100.0);
    ifg_writer_node(w, OP_ACTIVATION, "relu", (uint32_t[]){ x100 }, 1, (uint32_t[]){ y0 }, 1);
    ifg_writer_attr_int(w, "kind", ACT_RELU);
    ifg_writer_node(w, OP_CAST, "to_i64", (uint32_t[]){ pos }, 1, (uint32_t[]){ y1 }, 1);
    ifg_writer_attr_int(w, "dtype", INFER_I64);
    ifg_writer_node(w, OP_EMBEDDING, "emb", (uint32_t[]){ y1, tt }, 2, (uint32_t[]){ y2 }, 1);
    ifg_writer_node(w, OP_ATTENTION, "att", (uint32_t[]){ q, q, q, mask }, 4, (uint32_t[]){ y3 }, 1);
    ifg_writer_attr_int(w, "heads", 2);
    ifg_writer_graph(w, (uint32_t[]){ x, pos, q, mask }, 4, (uint32_t[]){ y0, y1, y2, y3 }, 4);
    char *path = save(w);
    free(table);
    return path;
}

static infer_model *load(const char *path) {
    infer_model *m = NULL;
    infer_error err;
    cr_assert_eq(infer_model_load(path, &m, &err), INFER_OK, "%s", err.message);
    return m;
}

/* INFER_TEST_DEBUG_SYNC=1 (scripts/gpu-check's rerun of a failing test): every engine synchronizes after
 * each node, so a kernel fault names its node (graph counts then differ: no graphs in that mode). */
static int debug_sync_wanted(void) {
    const char *v = getenv("INFER_TEST_DEBUG_SYNC");
    return v && v[0] == '1';
}

static infer_engine *make(const infer_model *m, infer_device dev, infer_precision p, int max_batch,
                          void (*adjust)(infer_engine_options *, const void *), const void *arg) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = dev;
    o.precision = p;
    o.max_batch = max_batch;
    o.threads = 2;
    o.debug_sync = debug_sync_wanted();
    if (adjust) adjust(&o, arg);
    infer_engine *e = NULL;
    infer_error err;
    cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_OK, "%s engine: %s", infer_device_name(dev), err.message);
    return e;
}

/* Runs e on one input and copies output 0 (f32) into out (n values). */
static void run_one(infer_engine *e, int nd, const int64_t *dims, const float *x, float *out, int64_t n) {
    infer_tensor in = tview(INFER_F32, (void *)x, nd, dims), o;
    infer_error err;
    cr_assert_eq(infer_engine_run(e, &in, 1, &o, 1, &err), INFER_OK, "run: %s", err.message);
    cr_assert_eq(infer_tensor_elements(&o), n);
    memcpy(out, o.data, (size_t)n * sizeof(float));
}

/* `runs` runs of gpu and cpu at batch b on fresh inputs of the convnet ([b,3,10,10] -> [b,4]), compared. */
static void convnet_vs_cpu(infer_engine *gpu, infer_engine *cpu, int64_t b, int runs, double tol, test_rng *r,
                           const char *what) {
    int64_t dims[4] = { b, 3, 10, 10 };
    for (int k = 0; k < runs; k++) {
        float *x = rng_array(r, b * 300, -1, 1), *ref = malloc((size_t)b * 4 * sizeof(float)),
              *got = malloc((size_t)b * 4 * sizeof(float));
        run_one(cpu, 4, dims, x, ref, b * 4);
        run_one(gpu, 4, dims, x, got, b * 4);
        double e = rel_l2(got, ref, b * 4);
        cr_expect(e <= tol, "%s: batch %lld run %d: relative L2 %.3g > %.3g (warnings: %s)", what, (long long)b, k + 1,
                  e, tol, infer_engine_warnings(gpu));
        free(x), free(ref), free(got);
    }
}

Test(cuda_robust, models_run_on_the_cpu) { /* no GPU needed: the models the tests below use are valid */
    char *paths[3] = { write_convnet(), write_lstm_matmul(), write_edges() };
    for (int i = 0; i < 3; i++) {
        infer_model *m = load(paths[i]);
        infer_engine *e = make(m, INFER_DEVICE_CPU, INFER_PRECISION_FP32, 3, NULL, NULL);
        int n_in = infer_model_input_count(m);
        infer_tensor in[4], out[MAX_OUT];
        float *data[4];
        test_rng r = rng_seed(26);
        for (int k = 0; k < n_in; k++) { /* every input f32, batch 2 where dynamic, values in [0, 1) */
            infer_tensor_info ti;
            cr_assert_eq(infer_model_input(m, k, &ti), INFER_OK);
            int64_t dims[INFER_MAX_DIMS], n = 1;
            for (int d = 0; d < ti.ndim; d++) n *= dims[d] = ti.dims[d] < 0 ? 2 : ti.dims[d];
            data[k] = rng_array(&r, n, 0, 1);
            in[k] = tview(INFER_F32, data[k], ti.ndim, dims);
        }
        infer_error err;
        cr_expect_eq(infer_engine_run(e, in, n_in, out, infer_model_output_count(m), &err), INFER_OK, "model %d: %s", i,
                     err.message);
        for (int k = 0; k < n_in; k++) free(data[k]);
        infer_engine_destroy(e);
        infer_model_free(m);
        remove(paths[i]);
        free(paths[i]);
    }
}

static void tune_opts(infer_engine_options *o, const void *arg) {
    o->tune = ((const int *)arg)[0];
    o->tune_cache = (const char *)arg + sizeof(int);
}

Test(cuda_robust, graph_replay_tuned_and_cached_engines_match_cpu) {
    REQUIRE_CUDA();
    char *path = write_convnet();
    infer_model *m = load(path);
    infer_engine *cpu = make(m, INFER_DEVICE_CPU, INFER_PRECISION_FP32, 3, NULL, NULL);
    struct { int tune; char cache[64]; } arg = { 1, "/tmp/infer_robust_tune_XXXXXX" };
    int fd = mkstemp(arg.cache);
    cr_assert(fd >= 0);
    close(fd);
    remove(arg.cache);
    test_rng r = rng_seed(20);
    const char *names[3] = { "graphs", "tuned (writes the cache)", "read from the cache" };
    for (int k = 0; k < 3; k++) {
        arg.tune = k == 1;
        infer_engine *gpu = make(m, INFER_DEVICE_CUDA, INFER_PRECISION_FP32, 3, k ? tune_opts : NULL, &arg);
        if (k == 2) cr_expect_str_eq(infer_engine_warnings(gpu), "", "the cache is read without complaint");
        for (int64_t b = 2; b <= 3; b++) convnet_vs_cpu(gpu, cpu, b, 4, 1e-5, &r, names[k]); /* stream, capture, 2 replays */
        infer_engine_stats st;
        infer_engine_stats_get(gpu, &st);
        cr_expect_eq(st.cuda_graphs, 2, "%s: a graph per batch size: %d", names[k], st.cuda_graphs);
        infer_engine_destroy(gpu);
    }
    remove(arg.cache);
    infer_engine_destroy(cpu);
    infer_model_free(m);
    remove(path);
    free(path);
}

Test(cuda_robust, more_batch_sizes_than_plans_kept) {
    REQUIRE_CUDA();
    char *path = write_convnet();
    infer_model *m = load(path);
    infer_engine *cpu = make(m, INFER_DEVICE_CPU, INFER_PRECISION_FP32, 12, NULL, NULL);
    infer_engine *gpu = make(m, INFER_DEVICE_CUDA, INFER_PRECISION_FP32, 12, NULL, NULL);
    test_rng r = rng_seed(21);
    for (int sweep = 0; sweep < 2; sweep++) /* 12 batch sizes, 8 plans kept: the second sweep re-plans evicted ones */
        for (int64_t b = 1; b <= 12; b++) convnet_vs_cpu(gpu, cpu, b, 2, 1e-5, &r, sweep ? "second sweep" : "first sweep");
    infer_engine_stats st;
    infer_engine_stats_get(gpu, &st);
    cr_expect_gt(st.cuda_graphs, 12, "graphs captured again after eviction: %d", st.cuda_graphs);
    infer_engine_destroy(gpu);
    infer_engine_destroy(cpu);
    infer_model_free(m);
    remove(path);
    free(path);
}

Test(cuda_robust, lstm_and_matmul_under_graphs) {
    REQUIRE_CUDA();
    char *path = write_lstm_matmul();
    infer_model *m = load(path);
    infer_engine *cpu = make(m, INFER_DEVICE_CPU, INFER_PRECISION_FP32, 3, NULL, NULL);
    infer_precision ps[2] = { INFER_PRECISION_FP32, INFER_PRECISION_FP16 };
    test_rng r = rng_seed(22);
    for (int pi = 0; pi < 2; pi++) {
        infer_engine *gpu = make(m, INFER_DEVICE_CUDA, ps[pi], 3, NULL, NULL);
        for (int64_t b = 2; b <= 3; b++)
            for (int k = 0; k < 3; k++) {
                int64_t dims[3] = { b, 5, 8 };
                float *x = rng_array(&r, b * 40, -1, 1), ref[60], got[60];
                run_one(cpu, 3, dims, x, ref, b * 20);
                run_one(gpu, 3, dims, x, got, b * 20);
                double e = rel_l2(got, ref, b * 20);
                cr_expect(e <= ct_tol(ps[pi]), "%s batch %lld run %d: %.3g", infer_precision_name(ps[pi]), (long long)b,
                          k + 1, e);
                free(x);
            }
        infer_engine_stats st;
        infer_engine_stats_get(gpu, &st);
        cr_expect_eq(st.cuda_graphs, 2, "%s: %s", infer_precision_name(ps[pi]), infer_engine_warnings(gpu));
        cr_expect_eq(st.fallback_nodes, 0);
        infer_engine_destroy(gpu);
    }
    infer_engine_destroy(cpu);
    infer_model_free(m);
    remove(path);
    free(path);
}

/* The rare paths made to happen: each engine must still give the CPU's answers, with a warning. */
Test(cuda_robust, refused_fused_conv_gemm_fallback_and_failed_launch) {
    REQUIRE_CUDA();
    char *path = write_convnet();
    infer_model *m = load(path);
    infer_engine *cpu = make(m, INFER_DEVICE_CPU, INFER_PRECISION_FP32, 2, NULL, NULL);
    test_rng r = rng_seed(23);
    infer_precision ps[2] = { INFER_PRECISION_FP32, INFER_PRECISION_FP16 };
    for (int pi = 0; pi < 2; pi++) {
        double tol = ct_tol(ps[pi]);
        infer_engine *a = make(m, INFER_DEVICE_CUDA, ps[pi], 2, NULL, NULL);
        cr_expect_eq(cuda_test_refuse_fused_conv(a), 1, "one fused convolution (bias + relu); relu6 is never fused");
        convnet_vs_cpu(a, cpu, 2, 3, tol, &r, "refused fused convolution");
        cr_expect(strstr(infer_engine_warnings(a), "refused"), "warnings: %s", infer_engine_warnings(a));
        infer_engine_destroy(a);

        infer_engine *b = make(m, INFER_DEVICE_CUDA, ps[pi], 2, NULL, NULL);
        cr_expect_eq(cuda_test_force_gemmex(b), 1, "the linear");
        convnet_vs_cpu(b, cpu, 2, 3, tol, &r, "cublasGemmEx");
        infer_engine_destroy(b);

        infer_engine *c = make(m, INFER_DEVICE_CUDA, ps[pi], 2, NULL, NULL);
        convnet_vs_cpu(c, cpu, 2, 2, tol, &r, "before the failed launch"); /* the second run captured */
        cr_expect_eq(cuda_test_fail_graph_launch(c), 1);
        convnet_vs_cpu(c, cpu, 2, 3, tol, &r, "after the failed launch");
        cr_expect(strstr(infer_engine_warnings(c), "launch"), "warnings: %s", infer_engine_warnings(c));
        infer_engine_destroy(c);
    }
    infer_engine_destroy(cpu);
    infer_model_free(m);
    remove(path);
    free(path);
}

/* The edges model at batch 2 on CPU and on CUDA FP16. */
typedef struct {
    float x[8], pos[8], q[2 * 4 * 8], mask[16];
} edge_inputs;

static void run_edges(infer_engine *e, edge_inputs *in, infer_tensor *out) {
    int64_t d2[2] = { 2, 4 }, dq[3] = { 2, 4, 8 }, dm[2] = { 4, 4 };
    infer_tensor t[4] = { tview(INFER_F32, in->x, 2, d2), tview(INFER_F32, in->pos, 2, d2),
                          tview(INFER_F32, in->q, 3, dq), tview(INFER_F32, in->mask, 2, dm) };
    infer_error err;
    cr_assert_eq(infer_engine_run(e, t, 4, out, 4, &err), INFER_OK, "%s", err.message);
}

Test(cuda_robust, fp16_edge_values) {
    REQUIRE_CUDA();
    char *path = write_edges();
    infer_model *m = load(path);
    infer_engine *cpu = make(m, INFER_DEVICE_CPU, INFER_PRECISION_FP32, 2, NULL, NULL);
    infer_engine *gpu = make(m, INFER_DEVICE_CUDA, INFER_PRECISION_FP16, 2, NULL, NULL);
    test_rng r = rng_seed(24);
    const float finfo_min = -3.4028234663852886e38f;
    for (int variant = 0; variant < 2; variant++) { /* masks of -1e9, then of finfo.min */
        edge_inputs in;
        /* beyond the range at the input cast (1e5, 3e38), only after the multiply (700, 65504), inside it (1.5) */
        float xs[8] = { 1e5f, -1e5f, 700.0f, 3.0e38f, 65504.0f, 1.5f, INFINITY, -2.0f };
        float ps[8] = { 2049, 3001, 4095, 2051, 0, 17, 2047, 4093 }; /* odd above 2048: not representable in half */
        memcpy(in.x, xs, sizeof xs);
        memcpy(in.pos, ps, sizeof ps);
        rng_fill(&r, in.q, 64, -1, 1);
        float big = variant ? finfo_min : -1e9f;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) in.mask[i * 4 + j] = i == 0 || j > i ? big : 0.0f; /* row 0 fully masked */
        infer_tensor co[4], go[4];
        run_edges(cpu, &in, co);
        float ref_att[64];
        int64_t ref_ids[8];
        float ref_emb[32];
        memcpy(ref_att, co[3].data, sizeof ref_att);
        memcpy(ref_ids, co[1].data, sizeof ref_ids);
        memcpy(ref_emb, co[2].data, sizeof ref_emb);
        for (int rep = 0; rep < 3; rep++) { /* stream, capture, replay */
            run_edges(gpu, &in, go);
            const float *y0 = go[0].data;
            float want0[8] = { 65504.0f, 0, 65504.0f, 65504.0f, 65504.0f, 150.0f, INFINITY, 0 };
            for (int i = 0; i < 8; i++)
                cr_expect(y0[i] == want0[i], "relu(%g * 100) in FP16: %g, want %g (stores saturate, inf stays)", xs[i],
                          y0[i], want0[i]);
            cr_expect_eq(memcmp(go[1].data, ref_ids, sizeof ref_ids), 0, "f32 positions above 2048 cast to i64 exactly");
            double ee = rel_l2(go[2].data, ref_emb, 32);
            cr_expect(ee <= 5e-3, "embedding rows of positions above 2048: %.3g", ee);
            double ea = rel_l2(go[3].data, ref_att, 64);
            cr_expect(ea <= 5e-3, "attention with %s masks, row 0 fully masked: %.3g (rep %d)",
                      variant ? "finfo.min" : "-1e9", ea, rep);
            for (int i = 0; i < 64; i++) cr_expect(isfinite(((const float *)go[3].data)[i]), "attention value %d", i);
        }
    }
    infer_engine_destroy(gpu);
    infer_engine_destroy(cpu);
    infer_model_free(m);
    remove(path);
    free(path);
}

static void debug_opts(infer_engine_options *o, const void *arg) {
    o->debug_sync = 1;
    o->device_id = *(const int *)arg;
}

Test(cuda_robust, device_choice_restores_the_callers_and_debug_sync) {
    REQUIRE_CUDA();
    char *path = write_convnet();
    infer_model *m = load(path);
    int count = 0;
    cr_assert_eq(cudaGetDeviceCount(&count), cudaSuccess);
    int last = count - 1;
    cr_assert_eq(cudaSetDevice(0), cudaSuccess);
    infer_engine *cpu = make(m, INFER_DEVICE_CPU, INFER_PRECISION_FP32, 2, NULL, NULL);
    infer_engine *gpu = make(m, INFER_DEVICE_CUDA, INFER_PRECISION_FP32, 2, debug_opts, &last);
    int now = -1;
    cudaGetDevice(&now);
    cr_expect_eq(now, 0, "create left the caller's device current");
    test_rng r = rng_seed(25);
    convnet_vs_cpu(gpu, cpu, 2, 3, 1e-5, &r, "debug_sync");
    cudaGetDevice(&now);
    cr_expect_eq(now, 0, "run left the caller's device current");
    infer_engine_stats st;
    infer_engine_stats_get(gpu, &st);
    cr_expect_eq(st.cuda_graphs, 0, "no graphs in debug_sync");
    infer_engine_destroy(gpu);
    cudaGetDevice(&now);
    cr_expect_eq(now, 0, "destroy left the caller's device current");
    int bad = count;
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CUDA;
    debug_opts(&o, &bad);
    infer_engine *e = NULL;
    infer_error err;
    cr_expect_eq(infer_engine_create(m, &o, &e, &err), INFER_ERR_ARGUMENT, "device %d of %d: %s", bad, count, err.message);
    cr_expect(strstr(err.message, "device_id"), "%s", err.message);
    infer_engine_destroy(cpu);
    infer_model_free(m);
    remove(path);
    free(path);
}
