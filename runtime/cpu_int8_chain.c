/* cpu_int8_chain.c — plans the u8 NHWC activations between static INT8 convolutions (cpu_int8_chain.h). */
#include <string.h>
#include "cpu_int8_chain.h"
#include "../kernels/cpu/gemm_s8.h"
#include "../kernels/cpu/s8_layer.h"

typedef struct {
    const infer_engine *e;
    const cpu_kernel *const *kernels;
    const void *const *packed;
    int level; /* INFER_INT8_CHAIN_EXACT or FULL */
} planner;

static unsigned caps_of(const planner *p, int node) {
    const ir_node *n = &p->e->graph.nodes[node];
    if (n->op != OP_CONV2D || p->kernels[node]->run != cpu_conv2d_s8_layer || !p->packed[node]) return 0;
    return cpu_conv2d_s8_chain_caps(n, p->packed[node]);
}

static int has_residual(const ir_node *n) { return n->op == OP_CONV2D && n->n_in > 3 && n->in[3] != IR_NONE; }

/* Every reader of t takes it as u8 NHWC: as input 0 of an INT8 convolution (all with the same input quantization,
 * stored in *q) or, at level FULL, as the residual of one; EXACT: only as input 0 (each reader quantizes exactly as
 * the producer's epilogue does). */
static int readers_take_u8(const planner *p, int t, act_quant *q) {
    const ir_graph *g = &p->e->graph;
    int inputs = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] != t) continue;
            unsigned caps = caps_of(p, i);
            if (k == 0 && caps & S8_CHAIN_IN) {
                if (inputs++ && (n->p.conv2d.in_q.scale != q->scale || n->p.conv2d.in_q.zero != q->zero)) return 0;
                *q = n->p.conv2d.in_q;
            } else if (!(k == 3 && p->level == INFER_INT8_CHAIN_FULL && caps & S8_CHAIN_RESIDUAL)) {
                return 0;
            }
        }
    }
    return inputs > 0;
}

/* A max pool the chain may pass through: u8 NHWC in and out with the same quantization (max commutes with a monotone
 * quantizer, so the pooled bytes are the pooled f32 values quantized: exact). */
static int is_maxpool(const planner *p, int node) {
    return p->e->graph.nodes[node].op == OP_MAXPOOL2D && p->kernels[node]->run == cpu_maxpool2d;
}

/* t itself may be u8 NHWC: an f32 activation, no graph input or output, C >= 16 channels. */
static int layout_allows(const ir_graph *g, int t) {
    const ir_tensor *x = &g->tensors[t];
    return !x->is_constant && !x->is_input && !x->is_output && x->producer != IR_NONE && x->dtype == INFER_F32 &&
           x->ndim == 4 && x->dims[1] >= 16 && cpu_conv2d_s8_nhwc_stride(x->dims[1]) <= 4 * x->dims[1] &&
           g->nodes[x->producer].out[0] == t;
}

/* The only reader of t, when it has exactly one and reads it as input 0; else -1. */
static int sole_reader(const ir_graph *g, int t) {
    int reader = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            if (g->nodes[i].in[k] != t) continue;
            if (reader >= 0 || k != 0) return -1;
            reader = i;
        }
    return reader;
}

/* t's producer and readers, taken alone, allow it; *q: its quantization. Through a max pool: the pool's input and
 * output are both chained (the input's producer an INT8 convolution, the pool its only reader), with the
 * quantization of the output's readers. */
static int candidate(const planner *p, int t, act_quant *q) {
    const ir_graph *g = &p->e->graph;
    if (!layout_allows(g, t)) return 0;
    int producer = g->tensors[t].producer;
    if (is_maxpool(p, producer)) {
        int s = g->nodes[producer].in[0];
        if (!layout_allows(g, s) || g->tensors[s].dims[1] != g->tensors[t].dims[1] ||
            !(caps_of(p, g->tensors[s].producer) & S8_CHAIN_OUT) || sole_reader(g, s) != producer)
            return 0;
        return readers_take_u8(p, t, q);
    }
    if (!(caps_of(p, producer) & S8_CHAIN_OUT)) return 0;
    int pool = sole_reader(g, t);
    if (pool >= 0 && is_maxpool(p, pool)) return candidate(p, g->nodes[pool].out[0], q);
    return readers_take_u8(p, t, q);
}

/* t may pass as f32 NHWC rows instead of f32 NCHW (exact: the same values, another layout): its producer is a static
 * groups-1 INT8 convolution without a residual of its own, and its only reader the residual input of one whose output
 * is u8 NHWC (ResNet's first-block conv3, read by the downsample's epilogue without a transposed load). */
static int f32_rows_candidate(const planner *p, const uint8_t *u8_nhwc, int t) {
    const ir_graph *g = &p->e->graph;
    const ir_tensor *x = &g->tensors[t];
    if (x->is_constant || x->is_input || x->is_output || x->producer == IR_NONE || x->dtype != INFER_F32 ||
        x->ndim != 4 || g->nodes[x->producer].out[0] != t || has_residual(&g->nodes[x->producer]) ||
        !(caps_of(p, x->producer) & S8_CHAIN_RESIDUAL))
        return 0;
    int reader = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            if (g->nodes[i].in[k] != t) continue;
            if (reader >= 0 || k != 3) return 0;
            reader = i;
        }
    return reader >= 0 && caps_of(p, reader) & S8_CHAIN_RESIDUAL && u8_nhwc[g->nodes[reader].out[0]] == CHAIN_U8_NHWC;
}

int cpu_int8_chain_plan(const infer_engine *e, const cpu_kernel *const *kernels, const void *const *packed,
                        uint8_t *u8_nhwc, act_quant *out_q, act_quant *res_q) {
    const ir_graph *g = &e->graph;
    planner p = { e, kernels, packed, e->opt.int8_chain };
    if (p.level != INFER_INT8_CHAIN_EXACT && p.level != INFER_INT8_CHAIN_FULL) return 0;
    for (int t = 0; t < g->n_tensors; t++) {
        act_quant q = { 0.0f, 0 };
        u8_nhwc[t] = (uint8_t)candidate(&p, t, &q);
        if (u8_nhwc[t]) out_q[g->tensors[t].producer] = q;
    }
    /* A depthwise convolution or a max pool chains its input and output together or neither; dropping one can drop
     * the next: until nothing changes. */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < g->n_nodes; i++) {
            const ir_node *n = &g->nodes[i];
            if (!(caps_of(&p, i) & S8_CHAIN_PAIRED || is_maxpool(&p, i)) || u8_nhwc[n->in[0]] == u8_nhwc[n->out[0]])
                continue;
            u8_nhwc[n->in[0]] = u8_nhwc[n->out[0]] = 0;
            changed = 1;
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (has_residual(n) && u8_nhwc[n->in[3]] == CHAIN_U8_NHWC) res_q[i] = out_q[g->tensors[n->in[3]].producer];
    }
    for (int t = 0; t < g->n_tensors; t++)
        if (!u8_nhwc[t] && f32_rows_candidate(&p, u8_nhwc, t)) u8_nhwc[t] = CHAIN_F32_NHWC;
    int chained = 0;
    for (int t = 0; t < g->n_tensors; t++) chained += u8_nhwc[t] != CHAIN_NONE;
    return chained;
}
