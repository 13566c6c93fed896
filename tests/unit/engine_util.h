/* engine_util.h — tests that write small models with the C writer (loaders/ifg.h) and build and run
 * engines on them through the public API. */
#ifndef INFER_ENGINE_UTIL_H
#define INFER_ENGINE_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "testutil.h"
#include "../../loaders/ifg.h"
#include "../../base/ops.h"

#ifndef DIMS
/* DIMS(2, 3) -> ndim and a dims pointer. */
#define DIMS(...) (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (const int64_t[]){ __VA_ARGS__ }
#endif

static inline ifg_writer *tw_new(void) {
    ifg_writer *w;
    infer_error err;
    cr_assert_eq(ifg_writer_create(&w, &err), INFER_OK, "%s", err.message);
    return w;
}

/* An activation (no data). */
static inline uint32_t tw_act(ifg_writer *w, const char *name, infer_dtype dtype, int ndim, const int64_t *dims) {
    uint32_t id = ifg_writer_tensor(w, name, dtype, ndim, dims, NULL, 0);
    cr_assert_neq(id, IFG_NONE, "tensor %s", name);
    return id;
}

/* A dense constant; data holds prod(dims) elements of dtype. */
static inline uint32_t tw_const(ifg_writer *w, const char *name, infer_dtype dtype, int ndim, const int64_t *dims,
                                const void *data) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    uint32_t id = ifg_writer_tensor(w, name, dtype, ndim, dims, data, (uint64_t)n * infer_dtype_size(dtype));
    cr_assert_neq(id, IFG_NONE, "tensor %s", name);
    return id;
}

/* A node; its attributes follow with ifg_writer_attr_*. */
static inline void tw_node(ifg_writer *w, op_code op, const char *name, int n_in, const uint32_t *in, int n_out,
                           const uint32_t *out) {
    ifg_writer_node(w, op, name, in, (uint32_t)n_in, out, (uint32_t)n_out);
}
static inline void tw_graph(ifg_writer *w, int n_in, const uint32_t *in, int n_out, const uint32_t *out) {
    ifg_writer_graph(w, in, (uint32_t)n_in, out, (uint32_t)n_out);
}
/* TW_IDS(a, b) -> a count and a uint32_t ids pointer, for tw_node and tw_graph. */
#define TW_IDS(...) (int)(sizeof((uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t)), (const uint32_t[]){ __VA_ARGS__ }

/* Loads bytes as a model through a temporary file (removed at once; the map stays valid). */
static inline infer_status model_from_bytes(const uint8_t *bytes, uint64_t size, infer_model **model,
                                            infer_error *err) {
    char path[] = "/tmp/infer_test_model.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp");
    FILE *f = fdopen(fd, "wb");
    cr_assert(f != NULL);
    cr_assert(size == 0 || fwrite(bytes, 1, size, f) == size);
    cr_assert_eq(fclose(f), 0);
    infer_status s = infer_model_load(path, model, err);
    unlink(path);
    return s;
}

/* Serializes w (and destroys it) into bytes the caller frees. */
static inline uint8_t *writer_bytes(ifg_writer *w, uint64_t *size) {
    infer_error err;
    uint8_t *bytes;
    cr_assert_eq(ifg_writer_to_memory(w, &bytes, size, &err), INFER_OK, "%s", err.message);
    ifg_writer_destroy(w);
    return bytes;
}

/* The model w describes (w is destroyed); the file must load. */
static inline infer_model *model_from_writer(ifg_writer *w) {
    uint64_t size;
    uint8_t *bytes = writer_bytes(w, &size);
    infer_model *m = NULL;
    infer_error err;
    infer_status s = model_from_bytes(bytes, size, &m, &err);
    free(bytes);
    cr_assert_eq(s, INFER_OK, "%s", err.message);
    return m;
}

/* Builds an engine with o and destroys it: the status (with err's message), for tests of what is refused. */
static inline infer_status engine_builds(const infer_model *m, const infer_engine_options *o, infer_error *err) {
    infer_engine *e = NULL;
    infer_status s = infer_engine_create(m, o, &e, err);
    infer_engine_destroy(e);
    return s;
}

static inline infer_status engine_for(const infer_model *m, int max_batch, int optimize, int threads,
                                      infer_engine **e, infer_error *err) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.max_batch = max_batch;
    o.optimize = optimize;
    o.threads = threads;
    *e = NULL;
    return infer_engine_create(m, &o, e, err);
}

static inline infer_engine *engine_ok(const infer_model *m, int max_batch, int optimize, int threads) {
    infer_engine *e;
    infer_error err;
    infer_status s = engine_for(m, max_batch, optimize, threads, &e, &err);
    cr_assert_eq(s, INFER_OK, "engine (max_batch %d, optimize %d): %s", max_batch, optimize, err.message);
    return e;
}

/* Input i of the model at a batch, as a view of data (the model's dtype; -1 dims take the batch). */
static inline infer_tensor model_input(const infer_model *m, int i, int64_t batch, void *data) {
    infer_tensor_info info;
    cr_assert_eq(infer_model_input(m, i, &info), INFER_OK);
    infer_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = info.dtype;
    t.ndim = info.ndim;
    for (int d = 0; d < info.ndim; d++) t.dims[d] = info.dims[d] == -1 ? batch : info.dims[d];
    t.data = data;
    return t;
}

/* Layers whose weights text (infer_layer_info.weights: the path a layer takes) contains what. */
static inline int layers_described(const infer_engine *e, const char *what) {
    int n = 0;
    for (int i = 0; i < infer_engine_layer_count(e); i++) {
        infer_layer_info li;
        cr_assert_eq(infer_engine_layer(e, i, &li), INFER_OK);
        n += li.weights && strstr(li.weights, what) != NULL;
    }
    return n;
}

#endif
