/* cuda_backend.c — the CUDA backend's table: create (fallback plan, memory, plans, tuning), destroy, stats, node devices. */
#include <stdlib.h>
#include <string.h>
#include "cuda_backend.h"
#include "cuda_state.h"
#include "cuda_check.h"
#include "../../kernels/cuda/dispatch.h"
#include "cuda_dtypes.h"
#include "../../kernels/cuda/encoded_weights.h"

static void cuda_destroy(infer_engine *e) {
    cuda_state *st = e->state;
    if (!st) return;
    int previous = cuda_device_enter(st->ctx.device);
    if (st->ctx.stream) cudaStreamSynchronize(st->ctx.stream);
    for (int i = 0; i < CUDA_BATCH_SLOTS; i++) cuda_slot_free(st, &st->slots[i]);
    if (st->events) {
        for (int i = 0; i < 2 * st->n_nodes; i++)
            if (st->events[i]) cudaEventDestroy(st->events[i]);
        free(st->events);
    }
    for (int i = 0; i < 4; i++)
        if (st->tev[i]) cudaEventDestroy(st->tev[i]);
    cuda_fallback_free(st);
    cuda_shared_release(e, st); /* after the synchronize above: nothing of this engine reads the block now */
    cuda_state_free_memory(st);
    cuda_ctx_destroy(&st->ctx);
    free(st->dptr);
    free(st->ddt);
    free(st->fallback);
    free(st->host);
    free(st->in_pinned);
    free(st->in_dev);
    free(st->out_pinned);
    free(st->out_dev);
    free(st);
    e->state = NULL;
    cuda_device_leave(previous);
}

/* Times algorithm candidates of every planned node on the real buffers (at max batch), then saves the cache. */
static infer_status tune_all(infer_engine *e, cuda_state *st, cuda_batch_slot *slot, infer_error *err) {
    const ir_graph *g = &e->graph;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!slot->plans[i]) continue;
        const ir_node *n = &g->nodes[i];
        infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] == IR_NONE) memset(&in[k], 0, sizeof in[k]);
            else in[k] = cuda_view(e, st, n->in[k]);
        }
        for (int k = 0; k < n->n_out; k++) out[k] = cuda_view(e, st, n->out[k]);
        infer_status s = cuda_node_tune(&st->ctx, n, slot->plans[i], in, out, err);
        if (s != INFER_OK) return infer_fail_context(err, "tuning node %d '%s' (%s)", i, n->name, op_name(n->op));
    }
    return INFER_OK;
}

/* Tuning may pick algorithms that want more scratch than the heuristic's choices: it searches within a
 * temporary buffer of up to CUDA_CONV_WORKSPACE_CAP (half the free memory at most), then the engine keeps
 * a scratch buffer of exactly what the chosen algorithms need, when that is more than it has. */
static infer_status tune_with_room(infer_engine *e, cuda_state *st, cuda_batch_slot *slot, infer_error *err) {
    cuda_ctx *c = &st->ctx;
    void *kept = c->scratch, *room = NULL;
    size_t kept_bytes = c->scratch_bytes, free_b = 0, total_b = 0, room_bytes = CUDA_CONV_WORKSPACE_CAP;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) cudaGetLastError();
    if (room_bytes > free_b / 2) room_bytes = (free_b / 2) & ~(size_t)255;
    if (room_bytes > kept_bytes) {
        if (cudaMalloc(&room, room_bytes) == cudaSuccess) {
            c->scratch = room;
            c->scratch_bytes = room_bytes;
        } else {
            cudaGetLastError();
            room = NULL;
            cuda_ctx_warn(c, "tuning within the %zu bytes of scratch the heuristic's choices need (no room for %zu)",
                          kept_bytes, room_bytes);
        }
    }
    infer_status s = tune_all(e, st, slot, err);
    c->scratch = kept;
    c->scratch_bytes = kept_bytes;
    if (room) cudaFree(room);
    if (s != INFER_OK) return s;
    size_t need = 0;
    for (int i = 0; i < st->n_nodes; i++)
        if (cuda_node_scratch(slot->plans[i]) > need) need = cuda_node_scratch(slot->plans[i]);
    if (need <= kept_bytes) return INFER_OK;
    INFER_TRY(cuda_alloc(&st->tuned_scratch, need, "scratch of the tuned algorithms", err));
    st->ws_bytes += need; /* counted with the workspace in the stats */
    c->scratch = st->tuned_scratch;
    c->scratch_bytes = need;
    return INFER_OK;
}

static infer_status create_on_device(infer_engine *e, infer_error *err) {
    char why[512];
    if (!cuda_device_usable(why, sizeof why)) return infer_fail(err, INFER_ERR_NO_DEVICE, "CUDA: %s", why);
    const ir_graph *g = &e->graph;
    cuda_state *st = calloc(1, sizeof *st);
    if (!st) return infer_fail(err, INFER_ERR_MEMORY, "out of memory creating the CUDA backend");
    e->state = st; /* from here on, a failure is cleaned up by the engine through cuda_destroy */
    st->n_tensors = g->n_tensors;
    st->n_nodes = g->n_nodes;
    size_t nt = (size_t)g->n_tensors + 1, nn = (size_t)g->n_nodes + 1;
    st->dptr = calloc(nt, sizeof *st->dptr);
    st->ddt = calloc(nt, sizeof *st->ddt);
    st->host = calloc(nt, sizeof *st->host);
    st->fallback = calloc(nn, sizeof *st->fallback);
    st->in_pinned = calloc((size_t)g->n_inputs + 1, sizeof(void *));
    st->in_dev = calloc((size_t)g->n_inputs + 1, sizeof(void *));
    st->out_pinned = calloc((size_t)g->n_outputs + 1, sizeof(void *));
    st->out_dev = calloc((size_t)g->n_outputs + 1, sizeof(void *));
    if (!st->dptr || !st->ddt || !st->host || !st->fallback || !st->in_pinned || !st->in_dev || !st->out_pinned ||
        !st->out_dev)
        return infer_fail(err, INFER_ERR_MEMORY, "out of memory creating the CUDA backend");
    INFER_TRY(cuda_ctx_init_on(&st->ctx, e->opt.precision, e->opt.device_id, err));
    cuda_ctx *c = &st->ctx;
    for (int i = 0; i < 4; i++) CUDA_CHECK(cudaEventCreate(&st->tev[i])); /* timing of each run */

    if (e->opt.tune_cache && e->opt.tune_cache[0]) {
        char warn[1400];
        c->cache_used = 1;
        if (!tune_cache_load(&c->cache, e->opt.tune_cache, warn, sizeof warn)) cuda_ctx_warn(c, "%s", warn);
    }
    c->tune = e->opt.tune;
    char first[512];
    st->n_fallback = cuda_plan_fallback(g, c->fp16, st->fallback, first, sizeof first);
    if (st->n_fallback)
        cuda_ctx_warn(c, "%d node(s) run on the CPU (no CUDA kernel takes them); first: %s", st->n_fallback, first);
    int mixed = cuda_plan_dtypes(g, c->fp16, st->fallback, st->ddt, first, sizeof first);
    st->n_fallback += mixed;
    if (mixed) cuda_ctx_warn(c, "%d node(s) run on the CPU (f32 kept next to f16 in FP16); first: %s", mixed, first);

    /* plans at max batch (e->dims holds its shapes now): they say how much scratch to allocate */
    cuda_batch_slot *slot = &st->slots[0];
    c->scratch_bytes = CUDA_CONV_WORKSPACE_CAP; /* the most an algorithm may ask for while planning */
    INFER_TRY(cuda_slot_prepare(e, st, slot, err));
    slot->last_used = ++st->clock;
    size_t scratch = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (cuda_node_scratch(slot->plans[i]) > scratch) scratch = cuda_node_scratch(slot->plans[i]);
    c->scratch_bytes = 0;
    INFER_TRY(cuda_state_memory(e, st, scratch, err));
    INFER_TRY(cuda_fallback_init(e, st, err));
    if (c->tune) INFER_TRY(tune_with_room(e, st, slot, err));
    if (c->cache_used && c->cache.dirty) {
        char why2[512];
        if (!tune_cache_save(&c->cache, e->opt.tune_cache, why2, sizeof why2))
            cuda_ctx_warn(c, "tuning cache not saved: %s", why2);
        c->cache.dirty = 0;
    }
    if (e->opt.profile) {
        st->events = calloc(2 * nn, sizeof *st->events);
        if (!st->events) return infer_fail(err, INFER_ERR_MEMORY, "out of memory for profiling events");
        for (int i = 0; i < 2 * g->n_nodes; i++) CUDA_CHECK(cudaEventCreate(&st->events[i]));
    }
    return INFER_OK;
}

/* Every entry point runs on the engine's GPU and gives the caller back the device it had current. */
static infer_status cuda_create(infer_engine *e, infer_error *err) {
    int previous = cuda_device_enter(e->opt.device_id);
    infer_status s = create_on_device(e, err);
    cuda_device_leave(previous);
    return s;
}

static infer_status cuda_run(infer_engine *e, const infer_tensor *inputs, infer_tensor *outputs, infer_error *err) {
    cuda_state *st = e->state;
    if (!st) return infer_fail(err, INFER_ERR_INTERNAL, "CUDA backend: run without state");
    int previous = cuda_device_enter(st->ctx.device);
    infer_status s = cuda_engine_run(e, inputs, outputs, err);
    cuda_device_leave(previous);
    return s;
}

static void cuda_stats(const infer_engine *e, infer_engine_stats *s) {
    const cuda_state *st = e->state;
    if (!st) return;
    s->device_bytes = st->shared_bytes + st->weight_bytes + st->arena_bytes + st->ws_bytes;
    s->shared_device_bytes = st->shared_bytes;
    s->workspace_bytes = st->ws_bytes;
    s->fallback_nodes = st->n_fallback;
    s->cuda_graphs = st->graphs;
    s->pinned = st->pinned != NULL;
    s->last_h2d_ms = st->last_h2d_ms;
    s->last_compute_ms = st->last_compute_ms;
    s->last_d2h_ms = st->last_d2h_ms;
    s->last_enqueue_ms = st->last_enqueue_ms;
}

static const char *cuda_warnings(const infer_engine *e) {
    const cuda_state *st = e->state;
    return st ? st->ctx.warnings : "";
}

static const char *cuda_node_device(const infer_engine *e, int node) {
    const cuda_state *st = e->state;
    if (!st || node < 0 || node >= st->n_nodes) return NULL;
    return st->fallback[node] ? "cpu" : "cuda";
}

static int cuda_usable(const infer_engine_options *opt, char *why, size_t n) {
    return cuda_device_usable(why, n);
}

/* A node reading a weight kept encoded: how it runs (static strings; the choice is per weight, not per shape). */
static const char *cuda_node_weights(const infer_engine *e, int node) {
    const cuda_state *st = e->state;
    if (!st || node < 0 || node >= e->graph.n_nodes || st->fallback[node]) return NULL;
    const ir_node *n = &e->graph.nodes[node];
    if (n->n_in < 2 || n->in[1] == IR_NONE) return NULL;
    const ir_tensor *w = &e->graph.tensors[n->in[1]];
    switch (w->storage.kind) {
    case IR_STORAGE_INT8_CHANNEL: return "int8 per-channel, CUDA INT8 (cuBLASLt IMMA or dp4a)";
    case IR_STORAGE_CSR: return "CSR sparse, cuSPARSE SpMM";
    case IR_STORAGE_BSR: return "BSR sparse, cuSPARSE SpMM (blocks laid out as CSR)";
    case IR_STORAGE_SPARSE_2_4: return "2:4 sparse, cuSPARSELt (FP16, compressed at engine build)";
    default: return cuda_densified_why(w->densified_from, n->op, e->opt.precision == INFER_PRECISION_FP16, e->opt.sparse);
    }
}

static int cuda_keeps_encoded_of(const infer_engine *e, const ir_graph *g, int t) {
    return cuda_keeps_encoded(g, t, e->opt.precision == INFER_PRECISION_FP16, e->opt.sparse);
}

static const backend_ops cuda_ops = {
    .name = "cuda",
    .device = INFER_DEVICE_CUDA,
    .caps = { .fuse_conv_act = 1, .fuse_linear_act = 1, .fuse_residual = 1, .allowed_acts = (1 << ACT_COUNT) - 1 },
    .keeps_encoded = cuda_keeps_encoded_of,
    .create = cuda_create,
    .run = cuda_run,
    .destroy = cuda_destroy,
    .stats = cuda_stats,
    .node_device = cuda_node_device,
    .node_weights = cuda_node_weights,
    .warnings = cuda_warnings,
    .usable = cuda_usable,
};

const backend_ops *cuda_backend_get(void) { return &cuda_ops; }

const char *cuda_engine_warnings(const struct infer_engine *e) {
    if (!e || !e->backend || e->backend->device != INFER_DEVICE_CUDA || !e->state) return "";
    return ((const cuda_state *)e->state)->ctx.warnings;
}
