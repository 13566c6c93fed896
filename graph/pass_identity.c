/* pass_identity.c — removes identity nodes by rewiring their readers (or their input's producer). */
#include "graph.h"
#include "../base/error.h"

static void replace_uses(ir_graph *g, int from, int to) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == from) g->nodes[i].in[k] = to;
}

/* Identity x -> y. When y is a graph output, x's producer writes y directly and x's other readers
 * read y; that needs x to be produced by a node and not itself a graph output. Returns 0 to keep it. */
static int bypass(ir_graph *g, ir_node *n) {
    int x = n->in[0], y = n->out[0];
    ir_tensor *tx = &g->tensors[x], *ty = &g->tensors[y];
    if (!ty->is_output) {
        n->n_in = n->n_out = 0; /* detached: ir_eliminate_dead removes it */
        replace_uses(g, y, x);
        return 1;
    }
    if (tx->is_input || tx->is_output || tx->is_constant || tx->producer == IR_NONE) return 0;
    ir_node *p = &g->nodes[tx->producer];
    for (int k = 0; k < p->n_out; k++)
        if (p->out[k] == x) p->out[k] = y;
    ty->producer = tx->producer;
    tx->producer = IR_NONE;
    n->n_in = n->n_out = 0;
    replace_uses(g, x, y);
    return 1;
}

infer_status ir_remove_identities(ir_graph *g, infer_error *err) {
    int removed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->op == OP_IDENTITY && n->n_in == 1 && n->n_out == 1 && n->in[0] != IR_NONE) removed += bypass(g, n);
    }
    return removed ? ir_eliminate_dead(g, err) : INFER_OK;
}
