/* cpu_choose.c — the faster form of a sparse weight's kernel per layer: each form packed into a temporary
 * block and run on seeded data at the planned shapes (and at batch 1 when sparse wins there), interleaved, a few
 * times within a small time budget. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpu_choose.h"
#include "../base/error.h"

#define CHOOSE_BUDGET_MS 60.0 /* timed runs of one layer, both forms together, after one warm-up run each */
#define CHOOSE_MIN_ROUNDS 2
#define CHOOSE_MAX_ROUNDS 6
/* The sparse form must beat the dense one by this factor: a near tie timed on a busy machine goes to dense,
 * which costs at most a few percent, where a noise-made win for sparse could cost more. */
#define CHOOSE_SPARSE_MARGIN 0.97

/* One form set up to run node n: its packed block and workspace, or why not (bytes 0: does not fit). */
typedef struct {
    const cpu_kernel *k;
    void *packed, *workspace;
    size_t workspace_bytes;
    double best_ms;
} form_run;

/* The node's activations (inputs read, outputs written) in buffers of their own, inputs seeded. */
typedef struct {
    infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
    void *owned[IR_MAX_INPUTS + IR_MAX_OUTPUTS];
    int n_owned;
} node_data;

static void *alloc64(size_t bytes) { return aligned_alloc(64, ((bytes ? bytes : 1) + 63) & ~(size_t)63); }

static void fill_seeded(float *x, int64_t n) {
    uint32_t s = 0x9E3779B9u;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) * (2.0f / 16777216.0f) - 1.0f; /* uniform in [-1, 1): no zeros to skip */
    }
}

static void data_free(node_data *d) {
    for (int i = 0; i < d->n_owned; i++) free(d->owned[i]);
    d->n_owned = 0;
}

/* Constants in place; activations (f32 only: else 0) in buffers of their own. */
static int data_make(const infer_engine *e, const ir_node *n, node_data *d) {
    const ir_graph *g = &e->graph;
    memset(d, 0, sizeof *d);
    engine_node_views(e, n, NULL, NULL, d->in, d->out);
    for (int k = 0; k < n->n_in + n->n_out; k++) {
        int t = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
        infer_tensor *v = k < n->n_in ? &d->in[k] : &d->out[k - n->n_in];
        if (t == IR_NONE) continue;
        if (g->tensors[t].is_constant) {
            v->data = (void *)g->tensors[t].data;
            continue;
        }
        if (v->dtype != INFER_F32) return 0;
        int64_t count = infer_tensor_elements(v);
        if (count < 0 || (uint64_t)count > SIZE_MAX / 8) return 0;
        float *buf = alloc64((size_t)count * sizeof(float));
        if (!buf) return 0;
        d->owned[d->n_owned++] = buf;
        fill_seeded(buf, count);
        v->data = buf;
    }
    return 1;
}

static void form_free(form_run *f) {
    free(f->packed);
    free(f->workspace);
    f->packed = f->workspace = NULL;
}

/* Packs form f for node n; 0 when it does not fit the node (or memory ran out). */
static int form_make(const infer_engine *e, const cpu_ctx *ctx, const ir_node *n, const node_data *d, form_run *f) {
    const ir_graph *g = &e->graph;
    size_t bytes = f->k->pack_size ? f->k->pack_size(g, n, d->in, ctx->isa, ctx->threads) : 0;
    if (!bytes) return 0;
    f->workspace_bytes = f->k->workspace ? f->k->workspace(n, d->in, d->out, ctx->threads) : 0;
    f->packed = alloc64(bytes);
    f->workspace = alloc64(f->workspace_bytes);
    if (!f->packed || !f->workspace) return form_free(f), 0;
    f->k->pack(g, n, d->in, ctx->isa, ctx->threads, f->packed);
    f->best_ms = 1e300;
    return 1;
}

/* One run of form f, in milliseconds; < 0 when the kernel refused. */
static double form_time(const cpu_ctx *engine_ctx, const ir_node *n, node_data *d, const form_run *f) {
    cpu_ctx ctx = *engine_ctx;
    ctx.workspace = f->workspace;
    ctx.workspace_bytes = f->workspace_bytes;
    ctx.prepacked = f->packed;
    infer_error err;
    double t0 = engine_now_ms();
    if (f->k->run(&ctx, n, d->in, d->out, &err) != INFER_OK) return -1.0;
    return engine_now_ms() - t0;
}

/* Times the two forms interleaved; returns the index of the faster (the sparse one only when faster by
 * CHOOSE_SPARSE_MARGIN), or -1 when a run failed. */
static int time_forms(const cpu_ctx *ctx, const ir_node *n, node_data *d, form_run *f) {
    double warm[2];
    for (int i = 0; i < 2; i++)
        if ((warm[i] = form_time(ctx, n, d, &f[i])) < 0) return -1;
    double round_ms = warm[0] + warm[1];
    double fit = round_ms > 0 ? CHOOSE_BUDGET_MS / round_ms : CHOOSE_MAX_ROUNDS;
    int rounds = fit > CHOOSE_MAX_ROUNDS ? CHOOSE_MAX_ROUNDS : (int)fit;
    rounds = rounds < CHOOSE_MIN_ROUNDS ? CHOOSE_MIN_ROUNDS : rounds > CHOOSE_MAX_ROUNDS ? CHOOSE_MAX_ROUNDS : rounds;
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < 2; i++) {
            int at = (r & 1) ? 1 - i : i; /* alternate which goes first */
            double ms = form_time(ctx, n, d, &f[at]);
            if (ms < 0) return -1;
            if (ms < f[at].best_ms) f[at].best_ms = ms;
        }
    return f[0].best_ms < CHOOSE_SPARSE_MARGIN * f[1].best_ms ? 0 : 1;
}

/* Shrinks the activations of d (not the constants) from the planned max batch to batch 1: each one's leading
 * dim divided by max_batch where it divides; 1 when any changed. The buffers stay (large enough). */
static int shrink_to_batch_one(const infer_engine *e, const ir_node *n, node_data *d) {
    int64_t b = e->opt.max_batch;
    int changed = 0;
    if (b <= 1) return 0;
    for (int k = 0; k < n->n_in + n->n_out; k++) {
        int t = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
        infer_tensor *v = k < n->n_in ? &d->in[k] : &d->out[k - n->n_in];
        if (t == IR_NONE || e->graph.tensors[t].is_constant || v->ndim < 1 || v->dims[0] < b || v->dims[0] % b) continue;
        v->dims[0] /= b;
        changed = 1;
    }
    return changed;
}

infer_status cpu_choose_form(const infer_engine *e, const cpu_ctx *ctx, int node, const cpu_kernel *first,
                             const cpu_kernel **chosen, char *note, size_t note_size, infer_error *err) {
    const ir_graph *g = &e->graph;
    const ir_node *n = &g->nodes[node];
    form_run f[2] = { { 0 }, { 0 } }; /* [0] the sparse form, [1] the densified one */
    for (const cpu_kernel *k = first; k->run && k->sparse_form; k++) {
        int at = k->sparse_form == CPU_FORM_SPARSE ? 0 : 1;
        if (!f[at].k) f[at].k = k;
    }
    note[0] = '\0';
    if (!f[1].k) return infer_fail(err, INFER_ERR_INTERNAL, "node %d '%s': no densified kernel", node, n->name);
    *chosen = f[1].k;
    infer_sparse mode = e->opt.sparse;
    if (mode == INFER_SPARSE_DENSE || !f[0].k) return INFER_OK;
    if (mode == INFER_SPARSE_SPARSE) { /* forced: wherever the sparse path fits */
        infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
        engine_node_views(e, n, NULL, NULL, in, out);
        if (f[0].k->pack_size(g, n, in, ctx->isa, ctx->threads)) *chosen = f[0].k;
        return INFER_OK;
    }
    node_data d;
    if (!data_make(e, n, &d) || !form_make(e, ctx, n, &d, &f[0])) { /* the sparse path does not fit */
        data_free(&d);
        return INFER_OK;
    }
    int faster = form_make(e, ctx, n, &d, &f[1]) ? time_forms(ctx, n, &d, f) : 0;
    if (faster >= 0 && f[1].packed) {
        double planned[2] = { f[0].best_ms, f[1].best_ms }, one[2] = { 0, 0 };
        /* An engine planned for a batch above 1 also runs smaller ones: sparse must win at batch 1 too, so
         * that no batch runs slower than dense (a failed run at batch 1 keeps the planned batch's choice). */
        if (faster == 0 && shrink_to_batch_one(e, n, &d)) {
            f[0].best_ms = f[1].best_ms = 1e300;
            int small = time_forms(ctx, n, &d, f);
            if (small >= 0) {
                faster = small;
                one[0] = f[0].best_ms, one[1] = f[1].best_ms;
            }
        }
        int len = snprintf(note, note_size, "; timed %.3g ms sparse, %.3g ms dense", planned[0], planned[1]);
        if (one[1] > 0 && len > 0 && (size_t)len < note_size)
            snprintf(note + len, note_size - (size_t)len, "; batch 1: %.3g ms sparse, %.3g ms dense", one[0], one[1]);
    }
    if (faster >= 0) *chosen = f[faster].k;
    form_free(&f[0]);
    form_free(&f[1]);
    data_free(&d);
    return INFER_OK;
}
