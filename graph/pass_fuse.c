/* pass_fuse.c — fuses activations and residual adds into conv2d / linear epilogues, as the backend allows. */
#include <string.h>
#include "graph.h"
#include "op_desc.h"
#include "../base/error.h"

/* The node producing t when it has an epilogue (OP_FUSE_ACT: conv2d, linear), t has no other reader and
 * no activation is fused yet. */
static int open_epilogue(ir_graph *g, int t) {
    int p = g->tensors[t].producer;
    if (p == IR_NONE || ir_consumer_count(g, t) != 1) return IR_NONE;
    ir_node *n = &g->nodes[p];
    const op_desc *d = op_describe(n->op);
    if (!d || !(d->fusions & OP_FUSE_ACT) || d->epilogue_act(&n->p)->kind != ACT_NONE) return IR_NONE;
    return p;
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
    int allowed = producer->op == OP_CONV2D   ? caps->fuse_conv_act
                  : producer->op == OP_LINEAR ? caps->fuse_linear_act
                                              : 0;
    if (!allowed) return 0;
    *op_describe(producer->op)->epilogue_act(&producer->p) = n->p.activation;
    take_output(g, p, n);
    return 1;
}

/* add(t, r) with t from an open epilogue and r ready before t's producer runs: r becomes its residual. */
static int fuse_residual(ir_graph *g, ir_node *n, const ir_fusion_caps *caps) {
    if (!caps->fuse_residual || n->p.binary.kind != BIN_ADD || n->n_in != 2 || n->in[1] == IR_NONE) return 0;
    for (int j = 0; j < 2; j++) {
        int t = n->in[j], r = n->in[1 - j];
        int p = open_epilogue(g, t);
        if (p == IR_NONE || !(op_describe(g->nodes[p].op)->fusions & OP_FUSE_RESIDUAL) || t == r ||
            (g->nodes[p].n_in > 3 && g->nodes[p].in[3] != IR_NONE))
            continue;
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
