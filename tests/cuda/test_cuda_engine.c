/* test_cuda_engine.c — whole CUDA engines against CPU engines on small models written with ifg_writer:
 * FP32/FP16 agreement, CUDA Graph replay = stream execution, two engines in two threads, shared device
 * weights, CPU fallback, embedding id errors, the tuning cache, profiling. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include "cuda_testutil.h"
#include "../../loaders/ifg.h"

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

static float *randf(test_rng *r, int64_t n, float lo, float hi) { return rng_array(r, n, lo, hi); }

static char *save(ifg_writer *w) {
    char *path = strdup("/tmp/infer_cuda_test_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    infer_error err;
    cr_assert_eq(ifg_writer_save(w, path, &err), INFER_OK, "%s", err.message);
    ifg_writer_destroy(w);
    return path;
}

/* x [-1,3,12,12] -> conv(relu) -> maxpool -> conv + residual -> relu -> adaptive avg -> reshape -> linear(gelu) -> softmax */
static char *write_convnet(void) {
    test_rng r = rng_seed(100);
    ifg_writer *w;
    infer_error err;
    cr_assert_eq(ifg_writer_create(&w, &err), INFER_OK);
    float *w1 = randf(&r, 8 * 3 * 9, -0.4f, 0.4f), *b1 = randf(&r, 8, -0.1f, 0.1f);
    float *w2 = randf(&r, 8 * 8 * 9, -0.2f, 0.2f), *b2 = randf(&r, 8, -0.1f, 0.1f);
    float *w3 = randf(&r, 5 * 8, -1, 1), *b3 = randf(&r, 5, -0.1f, 0.1f);
    uint32_t x = tens(w, "x", INFER_F32, 4, (int64_t[]){ -1, 3, 12, 12 }, NULL);
    uint32_t tw1 = tens(w, "w1", INFER_F32, 4, (int64_t[]){ 8, 3, 3, 3 }, w1), tb1 = tens(w, "b1", INFER_F32, 1, (int64_t[]){ 8 }, b1);
    uint32_t tw2 = tens(w, "w2", INFER_F32, 4, (int64_t[]){ 8, 8, 3, 3 }, w2), tb2 = tens(w, "b2", INFER_F32, 1, (int64_t[]){ 8 }, b2);
    uint32_t tw3 = tens(w, "w3", INFER_F32, 2, (int64_t[]){ 5, 8 }, w3), tb3 = tens(w, "b3", INFER_F32, 1, (int64_t[]){ 5 }, b3);
    uint32_t c1 = tens(w, "c1", INFER_F32, 4, (int64_t[]){ -1, 8, 12, 12 }, NULL);
    uint32_t p1 = tens(w, "p1", INFER_F32, 4, (int64_t[]){ -1, 8, 6, 6 }, NULL);
    uint32_t c2 = tens(w, "c2", INFER_F32, 4, (int64_t[]){ -1, 8, 6, 6 }, NULL);
    uint32_t a1 = tens(w, "a1", INFER_F32, 4, (int64_t[]){ -1, 8, 6, 6 }, NULL);
    uint32_t r1 = tens(w, "r1", INFER_F32, 4, (int64_t[]){ -1, 8, 6, 6 }, NULL);
    uint32_t g1 = tens(w, "g1", INFER_F32, 4, (int64_t[]){ -1, 8, 1, 1 }, NULL);
    uint32_t f1 = tens(w, "f1", INFER_F32, 2, (int64_t[]){ -1, 8 }, NULL);
    uint32_t l1 = tens(w, "l1", INFER_F32, 2, (int64_t[]){ -1, 5 }, NULL);
    uint32_t y = tens(w, "y", INFER_F32, 2, (int64_t[]){ -1, 5 }, NULL);
    ifg_writer_node(w, OP_CONV2D, "conv1", (uint32_t[]){ x, tw1, tb1 }, 3, (uint32_t[]){ c1 }, 1);
    ifg_writer_attr_ints(w, "padding", (int64_t[]){ 1, 1 }, 2);
    ifg_writer_attr_int(w, "act", ACT_RELU);
    ifg_writer_node(w, OP_MAXPOOL2D, "pool", (uint32_t[]){ c1 }, 1, (uint32_t[]){ p1 }, 1);
    ifg_writer_attr_ints(w, "kernel", (int64_t[]){ 2, 2 }, 2);
    ifg_writer_node(w, OP_CONV2D, "conv2", (uint32_t[]){ p1, tw2, tb2 }, 3, (uint32_t[]){ c2 }, 1);
    ifg_writer_attr_ints(w, "padding", (int64_t[]){ 1, 1 }, 2);
    ifg_writer_node(w, OP_BINARY, "add", (uint32_t[]){ c2, p1 }, 2, (uint32_t[]){ a1 }, 1);
    ifg_writer_attr_int(w, "kind", BIN_ADD);
    ifg_writer_node(w, OP_ACTIVATION, "relu", (uint32_t[]){ a1 }, 1, (uint32_t[]){ r1 }, 1);
    ifg_writer_attr_int(w, "kind", ACT_RELU);
    ifg_writer_node(w, OP_ADAPTIVE_AVGPOOL2D, "gap", (uint32_t[]){ r1 }, 1, (uint32_t[]){ g1 }, 1);
    ifg_writer_attr_ints(w, "output_size", (int64_t[]){ 1, 1 }, 2);
    ifg_writer_node(w, OP_RESHAPE, "flat", (uint32_t[]){ g1 }, 1, (uint32_t[]){ f1 }, 1);
    ifg_writer_attr_ints(w, "shape", (int64_t[]){ -1, 8 }, 2);
    ifg_writer_node(w, OP_LINEAR, "fc", (uint32_t[]){ f1, tw3, tb3 }, 3, (uint32_t[]){ l1 }, 1);
    ifg_writer_attr_int(w, "act", ACT_GELU);
    ifg_writer_node(w, OP_SOFTMAX, "softmax", (uint32_t[]){ l1 }, 1, (uint32_t[]){ y }, 1);
    ifg_writer_graph(w, (uint32_t[]){ x }, 1, (uint32_t[]){ y }, 1);
    char *path = save(w);
    free(w1), free(b1), free(w2), free(b2), free(w3), free(b3);
    return path;
}

/* ids [-1,6] (i64) -> (ids + shift, an integer op: CPU fallback when shift) -> embedding [20,16] ->
 * attention (2 heads, causal) -> layernorm -> mean over the sequence -> [-1,16] */
static char *write_textnet(int shift) {
    test_rng r = rng_seed(200);
    ifg_writer *w;
    infer_error err;
    cr_assert_eq(ifg_writer_create(&w, &err), INFER_OK);
    float *emb = randf(&r, 20 * 16, -1, 1), *lw = randf(&r, 16, 0.5f, 1.5f), *lb = randf(&r, 16, -0.2f, 0.2f);
    uint32_t ids = tens(w, "ids", INFER_I64, 2, (int64_t[]){ -1, 6 }, NULL);
    uint32_t ids2 = tens(w, "ids2", INFER_I64, 2, (int64_t[]){ -1, 6 }, NULL);
    uint32_t te = tens(w, "emb", INFER_F32, 2, (int64_t[]){ 20, 16 }, emb);
    uint32_t tlw = tens(w, "ln.w", INFER_F32, 1, (int64_t[]){ 16 }, lw), tlb = tens(w, "ln.b", INFER_F32, 1, (int64_t[]){ 16 }, lb);
    uint32_t e1 = tens(w, "e1", INFER_F32, 3, (int64_t[]){ -1, 6, 16 }, NULL);
    uint32_t a1 = tens(w, "a1", INFER_F32, 3, (int64_t[]){ -1, 6, 16 }, NULL);
    uint32_t n1 = tens(w, "n1", INFER_F32, 3, (int64_t[]){ -1, 6, 16 }, NULL);
    uint32_t y = tens(w, "y", INFER_F32, 2, (int64_t[]){ -1, 16 }, NULL);
    uint32_t src = ids;
    if (shift) {
        ifg_writer_node(w, OP_BINARY, "shift", (uint32_t[]){ ids }, 1, (uint32_t[]){ ids2 }, 1);
        ifg_writer_attr_int(w, "kind", BIN_ADD);
        ifg_writer_attr_float(w, "scalar", 1.0);
        src = ids2;
    }
    ifg_writer_node(w, OP_EMBEDDING, "emb", (uint32_t[]){ src, te }, 2, (uint32_t[]){ e1 }, 1);
    ifg_writer_node(w, OP_ATTENTION, "att", (uint32_t[]){ e1, e1, e1 }, 3, (uint32_t[]){ a1 }, 1);
    ifg_writer_attr_int(w, "heads", 2);
    ifg_writer_attr_int(w, "causal", 1);
    ifg_writer_node(w, OP_LAYERNORM, "ln", (uint32_t[]){ a1, tlw, tlb }, 3, (uint32_t[]){ n1 }, 1);
    ifg_writer_node(w, OP_REDUCE, "mean", (uint32_t[]){ n1 }, 1, (uint32_t[]){ y }, 1);
    ifg_writer_attr_int(w, "kind", RED_MEAN);
    ifg_writer_attr_ints(w, "axes", (int64_t[]){ 1 }, 1);
    ifg_writer_graph(w, (uint32_t[]){ ids }, 1, (uint32_t[]){ y }, 1);
    char *path = save(w);
    free(emb), free(lw), free(lb);
    return path;
}

/* INFER_TEST_DEBUG_SYNC=1 (scripts/gpu-check's rerun of a failing test): synchronize after each node, so a
 * kernel fault names its node (graph counts then differ: no graphs in that mode). */
static int debug_sync_wanted(void) {
    const char *v = getenv("INFER_TEST_DEBUG_SYNC");
    return v && v[0] == '1';
}

static infer_engine *engine(const infer_model *m, infer_device dev, infer_precision p, int graphs, int max_batch) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = dev;
    o.precision = p;
    o.cuda_graphs = graphs;
    o.max_batch = max_batch;
    o.threads = 2;
    o.debug_sync = debug_sync_wanted();
    infer_engine *e = NULL;
    infer_error err;
    infer_status s = infer_engine_create(m, &o, &e, &err);
    cr_assert_eq(s, INFER_OK, "engine on %s (%s): %s", infer_device_name(dev), infer_precision_name(p), err.message);
    return e;
}

/* Runs e on input x (f32 or i64 data of batch b) and copies output 0 into out. */
static void run1(infer_engine *e, infer_dtype dt, int nd, const int64_t *dims, void *x, float *out, int64_t out_n) {
    infer_tensor in = tview(dt, x, nd, dims), o;
    infer_error err;
    infer_status s = infer_engine_run(e, &in, 1, &o, 1, &err);
    cr_assert_eq(s, INFER_OK, "run: %s", err.message);
    int64_t n = infer_tensor_elements(&o);
    cr_assert_eq(n, out_n);
    memcpy(out, o.data, (size_t)n * sizeof(float));
}

static infer_model *load(const char *path) {
    infer_model *m = NULL;
    infer_error err;
    cr_assert_eq(infer_model_load(path, &m, &err), INFER_OK, "%s", err.message);
    return m;
}

Test(cuda_engine, convnet_matches_cpu_fp32_fp16_all_batches) {
    REQUIRE_CUDA();
    char *path = write_convnet();
    infer_model *m = load(path);
    infer_engine *cpu = engine(m, INFER_DEVICE_CPU, INFER_PRECISION_FP32, 0, 4);
    infer_precision ps[3] = { INFER_PRECISION_FP32, INFER_PRECISION_TF32, INFER_PRECISION_FP16 };
    test_rng r = rng_seed(7);
    for (int pi = 0; pi < 3; pi++) {
        infer_engine *gpu = engine(m, INFER_DEVICE_CUDA, ps[pi], 1, 4);
        for (int rep = 0; rep < 2; rep++)
            for (int64_t b = 1; b <= 4; b++) {
                int64_t dims[4] = { b, 3, 12, 12 };
                float *x = rng_array(&r, b * 3 * 144, -1, 1), ref[20], got[20];
                run1(cpu, INFER_F32, 4, dims, x, ref, b * 5);
                run1(gpu, INFER_F32, 4, dims, x, got, b * 5);
                double e = rel_l2(got, ref, b * 5);
                cr_expect(e <= (ps[pi] == INFER_PRECISION_FP32 ? 1e-5 : ps[pi] == INFER_PRECISION_TF32 ? 2e-3 : 5e-3),
                          "%s batch %lld rep %d: %g", infer_precision_name(ps[pi]), (long long)b, rep, e);
                free(x);
            }
        infer_engine_stats st;
        infer_engine_stats_get(gpu, &st);
        cr_expect_eq(st.fallback_nodes, 0);
        cr_expect_eq(st.pinned, 1);
        cr_expect_gt(st.device_bytes, 0);
        cr_expect_geq(st.cuda_graphs, 4, "graphs: %d", st.cuda_graphs);
        cr_log_info("%s warnings: %s", infer_precision_name(ps[pi]), cuda_engine_warnings(gpu));
        cr_expect_eq(infer_engine_warnings(gpu), cuda_engine_warnings(gpu), "the public call returns the same text");
        /* the timing split of the last run (batch 4, a graph launch) */
        cr_expect_gt(st.last_h2d_ms, 0.0);
        cr_expect_gt(st.last_compute_ms, 0.0);
        cr_expect_gt(st.last_d2h_ms, 0.0);
        cr_expect_gt(st.last_enqueue_ms, 0.0);
        cr_log_info("%s last run: h2d %.4f compute %.4f d2h %.4f enqueue %.4f ms", infer_precision_name(ps[pi]),
                    st.last_h2d_ms, st.last_compute_ms, st.last_d2h_ms, st.last_enqueue_ms);
        infer_engine_destroy(gpu);
    }
    infer_engine_destroy(cpu);
    infer_model_free(m);
    remove(path);
    free(path);
}

Test(cuda_engine, graph_replay_equals_stream) {
    REQUIRE_CUDA();
    char *path = write_convnet();
    infer_model *m = load(path);
    infer_engine *g = engine(m, INFER_DEVICE_CUDA, INFER_PRECISION_FP32, 1, 3);
    infer_engine *s = engine(m, INFER_DEVICE_CUDA, INFER_PRECISION_FP32, 0, 3);
    test_rng r = rng_seed(8);
    int64_t dims[4] = { 3, 3, 12, 12 };
    for (int rep = 0; rep < 4; rep++) {
        float *x = rng_array(&r, 3 * 3 * 144, -1, 1), a[15], b[15];
        run1(g, INFER_F32, 4, dims, x, a, 15);
        run1(s, INFER_F32, 4, dims, x, b, 15);
        cr_expect(rel_l2(a, b, 15) <= 1e-6, "rep %d: graph and stream differ by %g", rep, rel_l2(a, b, 15));
        free(x);
    }
    infer_engine_stats st;
    infer_engine_stats_get(g, &st);
    cr_expect_eq(st.cuda_graphs, 1, "%s", cuda_engine_warnings(g));
    infer_engine_stats_get(s, &st);
    cr_expect_eq(st.cuda_graphs, 0);
    infer_engine_destroy(g);
    infer_engine_destroy(s);
    infer_model_free(m);
    remove(path);
    free(path);
}

typedef struct {
    const infer_model *m;
    const float *x;
    float out[8][10];
    int ok;
} thread_job;

static void *thread_main(void *arg) {
    thread_job *j = arg;
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CUDA;
    o.max_batch = 2;
    infer_engine *e = NULL;
    infer_error err;
    if (infer_engine_create(j->m, &o, &e, &err) != INFER_OK) return NULL;
    int64_t dims[4] = { 2, 3, 12, 12 };
    j->ok = 1;
    for (int rep = 0; rep < 8; rep++) {
        infer_tensor in = tview(INFER_F32, (void *)(j->x + rep * 2 * 3 * 144), 4, dims), o1;
        if (infer_engine_run(e, &in, 1, &o1, 1, &err) != INFER_OK) {
            j->ok = 0;
            break;
        }
        memcpy(j->out[rep], o1.data, 10 * sizeof(float));
    }
    infer_engine_destroy(e);
    return NULL;
}

Test(cuda_engine, two_engines_two_threads) {
    REQUIRE_CUDA();
    char *path = write_convnet();
    infer_model *m = load(path);
    test_rng r = rng_seed(9);
    float *x = rng_array(&r, 8 * 2 * 3 * 144, -1, 1);
    thread_job one = { m, x, { { 0 } }, 0 }, jobs[2] = { { m, x, { { 0 } }, 0 }, { m, x, { { 0 } }, 0 } };
    thread_main(&one);
    cr_assert(one.ok);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, thread_main, &jobs[i]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        cr_assert(jobs[i].ok, "thread %d failed", i);
        for (int rep = 0; rep < 8; rep++)
            cr_expect(rel_l2(jobs[i].out[rep], one.out[rep], 10) <= 1e-6, "thread %d run %d differs", i, rep);
    }
    free(x);
    infer_model_free(m);
    remove(path);
    free(path);
}

/* Engines of one model share its device weights (one block per precision class) and run from one thread each. */
typedef struct {
    infer_engine *e;
    const float *x;
    float out[8][10];
    int ok;
} run_job;

static void *run_main(void *arg) {
    run_job *j = arg;
    int64_t dims[4] = { 2, 3, 12, 12 };
    infer_error err;
    j->ok = 1;
    for (int rep = 0; rep < 8; rep++) {
        infer_tensor in = tview(INFER_F32, (void *)(j->x + rep * 2 * 3 * 144), 4, dims), o1;
        if (infer_engine_run(j->e, &in, 1, &o1, 1, &err) != INFER_OK) {
            j->ok = 0;
            break;
        }
        memcpy(j->out[rep], o1.data, 10 * sizeof(float));
    }
    return NULL;
}

Test(cuda_engine, shared_weights_two_engines_two_threads) {
    REQUIRE_CUDA();
    char *path = write_convnet();
    infer_model *m = load(path);
    infer_engine *a = engine(m, INFER_DEVICE_CUDA, INFER_PRECISION_FP32, 1, 2);
    infer_engine *b = engine(m, INFER_DEVICE_CUDA, INFER_PRECISION_FP32, 1, 2);
    int refs = 0;
    const void *wa = cuda_engine_shared_weights(a, NULL), *wb = cuda_engine_shared_weights(b, &refs);
    cr_assert(wa != NULL, "the engine has a shared weight block");
    cr_expect_eq(wa, wb, "two FP32 engines of one model share one block");
    cr_expect_eq(refs, 2);
    infer_engine_stats sa, sb;
    infer_engine_stats_get(a, &sa);
    infer_engine_stats_get(b, &sb);
    cr_expect_gt(sa.shared_device_bytes, 0);
    cr_expect_eq(sa.shared_device_bytes, sb.shared_device_bytes);
    cr_expect_geq(sa.shared_device_bytes, sa.weight_bytes, "every weight of this model comes from the file");
    cr_expect_gt(sb.device_bytes, sb.shared_device_bytes);
    /* TF32 stores the same bytes as FP32: shared too; FP16 stores half: a block of its own */
    infer_engine *t = engine(m, INFER_DEVICE_CUDA, INFER_PRECISION_TF32, 1, 2);
    cr_expect_eq(cuda_engine_shared_weights(t, &refs), wa);
    cr_expect_eq(refs, 3);
    infer_engine_destroy(t);
    infer_engine *h = engine(m, INFER_DEVICE_CUDA, INFER_PRECISION_FP16, 1, 2);
    const void *wh = cuda_engine_shared_weights(h, &refs);
    cr_expect(wh != NULL && wh != wa, "FP16 has its own block");
    cr_expect_eq(refs, 1);
    infer_engine_stats shh;
    infer_engine_stats_get(h, &shh);
    cr_expect_lt(shh.shared_device_bytes, sa.shared_device_bytes);
    infer_engine_destroy(h);
    infer_engine *cpu = engine(m, INFER_DEVICE_CPU, INFER_PRECISION_FP32, 0, 2);
    cr_expect_null(cuda_engine_shared_weights(cpu, &refs));

    test_rng r = rng_seed(12);
    float *x = rng_array(&r, 8 * 2 * 3 * 144, -1, 1);
    run_job ref = { cpu, x, { { 0 } }, 0 }, jobs[2] = { { a, x, { { 0 } }, 0 }, { b, x, { { 0 } }, 0 } };
    run_main(&ref);
    cr_assert(ref.ok);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&th[i], NULL, run_main, &jobs[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        cr_assert(jobs[i].ok, "thread %d failed", i);
        for (int rep = 0; rep < 8; rep++) {
            cr_expect(rel_l2(jobs[i].out[rep], ref.out[rep], 10) <= 1e-5, "thread %d run %d vs CPU: %g", i, rep,
                      rel_l2(jobs[i].out[rep], ref.out[rep], 10));
            cr_expect(rel_l2(jobs[i].out[rep], jobs[0].out[rep], 10) <= 1e-6, "thread %d run %d vs thread 0", i, rep);
        }
    }
    /* the block lives while an engine holds it */
    infer_engine_destroy(a);
    cr_expect_eq(cuda_engine_shared_weights(b, &refs), wb);
    cr_expect_eq(refs, 1);
    run_job again = { b, x, { { 0 } }, 0 };
    run_main(&again);
    cr_assert(again.ok);
    cr_expect(rel_l2(again.out[7], ref.out[7], 10) <= 1e-5, "after the first engine is gone");
    infer_engine_destroy(b);
    infer_engine_destroy(cpu);
    free(x);
    infer_model_free(m);
    remove(path);
    free(path);
}

Test(cuda_engine, textnet_fallback_and_bad_ids) {
    REQUIRE_CUDA();
    for (int shift = 0; shift < 2; shift++) {
        char *path = write_textnet(shift);
        infer_model *m = load(path);
        infer_engine *cpu = engine(m, INFER_DEVICE_CPU, INFER_PRECISION_FP32, 0, 3);
        for (int fp16 = 0; fp16 < 2; fp16++) {
            infer_precision p = fp16 ? INFER_PRECISION_FP16 : INFER_PRECISION_FP32;
            infer_engine *gpu = engine(m, INFER_DEVICE_CUDA, p, 1, 3);
            test_rng r = rng_seed(10);
            for (int64_t b = 1; b <= 3; b++)
                for (int rep = 0; rep < 3; rep++) { /* stream, capture, replay: every one compared */
                    int64_t ids[18], dims[2] = { b, 6 };
                    for (int i = 0; i < b * 6; i++) ids[i] = (int64_t)(rng_u64(&r) % 19);
                    float ref[48], got[48];
                    run1(cpu, INFER_I64, 2, dims, ids, ref, b * 16);
                    run1(gpu, INFER_I64, 2, dims, ids, got, b * 16);
                    double e = rel_l2(got, ref, b * 16);
                    cr_expect(e <= ct_tol(p), "shift %d %s batch %lld run %d: %g", shift, infer_precision_name(p),
                              (long long)b, rep + 1, e);
                }
            infer_engine_stats st;
            infer_engine_stats_get(gpu, &st);
            cr_expect_eq(st.fallback_nodes, shift, "fallback nodes %d", st.fallback_nodes);
            if (shift) {
                cr_expect(strstr(infer_engine_warnings(gpu), "run on the CPU") != NULL, "warnings: %s",
                          infer_engine_warnings(gpu));
                cr_expect_gt(st.last_compute_ms, 0.0, "compute includes the CPU node");
                cr_expect_eq(st.cuda_graphs, 0, "no graphs with a CPU node");
                infer_layer_info li;
                cr_assert_eq(infer_engine_layer(gpu, 0, &li), INFER_OK);
                cr_expect_str_eq(li.device, "cpu");
                cr_assert_eq(infer_engine_layer(gpu, 1, &li), INFER_OK);
                cr_expect_str_eq(li.device, "cuda");
            }
            /* an id out of range is a run error naming the node, on every run (graphs too) */
            for (int rep = 0; rep < 3; rep++) {
                int64_t ids[6] = { 1, 2, 25, 3, 4, 5 }, dims[2] = { 1, 6 };
                infer_tensor in = tview(INFER_I64, ids, 2, dims), o;
                infer_error err;
                cr_expect_eq(infer_engine_run(gpu, &in, 1, &o, 1, &err), INFER_ERR_RUNTIME, "rep %d: %s", rep, err.message);
                int64_t good[6] = { 1, 2, 3, 3, 4, 5 };
                in.data = good;
                cr_expect_eq(infer_engine_run(gpu, &in, 1, &o, 1, &err), INFER_OK, "after the error: %s", err.message);
            }
            infer_engine_destroy(gpu);
        }
        infer_engine_destroy(cpu);
        infer_model_free(m);
        remove(path);
        free(path);
    }
}

Test(cuda_engine, tuning_cache_and_profile) {
    REQUIRE_CUDA();
    char *path = write_convnet();
    infer_model *m = load(path);
    char cache[] = "/tmp/infer_tune_XXXXXX";
    int fd = mkstemp(cache);
    cr_assert(fd >= 0);
    close(fd);
    remove(cache);
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CUDA;
    o.max_batch = 2;
    o.tune = 1;
    o.tune_cache = cache;
    o.profile = 1;
    infer_engine *e = NULL;
    infer_error err;
    cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_OK, "%s", err.message);
    cr_expect(strstr(cuda_engine_warnings(e), "starting empty"), "warnings: %s", cuda_engine_warnings(e));
    cr_expect_eq(access(cache, R_OK), 0, "the cache was written");
    float x[2 * 3 * 144], y[10];
    test_rng r = rng_seed(11);
    rng_fill(&r, x, 2 * 3 * 144, -1, 1);
    for (int i = 0; i < 3; i++) run1(e, INFER_F32, 4, (int64_t[]){ 2, 3, 12, 12 }, x, y, 10);
    infer_layer_info li;
    cr_assert_eq(infer_engine_layer(e, 0, &li), INFER_OK);
    cr_expect_eq(li.runs, 3);
    cr_expect_gt(li.total_ms, 0.0);
    infer_engine_stats st;
    infer_engine_stats_get(e, &st);
    cr_expect_eq(st.cuda_graphs, 0, "no graphs while profiling");
    infer_engine_destroy(e);
    /* reused: no warning */
    o.profile = 0;
    cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_OK, "%s", err.message);
    cr_expect_str_eq(cuda_engine_warnings(e), "", "warnings: %s", cuda_engine_warnings(e));
    infer_engine_destroy(e);
    /* corrupt: ignored with a warning, and rewritten */
    FILE *f = fopen(cache, "r+b");
    cr_assert(f);
    fseek(f, 20, SEEK_SET);
    fputc('#', f);
    fclose(f);
    cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_OK, "%s", err.message);
    cr_expect(strstr(cuda_engine_warnings(e), "ignored"), "warnings: %s", cuda_engine_warnings(e));
    infer_engine_destroy(e);
    remove(cache);
    infer_model_free(m);
    remove(path);
    free(path);
}
