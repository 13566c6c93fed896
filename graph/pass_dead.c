/* pass_dead.c — removes nodes whose outputs nobody uses, then the tensors nothing refers to. */
#include <stdlib.h>
#include "graph.h"
#include "../base/error.h"

/* Marks dead nodes. Consumers follow producers, so one sweep from the end reaches the fixed point:
 * when node i is reached, every reader of its outputs has already been kept or removed. A node
 * without outputs (detached by another pass) is dead. */
static void mark_dead(const ir_graph *g, int *uses, char *dead) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] != IR_NONE) uses[g->nodes[i].in[k]]++;
    for (int i = 0; i < g->n_outputs; i++) uses[g->outputs[i]]++;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        const ir_node *n = &g->nodes[i];
        int live = 0;
        for (int k = 0; k < n->n_out; k++) live |= uses[n->out[k]] > 0;
        if (live) continue;
        dead[i] = 1;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] != IR_NONE) uses[n->in[k]]--;
    }
}

static void compact_nodes(ir_graph *g, const char *dead) {
    int kept = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!dead[i]) g->nodes[kept++] = g->nodes[i];
    g->n_nodes = kept;
}

static int has_aux(const ir_tensor *t, int k) {
    return t->storage.kind != IR_STORAGE_DENSE && t->storage.aux[k] != IR_NONE;
}

/* Keeps graph inputs, outputs, every tensor a node refers to and their side tensors; renumbers the references. */
static void compact_tensors(ir_graph *g, int *remap) {
    for (int t = 0; t < g->n_tensors; t++) remap[t] = g->tensors[t].is_input || g->tensors[t].is_output;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] != IR_NONE) remap[n->in[k]] = 1;
        for (int k = 0; k < n->n_out; k++) remap[n->out[k]] = 1;
    }
    for (int t = 0; t < g->n_tensors; t++) /* the side tensors of what is kept (storage aux) */
        for (int k = 0; remap[t] && k < 3; k++)
            if (has_aux(&g->tensors[t], k)) remap[g->tensors[t].storage.aux[k]] = 1;
    int kept = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        if (!remap[t]) {
            remap[t] = IR_NONE;
            continue;
        }
        g->tensors[kept] = g->tensors[t];
        g->tensors[kept].producer = IR_NONE;
        remap[t] = kept++;
    }
    g->n_tensors = kept;
    for (int t = 0; t < kept; t++)
        for (int k = 0; k < 3; k++)
            if (has_aux(&g->tensors[t], k)) g->tensors[t].storage.aux[k] = remap[g->tensors[t].storage.aux[k]];
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] != IR_NONE) n->in[k] = remap[n->in[k]];
        for (int k = 0; k < n->n_out; k++) {
            n->out[k] = remap[n->out[k]];
            g->tensors[n->out[k]].producer = i;
        }
    }
    for (int i = 0; i < g->n_inputs; i++) g->inputs[i] = remap[g->inputs[i]];
    for (int i = 0; i < g->n_outputs; i++) g->outputs[i] = remap[g->outputs[i]];
}

infer_status ir_eliminate_dead(ir_graph *g, infer_error *err) {
    int *uses = calloc((size_t)g->n_tensors + 1, sizeof *uses);
    char *dead = calloc((size_t)g->n_nodes + 1, 1);
    if (!uses || !dead) {
        free(uses);
        free(dead);
        return infer_fail(err, INFER_ERR_MEMORY, "out of memory removing dead nodes");
    }
    mark_dead(g, uses, dead);
    compact_nodes(g, dead);
    compact_tensors(g, uses);
    free(uses);
    free(dead);
    return INFER_OK;
}
