/* test_passes.c — graph passes on small hand-built graphs: identities, BatchNorm folding, fusion, dead nodes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include "testutil.h"
#include "graph_builder.h"

static const ir_fusion_caps all_caps = { 1, 1, 1, (1 << ACT_COUNT) - 1 };

static int find(const ir_graph *g, const char *name) {
    for (int t = 0; t < g->n_tensors; t++)
        if (!strcmp(g->tensors[t].name, name)) return t;
    return IR_NONE;
}

/* Indices in range, producers right, topological order, graph inputs and outputs flagged. */
static void check_graph(const ir_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        cr_assert(n->n_out >= 1, "node %d has no outputs", i);
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (t == IR_NONE) continue;
            cr_assert(t >= 0 && t < g->n_tensors, "node %d input %d is tensor %d", i, k, t);
            const ir_tensor *x = &g->tensors[t];
            cr_assert(x->is_constant || x->is_input || (x->producer >= 0 && x->producer < i),
                      "node %d reads '%s' before it is produced", i, x->name);
        }
        for (int k = 0; k < n->n_out; k++) {
            cr_assert(n->out[k] >= 0 && n->out[k] < g->n_tensors);
            cr_assert_eq(g->tensors[n->out[k]].producer, i, "producer of '%s'", g->tensors[n->out[k]].name);
        }
    }
    for (int i = 0; i < g->n_inputs; i++) cr_assert(g->tensors[g->inputs[i]].is_input);
    for (int i = 0; i < g->n_outputs; i++) cr_assert(g->tensors[g->outputs[i]].is_output);
}

static ir_graph graph(void) {
    ir_graph g;
    memset(&g, 0, sizeof g);
    return g;
}

/* ---- identities ------------------------------------------------------------------------------ */

Test(passes, identity_between_nodes) {
    ir_graph g = graph();
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4))), y = gb_act(&g, "y", DIMS(-1, 4));
    int z = gb_output(&g, gb_act(&g, "z", DIMS(-1, 4)));
    gb_unary(&g, OP_IDENTITY, "drop", x, y);
    gb_unary(&g, OP_ACTIVATION, "relu", y, z)->p.activation.kind = ACT_RELU;
    infer_error err;
    cr_assert_eq(ir_remove_identities(&g, &err), INFER_OK, "%s", err.message);
    check_graph(&g);
    cr_assert_eq(g.n_nodes, 1);
    cr_assert_eq(g.nodes[0].op, OP_ACTIVATION);
    cr_assert_eq(g.nodes[0].in[0], find(&g, "x"));
    cr_assert_eq(find(&g, "y"), IR_NONE, "the identity's output is gone");
    cr_assert_eq(g.n_tensors, 2);
    ir_free(&g);
}

Test(passes, identity_output_is_graph_output) {
    ir_graph g = graph();
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4))), a = gb_act(&g, "a", DIMS(-1, 4));
    int y = gb_output(&g, gb_act(&g, "y", DIMS(-1, 4))), z = gb_output(&g, gb_act(&g, "z", DIMS(-1, 4)));
    gb_unary(&g, OP_ACTIVATION, "relu", x, a)->p.activation.kind = ACT_RELU;
    gb_unary(&g, OP_IDENTITY, "out", a, y);
    gb_unary(&g, OP_ACTIVATION, "sig", a, z)->p.activation.kind = ACT_SIGMOID; /* another reader of a */
    infer_error err;
    cr_assert_eq(ir_remove_identities(&g, &err), INFER_OK, "%s", err.message);
    check_graph(&g);
    cr_assert_eq(g.n_nodes, 2);
    y = find(&g, "y");
    cr_assert_eq(g.nodes[0].out[0], y, "relu writes the graph output directly");
    cr_assert_eq(g.nodes[1].in[0], y, "the other reader reads it");
    cr_assert_eq(g.outputs[0], y);
    cr_assert_eq(g.outputs[1], find(&g, "z"));
    cr_assert_eq(find(&g, "a"), IR_NONE);
    ir_free(&g);
}

Test(passes, identity_chain_and_kept_copies) {
    ir_graph g = graph();
    int x = gb_input(&g, gb_act(&g, "x", DIMS(3))), a = gb_act(&g, "a", DIMS(3)), b = gb_act(&g, "b", DIMS(3));
    int y = gb_output(&g, gb_act(&g, "y", DIMS(3)));
    int copy = gb_output(&g, gb_act(&g, "copy", DIMS(3)));        /* input -> output: kept */
    int a2 = gb_output(&g, gb_act(&g, "a2", DIMS(3)));
    int a3 = gb_output(&g, gb_act(&g, "a3", DIMS(3)));            /* output -> output: kept */
    gb_unary(&g, OP_UNARY, "neg", x, a);
    gb_unary(&g, OP_IDENTITY, "id1", a, b);
    gb_unary(&g, OP_IDENTITY, "id2", b, y);
    gb_unary(&g, OP_IDENTITY, "id3", x, copy);
    gb_unary(&g, OP_UNARY, "neg2", x, a2);
    gb_unary(&g, OP_IDENTITY, "id4", a2, a3);
    infer_error err;
    cr_assert_eq(ir_remove_identities(&g, &err), INFER_OK, "%s", err.message);
    check_graph(&g);
    cr_assert_eq(g.n_nodes, 4);
    cr_assert_eq(g.nodes[0].out[0], find(&g, "y"), "neg writes y through two identities");
    cr_assert_eq(g.nodes[1].op, OP_IDENTITY);
    cr_assert_eq(g.nodes[1].out[0], find(&g, "copy"));
    cr_assert_eq(g.nodes[3].op, OP_IDENTITY);
    cr_assert_eq(g.nodes[3].out[0], find(&g, "a3"));
    cr_assert_eq(g.n_outputs, 4);
    ir_free(&g);
}

/* ---- BatchNorm folding ------------------------------------------------------------------------- */

/* y[n,o,h,w] = b[o] + sum x * w, stride 1, square kernel k, zero padding pad; double accumulation. */
static void conv_ref(const float *x, int N, int C, int H, int W, const float *w, int O, int k, const float *b,
                     int pad, int groups, float *y) {
    int Ho = H + 2 * pad - k + 1, Wo = W + 2 * pad - k + 1, cg = C / groups, og = O / groups;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int i = 0; i < Ho; i++)
                for (int j = 0; j < Wo; j++) {
                    double s = b ? b[o] : 0.0;
                    for (int c = 0; c < cg; c++)
                        for (int u = 0; u < k; u++)
                            for (int v = 0; v < k; v++) {
                                int hi = i + u - pad, wi = j + v - pad;
                                if (hi < 0 || hi >= H || wi < 0 || wi >= W) continue;
                                int ci = (o / og) * cg + c;
                                s += (double)x[((n * C + ci) * H + hi) * W + wi] * w[((o * cg + c) * k + u) * k + v];
                            }
                    y[((n * O + o) * Ho + i) * Wo + j] = (float)s;
                }
}

typedef struct {
    float gamma[8], beta[8], mean[8], var[8];
} bn_stats;

static bn_stats random_bn(test_rng *r) {
    bn_stats s;
    rng_fill(r, s.gamma, 8, 0.5f, 1.5f);
    rng_fill(r, s.beta, 8, -1.0f, 1.0f);
    rng_fill(r, s.mean, 8, -1.0f, 1.0f);
    rng_fill(r, s.var, 8, 0.1f, 2.0f);
    return s;
}

/* Adds BN constants and node reading t, writing a new graph output "bn". */
static void add_bn(ir_graph *g, int t, int channels, const bn_stats *s) {
    int in[5] = { t, gb_const(g, "bn.weight", DIMS(channels), s->gamma), gb_const(g, "bn.bias", DIMS(channels), s->beta),
                  gb_const(g, "bn.mean", DIMS(channels), s->mean), gb_const(g, "bn.var", DIMS(channels), s->var) };
    const ir_tensor *src = &g->tensors[t];
    int y = gb_output(g, gb_tensor(g, "bn", INFER_F32, src->ndim, src->dims));
    gb_node(g, OP_BATCHNORM, "bn", 5, in, 1, &y)->p.batchnorm.eps = 1e-5f;
}

static void bn_ref(float *y, int64_t n, int channels, int64_t inner, const bn_stats *s) {
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(i / inner % channels);
        y[i] = (float)(((double)y[i] - s->mean[c]) / sqrt((double)s->var[c] + 1e-5) * s->gamma[c] + s->beta[c]);
    }
}

static void check_conv_fold(int with_bias, int groups) {
    enum { N = 2, C = 4, H = 6, O = 6, K = 3 };
    test_rng r = rng_seed(11 + with_bias + 7 * groups);
    float *x = rng_array(&r, N * C * H * H, -1, 1), *w = rng_array(&r, O * (C / groups) * K * K, -1, 1);
    float *b = rng_array(&r, O, -1, 1);
    float *w_copy = malloc(sizeof(float) * O * (C / groups) * K * K);
    memcpy(w_copy, w, sizeof(float) * O * (C / groups) * K * K);
    bn_stats s = random_bn(&r);

    ir_graph g = graph();
    int xi = gb_input(&g, gb_act(&g, "x", DIMS(-1, C, H, H)));
    int wi = gb_const(&g, "conv.weight", DIMS(O, C / groups, K, K), w);
    int bi = with_bias ? gb_const(&g, "conv.bias", DIMS(O), b) : IR_NONE;
    int ci = gb_act(&g, "conv", DIMS(-1, O, H, H));
    ir_node *conv = gb_node(&g, OP_CONV2D, "conv", with_bias ? 3 : 2, (const int[]){ xi, wi, bi }, 1, &ci);
    conv->p.conv2d = (conv2d_params){ { 1, 1 }, { 1, 1 }, { 1, 1 }, groups, { ACT_NONE, 0, 0 }, { 0, 0 }, INFER_WINOGRAD_AUTO };
    add_bn(&g, ci, O, &s);

    float *expect = malloc(sizeof(float) * N * O * H * H), *got = malloc(sizeof(float) * N * O * H * H);
    conv_ref(x, N, C, H, H, w, O, K, with_bias ? b : NULL, 1, groups, expect);
    bn_ref(expect, N * O * H * H, O, H * H, &s);

    infer_error err;
    cr_assert_eq(ir_fold_batchnorm(&g, &err), INFER_OK, "%s", err.message);
    check_graph(&g);
    cr_assert_eq(g.n_nodes, 1, "the BatchNorm is gone");
    const ir_node *n = &g.nodes[0];
    cr_assert_eq(n->op, OP_CONV2D);
    cr_assert_eq(n->out[0], g.outputs[0], "the conv writes the BatchNorm's output");
    cr_assert_eq(n->n_in, 3);
    const ir_tensor *nw = &g.tensors[n->in[1]], *nb = &g.tensors[n->in[2]];
    cr_assert(nw->is_constant && nb->is_constant && nw->data != w);
    cr_assert_eq(nb->ndim, 1);
    cr_assert_eq(nb->dims[0], O);
    cr_assert_eq(memcmp(w, w_copy, sizeof(float) * O * (C / groups) * K * K), 0, "source weights untouched");
    conv_ref(x, N, C, H, H, nw->data, O, K, nb->data, 1, groups, got);
    double e = rel_l2(got, expect, N * O * H * H);
    cr_assert(e <= 1e-6, "folded conv differs: rel L2 %g", e);
    cr_assert_eq(find(&g, "bn.mean"), IR_NONE, "unused constants are dropped");
    ir_free(&g);
    free(x), free(w), free(b), free(w_copy), free(expect), free(got);
}

Test(passes, batchnorm_folds_into_conv) { check_conv_fold(1, 1); }
Test(passes, batchnorm_folds_into_grouped_conv_without_bias) { check_conv_fold(0, 2); }

Test(passes, batchnorm_folds_into_linear) {
    enum { N = 3, K = 5, M = 6 };
    test_rng r = rng_seed(5);
    float *x = rng_array(&r, N * K, -1, 1), *w = rng_array(&r, M * K, -1, 1);
    bn_stats s = random_bn(&r);
    ir_graph g = graph();
    int xi = gb_input(&g, gb_act(&g, "x", DIMS(-1, K))), wi = gb_const(&g, "fc.weight", DIMS(M, K), w);
    int yi = gb_act(&g, "fc", DIMS(-1, M));
    gb_node(&g, OP_LINEAR, "fc", 2, (const int[]){ xi, wi }, 1, &yi);
    add_bn(&g, yi, M, &s);
    float expect[N * M], got[N * M];
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            double acc = 0;
            for (int k = 0; k < K; k++) acc += (double)x[n * K + k] * w[m * K + k];
            expect[n * M + m] = (float)acc;
        }
    bn_ref(expect, N * M, M, 1, &s);
    infer_error err;
    cr_assert_eq(ir_optimize(&g, &all_caps, &err), INFER_OK, "%s", err.message);
    check_graph(&g);
    cr_assert_eq(g.n_nodes, 1);
    const float *nw = g.tensors[g.nodes[0].in[1]].data, *nb = g.tensors[g.nodes[0].in[2]].data;
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            double acc = nb[m];
            for (int k = 0; k < K; k++) acc += (double)x[n * K + k] * nw[m * K + k];
            got[n * M + m] = (float)acc;
        }
    double e = rel_l2(got, expect, N * M);
    cr_assert(e <= 1e-6, "folded linear differs: rel L2 %g", e);
    ir_free(&g);
    free(x), free(w);
}

Test(passes, batchnorm_not_folded_when_shared_or_3d) {
    test_rng r = rng_seed(9);
    float w[4 * 4];
    rng_fill(&r, w, 16, -1, 1);
    bn_stats s = random_bn(&r);
    /* The conv output has a second reader: folding would change it. */
    ir_graph g = graph();
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4, 2, 2))), wi = gb_const(&g, "w", DIMS(4, 4, 1, 1), w);
    int c = gb_act(&g, "c", DIMS(-1, 4, 2, 2)), side = gb_output(&g, gb_act(&g, "side", DIMS(-1, 4, 2, 2)));
    gb_node(&g, OP_CONV2D, "conv", 2, (const int[]){ x, wi }, 1, &c)->p = (op_params){
        .conv2d = { { 1, 1 }, { 0, 0 }, { 1, 1 }, 1, { ACT_NONE, 0, 0 } } };
    gb_unary(&g, OP_UNARY, "neg", c, side);
    add_bn(&g, c, 4, &s);
    infer_error err;
    cr_assert_eq(ir_fold_batchnorm(&g, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(g.n_nodes, 3);
    cr_assert_eq(g.nodes[2].op, OP_BATCHNORM);
    ir_free(&g);

    /* A linear with a [N,L,C] output: BatchNorm1d normalizes L, not the linear's features. */
    g = graph();
    x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4, 4)));
    wi = gb_const(&g, "w", DIMS(4, 4), w);
    int y = gb_act(&g, "fc", DIMS(-1, 4, 4));
    gb_node(&g, OP_LINEAR, "fc", 2, (const int[]){ x, wi }, 1, &y);
    add_bn(&g, y, 4, &s);
    cr_assert_eq(ir_fold_batchnorm(&g, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(g.n_nodes, 2);
    ir_free(&g);
}

/* The reviewer's bn_linear3d.ifg: the linear's output declared [-1,4] but really [N,4,4]. Folding decided on
 * the declared rank and changed the result; ir_optimize now checks the declarations first. */
Test(passes, optimize_refuses_contradicting_declarations) {
    test_rng r = rng_seed(10);
    float w[4 * 4];
    rng_fill(&r, w, 16, -1, 1);
    bn_stats s = random_bn(&r);
    ir_graph g = graph();
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4, 4))), wi = gb_const(&g, "w", DIMS(4, 4), w);
    int y = gb_act(&g, "fc", DIMS(-1, 4));
    gb_node(&g, OP_LINEAR, "fc", 2, (const int[]){ x, wi }, 1, &y);
    add_bn(&g, y, 4, &s);
    infer_error err;
    cr_assert_eq(ir_optimize(&g, &all_caps, &err), INFER_ERR_FORMAT, "%s", err.message);
    cr_assert(strstr(err.message, "tensor 'fc' (output 0 of node 0 'fc' (linear)) is declared [-1,4], inferred [1,4,4]"),
              "%s", err.message);
    cr_assert_eq(g.n_nodes, 2, "nothing folded");
    ir_free(&g);

    /* A residual add whose declared shapes make it look fusable: refused too, not fused. */
    g = graph();
    x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4)));
    wi = gb_const(&g, "w", DIMS(4, 4), w);
    int big = gb_const(&g, "big", DIMS(3, 4), w);
    int fc = gb_act(&g, "fc", DIMS(-1, 4)), sum = gb_output(&g, gb_act(&g, "sum", DIMS(-1, 4)));
    gb_node(&g, OP_LINEAR, "fc", 2, (const int[]){ x, wi }, 1, &fc);
    gb_node(&g, OP_BINARY, "add", 2, (const int[]){ fc, big }, 1, &sum)->p.binary.kind = BIN_ADD;
    cr_assert_eq(ir_optimize(&g, &all_caps, &err), INFER_ERR_FORMAT, "%s", err.message);
    cr_assert(strstr(err.message, "tensor 'sum'"), "%s", err.message);
    cr_assert_eq(g.n_nodes, 2, "nothing fused");
    ir_free(&g);
}

/* ---- epilogue fusion --------------------------------------------------------------------------- */

static int add_conv(ir_graph *g, const char *name, int x, int w) {
    int y = gb_act(g, name, DIMS(-1, 4, 5, 5));
    gb_node(g, OP_CONV2D, name, 2, (const int[]){ x, w }, 1, &y)->p = (op_params){
        .conv2d = { { 1, 1 }, { 1, 1 }, { 1, 1 }, 1, { ACT_NONE, 0, 0 } } };
    return y;
}

static int add_act(ir_graph *g, const char *name, act_kind kind, int x) {
    int y = gb_act(g, name, DIMS(-1, 4, 5, 5));
    gb_unary(g, OP_ACTIVATION, name, x, y)->p.activation.kind = kind;
    return y;
}

static int add_sum(ir_graph *g, const char *name, int a, int b) {
    int y = gb_act(g, name, DIMS(-1, 4, 5, 5));
    gb_node(g, OP_BINARY, name, 2, (const int[]){ a, b }, 1, &y)->p.binary.kind = BIN_ADD;
    return y;
}

/* ResNet basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + x). */
static void basic_block(ir_graph *g, const float *w, const bn_stats *s) {
    *g = graph();
    int x = gb_input(g, gb_act(g, "x", DIMS(-1, 4, 5, 5))), wi = gb_const(g, "w", DIMS(4, 4, 3, 3), w);
    int c1 = add_conv(g, "conv1", x, wi);
    int bn1 = gb_act(g, "bn1", DIMS(-1, 4, 5, 5));
    int stats[4] = { gb_const(g, "g", DIMS(4), s->gamma), gb_const(g, "b", DIMS(4), s->beta),
                     gb_const(g, "m", DIMS(4), s->mean), gb_const(g, "v", DIMS(4), s->var) };
    gb_node(g, OP_BATCHNORM, "bn1", 5, (const int[]){ c1, stats[0], stats[1], stats[2], stats[3] }, 1, &bn1);
    int r1 = add_act(g, "relu1", ACT_RELU, bn1);
    int c2 = add_conv(g, "conv2", r1, wi);
    int bn2 = gb_act(g, "bn2", DIMS(-1, 4, 5, 5));
    gb_node(g, OP_BATCHNORM, "bn2", 5, (const int[]){ c2, stats[0], stats[1], stats[2], stats[3] }, 1, &bn2);
    int sum = add_sum(g, "add", bn2, x);
    gb_output(g, add_act(g, "relu2", ACT_RELU, sum));
}

Test(passes, resnet_block_fuses_to_two_convs) {
    test_rng r = rng_seed(3);
    float w[4 * 4 * 9];
    rng_fill(&r, w, 4 * 4 * 9, -1, 1);
    bn_stats s = random_bn(&r);
    ir_graph g;
    basic_block(&g, w, &s);
    infer_error err;
    cr_assert_eq(ir_optimize(&g, &all_caps, &err), INFER_OK, "%s", err.message);
    check_graph(&g);
    cr_assert_eq(g.n_nodes, 2);
    const ir_node *c1 = &g.nodes[0], *c2 = &g.nodes[1];
    cr_assert_eq(c1->op, OP_CONV2D);
    cr_assert_eq(c1->p.conv2d.act.kind, ACT_RELU);
    cr_assert_eq(c1->n_in, 3, "folded bias");
    cr_assert_eq(c1->out[0], find(&g, "relu1"));
    cr_assert_eq(c2->in[0], find(&g, "relu1"));
    cr_assert_eq(c2->n_in, 4);
    cr_assert_eq(c2->in[3], find(&g, "x"), "residual");
    cr_assert_neq(c2->in[2], IR_NONE, "folded bias");
    cr_assert_eq(c2->p.conv2d.act.kind, ACT_RELU, "act after the residual");
    cr_assert_eq(c2->out[0], g.outputs[0]);
    cr_assert_eq(g.tensors[g.outputs[0]].producer, 1);
    ir_free(&g);
}

Test(passes, fusion_respects_caps) {
    test_rng r = rng_seed(4);
    float w[4 * 4 * 9];
    rng_fill(&r, w, 4 * 4 * 9, -1, 1);
    bn_stats s = random_bn(&r);
    ir_graph g;
    infer_error err;

    basic_block(&g, w, &s);
    ir_fusion_caps no_residual = all_caps;
    no_residual.fuse_residual = 0;
    cr_assert_eq(ir_optimize(&g, &no_residual, &err), INFER_OK, "%s", err.message);
    check_graph(&g);
    cr_assert_eq(g.n_nodes, 4, "conv1+relu, conv2, add, relu");
    cr_assert_eq(g.nodes[2].op, OP_BINARY);
    ir_free(&g);

    basic_block(&g, w, &s);
    ir_fusion_caps no_relu = all_caps;
    no_relu.allowed_acts &= ~(1 << ACT_RELU);
    cr_assert_eq(ir_optimize(&g, &no_relu, &err), INFER_OK, "%s", err.message);
    check_graph(&g);
    cr_assert_eq(g.n_nodes, 4, "conv1, relu, conv2+residual, relu");
    cr_assert_eq(g.nodes[2].in[3], find(&g, "x"));
    cr_assert_eq(g.nodes[3].op, OP_ACTIVATION);
    ir_free(&g);

    basic_block(&g, w, &s);
    ir_fusion_caps no_conv_act = all_caps;
    no_conv_act.fuse_conv_act = 0;
    cr_assert_eq(ir_optimize(&g, &no_conv_act, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(g.n_nodes, 4);
    ir_free(&g);
}

Test(passes, residual_must_be_ready_before_the_conv) {
    float w[4 * 4 * 9] = { 1 };
    ir_graph g = graph();
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4, 5, 5))), wi = gb_const(&g, "w", DIMS(4, 4, 3, 3), w);
    int a = add_conv(&g, "conv", x, wi);
    int b = add_act(&g, "sig", ACT_SIGMOID, x); /* computed after the conv */
    gb_output(&g, add_sum(&g, "add", a, b));
    infer_error err;
    cr_assert_eq(ir_fuse_epilogues(&g, &all_caps, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(g.n_nodes, 3, "nothing fused");
    ir_free(&g);

    /* Two convs: the later one takes the earlier one's output as its residual. */
    g = graph();
    x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4, 5, 5)));
    wi = gb_const(&g, "w", DIMS(4, 4, 3, 3), w);
    a = add_conv(&g, "convA", x, wi);
    b = add_conv(&g, "convB", x, wi);
    gb_output(&g, add_sum(&g, "add", a, b));
    cr_assert_eq(ir_fuse_epilogues(&g, &all_caps, &err), INFER_OK, "%s", err.message);
    check_graph(&g);
    cr_assert_eq(g.n_nodes, 2);
    cr_assert_eq(g.nodes[1].in[3], find(&g, "convA"));
    cr_assert_eq(g.nodes[1].in[2], IR_NONE, "no bias");
    cr_assert_eq(g.nodes[1].out[0], g.outputs[0]);
    ir_free(&g);

    /* A broadcast add is not a residual. */
    float one[1] = { 1 };
    g = graph();
    x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4, 5, 5)));
    wi = gb_const(&g, "w", DIMS(4, 4, 3, 3), w);
    a = add_conv(&g, "conv", x, wi);
    gb_output(&g, add_sum(&g, "add", a, gb_const(&g, "one", DIMS(1), one)));
    cr_assert_eq(ir_fuse_epilogues(&g, &all_caps, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(g.n_nodes, 2);
    ir_free(&g);
}

Test(passes, linear_clip_fuses) {
    float w[16] = { 1 };
    ir_graph g = graph();
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4))), wi = gb_const(&g, "w", DIMS(4, 4), w);
    int y = gb_act(&g, "fc", DIMS(-1, 4)), z = gb_output(&g, gb_act(&g, "clip", DIMS(-1, 4)));
    gb_node(&g, OP_LINEAR, "fc", 2, (const int[]){ x, wi }, 1, &y);
    gb_unary(&g, OP_ACTIVATION, "clip", y, z)->p.activation = (act_params){ ACT_CLIP, -1.0f, 6.0f };
    infer_error err;
    cr_assert_eq(ir_fuse_epilogues(&g, &all_caps, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(g.n_nodes, 1);
    cr_assert_eq(g.nodes[0].p.linear.act.kind, ACT_CLIP);
    cr_assert_float_eq(g.nodes[0].p.linear.act.min, -1.0f, 0);
    cr_assert_float_eq(g.nodes[0].p.linear.act.max, 6.0f, 0);
    ir_free(&g);
}

/* ---- dead nodes -------------------------------------------------------------------------------- */

Test(passes, dead_nodes_and_tensors_removed) {
    float w[4] = { 1, 2, 3, 4 };
    ir_graph g = graph();
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4)));
    gb_input(&g, gb_act(&g, "unused_input", DIMS(2)));
    int a = gb_output(&g, gb_act(&g, "a", DIMS(-1, 4)));
    int b = gb_act(&g, "b", DIMS(-1, 4)), c = gb_act(&g, "c", DIMS(-1, 4));
    int k = gb_const(&g, "k", DIMS(4), w), d = gb_act(&g, "d", DIMS(4));
    int ly = gb_act(&g, "ly", DIMS(-1, 1, 4)), lh = gb_act(&g, "lh", DIMS(1, 1, 4)), lc = gb_act(&g, "lc", DIMS(1, 1, 4));
    int used = gb_output(&g, gb_act(&g, "used", DIMS(-1, 1, 4)));
    gb_unary(&g, OP_UNARY, "neg", x, b);         /* dead chain: b -> c */
    gb_unary(&g, OP_ACTIVATION, "relu", x, a);
    gb_unary(&g, OP_UNARY, "exp", b, c);
    gb_unary(&g, OP_UNARY, "const_only", k, d);  /* dead */
    gb_node(&g, OP_LSTM, "lstm", 1, (const int[]){ x }, 3, (const int[]){ ly, lh, lc });
    gb_unary(&g, OP_UNARY, "use", ly, used);
    infer_error err;
    cr_assert_eq(ir_eliminate_dead(&g, &err), INFER_OK, "%s", err.message);
    check_graph(&g);
    cr_assert_eq(g.n_nodes, 3);
    cr_assert_str_eq(g.nodes[0].name, "relu");
    cr_assert_str_eq(g.nodes[1].name, "lstm");
    cr_assert_str_eq(g.nodes[2].name, "use");
    cr_assert_eq(g.n_tensors, 7, "x, unused_input, a, ly, lh, lc, used");
    cr_assert_eq(find(&g, "b"), IR_NONE);
    cr_assert_eq(find(&g, "k"), IR_NONE);
    cr_assert_neq(find(&g, "lh"), IR_NONE, "outputs of a live node stay");
    cr_assert_eq(g.n_inputs, 2);
    cr_assert_str_eq(g.tensors[g.inputs[1]].name, "unused_input");
    cr_assert_eq(g.outputs[0], find(&g, "a"));
    ir_free(&g);
}
