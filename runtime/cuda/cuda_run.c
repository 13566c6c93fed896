/* cuda_run.c — running a CUDA engine: per-batch plans, the forward pass, CUDA Graph capture and replay, pinned io, profiling. */
#include <stdlib.h>
#include <string.h>
#include "cuda_state.h"
#include "cuda_check.h"
#include "../../kernels/cuda/cuda_kernels.h"

void cuda_slot_free(cuda_state *st, cuda_batch_slot *slot) {
    if (slot->plans) {
        for (int i = 0; i < st->n_nodes; i++) cuda_node_plan_free(slot->plans[i]);
        free(slot->plans);
    }
    if (slot->exec) cudaGraphExecDestroy(slot->exec);
    if (slot->graph) cudaGraphDestroy(slot->graph);
    memset(slot, 0, sizeof *slot);
}

/* Plans every CUDA node for the engine's current shapes (e->dims, e->cur_batch). */
infer_status cuda_slot_prepare(infer_engine *e, cuda_state *st, cuda_batch_slot *slot, infer_error *err) {
    const ir_graph *g = &e->graph;
    slot->plans = calloc((size_t)g->n_nodes + 1, sizeof *slot->plans);
    if (!slot->plans) return infer_fail(err, INFER_ERR_MEMORY, "out of memory planning batch %lld", (long long)e->cur_batch);
    slot->batch = e->cur_batch;
    memcpy(slot->dims, e->dim_cur, sizeof slot->dims);
    for (int i = 0; i < g->n_nodes; i++) {
        if (st->fallback[i]) continue;
        const ir_node *n = &g->nodes[i];
        infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] == IR_NONE) memset(&in[k], 0, sizeof in[k]);
            else in[k] = cuda_view(e, st, n->in[k]);
        }
        for (int k = 0; k < n->n_out; k++) out[k] = cuda_view(e, st, n->out[k]);
        infer_status s = cuda_node_prepare(&st->ctx, g, n, in, out, &slot->plans[i], err);
        if (s != INFER_OK) return infer_fail_context(err, "node %d '%s' (%s)", i, n->name, op_name(n->op));
    }
    return INFER_OK;
}

static cuda_batch_slot *find_slot(infer_engine *e, cuda_state *st, infer_error *err, infer_status *status) {
    cuda_batch_slot *slot = NULL, *lru = &st->slots[0];
    *status = INFER_OK;
    for (int i = 0; i < CUDA_BATCH_SLOTS; i++) {
        if (st->slots[i].batch == e->cur_batch && !memcmp(st->slots[i].dims, e->dim_cur, sizeof e->dim_cur))
            slot = &st->slots[i];
        if (st->slots[i].last_used < lru->last_used) lru = &st->slots[i];
    }
    if (!slot) {
        for (int i = 0; i < CUDA_BATCH_SLOTS && !slot; i++)
            if (st->slots[i].batch == 0) slot = &st->slots[i];
        if (!slot) {
            if (st->clock && !st->warned_slots)
                cuda_ctx_warn(&st->ctx, "more than %d input shapes in use: the plans and CUDA Graph of the least recently "
                              "used are dropped and rebuilt when it comes back (slow)", CUDA_BATCH_SLOTS);
            st->warned_slots = 1;
            slot = lru;
            cuda_slot_free(st, slot);
        }
        *status = cuda_slot_prepare(e, st, slot, err);
        if (*status != INFER_OK) {
            cuda_slot_free(st, slot);
            return NULL;
        }
        for (int i = 0; i < st->n_nodes; i++)
            if (cuda_node_scratch(slot->plans[i]) > st->ctx.scratch_bytes) {
                *status = infer_fail(err, INFER_ERR_INTERNAL, "node %d needs %zu bytes of scratch at batch %lld, %zu allocated",
                                     i, cuda_node_scratch(slot->plans[i]), (long long)e->cur_batch, st->ctx.scratch_bytes);
                cuda_slot_free(st, slot);
                return NULL;
            }
    }
    slot->last_used = ++st->clock;
    return slot;
}

static int64_t count(const infer_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

/* Debug mode: waits for node i's work and names it when it failed (a fault would otherwise surface at
 * the run's final synchronize, naming nothing). n is NULL for the edge casts. */
static infer_status debug_sync(cuda_ctx *c, int i, const ir_node *n, infer_error *err) {
    cudaError_t ce = cudaStreamSynchronize(c->stream);
    if (ce == cudaSuccess) ce = cudaGetLastError();
    if (ce == cudaSuccess) return INFER_OK;
    if (!n)
        return infer_fail(err, INFER_ERR_DEVICE, "the f32/f16 cast of the inputs failed: %s (%s) (debug_sync)",
                          cudaGetErrorString(ce), cudaGetErrorName(ce));
    return infer_fail(err, INFER_ERR_DEVICE, "node %d '%s' (%s) failed on the GPU: %s (%s) (debug_sync)", i, n->name,
                      op_name(n->op), cudaGetErrorString(ce), cudaGetErrorName(ce));
}

/* Everything between the input copies and the output copies: what a CUDA Graph captures. */
static infer_status forward(infer_engine *e, cuda_state *st, cuda_batch_slot *slot, infer_error *err) {
    const ir_graph *g = &e->graph;
    cuda_ctx *c = &st->ctx;
    int profile = e->opt.profile && st->events;
    CUDA_CHECK(cudaMemsetAsync(c->err_flag, 0, 2 * sizeof *c->err_flag, c->stream));
    for (int i = 0; i < g->n_inputs; i++) { /* f32 -> half at the edge */
        int t = g->inputs[i];
        if (!st->in_dev[i] || !st->dptr[t]) continue;
        infer_tensor v = cuda_view(e, st, t);
        INFER_TRY(cuda_cast(c->stream, g->tensors[t].dtype, v.dtype, st->in_dev[i], v.data, count(&v), err));
    }
    if (e->opt.debug_sync) INFER_TRY(debug_sync(c, -1, NULL, err));
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (profile) CUDA_CHECK(cudaEventRecord(st->events[2 * i], c->stream));
        infer_status s;
        if (st->fallback[i]) {
            s = cuda_fallback_run(e, st, i, err);
        } else {
            infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
            for (int k = 0; k < n->n_in; k++) {
                if (n->in[k] == IR_NONE) memset(&in[k], 0, sizeof in[k]);
                else in[k] = cuda_view(e, st, n->in[k]);
            }
            for (int k = 0; k < n->n_out; k++) out[k] = cuda_view(e, st, n->out[k]);
            s = cuda_node_run(c, n, slot->plans[i], in, out, (unsigned long long)i + 1, err);
        }
        if (s != INFER_OK)
            return infer_fail_context(err, "node %d '%s' (%s%s)", i, n->name, op_name(n->op),
                                      st->fallback[i] ? ", CPU fallback" : "");
        if (e->opt.debug_sync) INFER_TRY(debug_sync(c, i, n, err));
        if (profile) CUDA_CHECK(cudaEventRecord(st->events[2 * i + 1], c->stream));
    }
    for (int i = 0; i < g->n_outputs; i++) { /* half -> f32 at the edge */
        int t = g->outputs[i];
        if (!st->out_dev[i] || !st->dptr[t]) continue;
        infer_tensor v = cuda_view(e, st, t);
        INFER_TRY(cuda_cast(c->stream, v.dtype, g->tensors[t].dtype, v.data, st->out_dev[i], count(&v), err));
    }
    return INFER_OK;
}

/* Captures the forward pass into slot's graph; on any failure leaves the stream usable, records a warning
 * and returns 0 (the caller then runs the stream path). */
static int capture(infer_engine *e, cuda_state *st, cuda_batch_slot *slot) {
    cuda_ctx *c = &st->ctx;
    infer_error cap_err;
    infer_error_clear(&cap_err);
    cudaGraph_t graph = NULL;
    cudaError_t ce = cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal);
    if (ce != cudaSuccess) {
        cudaGetLastError();
        cuda_ctx_warn(c, "CUDA Graph capture at batch %lld could not begin: %s; running without graphs",
                      (long long)slot->batch, cudaGetErrorString(ce));
        return 0;
    }
    infer_status s = forward(e, st, slot, &cap_err);
    ce = cudaStreamEndCapture(c->stream, &graph);
    if (s != INFER_OK || ce != cudaSuccess || !graph) {
        if (graph) cudaGraphDestroy(graph);
        cudaGetLastError();
        cuda_ctx_warn(c, "CUDA Graph capture at batch %lld failed (%s); running without graphs at this batch",
                      (long long)slot->batch, s != INFER_OK ? cap_err.message : cudaGetErrorString(ce));
        return 0;
    }
    cudaGraphExec_t exec = NULL;
    ce = cudaGraphInstantiate(&exec, graph, 0);
    if (ce != cudaSuccess) {
        cudaGraphDestroy(graph);
        cudaGetLastError();
        cuda_ctx_warn(c, "CUDA Graph instantiation at batch %lld failed: %s; running without graphs at this batch",
                      (long long)slot->batch, cudaGetErrorString(ce));
        return 0;
    }
    slot->graph = graph;
    slot->exec = exec;
    st->graphs++;
    return 1;
}

/* Launches the captured forward; a failed launch drops the graph of this batch, with a warning, and the
 * forward runs on the stream (now and from then on at this batch). */
static infer_status launch(infer_engine *e, cuda_state *st, cuda_batch_slot *slot, infer_error *err) {
    cuda_ctx *c = &st->ctx;
    cudaError_t ce = st->test_fail_graph_launch ? cudaErrorNotSupported : cudaGraphLaunch(slot->exec, c->stream);
    if (ce == cudaSuccess) return INFER_OK;
    cudaGetLastError();
    cuda_ctx_warn(c, "CUDA Graph launch at batch %lld failed: %s; this batch runs without graphs from now on",
                  (long long)slot->batch, cudaGetErrorString(ce));
    cudaGraphExecDestroy(slot->exec);
    cudaGraphDestroy(slot->graph);
    slot->exec = NULL;
    slot->graph = NULL;
    slot->graph_failed = 1;
    return forward(e, st, slot, err);
}

static infer_status run_once(infer_engine *e, cuda_state *st, const infer_tensor *inputs, infer_tensor *outputs,
                             infer_error *err) {
    const ir_graph *g = &e->graph;
    cuda_ctx *c = &st->ctx;
    double t0 = engine_now_ms();
    infer_status s;
    cuda_batch_slot *slot = find_slot(e, st, err, &s);
    if (!slot) return s;
    CUDA_CHECK(cudaEventRecord(st->tev[0], c->stream));

    /* inputs: caller -> pinned staging -> device (the arena, or f32 staging converted in the forward) */
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        infer_tensor shape = engine_tensor_shape(e, t);
        size_t bytes = (size_t)count(&shape) * infer_dtype_size(g->tensors[t].dtype);
        void *dst = st->in_dev[i] ? st->in_dev[i] : st->dptr[t];
        if (!bytes || !dst) continue; /* an input nothing reads has no storage */
        memcpy(st->in_pinned[i], inputs[i].data, bytes);
        CUDA_CHECK(cudaMemcpyAsync(dst, st->in_pinned[i], bytes, cudaMemcpyHostToDevice, c->stream));
    }

    CUDA_CHECK(cudaEventRecord(st->tev[1], c->stream)); /* before a capture begins: not part of the graph */
    int use_graphs = e->opt.cuda_graphs && st->n_fallback == 0 && !e->opt.profile && !e->opt.debug_sync;
    if (use_graphs && !slot->exec && !slot->graph_failed && slot->runs >= 1)
        slot->graph_failed = !capture(e, st, slot);
    if (use_graphs && slot->exec) {
        INFER_TRY(launch(e, st, slot, err));
    } else {
        INFER_TRY(forward(e, st, slot, err));
    }
    slot->runs++;
    CUDA_CHECK(cudaEventRecord(st->tev[2], c->stream));

    for (int i = 0; i < g->n_outputs; i++) {
        int t = g->outputs[i];
        infer_tensor shape = engine_tensor_shape(e, t);
        size_t bytes = (size_t)count(&shape) * infer_dtype_size(g->tensors[t].dtype);
        const void *src = st->out_dev[i] ? st->out_dev[i] : st->dptr[t];
        if (bytes && src) CUDA_CHECK(cudaMemcpyAsync(st->out_pinned[i], src, bytes, cudaMemcpyDeviceToHost, c->stream));
        outputs[i] = shape;
        outputs[i].data = st->out_pinned[i];
    }
    CUDA_CHECK(cudaMemcpyAsync(st->flag_host, c->err_flag, 2 * sizeof *c->err_flag, cudaMemcpyDeviceToHost, c->stream));
    CUDA_CHECK(cudaEventRecord(st->tev[3], c->stream));
    double enqueue_ms = engine_now_ms() - t0;
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    float h2d = 0, compute = 0, d2h = 0; /* every event has completed: the stream is idle */
    CUDA_CHECK(cudaEventElapsedTime(&h2d, st->tev[0], st->tev[1]));
    CUDA_CHECK(cudaEventElapsedTime(&compute, st->tev[1], st->tev[2]));
    CUDA_CHECK(cudaEventElapsedTime(&d2h, st->tev[2], st->tev[3]));

    if (st->flag_host[0]) {
        unsigned long long node = st->flag_host[0] - 1;
        const ir_node *n = node < (unsigned long long)g->n_nodes ? &g->nodes[node] : NULL;
        const ir_tensor *w = n && n->n_in > 1 ? &g->tensors[n->in[1]] : NULL;
        return infer_fail(err, INFER_ERR_RUNTIME, "node %llu '%s' (embedding): id %lld is outside [0, %lld)", node,
                          n ? n->name : "?", (long long)st->flag_host[1], w ? (long long)w->dims[0] : -1LL);
    }
    st->last_h2d_ms = h2d;
    st->last_compute_ms = compute;
    st->last_d2h_ms = d2h;
    st->last_enqueue_ms = enqueue_ms;
    if (e->opt.profile && st->events) {
        for (int i = 0; i < g->n_nodes; i++) {
            float ms = 0;
            if (cudaEventElapsedTime(&ms, st->events[2 * i], st->events[2 * i + 1]) == cudaSuccess) {
                e->layer_ms[i] += ms;
                e->layer_runs[i]++;
            }
        }
    }
    return INFER_OK;
}

/* Every way out of a run leaves the engine's stream idle, so the next run never overwrites pinned inputs
 * that a copy still reads: a failed run waits for what it enqueued. When that wait fails too (a kernel
 * fault: the context is broken), the engine is marked unusable and later runs say why. */
infer_status cuda_engine_run(infer_engine *e, const infer_tensor *inputs, infer_tensor *outputs, infer_error *err) {
    cuda_state *st = e->state;
    if (st->unusable)
        return infer_fail(err, INFER_ERR_DEVICE, "this CUDA engine is unusable since a run failed on the GPU (%s); "
                          "destroy it and build another", st->unusable_why);
    infer_status s = run_once(e, st, inputs, outputs, err);
    if (s == INFER_OK) return s;
    cudaError_t ce = cudaStreamSynchronize(st->ctx.stream); /* a sticky fault fails here too */
    cudaGetLastError();                                     /* a non-sticky error of the failed call is cleared */
    if (ce != cudaSuccess) {
        st->unusable = 1;
        snprintf(st->unusable_why, sizeof st->unusable_why, "%s (%s); first error: %.300s", cudaGetErrorString(ce),
                 cudaGetErrorName(ce), err ? err->message : "?");
        cuda_ctx_warn(&st->ctx, "the engine is unusable: %s", st->unusable_why);
        if (err) infer_fail_context(err, "the engine's stream failed too (%s): the engine is now unusable",
                                    cudaGetErrorName(ce));
    }
    return s;
}
