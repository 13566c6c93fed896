/* memplan.c — one activation arena for a graph: liveness over node order, best-fit reuse, in-place ops. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "graph.h"
#include "op_desc.h"
#include "../base/checked.h"
#include "../base/error.h"

#define NEVER_DIES INT_MAX /* last use of graph outputs */
#define RELEASED INT_MIN   /* last use of a tensor whose block went back to the free list or to an alias */

typedef struct {
    uint64_t offset, size;
} block;

/* Free blocks sorted by offset, never adjacent (coalesced); top is the end of the arena so far. */
typedef struct {
    block *free;
    int n_free;
    uint64_t top;
} arena;

int op_can_run_in_place(const ir_node *n) {
    const op_desc *d = op_describe(n->op);
    return n->n_out == 1 && n->n_in >= 1 && d && d->in_place != OP_IN_PLACE_NEVER;
}

static void remove_block(arena *a, int i) {
    memmove(&a->free[i], &a->free[i + 1], (size_t)(a->n_free - i - 1) * sizeof *a->free);
    a->n_free--;
}

/* Best fit among the free blocks; else the block ending at the top grows, or the arena does. */
static int take(arena *a, uint64_t size, uint64_t *offset) {
    int best = -1;
    for (int i = 0; i < a->n_free; i++)
        if (a->free[i].size >= size && (best < 0 || a->free[i].size < a->free[best].size)) best = i;
    if (best >= 0) {
        *offset = a->free[best].offset;
        a->free[best].offset += size;
        a->free[best].size -= size;
        if (a->free[best].size == 0) remove_block(a, best);
        return 1;
    }
    uint64_t start = a->top;
    if (a->n_free && a->free[a->n_free - 1].offset + a->free[a->n_free - 1].size == a->top) {
        start = a->free[a->n_free - 1].offset;
        a->n_free--;
    }
    if (size > UINT64_MAX - start) return 0;
    *offset = start;
    a->top = start + size;
    return 1;
}

static void give_back(arena *a, uint64_t offset, uint64_t size) {
    int i = 0;
    while (i < a->n_free && a->free[i].offset < offset) i++;
    memmove(&a->free[i + 1], &a->free[i], (size_t)(a->n_free - i) * sizeof *a->free);
    a->free[i] = (block){ offset, size };
    a->n_free++;
    if (i + 1 < a->n_free && a->free[i].offset + a->free[i].size == a->free[i + 1].offset) {
        a->free[i].size += a->free[i + 1].size;
        remove_block(a, i + 1);
    }
    if (i > 0 && a->free[i - 1].offset + a->free[i - 1].size == a->free[i].offset) {
        a->free[i - 1].size += a->free[i].size;
        remove_block(a, i);
    }
}

typedef struct {
    const ir_graph *g;
    const uint64_t *bytes;
    mem_plan *plan;
    int *last;          /* per tensor: index of its last reader, -1 for none */
    uint64_t *size;     /* per tensor: bytes rounded up to MEMPLAN_ALIGN */
    arena a;
    infer_error *err;
} planner;

static infer_status place(planner *p, int t) {
    if (p->plan->offset[t] != MEMPLAN_NOT_IN_ARENA) return INFER_OK;
    if (!take(&p->a, p->size[t], &p->plan->offset[t]) || p->plan->naive_bytes > UINT64_MAX - p->size[t])
        return infer_fail(p->err, INFER_ERR_MEMORY, "activation arena too large at tensor '%s'", p->g->tensors[t].name);
    p->plan->naive_bytes += p->size[t];
    return INFER_OK;
}

/* Gives t's block back after node `at` when that node was its last reader. */
static void release_if_last(planner *p, int t, int at) {
    if (t == IR_NONE || p->last[t] != at || p->plan->offset[t] == MEMPLAN_NOT_IN_ARENA) return;
    give_back(&p->a, p->plan->offset[t], p->size[t]);
    p->last[t] = RELEASED;
}

/* In place: y takes x's block when x dies here and is an ordinary activation of y's size and dtype; for a
 * broadcasting op, of y's shape at every batch (x [B,4] + c [3,4] -> y [3,4] has y's size at batch 3 but
 * reads x's rows while writing y's at batch 1): identical declared shapes (ir_same_declared_shape) are equal at
 * every batch, as the engine checks declared shapes against the inferred ones at each. */
static int run_in_place(planner *p, const ir_node *n, int at) {
    if (!op_can_run_in_place(n) || n->in[0] == IR_NONE) return 0;
    int x = n->in[0], y = n->out[0];
    const ir_tensor *tx = &p->g->tensors[x], *ty = &p->g->tensors[y];
    if (x == y || tx->is_constant || tx->is_input || tx->is_output || p->last[x] != at || tx->dtype != ty->dtype ||
        p->bytes[x] != p->bytes[y] || p->plan->offset[x] == MEMPLAN_NOT_IN_ARENA)
        return 0;
    if (op_describe(n->op)->in_place == OP_IN_PLACE_SAME_SHAPE && !ir_same_declared_shape(tx, ty)) return 0;
    p->plan->offset[y] = p->plan->offset[x];
    p->plan->alias_of[y] = x;
    p->plan->naive_bytes += p->size[y];
    p->last[x] = RELEASED;
    return 1;
}

static infer_status plan_node(planner *p, int at) {
    const ir_node *n = &p->g->nodes[at];
    int k0 = run_in_place(p, n, at);
    for (int k = k0; k < n->n_out; k++) {
        infer_status s = place(p, n->out[k]);
        if (s != INFER_OK) return s;
    }
    for (int k = 0; k < n->n_in; k++) release_if_last(p, n->in[k], at);
    for (int k = 0; k < n->n_out; k++) release_if_last(p, n->out[k], -1); /* outputs nobody reads */
    return INFER_OK;
}

/* Sizes and last readers; activations that are never produced and not graph inputs stay out of the arena. */
static infer_status liveness(planner *p) {
    const ir_graph *g = p->g;
    for (int t = 0; t < g->n_tensors; t++) {
        p->plan->offset[t] = MEMPLAN_NOT_IN_ARENA;
        p->plan->alias_of[t] = IR_NONE;
        p->last[t] = -1;
        uint64_t b = p->bytes[t] ? p->bytes[t] : 1;
        if (b > SIZE_MAX || (p->size[t] = round_up((size_t)b, MEMPLAN_ALIGN)) == SIZE_MAX)
            return infer_fail(p->err, INFER_ERR_MEMORY, "tensor '%s' is too large", g->tensors[t].name);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] != IR_NONE) p->last[n->in[k]] = i;
        for (int k = 0; k < n->n_out; k++)
            if (g->tensors[n->out[k]].is_constant)
                return infer_fail(p->err, INFER_ERR_INTERNAL, "node %d '%s' writes constant '%s'", i, n->name,
                                  g->tensors[n->out[k]].name);
    }
    for (int i = 0; i < g->n_outputs; i++) p->last[g->outputs[i]] = NEVER_DIES;
    return INFER_OK;
}

static infer_status plan_all(planner *p) {
    const ir_graph *g = p->g;
    infer_status s = liveness(p);
    for (int i = 0; s == INFER_OK && i < g->n_inputs; i++)
        if (!g->tensors[g->inputs[i]].is_constant) s = place(p, g->inputs[i]);
    for (int i = 0; s == INFER_OK && i < g->n_inputs; i++) release_if_last(p, g->inputs[i], -1);
    for (int i = 0; s == INFER_OK && i < g->n_nodes; i++) s = plan_node(p, i);
    p->plan->arena_bytes = p->a.top;
    return s;
}

infer_status memplan_build(const ir_graph *g, const uint64_t *bytes, mem_plan *plan, infer_error *err) {
    if (!g || !bytes || !plan) return infer_fail(err, INFER_ERR_ARGUMENT, "memplan_build: graph, sizes and plan are required");
    memset(plan, 0, sizeof *plan);
    size_t n = (size_t)g->n_tensors + 1;
    planner p = { .g = g, .bytes = bytes, .plan = plan, .err = err };
    plan->offset = malloc(n * sizeof *plan->offset);
    plan->alias_of = malloc(n * sizeof *plan->alias_of);
    p.last = malloc(n * sizeof *p.last);
    p.size = malloc(n * sizeof *p.size);
    p.a.free = malloc((n + 1) * sizeof *p.a.free);
    infer_status s = INFER_OK;
    if (!plan->offset || !plan->alias_of || !p.last || !p.size || !p.a.free)
        s = infer_fail(err, INFER_ERR_MEMORY, "out of memory planning %d tensors", g->n_tensors);
    if (s == INFER_OK) s = plan_all(&p);
    free(p.last);
    free(p.size);
    free(p.a.free);
    if (s != INFER_OK) memplan_free(plan);
    return s;
}

void memplan_free(mem_plan *plan) {
    if (!plan) return;
    free(plan->offset);
    free(plan->alias_of);
    memset(plan, 0, sizeof *plan);
}
