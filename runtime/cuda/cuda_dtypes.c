/* cuda_dtypes.c — the device storage dtype of every tensor: FP16 stores f32 as half, except integer-valued chains and masks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cuda_dtypes.h"
#include "../../kernels/cuda/cuda_ops.h"

/* Ops whose kernels take f32 and f16 alike, elementwise or moving data: an f32 chain may pass through them. */
static int chain_op(op_code op) {
    const cuda_kernel *k = cuda_kernels_of(op);
    return k && k->mixed_float;
}

static int is_f32(const ir_graph *g, int t) { return t >= 0 && t < g->n_tensors && g->tensors[t].dtype == INFER_F32; }

/* Marks in `set` the f32 tensors whose values make tensor t: t itself, then back through the producers
 * that are chain ops running on CUDA. Returns 0 when the chain reaches a float computed by another
 * CUDA op (then t is not integer-valued by construction and stays half). stack: room for n_tensors. */
static int chain_back(const ir_graph *g, const int *fallback, int t, unsigned char *set, int *stack) {
    int top = 0, ok = 1;
    if (set[t]) return 1;
    set[t] = 1;
    stack[top++] = t;
    while (top > 0) {
        int u = stack[--top];
        int p = g->tensors[u].producer;
        if (p == IR_NONE || p < 0 || p >= g->n_nodes || fallback[p]) continue; /* an input, a constant, the CPU */
        const ir_node *n = &g->nodes[p];
        if (!chain_op(n->op)) {
            ok = 0;
            continue;
        }
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v == IR_NONE || !is_f32(g, v) || set[v]) continue;
            set[v] = 1;
            stack[top++] = v;
        }
    }
    return ok;
}

/* Seeds: (node, input) pairs whose f32 values must stay exact. */
static int seed_of(const ir_graph *g, const ir_node *n, int k) {
    const cuda_kernel *kernel = cuda_kernels_of(n->op);
    return k < n->n_in && is_f32(g, n->in[k]) && kernel && kernel->exact_input && kernel->exact_input(g, n, k);
}

int cuda_plan_dtypes(const ir_graph *g, int fp16, int *fallback, infer_dtype *ddt, char *why, size_t len) {
    if (why && len) why[0] = 0;
    for (int t = 0; t < g->n_tensors; t++)
        ddt[t] = fp16 && g->tensors[t].dtype == INFER_F32 ? INFER_F16 : g->tensors[t].dtype;
    /* encoded weights the backend kept (cuda_keeps_encoded) live in their own layout: int8 bytes, f32 values */
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].is_constant && g->tensors[t].storage.kind != IR_STORAGE_DENSE)
            ddt[t] = g->tensors[t].storage.kind == IR_STORAGE_INT8_CHANNEL ? INFER_I8 : INFER_F32;
    if (!fp16 || g->n_tensors == 0) return 0;
    size_t nt = (size_t)g->n_tensors;
    unsigned char *keep = calloc(nt, 1), *set = calloc(nt, 1);
    int *stack = malloc(nt * sizeof *stack);
    if (!keep || !set || !stack) { /* out of memory: everything half, as before */
        free(keep), free(set), free(stack);
        return 0;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        int seeds = 0, ok = 1;
        memset(set, 0, nt);
        for (int k = 0; k < n->n_in && ok; k++)
            if (seed_of(g, n, k)) {
                seeds++;
                ok = chain_back(g, fallback, n->in[k], set, stack);
            }
        /* a chain from another op's float output is not integer-valued (or, for a mask, is a computed score):
         * it stays half, and so do the node's other seeds (a compare of a computed value with a constant) */
        if (!seeds || !ok) continue;
        for (size_t t = 0; t < nt; t++) keep[t] |= set[t];
    }
    /* nodes with f32 and f16 float tensors: chain ops take f32 throughout, others run on the CPU */
    int added = 0, changed = 1;
    while (changed) {
        changed = 0;
        for (int i = 0; i < g->n_nodes; i++) {
            if (fallback[i]) continue;
            const ir_node *n = &g->nodes[i];
            int kept = 0, half = 0;
            for (int k = 0; k < n->n_in + n->n_out; k++) {
                int t = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
                if (t == IR_NONE || !is_f32(g, t)) continue;
                if (n->op == OP_ATTENTION && k == 3) continue; /* its kernel reads an f32 mask with half q, k, v */
                if (keep[t]) kept++;
                else half++;
            }
            if (!kept || !half) continue;
            if (chain_op(n->op)) {
                for (int k = 0; k < n->n_in + n->n_out; k++) {
                    int t = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
                    if (t != IR_NONE && is_f32(g, t)) keep[t] = 1;
                }
            } else {
                fallback[i] = 1;
                if (added == 0 && why && len)
                    snprintf(why, len, "node %d (%s '%s'): f32 kept for exact values next to f16", i, op_name(n->op),
                             n->name ? n->name : "");
                added++;
            }
            changed = 1;
        }
    }
    for (size_t t = 0; t < nt; t++)
        if (keep[t]) ddt[t] = INFER_F32;
    free(keep), free(set), free(stack);
    return added;
}
