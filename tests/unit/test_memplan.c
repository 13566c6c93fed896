/* test_memplan.c — the memory plan: random DAGs checked for overlap and bounds, reuse and in-place chains. */
#include <criterion/criterion.h>
#include <stdio.h>
#include "testutil.h"
#include "graph_builder.h"

#define MAX_TENSORS 256

static uint64_t aligned(uint64_t bytes) {
    uint64_t b = bytes ? bytes : 1;
    return (b + MEMPLAN_ALIGN - 1) / MEMPLAN_ALIGN * MEMPLAN_ALIGN;
}

static int bytes_overlap(uint64_t oa, uint64_t na, uint64_t ob, uint64_t nb) {
    return oa < ob + (nb ? nb : 1) && ob < oa + (na ? na : 1);
}

/* Checks the plan against liveness derived here: a tensor lives from its producer (graph inputs from
 * the start, -1) to its last reader (graph outputs to the end); two tensors alive at one node may
 * share bytes only when one is the other's in-place alias. Returns the number of aliases. */
static int check_plan(const ir_graph *g, const uint64_t *bytes, const mem_plan *p) {
    int born[MAX_TENSORS], dies[MAX_TENSORS];
    uint64_t naive = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        const ir_tensor *x = &g->tensors[t];
        born[t] = x->is_input ? -1 : x->producer;
        if (x->is_constant || (!x->is_input && x->producer == IR_NONE)) {
            cr_assert_eq(p->offset[t], MEMPLAN_NOT_IN_ARENA, "'%s' must stay out of the arena", x->name);
            continue;
        }
        cr_assert_neq(p->offset[t], MEMPLAN_NOT_IN_ARENA, "'%s' is not planned", x->name);
        cr_assert_eq(p->offset[t] % MEMPLAN_ALIGN, 0);
        cr_assert(p->offset[t] + bytes[t] <= p->arena_bytes, "'%s' ends past the arena", x->name);
        naive += aligned(bytes[t]);
        dies[t] = born[t];
        for (int i = 0; i < g->n_nodes; i++)
            for (int k = 0; k < g->nodes[i].n_in; k++)
                if (g->nodes[i].in[k] == t && i > dies[t]) dies[t] = i;
        if (x->is_output) dies[t] = g->n_nodes;
    }
    cr_assert_eq(p->naive_bytes, naive);
    cr_assert(p->arena_bytes <= p->naive_bytes, "arena %llu > naive %llu", (unsigned long long)p->arena_bytes,
              (unsigned long long)p->naive_bytes);
    int aliases = 0;
    for (int a = 0; a < g->n_tensors; a++) {
        if (p->offset[a] == MEMPLAN_NOT_IN_ARENA) continue;
        if (p->alias_of[a] != IR_NONE) {
            aliases++;
            cr_assert_eq(p->offset[a], p->offset[p->alias_of[a]]);
            cr_assert_eq(dies[p->alias_of[a]], born[a], "an alias starts where its source dies");
        }
        for (int b = a + 1; b < g->n_tensors; b++) {
            if (p->offset[b] == MEMPLAN_NOT_IN_ARENA || p->alias_of[a] == b || p->alias_of[b] == a) continue;
            if (born[a] > dies[b] || born[b] > dies[a]) continue;
            cr_assert(!bytes_overlap(p->offset[a], bytes[a], p->offset[b], bytes[b]),
                      "'%s' [%d,%d] and '%s' [%d,%d] share bytes", g->tensors[a].name, born[a], dies[a],
                      g->tensors[b].name, born[b], dies[b]);
        }
    }
    for (int i = 0; i < g->n_outputs; i++) { /* outputs are never overwritten after they are produced */
        int o = g->outputs[i];
        for (int t = 0; t < g->n_tensors; t++)
            if (t != o && p->offset[t] != MEMPLAN_NOT_IN_ARENA && born[t] > born[o])
                cr_assert(!bytes_overlap(p->offset[o], bytes[o], p->offset[t], bytes[t]),
                          "output '%s' overwritten by '%s'", g->tensors[o].name, g->tensors[t].name);
    }
    return aliases;
}

static const char *names[MAX_TENSORS];
static char name_text[MAX_TENSORS][16];

static int new_tensor(ir_graph *g, uint64_t *bytes, test_rng *r, uint64_t size) {
    static const infer_dtype dtypes[4] = { INFER_F32, INFER_F32, INFER_F32, INFER_I32 };
    int t = gb_tensor(g, names[g->n_tensors], dtypes[rng_u64(r) % 4], DIMS(1));
    bytes[t] = size;
    return t;
}

/* Picks an available tensor, mostly a recent one. */
static int pick(test_rng *r, const int *avail, int n) {
    int lo = (rng_u64(r) % 4 && n > 6) ? n - 6 : 0;
    return avail[lo + (int)(rng_u64(r) % (uint64_t)(n - lo))];
}

static void random_graph(test_rng *r, ir_graph *g, uint64_t *bytes) {
    static const uint64_t sizes[] = { 0, 4, 256, 1000, 1024, 4096, 10000 };
    static const op_code ops[] = { OP_ACTIVATION, OP_BINARY, OP_UNARY, OP_RESHAPE, OP_CONCAT, OP_MATMUL, OP_LSTM,
                                   OP_MASKED_FILL, OP_SOFTMAX };
    memset(g, 0, sizeof *g);
    int avail[MAX_TENSORS], n_avail = 0;
    int n_nodes = 5 + (int)(rng_u64(r) % 56), n_in = 1 + (int)(rng_u64(r) % 3), n_const = (int)(rng_u64(r) % 3);
    for (int i = 0; i < n_in; i++) avail[n_avail++] = gb_input(g, new_tensor(g, bytes, r, sizes[rng_u64(r) % 7]));
    for (int i = 0; i < n_const; i++) {
        int t = new_tensor(g, bytes, r, 64);
        g->tensors[t].is_constant = 1;
        avail[n_avail++] = t;
    }
    for (int i = 0; i < n_nodes; i++) {
        op_code op = ops[rng_u64(r) % (sizeof ops / sizeof ops[0])];
        int nin = op == OP_BINARY || op == OP_MATMUL || op == OP_MASKED_FILL ? 2
                  : op == OP_CONCAT || op == OP_LSTM                        ? 1 + (int)(rng_u64(r) % 4)
                                                                           : 1;
        int nout = op == OP_LSTM ? 3 : 1, in[4], out[3];
        for (int k = 0; k < nin; k++) in[k] = pick(r, avail, n_avail);
        for (int k = 0; k < nout; k++) {
            uint64_t size = rng_u64(r) % 2 ? bytes[in[0]] : sizes[rng_u64(r) % 7];
            out[k] = new_tensor(g, bytes, r, size);
            if (rng_u64(r) % 8 == 0 || i == n_nodes - 1) gb_output(g, out[k]);
        }
        gb_node(g, op, names[out[0]], nin, in, nout, out);
        for (int k = 0; k < nout; k++) avail[n_avail++] = out[k];
    }
}

Test(memplan, random_dags) {
    for (int t = 0; t < MAX_TENSORS; t++) {
        snprintf(name_text[t], sizeof name_text[t], "t%d", t);
        names[t] = name_text[t];
    }
    test_rng r = rng_seed(2024);
    int aliases = 0, reused = 0;
    for (int iter = 0; iter < 200; iter++) {
        ir_graph g;
        uint64_t bytes[MAX_TENSORS];
        random_graph(&r, &g, bytes);
        mem_plan plan;
        infer_error err;
        cr_assert_eq(memplan_build(&g, bytes, &plan, &err), INFER_OK, "%s", err.message);
        aliases += check_plan(&g, bytes, &plan);
        reused += plan.arena_bytes < plan.naive_bytes;
        memplan_free(&plan);
        ir_free(&g);
    }
    cr_assert(aliases > 0, "no in-place op in 200 random graphs");
    cr_assert(reused > 100, "blocks reused in only %d of 200 graphs", reused);
}

static ir_node *chain_node(ir_graph *g, op_code op, int x, int y) { return gb_unary(g, op, g->tensors[y].name, x, y); }

Test(memplan, in_place_chain) {
    ir_graph g;
    memset(&g, 0, sizeof g);
    int x = gb_input(&g, gb_act(&g, "x", DIMS(256))), a = gb_act(&g, "a", DIMS(256)), b = gb_act(&g, "b", DIMS(256));
    int c = gb_output(&g, gb_act(&g, "c", DIMS(256)));
    chain_node(&g, OP_ACTIVATION, x, a);
    chain_node(&g, OP_ACTIVATION, a, b);
    chain_node(&g, OP_UNARY, b, c);
    uint64_t bytes[4] = { 1024, 1024, 1024, 1024 };
    mem_plan plan;
    infer_error err;
    cr_assert_eq(memplan_build(&g, bytes, &plan, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(plan.alias_of[a], IR_NONE, "a graph input is never overwritten");
    cr_assert_eq(plan.alias_of[b], a);
    cr_assert_eq(plan.alias_of[c], b);
    cr_assert_eq(plan.offset[c], plan.offset[a]);
    cr_assert_neq(plan.offset[a], plan.offset[x]);
    cr_assert_eq(plan.arena_bytes, 2048);
    cr_assert_eq(plan.naive_bytes, 4096);
    check_plan(&g, bytes, &plan);
    memplan_free(&plan);
    ir_free(&g);
}

Test(memplan, in_place_refused) {
    ir_graph g;
    memset(&g, 0, sizeof g);
    int x = gb_input(&g, gb_act(&g, "x", DIMS(256))), a = gb_act(&g, "a", DIMS(256)), b = gb_act(&g, "b", DIMS(256));
    int c = gb_act(&g, "c", DIMS(256)), d = gb_tensor(&g, "d", INFER_I32, DIMS(256));
    int e = gb_act(&g, "e", DIMS(512)), f = gb_output(&g, gb_act(&g, "f", DIMS(512)));
    chain_node(&g, OP_SOFTMAX, x, a);                                        /* not elementwise */
    chain_node(&g, OP_UNARY, a, b);                                          /* a is read again below */
    gb_node(&g, OP_BINARY, "c", 2, (const int[]){ b, a }, 1, &c);             /* in place: b dies here */
    chain_node(&g, OP_RESHAPE, c, d);                                        /* other dtype */
    gb_node(&g, OP_BINARY, "e", 2, (const int[]){ d, x }, 1, &e);             /* broadcast: larger output */
    chain_node(&g, OP_IDENTITY, e, f);                                       /* in place into an output */
    uint64_t bytes[7] = { 1024, 1024, 1024, 1024, 1024, 2048, 2048 };
    mem_plan plan;
    infer_error err;
    cr_assert_eq(memplan_build(&g, bytes, &plan, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(plan.alias_of[a], IR_NONE);
    cr_assert_eq(plan.alias_of[b], IR_NONE);
    cr_assert_eq(plan.alias_of[c], b);
    cr_assert_eq(plan.alias_of[d], IR_NONE);
    cr_assert_eq(plan.alias_of[e], IR_NONE);
    cr_assert_eq(plan.alias_of[f], e);
    check_plan(&g, bytes, &plan);
    memplan_free(&plan);
    ir_free(&g);
}

/* The reviewer's inplace_bcast.ifg: relu(x [B,4]) + c [3,4] -> y [3,4]. At max batch 3 the add's input and
 * output have the same size, but at batch 1 the input is one row broadcast over three: writing y over it
 * in place reads row 1 after it was overwritten. In place needs the same declared shape. */
Test(memplan, in_place_needs_the_same_shape_at_every_batch) {
    static float w[12];
    ir_graph g;
    memset(&g, 0, sizeof g);
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4))), a = gb_act(&g, "a", DIMS(-1, 4));
    int c = gb_const(&g, "c", DIMS(3, 4), w), y = gb_output(&g, gb_act(&g, "y", DIMS(3, 4)));
    int m = gb_tensor(&g, "m", INFER_BOOL, DIMS(3, 4)), b = gb_act(&g, "b", DIMS(-1, 4));
    int z = gb_output(&g, gb_act(&g, "z", DIMS(3, 4))), q = gb_act(&g, "q", DIMS(-1, 4));
    int r = gb_output(&g, gb_act(&g, "r", DIMS(-1, 4)));
    chain_node(&g, OP_ACTIVATION, x, a);
    gb_node(&g, OP_BINARY, "y", 2, (const int[]){ a, c }, 1, &y);
    gb_input(&g, m);
    chain_node(&g, OP_ACTIVATION, x, b);
    gb_node(&g, OP_MASKED_FILL, "z", 2, (const int[]){ b, m }, 1, &z);
    chain_node(&g, OP_ACTIVATION, x, q);
    gb_node(&g, OP_BINARY, "r", 2, (const int[]){ q, c }, 1, &r); /* [B,4] + [3,4] declared [-1,4]: same shape */
    uint64_t bytes[9] = { 48, 48, 48, 48, 12, 48, 48, 48, 48 };
    mem_plan plan;
    infer_error err;
    cr_assert_eq(memplan_build(&g, bytes, &plan, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(plan.alias_of[y], IR_NONE, "binary: [-1,4] and [3,4] differ at batches below 3");
    cr_assert_eq(plan.alias_of[z], IR_NONE, "masked_fill: [-1,4] and [3,4] differ at batches below 3");
    cr_assert_eq(plan.alias_of[r], q, "binary: [-1,4] and [-1,4] agree at every batch");
    check_plan(&g, bytes, &plan);
    memplan_free(&plan);
    ir_free(&g);
}

Test(memplan, reuse_and_constants) {
    float w[4] = { 1, 2, 3, 4 };
    ir_graph g;
    memset(&g, 0, sizeof g);
    int x = gb_input(&g, gb_act(&g, "x", DIMS(256))), k = gb_const(&g, "k", DIMS(4), w);
    int s[4];
    for (int i = 0; i < 4; i++) s[i] = gb_act(&g, (const char *[]){ "s1", "s2", "s3", "s4" }[i], DIMS(256));
    gb_output(&g, s[3]);
    gb_node(&g, OP_MATMUL, "s1", 2, (const int[]){ x, k }, 1, &s[0]);
    for (int i = 1; i < 4; i++) chain_node(&g, OP_SOFTMAX, s[i - 1], s[i]);
    uint64_t bytes[6] = { 1000, 16, 1000, 1000, 1000, 1000 };
    mem_plan plan;
    infer_error err;
    cr_assert_eq(memplan_build(&g, bytes, &plan, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(plan.offset[k], MEMPLAN_NOT_IN_ARENA);
    cr_assert_eq(plan.arena_bytes, 2048, "two blocks of 1024 take turns");
    cr_assert_eq(plan.naive_bytes, 5 * 1024);
    check_plan(&g, bytes, &plan);
    memplan_free(&plan);
    ir_free(&g);
}

Test(memplan, op_can_run_in_place) {
    ir_node n;
    memset(&n, 0, sizeof n);
    n.n_in = 1;
    n.n_out = 1;
    op_code yes[] = { OP_ACTIVATION, OP_BINARY, OP_MASKED_FILL, OP_UNARY, OP_IDENTITY, OP_RESHAPE };
    op_code no[] = { OP_CONV2D, OP_LINEAR, OP_SOFTMAX, OP_TRANSPOSE, OP_CONCAT, OP_CAST, OP_COMPARE, OP_WHERE };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        n.op = yes[i];
        cr_assert(op_can_run_in_place(&n), "%s", op_name(n.op));
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        n.op = no[i];
        cr_assert(!op_can_run_in_place(&n), "%s", op_name(n.op));
    }
}
