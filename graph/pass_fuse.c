/* pass_fuse.c — fuses activations and residual adds into conv2d / linear epilogues, as the backend allows. */
#include <string.h>
#include "graph.h"
#include "../runtime/error.h"

/* The conv2d or linear producing t when t has no other reader and no activation is fused yet. */
static int open_epilogue(const ir_graph *g, int t) {
    int p = g->tensors[t].producer;
    if (p == IR_NONE || ir_consumer_count(g, t) != 1) return IR_NONE;
    const ir_node *n = &g->nodes[p];
    if (n->op == OP_CONV2D && n->p.conv2d.act.kind == ACT_NONE) return p;
    if (n->op == OP_LINEAR && n->p.linear.act.kind == ACT_NONE) return p;
    return IR_NONE;
}

/* Node p now computes what `fused` did: it writes fused's output, and fused is detached. */
static void take_output(ir_graph *g, int p, ir_node *fused) {
    g->nodes[p].out[0] = fused->out[0];
    g->tensors[fused->out[0]].producer = p;
    fused->n_in = fused->n_out = 0; /* ir_eliminate_dead removes it */
}

static int same_layout(const ir_tensor *a, const ir_tensor *b) {
    return a->dtype == b->dtype && ir_same_declared_shape(a, b);
}

static int fuse_activation(ir_graph *g, ir_node *n, const ir_fusion_caps *caps) {
    int p = open_epilogue(g, n->in[0]);
    if (p == IR_NONE || !(caps->allowed_acts & (1 << n->p.activation.kind))) return 0;
    ir_node *producer = &g->nodes[p];
    if (producer->op == OP_CONV2D && caps->fuse_conv_act) producer->p.conv2d.act = n->p.activation;
    else if (producer->op == OP_LINEAR && caps->fuse_linear_act) producer->p.linear.act = n->p.activation;
    else return 0;
    take_output(g, p, n);
    return 1;
}

/* add(t, r) with t from an open epilogue and r ready before t's producer runs: r becomes its residual. */
static int fuse_residual(ir_graph *g, ir_node *n, const ir_fusion_caps *caps) {
    if (!caps->fuse_residual || n->p.binary.kind != BIN_ADD || n->n_in != 2 || n->in[1] == IR_NONE) return 0;
    for (int j = 0; j < 2; j++) {
        int t = n->in[j], r = n->in[1 - j];
        int p = open_epilogue(g, t);
        if (p == IR_NONE || t == r || (g->nodes[p].n_in > 3 && g->nodes[p].in[3] != IR_NONE)) continue;
        int r_producer = g->tensors[r].producer;
        if (r_producer != IR_NONE && r_producer >= p) continue;
        if (!same_layout(&g->tensors[t], &g->tensors[r]) || !same_layout(&g->tensors[t], &g->tensors[n->out[0]]))
            continue;
        ir_node *producer = &g->nodes[p];
        if (producer->n_in < 3) producer->in[2] = IR_NONE;
        producer->in[3] = r;
        producer->n_in = 4;
        take_output(g, p, n);
        return 1;
    }
    return 0;
}

infer_status ir_fuse_epilogues(ir_graph *g, const ir_fusion_caps *caps, infer_error *err) {
    if (!caps) return infer_fail(err, INFER_ERR_ARGUMENT, "ir_fuse_epilogues: caps are required");
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->op == OP_ACTIVATION && n->n_in == 1 && n->n_out == 1) fused += fuse_activation(g, n, caps);
        else if (n->op == OP_BINARY && n->n_out == 1) fused += fuse_residual(g, n, caps);
    }
    return fused ? ir_eliminate_dead(g, err) : INFER_OK;
}
