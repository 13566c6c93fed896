/* pass_batchnorm.c — folds a BatchNorm into the conv2d or linear feeding it, with new weights the graph owns. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "graph.h"
#include "../base/error.h"

/* The data of constant t when it is dense f32 holding exactly count values; else NULL. */
static const float *dense_f32(const ir_graph *g, int t, int64_t count) {
    if (t == IR_NONE) return NULL;
    const ir_tensor *x = &g->tensors[t];
    if (!x->is_constant || x->storage.kind != IR_STORAGE_DENSE || x->dtype != INFER_F32 || !x->data || count < 0 ||
        x->nbytes != (uint64_t)count * sizeof(float))
        return NULL;
    return x->data;
}

/* The conv2d or linear producing the BatchNorm's input, when folding into it is exact: the BN is its
 * only reader, nothing is fused into its epilogue yet, and a linear's output is [N,C]. */
static int fold_target(const ir_graph *g, const ir_node *bn) {
    int t = bn->in[0];
    const ir_tensor *x = &g->tensors[t];
    if (x->producer == IR_NONE || ir_consumer_count(g, t) != 1) return IR_NONE;
    const ir_node *p = &g->nodes[x->producer];
    int plain = p->n_in < 4 || p->in[3] == IR_NONE;
    if (p->op == OP_CONV2D && plain && p->p.conv2d.act.kind == ACT_NONE) return x->producer;
    if (p->op == OP_LINEAR && plain && p->p.linear.act.kind == ACT_NONE && x->ndim == 2) return x->producer;
    return IR_NONE;
}

static const char *derived_name(ir_graph *g, const char *base, const char *suffix) {
    size_t len = strlen(base) + strlen(suffix) + 1;
    char *name = ir_alloc(g, len);
    if (name) snprintf(name, len, "%s%s", base, suffix);
    return name;
}

/* Adds a dense f32 constant shaped like tensor `like` (or [count] when like is IR_NONE). */
static int add_constant(ir_graph *g, int like, int64_t count, const char *name, const float *data) {
    ir_tensor t;
    memset(&t, 0, sizeof t);
    if (like != IR_NONE) {
        t.ndim = g->tensors[like].ndim;
        memcpy(t.dims, g->tensors[like].dims, sizeof t.dims);
    } else {
        t.ndim = 1;
        t.dims[0] = count;
    }
    t.name = name;
    t.dtype = INFER_F32;
    t.is_constant = 1;
    t.storage = (ir_storage){ .kind = IR_STORAGE_DENSE, .aux = { IR_NONE, IR_NONE, IR_NONE } };
    t.data = data;
    t.nbytes = (uint64_t)count * sizeof(float);
    t.producer = IR_NONE;
    return ir_add_tensor(g, &t);
}

/* Output channel (row of the 2-D view) of stored value v of sparse f32 constant x; -1 when x is not one. */
static int64_t sparse_row(const ir_graph *g, const ir_tensor *x, int64_t v, int64_t cols) {
    const ir_storage *st = &x->storage;
    if (st->kind == IR_STORAGE_SPARSE_2_4) return v / (cols / 2);
    if (st->kind != IR_STORAGE_CSR && st->kind != IR_STORAGE_BSR) return -1;
    const int32_t *ptr = g->tensors[st->aux[1]].data;
    int64_t per = st->kind == IR_STORAGE_BSR ? (int64_t)st->block_rows * st->block_cols : 1, k = v / per;
    int64_t lo = 0, hi = (x->dims[0] / (st->kind == IR_STORAGE_BSR ? st->block_rows : 1)) - 1;
    while (lo < hi) { /* the block row whose range holds k */
        int64_t mid = (lo + hi + 1) / 2;
        if (ptr[mid] <= k) lo = mid;
        else hi = mid - 1;
    }
    return st->kind == IR_STORAGE_BSR ? lo * st->block_rows + v % per / st->block_cols : lo;
}

/* conv (node p) reads the BN's output from now on with weight w_new and bias b_new; the BN is detached. */
static void rewire(ir_graph *g, int p, ir_node *bn, int w_new, int b_new, int *folded) {
    ir_node *conv = &g->nodes[p];
    conv->in[1] = w_new;
    conv->in[2] = b_new;
    if (conv->n_in < 3) conv->n_in = 3;
    conv->out[0] = bn->out[0];
    g->tensors[bn->out[0]].producer = p;
    bn->n_in = bn->n_out = 0;
    *folded = 1;
}

/* The int8 per-channel weight keeps its values; a new weight tensor shares them with new scales (scale[c] times
 * the BN's factor; zero points as they were) and the bias is folded as for float weights. */
static infer_status fold_int8(ir_graph *g, int p, ir_node *bn, const float *scales, const float *b,
                              const float *gamma, const float *beta, const float *mean, const float *var, int *folded,
                              infer_error *err) {
    int w_id = g->nodes[p].in[1];
    int64_t channels = g->tensors[w_id].dims[0];
    float *ns = ir_alloc(g, (uint64_t)channels * sizeof *ns), *nb = ir_alloc(g, (uint64_t)channels * sizeof *nb);
    const char *s_name = derived_name(g, g->tensors[w_id].name, ".scale.bn_folded");
    const char *w_name = derived_name(g, g->tensors[w_id].name, ".bn_folded");
    const char *b_name = derived_name(g, bn->name, ".bias.bn_folded");
    if (!ns || !nb || !s_name || !w_name || !b_name)
        return infer_fail(err, INFER_ERR_MEMORY, "out of memory folding BatchNorm '%s'", bn->name);
    double eps = bn->p.batchnorm.eps;
    for (int64_t o = 0; o < channels; o++) {
        double f = (double)gamma[o] / sqrt((double)var[o] + eps);
        ns[o] = (float)(scales[o] * f);
        nb[o] = (float)(((b ? (double)b[o] : 0.0) - mean[o]) * f + beta[o]);
    }
    int new_s = add_constant(g, IR_NONE, channels, s_name, ns);
    int new_b = new_s == IR_NONE ? IR_NONE : add_constant(g, IR_NONE, channels, b_name, nb);
    ir_tensor wt = g->tensors[w_id]; /* a copy: adding tensors may move the array */
    wt.name = w_name;
    wt.storage.aux[0] = new_s;
    wt.is_output = wt.is_input = 0;
    int new_w = new_b == IR_NONE ? IR_NONE : ir_add_tensor(g, &wt);
    if (new_w == IR_NONE) return infer_fail(err, INFER_ERR_MEMORY, "out of memory folding BatchNorm '%s'", bn->name);
    rewire(g, p, bn, new_w, new_b, folded);
    return INFER_OK;
}

/* Folds BN node `bn` into node p: w' = w * s, b' = (b - mean) * s + beta with s = gamma / sqrt(var + eps).
 * Leaves the graph unchanged when the tensors are not all dense f32 constants of matching sizes. */
static infer_status fold(ir_graph *g, int p, ir_node *bn, int *folded, infer_error *err) {
    ir_node *conv = &g->nodes[p];
    int w_id = conv->in[1], b_id = conv->n_in > 2 ? conv->in[2] : IR_NONE;
    const ir_tensor *wt = &g->tensors[w_id];
    int64_t channels = wt->ndim >= 1 ? wt->dims[0] : 0, per_channel = 1;
    for (int d = 1; d < wt->ndim; d++)
        if (__builtin_mul_overflow(per_channel, wt->dims[d], &per_channel)) return INFER_OK;
    int64_t w_count;
    if (channels < 1 || __builtin_mul_overflow(channels, per_channel, &w_count)) return INFER_OK;
    int sparse = wt->is_constant && wt->dtype == INFER_F32 && wt->data &&
                 (wt->storage.kind == IR_STORAGE_CSR || wt->storage.kind == IR_STORAGE_BSR ||
                  wt->storage.kind == IR_STORAGE_SPARSE_2_4);
    /* int8 per channel along axis 0: the q stay, each channel's scale takes the factor (exact) */
    int int8 = wt->is_constant && wt->dtype == INFER_F32 && wt->data && wt->storage.kind == IR_STORAGE_INT8_CHANNEL &&
               wt->storage.axis == 0 && wt->nbytes == (uint64_t)w_count;
    const float *w = sparse ? wt->data : int8 ? dense_f32(g, wt->storage.aux[0], channels) : dense_f32(g, w_id, w_count);
    const float *b = dense_f32(g, b_id, channels);
    const float *gamma = dense_f32(g, bn->in[1], channels), *beta = dense_f32(g, bn->in[2], channels);
    const float *mean = dense_f32(g, bn->in[3], channels), *var = dense_f32(g, bn->in[4], channels);
    if (!w || (b_id != IR_NONE && !b) || !gamma || !beta || !mean || !var) return INFER_OK;
    if (int8) return fold_int8(g, p, bn, w, b, gamma, beta, mean, var, folded, err);

    int64_t stored = sparse ? (int64_t)(wt->nbytes / sizeof(float)) : w_count; /* sparse: the stored values */
    float *nw = ir_alloc(g, (uint64_t)stored * sizeof *nw), *nb = ir_alloc(g, (uint64_t)channels * sizeof *nb);
    const char *w_name = derived_name(g, wt->name, ".bn_folded");
    const char *b_name = derived_name(g, g->tensors[b_id != IR_NONE ? b_id : bn->in[2]].name, ".bn_folded");
    if (!nw || !nb || !w_name || !b_name)
        return infer_fail(err, INFER_ERR_MEMORY, "out of memory folding BatchNorm '%s'", bn->name);
    double eps = bn->p.batchnorm.eps;
    for (int64_t o = 0; o < channels; o++) {
        double scale = (double)gamma[o] / sqrt((double)var[o] + eps);
        for (int64_t j = 0; !sparse && j < per_channel; j++) nw[o * per_channel + j] = (float)(w[o * per_channel + j] * scale);
        nb[o] = (float)(((b ? (double)b[o] : 0.0) - mean[o]) * scale + beta[o]);
    }
    for (int64_t v = 0; sparse && v < stored; v++) { /* each stored value scaled by its channel's factor */
        int64_t o = sparse_row(g, wt, v, per_channel);
        nw[v] = (float)(w[v] * ((double)gamma[o] / sqrt((double)var[o] + eps)));
    }
    int new_w = add_constant(g, w_id, w_count, w_name, nw);
    if (new_w != IR_NONE && sparse) { /* same storage and side tensors, new values */
        g->tensors[new_w].storage = g->tensors[w_id].storage;
        g->tensors[new_w].nbytes = (uint64_t)stored * sizeof *nw;
    }
    int new_b = new_w == IR_NONE ? IR_NONE : add_constant(g, IR_NONE, channels, b_name, nb);
    if (new_b == IR_NONE) return infer_fail(err, INFER_ERR_MEMORY, "out of memory folding BatchNorm '%s'", bn->name);
    conv->in[1] = new_w;
    conv->in[2] = new_b;
    if (conv->n_in < 3) conv->n_in = 3;
    conv->out[0] = bn->out[0];
    g->tensors[bn->out[0]].producer = p;
    if (g->release_hint && ir_consumer_count(g, w_id) == 0)
        g->release_hint(g->release_ctx, g->tensors[w_id].data, g->tensors[w_id].nbytes);
    bn->n_in = bn->n_out = 0; /* detached: ir_eliminate_dead removes it */
    *folded = 1;
    return INFER_OK;
}

infer_status ir_fold_batchnorm(ir_graph *g, infer_error *err) {
    int folded = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *bn = &g->nodes[i];
        if (bn->op != OP_BATCHNORM || bn->n_in != 5 || bn->n_out != 1) continue;
        int p = fold_target(g, bn);
        infer_status s = p == IR_NONE ? INFER_OK : fold(g, p, bn, &folded, err);
        if (s != INFER_OK) return s;
    }
    return folded ? ir_eliminate_dead(g, err) : INFER_OK;
}
