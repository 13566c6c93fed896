/* test_engine_api.c — the engine API the CUDA work added, where it needs no GPU: infer_engine_warnings,
 * the timing split of the last run and shared_device_bytes on the CPU backend, the model's shared state. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>
#include "testutil.h"
#include "../../runtime/engine.h"
#include "../../runtime/cuda/cuda_backend.h"

/* x [-1,4] -> linear [3,4] + bias -> y [-1,3], written to a temporary file. */
static char *write_linear(void) {
    ifg_writer *w;
    infer_error err;
    cr_assert_eq(ifg_writer_create(&w, &err), INFER_OK);
    float wt[12], b[3];
    for (int i = 0; i < 12; i++) wt[i] = 0.1f * (float)(i - 6);
    for (int i = 0; i < 3; i++) b[i] = 0.5f * (float)i;
    uint32_t x = ifg_writer_tensor(w, "x", INFER_F32, 2, (int64_t[]){ -1, 4 }, NULL, 0);
    uint32_t tw = ifg_writer_tensor(w, "w", INFER_F32, 2, (int64_t[]){ 3, 4 }, wt, sizeof wt);
    uint32_t tb = ifg_writer_tensor(w, "b", INFER_F32, 1, (int64_t[]){ 3 }, b, sizeof b);
    uint32_t y = ifg_writer_tensor(w, "y", INFER_F32, 2, (int64_t[]){ -1, 3 }, NULL, 0);
    cr_assert(x != IFG_NONE && tw != IFG_NONE && tb != IFG_NONE && y != IFG_NONE);
    ifg_writer_node(w, OP_LINEAR, "fc", (uint32_t[]){ x, tw, tb }, 3, (uint32_t[]){ y }, 1);
    ifg_writer_graph(w, (uint32_t[]){ x }, 1, (uint32_t[]){ y }, 1);
    char *path = strdup("/tmp/infer_api_test_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(ifg_writer_save(w, path, &err), INFER_OK, "%s", err.message);
    ifg_writer_destroy(w);
    return path;
}

Test(engine_api, cpu_warnings_timing_and_shared_state) {
    char *path = write_linear();
    infer_model *m = NULL;
    infer_error err;
    cr_assert_eq(infer_model_load(path, &m, &err), INFER_OK, "%s", err.message);
    cr_assert(m->shared != NULL, "a loaded model has its shared state");
    cr_expect_null(m->shared->data);
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.threads = 1;
    o.max_batch = 2;
    infer_engine *e = NULL;
    cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_OK, "%s", err.message);
    cr_expect_str_eq(infer_engine_warnings(e), "");
    cr_expect_str_eq(infer_engine_warnings(NULL), "");
    cr_expect_null(cuda_engine_shared_weights(e, NULL));
    infer_engine_stats st;
    cr_assert_eq(infer_engine_stats_get(e, &st), INFER_OK);
    cr_expect(st.last_h2d_ms == 0 && st.last_compute_ms == 0 && st.last_d2h_ms == 0 && st.last_enqueue_ms == 0,
              "nothing before the first run");
    cr_expect_eq(st.shared_device_bytes, 0);
    float x[8] = { 1, 2, 3, 4, -1, -2, -3, -4 };
    infer_tensor in = tview(INFER_F32, x, 2, (int64_t[]){ 2, 4 }), out;
    cr_assert_eq(infer_engine_run(e, &in, 1, &out, 1, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(infer_engine_stats_get(e, &st), INFER_OK);
    cr_expect_gt(st.last_compute_ms, 0.0, "the run's wall time");
    cr_expect(st.last_h2d_ms == 0 && st.last_d2h_ms == 0 && st.last_enqueue_ms == 0, "no copies on the CPU");
    /* a failed run keeps the last successful run's numbers */
    double before = st.last_compute_ms;
    infer_tensor bad = tview(INFER_F32, x, 2, (int64_t[]){ 2, 5 });
    cr_expect_eq(infer_engine_run(e, &bad, 1, &out, 1, &err), INFER_ERR_SHAPE);
    cr_assert_eq(infer_engine_stats_get(e, &st), INFER_OK);
    cr_expect_eq(st.last_compute_ms, before);
    infer_engine_destroy(e);
    cr_expect_null(m->shared->data, "the CPU backend leaves the model's shared state alone");
    infer_model_free(m);
    remove(path);
    free(path);
}
