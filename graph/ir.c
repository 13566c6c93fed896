/* ir.c — building the graph IR from a validated .ifg file, freeing it, and helpers for passes. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir_build.h"
#include "op_desc.h"
#include "../base/error.h"

/* The storage as the file gives it (validated by the loader: aux ids are dense constants of the file). */
static ir_storage storage_of(const ifg_file *f, const ifg_tensor *src) {
    ir_storage st = { .kind = (ir_storage_kind)src->encoding, .aux = { IR_NONE, IR_NONE, IR_NONE } };
    if (src->encoding == IFG_ENC_DENSE) return st;
    st.scale = src->scale;
    st.zero_point = src->zero_point;
    st.axis = src->quant_axis;
    st.block_rows = (int)(src->block >> 16);
    st.block_cols = (int)(src->block & 0xffff);
    for (int k = 0; k < 3; k++) st.aux[k] = src->aux[k] < f->n_tensors ? (int)src->aux[k] : IR_NONE;
    return st;
}

static infer_status copy_tensors(const ifg_file *f, ir_graph *g, infer_error *err) {
    for (uint32_t i = 0; i < f->n_tensors; i++) {
        const ifg_tensor *src = &f->tensors[i];
        ir_tensor *t = &g->tensors[i];
        if (src->ndim < 0 || src->ndim > INFER_MAX_DIMS)
            return infer_fail(err, INFER_ERR_FORMAT, "tensor %u '%s': %d dims (at most %d)", i, src->name, src->ndim,
                              INFER_MAX_DIMS);
        t->name = src->name;
        t->dtype = src->dtype;
        t->ndim = src->ndim;
        memcpy(t->dims, src->dims, sizeof t->dims);
        t->is_constant = src->is_constant;
        t->storage = storage_of(f, src);
        t->data = src->data;
        t->nbytes = src->data_size;
        t->producer = IR_NONE;
    }
    g->n_tensors = (int)f->n_tensors;
    return INFER_OK;
}

static infer_status copy_io(const uint32_t *ids, uint32_t count, const char *what, int *dst, ir_graph *g,
                            infer_error *err) {
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] >= (uint32_t)g->n_tensors)
            return infer_fail(err, INFER_ERR_FORMAT, "graph %s %u: tensor id %u out of range (%d tensors)", what, i,
                              ids[i], g->n_tensors);
        dst[i] = (int)ids[i];
    }
    return INFER_OK;
}

/* Checks one input id of node `index` (topological order: constant, graph input or produced earlier). */
static infer_status node_input(const ir_graph *g, const ifg_node *src, int index, uint32_t k, int *dst,
                               infer_error *err) {
    uint32_t id = src->inputs[k];
    const char *op = op_name(src->op);
    if (id == IFG_NONE) {
        const op_desc *d = op_describe(src->op);
        if (!d || k >= 64 || !(d->optional_inputs & OP_INPUT(k)))
            return infer_fail(err, INFER_ERR_FORMAT, "node %d '%s' (%s): input %u is required but absent", index,
                              src->name, op, k);
        *dst = IR_NONE;
        return INFER_OK;
    }
    if (id >= (uint32_t)g->n_tensors)
        return infer_fail(err, INFER_ERR_FORMAT, "node %d '%s' (%s): input %u: tensor id %u out of range", index,
                          src->name, op, k, id);
    const ir_tensor *t = &g->tensors[id];
    if (!t->is_constant && !t->is_input && t->producer == IR_NONE)
        return infer_fail(err, INFER_ERR_FORMAT,
                          "node %d '%s' (%s): input %u '%s' is neither a constant, a graph input nor produced earlier",
                          index, src->name, op, k, t->name);
    *dst = (int)id;
    return INFER_OK;
}

static infer_status node_output(ir_graph *g, const ifg_node *src, int index, uint32_t k, int *dst,
                                infer_error *err) {
    uint32_t id = src->outputs[k];
    const char *op = op_name(src->op);
    if (id >= (uint32_t)g->n_tensors)
        return infer_fail(err, INFER_ERR_FORMAT, "node %d '%s' (%s): output %u: tensor id %u out of range", index,
                          src->name, op, k, id);
    ir_tensor *t = &g->tensors[id];
    if (t->is_constant || t->is_input || t->producer != IR_NONE)
        return infer_fail(err, INFER_ERR_FORMAT,
                          "node %d '%s' (%s): output %u '%s' is a constant, a graph input or produced twice", index,
                          src->name, op, k, t->name);
    t->producer = index;
    *dst = (int)id;
    return INFER_OK;
}

static infer_status copy_node(const ifg_file *f, int index, ir_graph *g, infer_error *err) {
    const ifg_node *src = &f->nodes[index];
    const op_info *info = op_get_info(src->op);
    if (!info) return infer_fail(err, INFER_ERR_FORMAT, "node %d '%s': unknown op code %d", index, src->name, src->op);
    int max_in = info->max_inputs < 0 ? IR_MAX_INPUTS : info->max_inputs;
    if (src->n_inputs < (uint32_t)info->min_inputs || src->n_inputs > (uint32_t)max_in)
        return infer_fail(err, INFER_ERR_FORMAT, "node %d '%s' (%s): %u inputs, expected %d to %d", index, src->name,
                          info->name, src->n_inputs, info->min_inputs, max_in);
    if (src->n_outputs != (uint32_t)info->outputs)
        return infer_fail(err, INFER_ERR_FORMAT, "node %d '%s' (%s): %u outputs, expected %d", index, src->name,
                          info->name, src->n_outputs, info->outputs);
    ir_node *n = &g->nodes[index];
    n->op = (op_code)src->op;
    n->name = src->name;
    n->n_in = (int)src->n_inputs;
    n->n_out = (int)src->n_outputs;
    infer_status s = INFER_OK;
    for (uint32_t k = 0; s == INFER_OK && k < src->n_inputs; k++) s = node_input(g, src, index, k, &n->in[k], err);
    for (uint32_t k = 0; s == INFER_OK && k < src->n_outputs; k++) s = node_output(g, src, index, k, &n->out[k], err);
    if (s == INFER_OK) s = ir_decode_params(src, index, &n->p, err);
    return s;
}

static infer_status copy_dyn_dims(const ifg_file *f, ir_graph *g, infer_error *err) {
    g->n_syms = (int)f->n_dyn_dims;
    for (int s = 0; s < g->n_syms; s++) {
        const ifg_dyn_dim *d = &f->dyn_dims[s];
        g->syms[s] = (ir_sym){ d->name, d->min, d->max, d->example };
    }
    g->n_exprs = f->has_dims_section ? (int)f->n_exprs : 0; /* a 1.0 batch is -1, not an expression */
    g->exprs = ir_alloc(g, (uint64_t)(g->n_exprs ? g->n_exprs : 1) * sizeof *g->exprs);
    if (!g->exprs) return infer_fail(err, INFER_ERR_MEMORY, "out of memory copying %d dim expressions", g->n_exprs);
    for (int e = 0; e < g->n_exprs; e++) {
        const ifg_expr *x = &f->exprs[e];
        ir_expr *y = &g->exprs[e];
        *y = (ir_expr){ .coef = x->coef, .offset = x->offset, .unchecked = (x->flags & IFG_EXPR_UNCHECKED) != 0,
                        .n_factors = (int)x->n_factors };
        for (int k = 0; k < y->n_factors; k++) {
            y->sym[k] = (int)x->sym[k];
            y->power[k] = (int)x->power[k];
        }
    }
    return INFER_OK;
}

/* A reshape / expand shape entry or a slice end that refers to a dim expression: it exists and is checked. */
static infer_status check_expr_ref(const ir_graph *g, int index, int e, const char *what, infer_error *err) {
    const ir_node *n = &g->nodes[index];
    if (e < 0 || e >= g->n_exprs || g->exprs[e].unchecked)
        return infer_fail(err, INFER_ERR_FORMAT, "node %d '%s' (%s): attribute %s is %lld: dim expression %d; the file has "
                          "%d%s", index, n->name, op_name(n->op), what, (long long)IR_DIM_EXPR(e), e, g->n_exprs,
                          e >= 0 && e < g->n_exprs ? " and it is unchecked (not computable)" : "");
    return INFER_OK;
}

static infer_status check_symbolic_params(const ir_graph *g, int index, infer_error *err) {
    const ir_node *n = &g->nodes[index];
    if (n->op == OP_RESHAPE || n->op == OP_EXPAND)
        for (int i = 0; i < n->p.shape.ndim; i++)
            if (n->p.shape.shape[i] <= -2) {
                char what[48];
                snprintf(what, sizeof what, "'shape' value %d", i);
                INFER_TRY(check_expr_ref(g, index, IR_EXPR_OF(n->p.shape.shape[i]), what, err));
            }
    if (n->op == OP_SLICE && n->p.slice.end_expr)
        INFER_TRY(check_expr_ref(g, index, n->p.slice.end_expr - 1, "'end_expr' + 2", err));
    if (n->op == OP_RANGE && n->p.range.length_expr)
        INFER_TRY(check_expr_ref(g, index, n->p.range.length_expr - 1, "'length_expr' + 2", err));
    return INFER_OK;
}

infer_status ir_build(const ifg_file *f, ir_graph *g, infer_error *err) {
    if (!f || !g) return infer_fail(err, INFER_ERR_ARGUMENT, "ir_build: file and graph are required");
    memset(g, 0, sizeof *g);
    if (f->n_tensors > INT_MAX / 2 || f->n_nodes > INT_MAX / 2 || f->n_inputs > INT_MAX || f->n_outputs > INT_MAX)
        return infer_fail(err, INFER_ERR_FORMAT, "graph too large: %u tensors, %u nodes", f->n_tensors, f->n_nodes);
    g->cap_tensors = (int)f->n_tensors + 1;
    g->cap_nodes = (int)f->n_nodes + 1;
    g->tensors = calloc((size_t)g->cap_tensors, sizeof *g->tensors);
    g->nodes = calloc((size_t)g->cap_nodes, sizeof *g->nodes);
    g->inputs = calloc((size_t)f->n_inputs + 1, sizeof *g->inputs);
    g->outputs = calloc((size_t)f->n_outputs + 1, sizeof *g->outputs);
    infer_status s = INFER_OK;
    if (!g->tensors || !g->nodes || !g->inputs || !g->outputs)
        s = infer_fail(err, INFER_ERR_MEMORY, "out of memory building a graph of %u tensors and %u nodes",
                       f->n_tensors, f->n_nodes);
    if (s == INFER_OK) s = copy_dyn_dims(f, g, err);
    if (s == INFER_OK) s = copy_tensors(f, g, err);
    if (s == INFER_OK) s = copy_io(f->inputs, f->n_inputs, "input", g->inputs, g, err);
    if (s == INFER_OK) s = copy_io(f->outputs, f->n_outputs, "output", g->outputs, g, err);
    if (s == INFER_OK) {
        g->n_inputs = (int)f->n_inputs;
        g->n_outputs = (int)f->n_outputs;
        for (int i = 0; i < g->n_inputs; i++) g->tensors[g->inputs[i]].is_input = 1;
        for (int i = 0; i < g->n_outputs; i++) g->tensors[g->outputs[i]].is_output = 1;
    }
    for (int i = 0; s == INFER_OK && i < (int)f->n_nodes; i++) {
        s = copy_node(f, i, g, err);
        g->n_nodes = i + 1;
        if (s == INFER_OK) s = check_symbolic_params(g, i, err);
    }
    if (s != INFER_OK) ir_free(g);
    return s;
}

void ir_free(ir_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->n_owned; i++) free(g->owned[i]);
    free(g->owned);
    free(g->tensors);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    memset(g, 0, sizeof *g);
}

int ir_add_tensor(ir_graph *g, const ir_tensor *t) {
    if (g->n_tensors == g->cap_tensors) {
        if (g->cap_tensors > INT_MAX / 2) return IR_NONE;
        int cap = g->cap_tensors ? 2 * g->cap_tensors : 16;
        ir_tensor *grown = realloc(g->tensors, (size_t)cap * sizeof *grown);
        if (!grown) return IR_NONE;
        g->tensors = grown;
        g->cap_tensors = cap;
    }
    g->tensors[g->n_tensors] = *t;
    return g->n_tensors++;
}

void *ir_alloc(ir_graph *g, uint64_t bytes) {
    if (bytes > SIZE_MAX) return NULL;
    if (g->n_owned == g->cap_owned) {
        if (g->cap_owned > INT_MAX / 2) return NULL;
        int cap = g->cap_owned ? 2 * g->cap_owned : 16;
        void **grown = realloc(g->owned, (size_t)cap * sizeof *grown);
        if (!grown) return NULL;
        g->owned = grown;
        g->cap_owned = cap;
    }
    void *p = malloc(bytes ? (size_t)bytes : 1);
    if (p) g->owned[g->n_owned++] = p;
    return p;
}

int ir_free_owned(ir_graph *g, const void *p) {
    for (int i = 0; p && i < g->n_owned; i++) {
        if (g->owned[i] != p) continue;
        free(g->owned[i]);
        g->owned[i] = NULL; /* its slot stays; ir_graph_free frees NULL */
        return 1;
    }
    return 0;
}

int ir_consumer_count(const ir_graph *g, int tensor) {
    if (tensor < 0 || tensor >= g->n_tensors) return 0;
    int count = g->tensors[tensor].is_output ? 1 : 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] == tensor) {
                count++;
                break;
            }
        }
    }
    return count;
}

uint64_t ir_logical_bytes(const ir_tensor *t) {
    uint64_t n = infer_dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++) n *= t->dims[d] > 0 ? (uint64_t)t->dims[d] : 0;
    return n;
}

const char *ir_storage_name(ir_storage_kind kind) {
    static const char *names[IR_STORAGE_COUNT] = { "dense", "int8 per-tensor", "int8 per-channel", "CSR sparse",
                                                   "block-sparse (BSR)", "2:4 sparse" };
    return kind >= 0 && kind < IR_STORAGE_COUNT ? names[kind] : "?";
}

int ir_inputs_stored_as(const ir_graph *g, const ir_node *n, unsigned mask, int *bad) {
    for (int k = 0; k < n->n_in; k++) {
        int t = n->in[k];
        if (t != IR_NONE && !(IR_STORAGE_BIT(g->tensors[t].storage.kind) & mask)) {
            if (bad) *bad = k;
            return 0;
        }
    }
    return 1;
}

int ir_same_declared_shape(const ir_tensor *a, const ir_tensor *b) {
    return a->ndim == b->ndim && !memcmp(a->dims, b->dims, (size_t)a->ndim * sizeof *a->dims);
}
