/* cpu_bf16_chain.c — plans the BF16 NHWC activations between BF16 convolutions (cpu_bf16_chain.h). */
#include "cpu_bf16_chain.h"
#include "../kernels/cpu/gemm_bf16.h"

/* Node i runs (or could run) the NHWC kernel: a BF16 conv2d kernel chosen and a shape the NHWC one takes. */
static int nhwc_capable(const infer_engine *e, const cpu_kernel *const *kernels, int i) {
    const ir_node *n = &e->graph.nodes[i];
    return n->op == OP_CONV2D && kernels[i] == &cpu_conv2d_bf16_kernels[e->cpu_bf16] &&
           cpu_conv2d_bf16_nhwc_takes(&e->graph, n);
}

/* A max pool the chain may pass through (BF16 NHWC in and out; exact: max commutes with rounding to BF16). */
static int is_maxpool(const infer_engine *e, const cpu_kernel *const *kernels, int i) {
    return e->graph.nodes[i].op == OP_MAXPOOL2D && kernels[i]->run == cpu_maxpool2d;
}

/* A depthwise convolution the chain may pass through (conv2d_depthwise_bf16_nhwc.c): it keeps its FP32 kernel unless
 * its input and output both chain. */
static int is_depthwise(const infer_engine *e, const cpu_kernel *const *kernels, int i) {
    return (kernels[i]->run == cpu_conv2d || kernels[i] == &cpu_conv2d_depthwise_bf16_nhwc_kernel) &&
           cpu_conv2d_depthwise_bf16_nhwc_takes(&e->graph, &e->graph.nodes[i]);
}

/* A node whose input 0 and output chain together or neither. */
static int passes_through(const infer_engine *e, const cpu_kernel *const *kernels, int i) {
    return is_maxpool(e, kernels, i) || is_depthwise(e, kernels, i);
}

static int chainable(const infer_engine *e, const cpu_kernel *const *kernels, int t) {
    const ir_graph *g = &e->graph;
    const ir_tensor *x = &g->tensors[t];
    if (x->is_constant || x->is_input || x->is_output || x->producer == IR_NONE || x->dtype != INFER_F32 ||
        x->ndim != 4 || x->dims[1] < 16 || g->nodes[x->producer].out[0] != t ||
        !(nhwc_capable(e, kernels, x->producer) || passes_through(e, kernels, x->producer)))
        return 0;
    int readers = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            if (g->nodes[i].in[k] != t) continue;
            if (!((k == 0 || k == 3) && nhwc_capable(e, kernels, i)) && !(k == 0 && passes_through(e, kernels, i)))
                return 0;
            readers++;
        }
    return readers > 0;
}

int cpu_bf16_chain_plan(const infer_engine *e, const cpu_kernel **kernels, uint8_t *bf16_nhwc) {
    const ir_graph *g = &e->graph;
    if (!e->opt.bf16_chain || e->cpu_bf16 <= CPU_BF16_NONE || e->cpu_bf16 > CPU_BF16_AMX_AUTO) return 0;
    int chained = 0;
    for (int t = 0; t < g->n_tensors; t++) chained += bf16_nhwc[t] = (uint8_t)chainable(e, (const cpu_kernel *const *)kernels, t);
    /* a max pool or depthwise convolution chains its input and output together or neither; dropping one can drop
     * the next: until nothing changes */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < g->n_nodes; i++) {
            const ir_node *n = &g->nodes[i];
            if (!passes_through(e, (const cpu_kernel *const *)kernels, i) || bf16_nhwc[n->in[0]] == bf16_nhwc[n->out[0]])
                continue;
            chained -= bf16_nhwc[n->in[0]] + bf16_nhwc[n->out[0]];
            bf16_nhwc[n->in[0]] = bf16_nhwc[n->out[0]] = 0;
            changed = 1;
        }
    }
    for (int i = 0; i < g->n_nodes && chained; i++) {
        const ir_node *n = &g->nodes[i];
        if (is_depthwise(e, (const cpu_kernel *const *)kernels, i)) {
            if (bf16_nhwc[n->in[0]]) kernels[i] = &cpu_conv2d_depthwise_bf16_nhwc_kernel; /* and so its output */
            continue;
        }
        if (n->op != OP_CONV2D || !nhwc_capable(e, (const cpu_kernel *const *)kernels, i)) continue;
        int touches = bf16_nhwc[n->out[0]];
        for (int k = 0; k < n->n_in; k++) touches |= n->in[k] != IR_NONE && bf16_nhwc[n->in[k]];
        if (touches) kernels[i] = &cpu_conv2d_bf16_nhwc_kernels[e->cpu_bf16];
    }
    return chained;
}
