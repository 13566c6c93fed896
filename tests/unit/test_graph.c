/* test_graph.c — ir_build from .ifg files made with the writer (decoding, defaults, refusals) and IR helpers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include "testutil.h"
#include "graph_builder.h"
#include "../../graph/ir_build.h"

typedef struct {
    uint8_t *bytes;
    ifg_file file;
    ir_graph g;
    infer_error err;
} built;

/* Serializes w (and destroys it), opens the bytes and builds the IR; returns ir_build's status. */
static infer_status build(ifg_writer *w, built *b) {
    uint64_t size;
    memset(b, 0, sizeof *b);
    cr_assert_eq(ifg_writer_to_memory(w, &b->bytes, &size, &b->err), INFER_OK, "%s", b->err.message);
    ifg_writer_destroy(w);
    cr_assert_eq(ifg_open_memory(b->bytes, size, &b->file, &b->err), INFER_OK, "%s", b->err.message);
    return ir_build(&b->file, &b->g, &b->err);
}

static void built_free(built *b) {
    ir_free(&b->g);
    ifg_close(&b->file);
    free(b->bytes);
}

static int inside(const built *b, const void *p) {
    return (const uint8_t *)p >= b->file.map && (const uint8_t *)p < b->file.map + b->file.size;
}

static const float k4[4] = { 1, 2, 3, 4 };

/* One node named "layer" of op with n_in inputs (0: a graph input [-1,4,8,8]; the rest f32 [4] constants,
 * or absent where absent_mask has the bit) and n_out outputs; attributes follow before build_draft. */
typedef struct {
    ifg_writer *w;
    uint32_t x, outs[4];
    uint32_t n_out;
} draft;

static draft node_draft(int op, uint32_t n_in, uint32_t n_out, unsigned absent_mask) {
    draft d;
    infer_error err;
    cr_assert_eq(ifg_writer_create(&d.w, &err), INFER_OK);
    uint32_t in[16];
    d.x = in[0] = ifg_writer_tensor(d.w, "x", INFER_F32, DIMS(-1, 4, 8, 8), NULL, 0);
    for (uint32_t i = 1; i < n_in; i++) {
        char name[16];
        snprintf(name, sizeof name, "k%u", i);
        in[i] = (absent_mask >> i) & 1 ? IFG_NONE : ifg_writer_tensor(d.w, name, INFER_F32, DIMS(4), k4, sizeof k4);
    }
    d.n_out = n_out;
    for (uint32_t k = 0; k < n_out; k++) {
        char name[16];
        snprintf(name, sizeof name, "y%u", k);
        d.outs[k] = ifg_writer_tensor(d.w, name, INFER_F32, DIMS(-1, 4), NULL, 0);
    }
    ifg_writer_node(d.w, op, "layer", in, n_in, d.outs, n_out);
    return d;
}

static infer_status build_draft(draft *d, built *b) {
    ifg_writer_graph(d->w, &d->x, 1, d->outs, d->n_out);
    return build(d->w, b);
}

static void expect_refused(draft *d, const char *fragment) {
    built b;
    infer_status s = build_draft(d, &b);
    cr_assert_eq(s, INFER_ERR_FORMAT, "status %s (%s), expected a format error with '%s'", infer_status_name(s),
                 b.err.message, fragment);
    cr_assert(strstr(b.err.message, fragment), "message '%s' lacks '%s'", b.err.message, fragment);
    cr_assert_null(b.g.tensors, "a failed build leaves an empty graph");
    built_free(&b);
}

Test(graph, build_decodes_a_model) {
    test_rng r = rng_seed(1);
    float w[4 * 3 * 9], bias[4];
    rng_fill(&r, w, 4 * 3 * 9, -1, 1);
    rng_fill(&r, bias, 4, -1, 1);
    ifg_writer *wr;
    cr_assert_eq(ifg_writer_create(&wr, NULL), INFER_OK);
    uint32_t x = ifg_writer_tensor(wr, "x", INFER_F32, DIMS(-1, 3, 8, 8), NULL, 0);
    uint32_t wi = ifg_writer_tensor(wr, "conv.weight", INFER_F32, DIMS(4, 3, 3, 3), w, sizeof w);
    uint32_t bi = ifg_writer_tensor(wr, "conv.bias", INFER_F32, DIMS(4), bias, sizeof bias);
    uint32_t c = ifg_writer_tensor(wr, "conv", INFER_F32, DIMS(-1, 4, 4, 4), NULL, 0);
    uint32_t a = ifg_writer_tensor(wr, "relu", INFER_F32, DIMS(-1, 4, 4, 4), NULL, 0);
    uint32_t p = ifg_writer_tensor(wr, "pool", INFER_F32, DIMS(-1, 4, 2, 2), NULL, 0);
    uint32_t f = ifg_writer_tensor(wr, "flat", INFER_F32, DIMS(-1, 16), NULL, 0);
    uint32_t y = ifg_writer_tensor(wr, "probs", INFER_F32, DIMS(-1, 16), NULL, 0);
    ifg_writer_node(wr, OP_CONV2D, "conv", (const uint32_t[]){ x, wi, bi }, 3, &c, 1);
    ifg_writer_attr_ints(wr, "stride", (const int64_t[]){ 2, 2 }, 2);
    ifg_writer_attr_int(wr, "padding", 1);
    ifg_writer_attr_string(wr, "future_option", "ignored");
    ifg_writer_node(wr, OP_ACTIVATION, "relu", &c, 1, &a, 1);
    ifg_writer_attr_int(wr, "kind", ACT_RELU);
    ifg_writer_node(wr, OP_MAXPOOL2D, "pool", &a, 1, &p, 1);
    ifg_writer_attr_ints(wr, "kernel", (const int64_t[]){ 2, 2 }, 2);
    ifg_writer_node(wr, OP_RESHAPE, "flat", &p, 1, &f, 1);
    ifg_writer_attr_ints(wr, "shape", (const int64_t[]){ -1, 16 }, 2);
    ifg_writer_node(wr, OP_SOFTMAX, "softmax", &f, 1, &y, 1);
    ifg_writer_graph(wr, &x, 1, &y, 1);

    built b;
    cr_assert_eq(build(wr, &b), INFER_OK, "%s", b.err.message);
    const ir_graph *g = &b.g;
    cr_assert_eq(g->n_tensors, 8);
    cr_assert_eq(g->n_nodes, 5);
    cr_assert_eq(g->n_inputs, 1);
    cr_assert_eq(g->inputs[0], (int)x);
    cr_assert(g->tensors[x].is_input && g->tensors[y].is_output && !g->tensors[c].is_output);
    cr_assert_eq(g->tensors[x].dims[0], -1);
    for (int i = 0; i < 5; i++) cr_assert_eq(g->tensors[g->nodes[i].out[0]].producer, i);
    cr_assert_eq(g->tensors[x].producer, IR_NONE);
    cr_assert(g->tensors[wi].is_constant && inside(&b, g->tensors[wi].data), "weights point into the file");
    cr_assert_eq(g->tensors[wi].nbytes, sizeof w);
    cr_assert_eq(memcmp(g->tensors[wi].data, w, sizeof w), 0);
    cr_assert(inside(&b, g->tensors[wi].name) && inside(&b, g->nodes[0].name), "names point into the file");
    cr_assert_str_eq(g->nodes[0].name, "conv");

    const conv2d_params *cp = &g->nodes[0].p.conv2d;
    cr_assert(cp->stride[0] == 2 && cp->stride[1] == 2 && cp->padding[0] == 1 && cp->padding[1] == 1);
    cr_assert(cp->dilation[0] == 1 && cp->dilation[1] == 1 && cp->groups == 1 && cp->act.kind == ACT_NONE);
    cr_assert_eq(g->nodes[1].p.activation.kind, ACT_RELU);
    const pool2d_params *pp = &g->nodes[2].p.pool2d;
    cr_assert(pp->stride[0] == 2 && pp->stride[1] == 2, "pool stride defaults to the kernel");
    cr_assert(pp->padding[0] == 0 && pp->dilation[1] == 1 && pp->ceil_mode == 0 && pp->count_include_pad == 1);
    cr_assert(g->nodes[3].p.shape.ndim == 2 && g->nodes[3].p.shape.shape[0] == -1 && g->nodes[3].p.shape.shape[1] == 16);
    cr_assert(g->nodes[4].p.softmax.axis == -1 && g->nodes[4].p.softmax.log == 0);

    int64_t dims[8 * INFER_MAX_DIMS];
    int ndims[8];
    cr_assert_eq(ir_infer_shapes(g, 3, dims, ndims, &b.err), INFER_OK, "%s", b.err.message);
    cr_assert(ndims[y] == 2 && dims[y * INFER_MAX_DIMS] == 3 && dims[y * INFER_MAX_DIMS + 1] == 16);

    ir_fusion_caps caps = { 1, 1, 1, (1 << ACT_COUNT) - 1 };
    cr_assert_eq(ir_optimize(&b.g, &caps, &b.err), INFER_OK, "%s", b.err.message);
    cr_assert_eq(b.g.n_nodes, 4, "relu fused into the conv");
    cr_assert_eq(b.g.nodes[0].p.conv2d.act.kind, ACT_RELU);
    built_free(&b);
}

Test(graph, build_defaults) {
    built b;
    draft d = node_draft(OP_BATCHNORM, 5, 1, 0);
    cr_assert_eq(build_draft(&d, &b), INFER_OK, "%s", b.err.message);
    cr_assert_float_eq(b.g.nodes[0].p.batchnorm.eps, 1e-5f, 1e-12);
    built_free(&b);

    d = node_draft(OP_LAYERNORM, 3, 1, 0x6);
    cr_assert_eq(build_draft(&d, &b), INFER_OK, "%s", b.err.message);
    cr_assert_eq(b.g.nodes[0].p.layernorm.axes, 1);
    cr_assert_eq(b.g.nodes[0].in[1], IR_NONE, "absent optional input");
    built_free(&b);

    d = node_draft(OP_SLICE, 1, 1, 0);
    ifg_writer_attr_int(d.w, "axis", -1);
    ifg_writer_attr_int(d.w, "start", -3);
    ifg_writer_attr_int(d.w, "end", INT64_MAX);
    cr_assert_eq(build_draft(&d, &b), INFER_OK, "%s", b.err.message);
    const slice_params *sp = &b.g.nodes[0].p.slice;
    cr_assert(sp->axis == -1 && sp->start == -3 && sp->end == INT64_MAX && sp->step == 1);
    built_free(&b);

    d = node_draft(OP_ACTIVATION, 1, 1, 0);
    ifg_writer_attr_int(d.w, "kind", ACT_CLIP);
    ifg_writer_attr_float(d.w, "act_min", 0.0);
    ifg_writer_attr_int(d.w, "act_max", 6);
    cr_assert_eq(build_draft(&d, &b), INFER_OK, "%s", b.err.message);
    cr_assert_float_eq(b.g.nodes[0].p.activation.max, 6.0f, 0, "an int is accepted for a float");
    built_free(&b);

    d = node_draft(OP_BINARY, 1, 1, 0);
    ifg_writer_attr_int(d.w, "kind", BIN_POW);
    ifg_writer_attr_float(d.w, "scalar", 0.5);
    ifg_writer_attr_int(d.w, "reverse", 1);
    cr_assert_eq(build_draft(&d, &b), INFER_OK, "%s", b.err.message);
    const binary_params *bp = &b.g.nodes[0].p.binary;
    cr_assert(bp->kind == BIN_POW && bp->scalar == 0.5f && bp->reverse == 1);
    built_free(&b);

    d = node_draft(OP_LSTM, 7, 3, 0x66); /* h0, c0, b_ih, b_hh absent */
    ifg_writer_attr_int(d.w, "hidden", 4);
    ifg_writer_attr_int(d.w, "layers", 1);
    cr_assert_eq(build_draft(&d, &b), INFER_OK, "%s", b.err.message);
    const lstm_params *lp = &b.g.nodes[0].p.lstm;
    cr_assert(lp->hidden == 4 && lp->layers == 1 && lp->batch_first == 0);
    cr_assert(b.g.nodes[0].in[1] == IR_NONE && b.g.nodes[0].in[6] == IR_NONE && b.g.nodes[0].in[4] != IR_NONE);
    built_free(&b);

    d = node_draft(OP_REDUCE, 1, 1, 0);
    ifg_writer_attr_int(d.w, "kind", RED_MAX);
    ifg_writer_attr_ints(d.w, "axes", (const int64_t[]){ 1, -1 }, 2);
    cr_assert_eq(build_draft(&d, &b), INFER_OK, "%s", b.err.message);
    const reduce_params *rp = &b.g.nodes[0].p.reduce;
    cr_assert(rp->kind == RED_MAX && rp->naxes == 2 && rp->axes[1] == -1 && rp->keepdim == 0);
    built_free(&b);
}

typedef struct {
    const char *key;
    int type; /* enum ifg_attr_type */
    int64_t i[9];
    uint32_t count; /* for INTS */
    double f;
} attr_spec;

typedef struct {
    int op;
    uint32_t n_in;
    attr_spec attrs[4];
    const char *fragment;
} bad_case;

static void put_attr(ifg_writer *w, const attr_spec *a) {
    if (a->type == IFG_ATTR_INT) ifg_writer_attr_int(w, a->key, a->i[0]);
    if (a->type == IFG_ATTR_INTS) ifg_writer_attr_ints(w, a->key, a->i, a->count);
    if (a->type == IFG_ATTR_FLOAT) ifg_writer_attr_float(w, a->key, a->f);
}

#define INT(k, v) { k, IFG_ATTR_INT, { v }, 1, 0 }
#define INTS(k, n, ...) { k, IFG_ATTR_INTS, { __VA_ARGS__ }, n, 0 }
#define FLOAT(k, v) { k, IFG_ATTR_FLOAT, { 0 }, 1, v }

Test(graph, build_refuses_bad_attributes) {
    static const bad_case cases[] = {
        { OP_CONV2D, 2, { INTS("stride", 2, 0, 1) }, "node 0 'layer' (conv2d): attribute 'stride' value 0 is 0" },
        { OP_CONV2D, 2, { INT("groups", 0) }, "attribute 'groups' is 0, must be in [1," },
        { OP_CONV2D, 2, { INT("act", 42) }, "attribute 'act' is 42, must be in [0, 9]" },
        { OP_CONV2D, 2, { FLOAT("stride", 1.0) }, "attribute 'stride' must be ints" },
        { OP_CONV2D, 2, { INTS("padding", 3, 1, 1, 1) }, "attribute 'padding' has 3 values, expected 1 to 2" },
        { OP_BINARY, 2, { INT("kind", 9) }, "(binary): attribute 'kind' is 9" },
        { OP_BINARY, 1, { INT("kind", 0) }, "attribute 'scalar' is required but missing" },
        { OP_REDUCE, 1, { INT("kind", 0), INTS("axes", 9, 0, 1, 2, 3, 0, 1, 2, 3, 0) }, "'axes' has 9 values" },
        { OP_RESHAPE, 1, { INTS("shape", 2, -1, -1) }, "attribute 'shape' has 2 entries of -1, at most 1" },
        { OP_RESHAPE, 1, { INTS("shape", 2, -2, 3) }, "attribute 'shape' value 0 is -2" },
        { OP_TRANSPOSE, 1, { INTS("perm", 2, 0, 0) }, "attribute 'perm' is not a permutation" },
        { OP_SLICE, 1, { INT("axis", 0), INT("start", 0), INT("end", 3), INT("step", 0) }, "attribute 'step' is 0" },
        { OP_SLICE, 1, { INT("axis", 0), INT("end", 3) }, "attribute 'start' is required but missing" },
        { OP_CAST, 1, { INT("dtype", 99) }, "(cast): attribute 'dtype' is 99" },
        { OP_ATTENTION, 3, { INT("heads", 0) }, "attribute 'heads' is 0" },
        { OP_MAXPOOL2D, 1, { INTS("stride", 2, 1, 1) }, "attribute 'kernel' is required but missing" },
        { OP_ACTIVATION, 1, { INT("kind", ACT_CLIP), FLOAT("act_max", 6.0) }, "attribute 'act_min' is required" },
        { OP_ACTIVATION, 1, { INT("kind", ACT_CLIP), FLOAT("act_min", 6.0), FLOAT("act_max", 0.0) },
          "attribute 'act_min' (6) is above act_max (0)" },
        { OP_AVGPOOL2D, 1, { INTS("kernel", 2, 2, 2), INT("padding", 2) },
          "attribute 'padding' (2) must be at most half the window (2)" },
        { OP_BATCHNORM, 5, { FLOAT("eps", -1.0) }, "attribute 'eps' is -1" },
        { OP_LSTM, 7, { INT("hidden", 0), INT("layers", 1) }, "attribute 'hidden' is 0" },
        { OP_UNARY, 1, { INT("kind", 13) }, "(unary): attribute 'kind' is 13" },
        { OP_COMPARE, 2, { INT("kind", 9) }, "(compare): attribute 'kind' is 9" },
        { OP_SOFTMAX, 1, { FLOAT("axis", 1.5) }, "attribute 'axis' must be an int" },
        { OP_SOFTMAX, 1, { INT("axis", 8) }, "attribute 'axis' is 8" },
        { OP_EXPAND, 1, { INTS("shape", 2, 3, -4) }, "attribute 'shape' value 1 is -4" },
        { OP_EXPAND, 2, { INTS("shape", 2, 3) }, "like_dims" },
        { OP_EXPAND, 2, { INTS("shape", 2, 3), INTS("like_dims", 0) }, "like_dims" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        draft d = node_draft(c->op, c->n_in, (uint32_t)op_get_info(c->op)->outputs, 0);
        for (int k = 0; k < 4 && c->attrs[k].key; k++) put_attr(d.w, &c->attrs[k]);
        expect_refused(&d, c->fragment);
    }
}

/* Input and output counts are the loader's to check; which inputs may be absent is ir_build's. */
Test(graph, build_refuses_absent_required_inputs) {
    draft d = node_draft(OP_CONV2D, 3, 1, 0x2);
    expect_refused(&d, "node 0 'layer' (conv2d): input 1 is required but absent");
    d = node_draft(OP_ATTENTION, 4, 1, 0x4);
    ifg_writer_attr_int(d.w, "heads", 1);
    expect_refused(&d, "(attention): input 2 is required but absent");
    d = node_draft(OP_LSTM, 7, 3, 0x3e); /* h0, c0 and biases may be absent, w_ih may not */
    ifg_writer_attr_int(d.w, "hidden", 4);
    ifg_writer_attr_int(d.w, "layers", 1);
    expect_refused(&d, "(lstm): input 3 is required but absent");
}

Test(graph, helpers) {
    ir_graph g;
    memset(&g, 0, sizeof g);
    for (int i = 0; i < 100; i++) cr_assert_eq(gb_act(&g, "t", DIMS(i + 1)), i);
    cr_assert_eq(g.n_tensors, 100);
    cr_assert_eq(g.tensors[57].dims[0], 58);

    for (int i = 0; i < 40; i++) {
        uint8_t *p = ir_alloc(&g, (uint64_t)i * 3);
        cr_assert_not_null(p);
        memset(p, 0xAB, (size_t)i * 3);
    }
    cr_assert_eq(g.n_owned, 40);

    int sum = gb_act(&g, "sum", DIMS(1)), neg = gb_act(&g, "neg", DIMS(1));
    gb_node(&g, OP_BINARY, "twice", 2, (const int[]){ 3, 3 }, 1, &sum);
    cr_assert_eq(ir_consumer_count(&g, 3), 1, "a node reading a tensor twice counts once");
    gb_unary(&g, OP_UNARY, "neg", 3, neg);
    cr_assert_eq(ir_consumer_count(&g, 3), 2);
    gb_output(&g, 3);
    cr_assert_eq(ir_consumer_count(&g, 3), 3, "a graph output counts as a reader");
    cr_assert_eq(ir_consumer_count(&g, 4), 0);
    cr_assert_eq(ir_consumer_count(&g, 1000), 0);
    ir_free(&g);
    cr_assert_eq(g.n_tensors, 0);
    cr_assert_null(g.owned);
}
