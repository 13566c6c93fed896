/* cpu_backend.c — the CPU backend: one arena from the memory plan, a thread pool, kernels node by node. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "cpu_choose.h"
#include "cpu_int8_chain.h"
#include "cpu_bf16_chain.h"
#include "cpu_dw_strips.h"
#include "../base/error.h"
#include "residency.h"
#include "threadpool.h"
#include "../base/checked.h"
#include "../kernels/cpu/cpu_kernels.h"
#include "../kernels/cpu/gemm_bf16.h"
#include "../kernels/cpu/conv2d.h"

typedef struct {
    thread_pool *pool;
    cpu_ctx ctx;
    uint8_t *arena;
    void **data;            /* per tensor: where its bytes are (constants, arena, or the caller's input) */
    const cpu_kernel **kernels; /* per node: the kernel its op and input storages select */
    uint8_t *packed;        /* one block: every node's prepacked weights (cpu_prepack), or NULL */
    const void **node_packed; /* per node: its part of packed, or NULL */
    char (*weights)[176];   /* per node: how its sparse weight runs (kernel describe and timing), else "" */
    uint8_t *u8_nhwc;       /* per tensor: CHAIN_U8_NHWC / CHAIN_F32_NHWC between INT8 convolutions (cpu_int8_chain.h) */
    act_quant *out_q;       /* per node: its u8 output's quantization, scale 0 when none */
    act_quant *res_q;       /* per node: its u8 residual's quantization, scale 0 when none */
    int *dw_strips;         /* per node: > 0 when it runs with the next node in strips of that many rows, or NULL */
    uint8_t *bf16_nhwc;     /* per tensor: 1 when passed as BF16 NHWC between BF16 convolutions (cpu_bf16_chain.h) */
} cpu_state;

static void *alloc_aligned(size_t bytes) {
    size_t rounded = round_up(bytes, 256);
    if (rounded == SIZE_MAX) return NULL; /* a workspace size that overflowed */
    return aligned_alloc(256, rounded ? rounded : 256);
}

/* Every node's kernel, by its op and its inputs' storages: a node no kernel takes refuses the engine. A sparse
 * weight's kernel is one of its forms (sparse or densified) chosen later, by choose_forms. */
static infer_status find_kernels(const infer_engine *e, cpu_state *st, infer_error *err) {
    const ir_graph *g = &e->graph;
    for (int i = 0; i < g->n_nodes; i++) {
        if (e->cpu_bf16 && (st->kernels[i] = cpu_bf16_kernel_lookup(g, &g->nodes[i], e->cpu_bf16))) continue;
        if (!(st->kernels[i] = cpu_kernel_lookup(g, &g->nodes[i], i, err))) return INFER_ERR_UNSUPPORTED;
    }
    return INFER_OK;
}

/* The form of each sparse weight's kernel (cpu_choose.c); what was timed goes into the node's weights text. */
static infer_status choose_forms(const infer_engine *e, cpu_state *st, infer_error *err) {
    for (int i = 0; i < e->graph.n_nodes; i++) {
        if (!st->kernels[i]->sparse_form) continue;
        INFER_TRY(cpu_choose_form(e, &st->ctx, i, st->kernels[i], &st->kernels[i], st->weights[i],
                                  sizeof st->weights[i], err));
    }
    return INFER_OK;
}

static size_t max_workspace(const infer_engine *e, const cpu_state *st, int threads) {
    const ir_graph *g = &e->graph;
    size_t most = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
        engine_node_views(e, n, NULL, NULL, in, out);
        size_t bytes = st->kernels[i]->workspace ? st->kernels[i]->workspace(n, in, out, threads) : 0;
        if (bytes > most) most = bytes;
    }
    return most;
}

/* Tensor t as the kernels see it: its shape at the engine's current batch, and its data. */
static infer_tensor cpu_view(const infer_engine *e, const void *state, int t) {
    const cpu_state *st = state;
    infer_tensor v = engine_tensor_shape(e, t);
    v.data = st->data[t];
    if (st->u8_nhwc && st->u8_nhwc[t] == CHAIN_U8_NHWC) v.dtype = INFER_U8;
    if (st->bf16_nhwc && st->bf16_nhwc[t]) v.dtype = INFER_BF16;
    return v;
}

/* Every input the node's kernel would read through a packed copy is a dense f32 constant. */
static int can_prepack(const ir_graph *g, const ir_node *n, const cpu_kernel *kernel) {
    int any = 0;
    for (int k = 0; kernel->prepack_input && k < n->n_in; k++) {
        if (!kernel->prepack_input(n, k)) continue;
        const ir_tensor *t = n->in[k] == IR_NONE ? NULL : &g->tensors[n->in[k]];
        if (!t || !t->is_constant || !t->data || t->dtype != INFER_F32 || t->storage.kind != IR_STORAGE_DENSE) return 0;
        any = 1;
    }
    return any;
}

/* Per tensor: its reads through packed copies not made yet, those of the made ones that may fall back to the
 * original, and its other reads (a graph output counts as one). A constant whose last packed copy is made and
 * that nothing else reads leaves memory at once, so that the originals and the packed copies are not all
 * resident together: its file pages are dropped (see residency.h; a kernel that falls back to the original
 * faults them in again), and one the graph owns (made by BN folding) is freed when every reader's kernel says
 * its packed block serves all its runs (cpu_kernel.packed_only). */
typedef struct {
    int *to_pack, *fallback, *other;
} pack_reads;

static void pack_reads_free(pack_reads *r) {
    free(r->to_pack);
    free(r->fallback);
    free(r->other);
    r->to_pack = r->fallback = r->other = NULL;
}

/* offset[i] != SIZE_MAX: node i gets a packed copy. 0 when out of memory (then nothing is released). */
static int pack_reads_count(const infer_engine *e, const cpu_state *st, const size_t *offset, pack_reads *r) {
    const ir_graph *g = &e->graph;
    r->to_pack = calloc((size_t)g->n_tensors + 1, sizeof *r->to_pack);
    r->fallback = calloc((size_t)g->n_tensors + 1, sizeof *r->fallback);
    r->other = calloc((size_t)g->n_tensors + 1, sizeof *r->other);
    if (!r->to_pack || !r->fallback || !r->other) return pack_reads_free(r), 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] == IR_NONE) continue;
            if (offset[i] != SIZE_MAX && st->kernels[i]->prepack_input(n, k)) r->to_pack[n->in[k]]++;
            else r->other[n->in[k]]++;
        }
    }
    return 1;
}

/* Node i's packed copy was just made. */
static void release_packed_inputs(infer_engine *e, cpu_state *st, int i, pack_reads *r) {
    ir_graph *g = &e->graph;
    const ifg_file *file = &e->model->file;
    const ir_node *n = &g->nodes[i];
    const cpu_kernel *k = st->kernels[i];
    if (!r->to_pack) return;
    for (int j = 0; j < n->n_in; j++) {
        int t = n->in[j];
        if (t == IR_NONE || !k->prepack_input(n, j)) continue;
        if (!k->packed_only || !k->packed_only(st->node_packed[i], st->ctx.isa)) r->fallback[t]++;
        if (--r->to_pack[t] > 0) continue;
        ir_tensor *tt = &g->tensors[t];
        const uint8_t *p = tt->data;
        if (!tt->is_constant || !p || tt->is_output || r->other[t]) continue;
        if (file->mapped && p >= file->map && tt->nbytes <= file->size &&
            p - file->map <= (ptrdiff_t)(file->size - tt->nbytes))
            ifg_release_range(file, p, tt->nbytes);
        else if (!r->fallback[t] && ir_free_owned(g, p))
            tt->data = st->data[t] = NULL;
    }
}

/* Packs the constant weights of the nodes whose kernels take them prepacked (cpu_prepack), all into one
 * block allocated here, at build time; the run path only points ctx->prepacked at a node's part. */
static infer_status prepack_weights(infer_engine *e, cpu_state *st, infer_error *err) {
    const ir_graph *g = &e->graph;
    size_t *offset = calloc((size_t)g->n_nodes + 1, sizeof *offset), total = 0;
    if (!offset) return infer_fail(err, INFER_ERR_MEMORY, "out of memory creating the CPU backend");
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        const cpu_kernel *k = st->kernels[i];
        offset[i] = SIZE_MAX;
        if (!k->pack_size && !can_prepack(g, n, k)) continue;
        infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
        engine_node_views(e, n, cpu_view, st, in, out);
        size_t bytes = k->pack_size ? k->pack_size(g, n, in, st->ctx.isa, st->ctx.threads)
                                    : k->prepack_size(n, in, st->ctx.isa);
        if (!bytes || bytes > SIZE_MAX / 2 - total) continue;
        offset[i] = total;
        total += (bytes + 63) & ~(size_t)63;
    }
    if (total) {
        st->packed = alloc_aligned(total);
        if (!st->packed) {
            free(offset);
            return infer_fail(err, INFER_ERR_MEMORY, "out of host memory: %zu bytes of prepacked weights asked", total);
        }
        pack_reads reads;
        pack_reads_count(e, st, offset, &reads);
        for (int i = 0; i < g->n_nodes; i++) {
            if (offset[i] == SIZE_MAX) continue;
            const ir_node *n = &g->nodes[i];
            infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
            engine_node_views(e, n, cpu_view, st, in, out);
            const cpu_kernel *k = st->kernels[i];
            if (k->pack) k->pack(g, n, in, st->ctx.isa, st->ctx.threads, st->packed + offset[i]);
            else k->prepack(n, in, st->ctx.isa, st->packed + offset[i]);
            st->node_packed[i] = st->packed + offset[i];
            release_packed_inputs(e, st, i, &reads);
            if (k->describe) { /* the description, then what was timed (choose_forms left it there) */
                char timed[sizeof st->weights[i]];
                snprintf(timed, sizeof timed, "%s", st->weights[i]);
                k->describe(st->node_packed[i], st->weights[i], sizeof st->weights[i]);
                size_t used = strlen(st->weights[i]);
                snprintf(st->weights[i] + used, sizeof st->weights[i] - used, "%s", timed);
            }
        }
        pack_reads_free(&reads);
    }
    free(offset);
    return INFER_OK;
}

/* ", u8 NHWC in/out" (and ", u8 residual") after the weights text of each chained convolution or max pool. */
static void describe_chains(const infer_engine *e, cpu_state *st) {
    for (int i = 0; i < e->graph.n_nodes; i++) {
        const ir_node *n = &e->graph.nodes[i];
        if (n->op != OP_CONV2D && n->op != OP_MAXPOOL2D) continue;
        int in = st->u8_nhwc[n->in[0]] == CHAIN_U8_NHWC, out = st->u8_nhwc[n->out[0]] == CHAIN_U8_NHWC;
        int res = n->n_in > 3 && n->in[3] != IR_NONE ? st->u8_nhwc[n->in[3]] : CHAIN_NONE;
        int rows = st->u8_nhwc[n->out[0]] == CHAIN_F32_NHWC;
        if (!in && !out && !res && !rows) continue;
        size_t used = strlen(st->weights[i]);
        snprintf(st->weights[i] + used, sizeof st->weights[i] - used, "%s%s%s%s", in || out ? ", u8 NHWC " : "",
                 in && out ? "in/out" : in ? "in" : out ? "out" : "", rows ? ", f32 NHWC out" : "",
                 res == CHAIN_U8_NHWC ? ", u8 residual" : res == CHAIN_F32_NHWC ? ", f32 NHWC residual" : "");
        if (!used) memmove(st->weights[i], st->weights[i] + 2, strlen(st->weights[i] + 2) + 1); /* a pool: no ", " */
    }
}

/* ", BF16 NHWC in/out" (and ", BF16 residual") after the weights text of each convolution or max pool a BF16 chain
 * touches. */
static void describe_bf16_chains(const infer_engine *e, cpu_state *st) {
    for (int i = 0; i < e->graph.n_nodes; i++) {
        const ir_node *n = &e->graph.nodes[i];
        if (n->op != OP_CONV2D && n->op != OP_MAXPOOL2D) continue;
        int in = st->bf16_nhwc[n->in[0]], out = st->bf16_nhwc[n->out[0]];
        int res = n->n_in > 3 && n->in[3] != IR_NONE && st->bf16_nhwc[n->in[3]];
        if (!in && !out && !res) continue;
        size_t used = strlen(st->weights[i]);
        snprintf(st->weights[i] + used, sizeof st->weights[i] - used, "%sBF16 NHWC %s%s", used ? ", " : "",
                 in && out ? "in/out" : in ? "in" : out ? "out" : "", res ? ", BF16 residual" : "");
    }
}

/* The pairs run in strips: "1x1 + depthwise 'name' in strips of N rows" and "in strips with 'name'". */
static void describe_dw_strips(const infer_engine *e, cpu_state *st) {
    for (int i = 0; i < e->graph.n_nodes; i++) {
        if (!st->dw_strips[i]) continue;
        size_t used = strlen(st->weights[i]); /* after what prepacking wrote */
        snprintf(st->weights[i] + used, sizeof st->weights[i] - used, "%s1x1 + depthwise '%.60s' in strips of %d rows",
                 used ? ", " : "", e->graph.nodes[i + 1].name, st->dw_strips[i]);
        snprintf(st->weights[i + 1], sizeof st->weights[i + 1], "run in strips with '%.80s', time there",
                 e->graph.nodes[i].name);
    }
}

static void cpu_destroy(infer_engine *e) {
    cpu_state *st = e->state;
    if (!st) return;
    pool_destroy(st->pool);
    free(st->arena);
    free(st->ctx.workspace);
    free(st->ctx.scratch);
    free(st->data);
    free(st->kernels);
    free(st->packed);
    free(st->node_packed);
    free(st->weights);
    free(st->u8_nhwc);
    free(st->out_q);
    free(st->res_q);
    free(st->dw_strips);
    free(st->bf16_nhwc);
    free(st);
    e->state = NULL;
}

/* conv2d's Winograd choice (infer_engine_options.winograd) goes with each node to its kernel's workspace and prepack
 * hooks (kernels/cpu/conv2d.h). */
static void give_conv2d_nodes_the_winograd_choice(infer_engine *e) {
    for (int i = 0; i < e->graph.n_nodes; i++)
        if (e->graph.nodes[i].op == OP_CONV2D) e->graph.nodes[i].p.conv2d.winograd = e->opt.winograd;
}

static infer_status cpu_create(infer_engine *e, infer_error *err) {
    const ir_graph *g = &e->graph;
    give_conv2d_nodes_the_winograd_choice(e);
    cpu_state *st = calloc(1, sizeof *st);
    if (!st) return infer_fail(err, INFER_ERR_MEMORY, "out of memory creating the CPU backend");
    e->state = st;
    st->data = calloc((size_t)g->n_tensors + 1, sizeof *st->data);
    st->kernels = calloc((size_t)g->n_nodes + 1, sizeof *st->kernels);
    st->node_packed = calloc((size_t)g->n_nodes + 1, sizeof *st->node_packed);
    st->weights = calloc((size_t)g->n_nodes + 1, sizeof *st->weights);
    if (!st->data || !st->kernels || !st->node_packed || !st->weights) return infer_fail(err, INFER_ERR_MEMORY, "out of memory creating the CPU backend");
    infer_status s = find_kernels(e, st, err);
    if (s != INFER_OK) return s;
    if (e->cpu_bf16 && e->opt.bf16_chain) { /* before prepacking: chained convolutions pack their weights their way */
        st->bf16_nhwc = calloc((size_t)g->n_tensors + 1, 1);
        if (!st->bf16_nhwc) return infer_fail(err, INFER_ERR_MEMORY, "out of memory creating the CPU backend");
        cpu_bf16_chain_plan(e, st->kernels, st->bf16_nhwc);
    }
    s = pool_create(e->opt.threads, &st->pool, err);
    if (s != INFER_OK) return s;
    st->ctx.pool = st->pool;
    st->ctx.threads = pool_size(st->pool);
    st->ctx.isa = e->cpu_isa;
    st->ctx.scratch = alloc_aligned(CPU_SCRATCH_BYTES * (size_t)st->ctx.threads);
    if (!st->ctx.scratch) return infer_fail(err, INFER_ERR_MEMORY, "out of host memory for the threads' scratch");
    s = choose_forms(e, st, err);
    if (s != INFER_OK) return s;
    st->ctx.workspace_bytes = max_workspace(e, st, st->ctx.threads);
    st->arena = alloc_aligned(e->plan.arena_bytes);
    st->ctx.workspace = alloc_aligned(st->ctx.workspace_bytes);
    if (!st->arena || !st->ctx.workspace)
        return infer_fail(err, INFER_ERR_MEMORY, "out of host memory: arena %llu bytes, workspace %zu bytes asked",
                          (unsigned long long)e->plan.arena_bytes, st->ctx.workspace_bytes);
    for (int t = 0; t < g->n_tensors; t++) {
        if (g->tensors[t].is_constant) st->data[t] = (void *)g->tensors[t].data;
        else if (e->plan.offset[t] != MEMPLAN_NOT_IN_ARENA) st->data[t] = st->arena + e->plan.offset[t];
    }
    residency_release_unused(e); /* the file's weights BN folding replaced, before their packed copies are made */
    s = prepack_weights(e, st, err);
    if (s != INFER_OK) return s;
    if (e->opt.int8_chain) {
        st->u8_nhwc = calloc((size_t)g->n_tensors + 1, 1);
        st->out_q = calloc((size_t)g->n_nodes + 1, sizeof *st->out_q);
        st->res_q = calloc((size_t)g->n_nodes + 1, sizeof *st->res_q);
        if (!st->u8_nhwc || !st->out_q || !st->res_q)
            return infer_fail(err, INFER_ERR_MEMORY, "out of memory creating the CPU backend");
        cpu_int8_chain_plan(e, st->kernels, st->node_packed, st->u8_nhwc, st->out_q, st->res_q);
        describe_chains(e, st);
    }
    if (e->opt.fuse_dw) {
        st->dw_strips = calloc((size_t)g->n_nodes + 1, sizeof *st->dw_strips);
        if (!st->dw_strips) return infer_fail(err, INFER_ERR_MEMORY, "out of memory creating the CPU backend");
        cpu_dw_strips_plan(e, st->kernels, st->node_packed, st->u8_nhwc, st->dw_strips);
        describe_dw_strips(e, st);
    }
    if (st->bf16_nhwc) describe_bf16_chains(e, st);
    residency_release_unused(e);
    return INFER_OK;
}

static infer_status cpu_run(infer_engine *e, const infer_tensor *inputs, infer_tensor *outputs, infer_error *err) {
    cpu_state *st = e->state;
    const ir_graph *g = &e->graph;
    /* Graph inputs are read in place from the caller's memory: the plan never writes into them. */
    for (int i = 0; i < g->n_inputs; i++) st->data[g->inputs[i]] = inputs[i].data;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
        engine_node_views(e, n, cpu_view, st, in, out);
        double t0 = e->opt.profile ? engine_now_ms() : 0;
        st->ctx.prepacked = st->node_packed[i];
        st->ctx.out_q = st->out_q ? st->out_q[i] : (act_quant){ 0.0f, 0 };
        st->ctx.res_q = st->res_q ? st->res_q[i] : (act_quant){ 0.0f, 0 };
        st->ctx.out_f32_nhwc = st->u8_nhwc && st->u8_nhwc[n->out[0]] == CHAIN_F32_NHWC;
        st->ctx.res_f32_nhwc = st->u8_nhwc && n->op == OP_CONV2D && n->n_in > 3 && n->in[3] != IR_NONE &&
                               st->u8_nhwc[n->in[3]] == CHAIN_F32_NHWC;
        int strips = st->dw_strips ? st->dw_strips[i] : 0; /* with node i + 1 (its time counted here) */
        infer_status s = strips ? cpu_dw_strips_run(e, &st->ctx, i, strips, cpu_view, st, err)
                                : st->kernels[i]->run(&st->ctx, n, in, out, err);
        if (s != INFER_OK) {
            infer_fail_context(err, "node %d '%s' (%s)", i, n->name, op_name(n->op));
            return s;
        }
        if (e->opt.profile) {
            e->layer_ms[i] += engine_now_ms() - t0;
            e->layer_runs[i]++;
            if (strips) e->layer_runs[i + 1]++;
        }
        i += strips ? 1 : 0;
    }
    for (int i = 0; i < g->n_outputs; i++) {
        outputs[i] = engine_tensor_shape(e, g->outputs[i]);
        outputs[i].data = st->data[g->outputs[i]];
    }
    return INFER_OK;
}

static void cpu_stats(const infer_engine *e, infer_engine_stats *stats) {
    const cpu_state *st = e->state;
    stats->workspace_bytes = st->ctx.workspace_bytes + CPU_SCRATCH_BYTES * (size_t)st->ctx.threads;
}

static const char *cpu_node_weights(const infer_engine *e, int node) {
    const cpu_state *st = e->state;
    return st && st->weights[node][0] ? st->weights[node] : NULL;
}

const backend_ops cpu_backend_ops = {
    .name = "cpu",
    .device = INFER_DEVICE_CPU,
    .caps = { .fuse_conv_act = 1, .fuse_linear_act = 1, .fuse_residual = 1, .allowed_acts = (1 << ACT_COUNT) - 1 },
    .sparse_weights = 1,
    .int8_weights = 1,
    .create = cpu_create,
    .run = cpu_run,
    .destroy = cpu_destroy,
    .stats = cpu_stats,
    .node_device = NULL,
    .node_weights = cpu_node_weights,
};
