/* cpu_int8_chain.c — plans the u8 NHWC activations between consecutive static INT8 convolutions (cpu_int8_chain.h). */
#include <string.h>
#include "cpu_int8_chain.h"
#include "../kernels/cpu/gemm_s8.h"
#include "../kernels/cpu/s8_layer.h"

/* The only node reading activation t, as its input 0 and nowhere else; IR_NONE when there is none or several. */
static int only_consumer(const ir_graph *g, int t) {
    if (ir_consumer_count(g, t) != 1) return IR_NONE;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == t) return k == 0 ? i : IR_NONE;
    return IR_NONE;
}

static unsigned caps_of(const infer_engine *e, const cpu_kernel *const *kernels, const void *const *packed, int node) {
    const ir_node *n = &e->graph.nodes[node];
    if (n->op != OP_CONV2D || kernels[node]->run != cpu_conv2d_s8_layer || !packed[node]) return 0;
    return cpu_conv2d_s8_chain_caps(n, packed[node]);
}

/* Can t be chained, its two ends taken alone? Returns the consumer, else IR_NONE. */
static int chain_candidate(const infer_engine *e, const cpu_kernel *const *kernels, const void *const *packed,
                           int t) {
    const ir_graph *g = &e->graph;
    const ir_tensor *x = &g->tensors[t];
    if (x->is_constant || x->is_input || x->is_output || x->producer == IR_NONE || x->dtype != INFER_F32 ||
        x->ndim != 4 || x->dims[1] < 16 || cpu_conv2d_s8_nhwc_stride(x->dims[1]) > 4 * x->dims[1])
        return IR_NONE;
    int consumer = only_consumer(g, t);
    if (consumer == IR_NONE || g->nodes[x->producer].out[0] != t) return IR_NONE;
    if (!(caps_of(e, kernels, packed, x->producer) & S8_CHAIN_OUT) ||
        !(caps_of(e, kernels, packed, consumer) & S8_CHAIN_IN))
        return IR_NONE;
    return consumer;
}

int cpu_int8_chain_plan(const infer_engine *e, const cpu_kernel *const *kernels, const void *const *packed,
                        uint8_t *u8_nhwc, act_quant *out_q) {
    const ir_graph *g = &e->graph;
    for (int t = 0; t < g->n_tensors; t++) u8_nhwc[t] = chain_candidate(e, kernels, packed, t) != IR_NONE;
    /* a paired node (depthwise) with one side chained and the other not gives up both, until none does */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < g->n_nodes; i++) {
            const ir_node *n = &g->nodes[i];
            if (!(caps_of(e, kernels, packed, i) & S8_CHAIN_PAIRED)) continue;
            int in = u8_nhwc[n->in[0]], out = u8_nhwc[n->out[0]];
            if (in == out) continue;
            u8_nhwc[n->in[0]] = u8_nhwc[n->out[0]] = 0;
            changed = 1;
        }
    }
    int chained = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        if (!u8_nhwc[t]) continue;
        out_q[g->tensors[t].producer] = g->nodes[only_consumer(g, t)].p.conv2d.in_q;
        chained++;
    }
    return chained;
}
