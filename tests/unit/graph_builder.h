/* graph_builder.h — building small ir_graphs by hand in the graph tests, without a model file. */
#ifndef INFER_GRAPH_BUILDER_H
#define INFER_GRAPH_BUILDER_H

#include <stdlib.h>
#include <string.h>
#include "../../graph/graph.h"

/* DIMS(2, 3) -> ndim and a dims pointer, for the functions below. */
#define DIMS(...) (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (const int64_t[]){ __VA_ARGS__ }

static inline int gb_tensor(ir_graph *g, const char *name, infer_dtype dtype, int ndim, const int64_t *dims) {
    ir_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name;
    t.dtype = dtype;
    t.ndim = ndim;
    memcpy(t.dims, dims, (size_t)ndim * sizeof *dims);
    t.producer = IR_NONE;
    return ir_add_tensor(g, &t);
}

static inline int gb_act(ir_graph *g, const char *name, int ndim, const int64_t *dims) {
    return gb_tensor(g, name, INFER_F32, ndim, dims);
}

/* A dense f32 constant; data must outlive the graph. */
static inline int gb_const(ir_graph *g, const char *name, int ndim, const int64_t *dims, const float *data) {
    int id = gb_tensor(g, name, INFER_F32, ndim, dims);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    g->tensors[id].is_constant = 1;
    g->tensors[id].data = data;
    g->tensors[id].nbytes = (uint64_t)n * sizeof(float);
    return id;
}

static inline void gb_push(int **list, int *count, int t) {
    *list = realloc(*list, (size_t)(*count + 1) * sizeof **list);
    (*list)[(*count)++] = t;
}

static inline int gb_input(ir_graph *g, int t) {
    gb_push(&g->inputs, &g->n_inputs, t);
    g->tensors[t].is_input = 1;
    return t;
}

static inline int gb_output(ir_graph *g, int t) {
    gb_push(&g->outputs, &g->n_outputs, t);
    g->tensors[t].is_output = 1;
    return t;
}

/* Appends a node (parameters zeroed) and marks it as its outputs' producer; the pointer is valid until
 * the next gb_node. in[k] == IR_NONE for an absent optional input. */
static inline ir_node *gb_node(ir_graph *g, op_code op, const char *name, int n_in, const int *in, int n_out,
                               const int *out) {
    if (g->n_nodes == g->cap_nodes) {
        g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 8;
        g->nodes = realloc(g->nodes, (size_t)g->cap_nodes * sizeof *g->nodes);
    }
    ir_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = name;
    n->n_in = n_in;
    n->n_out = n_out;
    memcpy(n->in, in, (size_t)n_in * sizeof *in);
    memcpy(n->out, out, (size_t)n_out * sizeof *out);
    for (int k = 0; k < n_out; k++) g->tensors[out[k]].producer = g->n_nodes;
    g->n_nodes++;
    return n;
}

/* One-input, one-output node. */
static inline ir_node *gb_unary(ir_graph *g, op_code op, const char *name, int x, int y) {
    return gb_node(g, op, name, 1, (const int[]){ x }, 1, (const int[]){ y });
}

#endif
