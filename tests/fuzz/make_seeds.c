/* make_seeds.c — writes the seed corpora of the fuzz targets into DIR/model, DIR/npy and DIR/cli: tiny valid
 * models (made with the C writer) that together use every op, small .npy files of every supported dtype and
 * version, and command lines of every CLI command. usage: make_seeds DIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "infer.h"
#include "../../loaders/ifg.h"
#include "../../loaders/npy.h"
#include "../../base/ops.h"

#define DIMS(...) (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (const int64_t[]){ __VA_ARGS__ }
#define IDS(...) (const uint32_t[]){ __VA_ARGS__ }, (uint32_t)(sizeof((uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t))
#define INTS(...) (const int64_t[]){ __VA_ARGS__ }, (uint32_t)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t))

static const char *out_dir;
static uint64_t rng = 12345;

static void die(const char *what, const infer_error *err) {
    fprintf(stderr, "make_seeds: %s%s%s\n", what, err ? ": " : "", err ? err->message : "");
    exit(1);
}

static float frand(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (float)((rng * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0f - 0.5f;
}

static uint32_t act(ifg_writer *w, const char *name, infer_dtype dtype, int ndim, const int64_t *dims) {
    uint32_t id = ifg_writer_tensor(w, name, dtype, ndim, dims, NULL, 0);
    if (id == IFG_NONE) die(name, NULL);
    return id;
}

/* A constant of seeded values: floats in [-0.5, 0.5), positive for names starting with '+', integers 0..2. */
static uint32_t cst(ifg_writer *w, const char *name, infer_dtype dtype, int ndim, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    size_t es = infer_dtype_size(dtype), bytes = (size_t)n * es;
    uint8_t *p = calloc(bytes ? bytes : 1, 1);
    for (int64_t i = 0; i < n; i++) {
        float f = frand();
        if (dtype == INFER_F32) ((float *)p)[i] = name[0] == '+' ? f + 1.0f : f;
        else if (dtype == INFER_I64) ((int64_t *)p)[i] = i % 3;
        else if (dtype == INFER_I32) ((int32_t *)p)[i] = (int32_t)(i % 3);
        else if (es == 1) p[i] = (uint8_t)(i % 2);
    }
    uint32_t id = ifg_writer_tensor(w, name, dtype, ndim, dims, p, bytes);
    free(p);
    if (id == IFG_NONE) die(name, NULL);
    return id;
}

static void node(ifg_writer *w, op_code op, const char *name, const uint32_t *in, uint32_t n_in, const uint32_t *out,
                 uint32_t n_out) {
    ifg_writer_node(w, op, name, in, n_in, out, n_out);
}

static ifg_writer *begin(void) {
    ifg_writer *w;
    infer_error err;
    if (ifg_writer_create(&w, &err) != INFER_OK) die("writer", &err);
    return w;
}

/* A seed must load, build (optimized or not) and run at batch 2 on zeros, or it seeds nothing deep. */
static void check_runs(const char *path) {
    infer_model *m;
    infer_error err;
    if (infer_model_load(path, &m, &err) != INFER_OK) die(path, &err);
    for (int optimize = 0; optimize <= 1; optimize++) {
        infer_engine_options o;
        infer_engine_options_init(&o);
        o.device = INFER_DEVICE_CPU;
        o.max_batch = 2;
        o.threads = 1;
        o.optimize = optimize;
        infer_engine *e;
        if (infer_engine_create(m, &o, &e, &err) != INFER_OK) die(path, &err);
        int n_in = infer_model_input_count(m), n_out = infer_model_output_count(m);
        infer_tensor in[8], out[8];
        for (int i = 0; i < n_in; i++) {
            infer_tensor_info info;
            infer_model_input(m, i, &info);
            in[i] = (infer_tensor){ info.dtype, info.ndim, { 0 }, NULL };
            for (int d = 0; d < info.ndim; d++) in[i].dims[d] = info.dims[d] < 0 ? 2 : info.dims[d];
            in[i].data = calloc((size_t)infer_tensor_elements(&in[i]), infer_dtype_size(info.dtype));
        }
        infer_status s = infer_engine_run(e, in, n_in, out, n_out, &err);
        for (int i = 0; i < n_in; i++) free(in[i].data);
        infer_engine_destroy(e);
        if (s != INFER_OK) die(path, &err);
    }
    infer_model_free(m);
}

static void save(ifg_writer *w, const char *name) {
    char path[4096];
    infer_error err;
    ifg_writer_meta(w, "converter_version", "seed");
    snprintf(path, sizeof path, "%s/model/%s.ifg", out_dir, name);
    if (ifg_writer_save(w, path, &err) != INFER_OK) die(path, &err);
    ifg_writer_destroy(w);
    check_runs(path);
}

/* conv (padding, relu) -> batchnorm -> maxpool (ceil) -> avgpool -> adaptive pool -> reshape -> linear ->
 * softmax. */
static void vision(void) {
    ifg_writer *w = begin();
    uint32_t x = act(w, "x", INFER_F32, DIMS(-1, 2, 7, 7));
    uint32_t cw = cst(w, "cw", INFER_F32, DIMS(4, 2, 3, 3)), cb = cst(w, "cb", INFER_F32, DIMS(4));
    uint32_t g = cst(w, "+g", INFER_F32, DIMS(4)), b = cst(w, "b", INFER_F32, DIMS(4));
    uint32_t mu = cst(w, "m", INFER_F32, DIMS(4)), var = cst(w, "+v", INFER_F32, DIMS(4));
    uint32_t fw = cst(w, "fw", INFER_F32, DIMS(3, 16)), fb = cst(w, "fb", INFER_F32, DIMS(3));
    uint32_t c = act(w, "c", INFER_F32, DIMS(-1, 4, 7, 7)), n = act(w, "n", INFER_F32, DIMS(-1, 4, 7, 7));
    uint32_t mp = act(w, "mp", INFER_F32, DIMS(-1, 4, 4, 4)), ap = act(w, "ap", INFER_F32, DIMS(-1, 4, 4, 4));
    uint32_t ad = act(w, "ad", INFER_F32, DIMS(-1, 4, 2, 2)), f = act(w, "f", INFER_F32, DIMS(-1, 16));
    uint32_t l = act(w, "l", INFER_F32, DIMS(-1, 3)), y = act(w, "y", INFER_F32, DIMS(-1, 3));
    node(w, OP_CONV2D, "conv", IDS(x, cw, cb), IDS(c));
    ifg_writer_attr_ints(w, "padding", INTS(1, 1));
    ifg_writer_attr_int(w, "act", ACT_RELU);
    node(w, OP_BATCHNORM, "bn", IDS(c, g, b, mu, var), IDS(n));
    ifg_writer_attr_float(w, "eps", 1e-5);
    node(w, OP_MAXPOOL2D, "maxpool", IDS(n), IDS(mp));
    ifg_writer_attr_ints(w, "kernel", INTS(2, 2));
    ifg_writer_attr_int(w, "ceil_mode", 1);
    node(w, OP_AVGPOOL2D, "avgpool", IDS(mp), IDS(ap));
    ifg_writer_attr_ints(w, "kernel", INTS(3, 3));
    ifg_writer_attr_ints(w, "stride", INTS(1, 1));
    ifg_writer_attr_ints(w, "padding", INTS(1, 1));
    ifg_writer_attr_int(w, "count_include_pad", 0);
    ifg_writer_attr_int(w, "ceil_mode", 0);
    node(w, OP_ADAPTIVE_AVGPOOL2D, "adapt", IDS(ap), IDS(ad));
    ifg_writer_attr_ints(w, "output_size", INTS(2, 2));
    node(w, OP_RESHAPE, "flatten", IDS(ad), IDS(f));
    ifg_writer_attr_ints(w, "shape", INTS(-1, 16));
    node(w, OP_LINEAR, "fc", IDS(f, fw, fb), IDS(l));
    node(w, OP_SOFTMAX, "softmax", IDS(l), IDS(y));
    ifg_writer_attr_int(w, "axis", -1);
    ifg_writer_graph(w, IDS(x), IDS(y));
    save(w, "vision");
}

/* A strided, dilated, grouped conv with a residual and a clip; a dilated maxpool with padding. */
static void conv_variants(void) {
    ifg_writer *w = begin();
    uint32_t x = act(w, "x", INFER_F32, DIMS(-1, 4, 9, 8));
    uint32_t cw = cst(w, "cw", INFER_F32, DIMS(6, 2, 3, 2)), r = act(w, "r", INFER_F32, DIMS(-1, 6, 5, 3));
    uint32_t c = act(w, "c", INFER_F32, DIMS(-1, 6, 5, 3)), p = act(w, "p", INFER_F32, DIMS(-1, 6, 3, 2));
    uint32_t dw = cst(w, "dw", INFER_F32, DIMS(6, 1, 3, 3)), d = act(w, "d", INFER_F32, DIMS(-1, 6, 3, 2));
    node(w, OP_CONV2D, "grouped", IDS(x, cw, IFG_NONE, r), IDS(c));
    ifg_writer_attr_ints(w, "stride", INTS(2, 2));
    ifg_writer_attr_ints(w, "padding", INTS(1, 0));
    ifg_writer_attr_ints(w, "dilation", INTS(1, 2));
    ifg_writer_attr_int(w, "groups", 2);
    ifg_writer_attr_int(w, "act", ACT_CLIP);
    ifg_writer_attr_float(w, "act_min", 0.0);
    ifg_writer_attr_float(w, "act_max", 6.0);
    node(w, OP_MAXPOOL2D, "pool", IDS(c), IDS(p));
    ifg_writer_attr_int(w, "kernel", 2);
    ifg_writer_attr_ints(w, "stride", INTS(2, 2));
    ifg_writer_attr_ints(w, "padding", INTS(1, 1));
    ifg_writer_attr_ints(w, "dilation", INTS(2, 2));
    node(w, OP_CONV2D, "depthwise", IDS(p, dw), IDS(d));
    ifg_writer_attr_int(w, "padding", 1);
    ifg_writer_attr_int(w, "groups", 6);
    ifg_writer_attr_int(w, "act", ACT_HARDSWISH);
    ifg_writer_graph(w, IDS(x, r), IDS(d));
    save(w, "conv_variants");
}

/* ids -> embedding -> layernorm -> attention (causal, bool mask) + residual -> 2-layer lstm -> mean. */
static void sequence(void) {
    ifg_writer *w = begin();
    uint32_t ids = act(w, "ids", INFER_I64, DIMS(-1, 5));
    uint32_t emb = cst(w, "emb", INFER_F32, DIMS(10, 8)), lw = cst(w, "+lnw", INFER_F32, DIMS(8));
    uint32_t lb = cst(w, "lnb", INFER_F32, DIMS(8)), mask = cst(w, "mask", INFER_BOOL, DIMS(5, 5));
    uint32_t w0 = cst(w, "wih0", INFER_F32, DIMS(16, 8)), h0 = cst(w, "whh0", INFER_F32, DIMS(16, 4));
    uint32_t b0 = cst(w, "bih0", INFER_F32, DIMS(16)), c0 = cst(w, "bhh0", INFER_F32, DIMS(16));
    uint32_t w1 = cst(w, "wih1", INFER_F32, DIMS(16, 4)), h1 = cst(w, "whh1", INFER_F32, DIMS(16, 4));
    uint32_t e = act(w, "e", INFER_F32, DIMS(-1, 5, 8)), n = act(w, "n", INFER_F32, DIMS(-1, 5, 8));
    uint32_t at = act(w, "at", INFER_F32, DIMS(-1, 5, 8)), s = act(w, "s", INFER_F32, DIMS(-1, 5, 8));
    uint32_t y = act(w, "y", INFER_F32, DIMS(-1, 5, 4)), hn = act(w, "hn", INFER_F32, DIMS(2, 1, 4));
    uint32_t cn = act(w, "cn", INFER_F32, DIMS(2, 1, 4)), mean = act(w, "mean", INFER_F32, DIMS(-1, 4));
    node(w, OP_EMBEDDING, "embed", IDS(ids, emb), IDS(e));
    node(w, OP_LAYERNORM, "ln", IDS(e, lw, lb), IDS(n));
    ifg_writer_attr_int(w, "axes", 1);
    node(w, OP_ATTENTION, "attn", IDS(n, n, n, mask), IDS(at));
    ifg_writer_attr_int(w, "heads", 2);
    ifg_writer_attr_int(w, "causal", 1);
    node(w, OP_BINARY, "residual", IDS(at, e), IDS(s));
    ifg_writer_attr_int(w, "kind", BIN_ADD);
    node(w, OP_LSTM, "lstm", IDS(s, IFG_NONE, IFG_NONE, w0, h0, b0, c0, w1, h1, IFG_NONE, IFG_NONE), IDS(y, hn, cn));
    ifg_writer_attr_int(w, "hidden", 4);
    ifg_writer_attr_int(w, "layers", 2);
    ifg_writer_attr_int(w, "batch_first", 1);
    node(w, OP_REDUCE, "mean", IDS(y), IDS(mean));
    ifg_writer_attr_int(w, "kind", RED_MEAN);
    ifg_writer_attr_ints(w, "axes", INTS(1));
    ifg_writer_graph(w, IDS(ids), IDS(mean, hn, cn));
    save(w, "sequence");
}

/* Format 1.1: named dims batch and seq, a reshape to batch*seq, a slice to seq (end_expr), an expand to the batch. */
static void named_dims(void) {
    ifg_writer *w = begin();
    ifg_writer_dyn_dim(w, "batch", 1, 8, 2);
    ifg_writer_dyn_dim(w, "seq", 1, 16, 2);
    ifg_writer_expr(w, &(ifg_expr){ .coef = 1, .n_factors = 1, .sym = { 0 }, .power = { 1 } });
    ifg_writer_expr(w, &(ifg_expr){ .coef = 1, .n_factors = 1, .sym = { 1 }, .power = { 1 } });
    ifg_writer_expr(w, &(ifg_expr){ .coef = 1, .n_factors = 2, .sym = { 0, 1 }, .power = { 1, 1 } });
    ifg_writer_expr(w, &(ifg_expr){ .n_factors = 1, .sym = { 1 }, .power = { 1 }, .flags = IFG_EXPR_UNCHECKED });
    const int64_t b = IFG_DIM_EXPR(0), t = IFG_DIM_EXPR(1), bt = IFG_DIM_EXPR(2);
    uint32_t x = act(w, "x", INFER_F32, DIMS(b, t, 4)), tok = cst(w, "tok", INFER_F32, DIMS(1, 1, 4));
    uint32_t r = act(w, "rows", INFER_F32, DIMS(bt, 4)), h = act(w, "head", INFER_F32, DIMS(t, 4));
    uint32_t e = act(w, "tokens", INFER_F32, DIMS(b, 1, 4)), p = act(w, "pooled", INFER_F32, DIMS(b, IFG_DIM_EXPR(3), 4));
    node(w, OP_RESHAPE, "flat", IDS(x), IDS(r));
    ifg_writer_attr_ints(w, "shape", INTS(bt, 4));
    node(w, OP_SLICE, "head", IDS(r), IDS(h));
    ifg_writer_attr_int(w, "axis", 0);
    ifg_writer_attr_int(w, "start", 0);
    ifg_writer_attr_int(w, "end", 2);
    ifg_writer_attr_int(w, "end_expr", 1);
    node(w, OP_EXPAND, "cls", IDS(tok), IDS(e));
    ifg_writer_attr_ints(w, "shape", INTS(b, 1, 4));
    node(w, OP_SLICE, "half", IDS(x), IDS(p));
    ifg_writer_attr_int(w, "axis", 1);
    ifg_writer_attr_int(w, "start", 0);
    ifg_writer_attr_int(w, "end", 100);
    ifg_writer_attr_int(w, "step", 2);
    ifg_writer_graph(w, IDS(x), IDS(r, h, e, p));
    save(w, "named_dims");
}

/* transpose, slice (step 2, negative start), concat, expand, reshape with -1, identity, matmul (broadcast). */
static void shapes(void) {
    ifg_writer *w = begin();
    uint32_t x = act(w, "x", INFER_F32, DIMS(-1, 3, 4)), k = cst(w, "k", INFER_F32, DIMS(1, 4, 2));
    uint32_t one = cst(w, "one", INFER_F32, DIMS(1, 3, 1));
    uint32_t t = act(w, "t", INFER_F32, DIMS(-1, 4, 3)), s = act(w, "s", INFER_F32, DIMS(-1, 2, 3));
    uint32_t c = act(w, "c", INFER_F32, DIMS(-1, 6, 3)), r = act(w, "r", INFER_F32, DIMS(-1, 18));
    uint32_t e = act(w, "e", INFER_F32, DIMS(2, 3, 5)), i = act(w, "i", INFER_F32, DIMS(-1, 18));
    uint32_t m = act(w, "m", INFER_F32, DIMS(-1, 3, 2));
    node(w, OP_TRANSPOSE, "transpose", IDS(x), IDS(t));
    ifg_writer_attr_ints(w, "perm", INTS(0, 2, 1));
    node(w, OP_SLICE, "slice", IDS(t), IDS(s));
    ifg_writer_attr_int(w, "axis", 1);
    ifg_writer_attr_int(w, "start", -4);
    ifg_writer_attr_int(w, "end", 100);
    ifg_writer_attr_int(w, "step", 2);
    node(w, OP_CONCAT, "concat", IDS(t, s), IDS(c));
    ifg_writer_attr_int(w, "axis", -2);
    node(w, OP_RESHAPE, "reshape", IDS(c), IDS(r));
    ifg_writer_attr_ints(w, "shape", INTS(-1, 18));
    node(w, OP_IDENTITY, "dropout", IDS(r), IDS(i));
    ifg_writer_attr_string(w, "origin", "dropout");
    node(w, OP_EXPAND, "expand", IDS(one), IDS(e));
    ifg_writer_attr_ints(w, "shape", INTS(2, -1, 5));
    node(w, OP_MATMUL, "matmul", IDS(x, k), IDS(m));
    ifg_writer_graph(w, IDS(x), IDS(i, e, m));
    save(w, "shapes");
}

/* binary ops with tensors and scalars, unary ops, compare, where, masked_fill, cast and integer reductions. */
static void elementwise(void) {
    ifg_writer *w = begin();
    uint32_t x = act(w, "x", INFER_F32, DIMS(-1, 6)), q = act(w, "q", INFER_I32, DIMS(-1, 6));
    uint32_t bias = cst(w, "+bias", INFER_F32, DIMS(6)), mask = cst(w, "mask", INFER_BOOL, DIMS(6));
    uint32_t sq = act(w, "sq", INFER_F32, DIMS(-1, 6)), ex = act(w, "ex", INFER_F32, DIMS(-1, 6));
    uint32_t pw = act(w, "pw", INFER_F32, DIMS(-1, 6)), dv = act(w, "dv", INFER_F32, DIMS(-1, 6));
    uint32_t lg = act(w, "lg", INFER_F32, DIMS(-1, 6)), cmp = act(w, "cmp", INFER_BOOL, DIMS(-1, 6));
    uint32_t wh = act(w, "wh", INFER_F32, DIMS(-1, 6)), mf = act(w, "mf", INFER_F32, DIMS(-1, 6));
    uint32_t ci = act(w, "ci", INFER_I64, DIMS(-1, 6)), qi = act(w, "qi", INFER_I64, DIMS(-1, 6));
    uint32_t sm = act(w, "sm", INFER_I64, DIMS(-1, 1)), mx = act(w, "mx", INFER_I32, DIMS(-1));
    uint32_t ab = act(w, "ab", INFER_I32, DIMS(-1, 6)), gt = act(w, "gt", INFER_BOOL, DIMS(-1, 6));
    uint32_t ls = act(w, "ls", INFER_F32, DIMS(-1, 6)), ac = act(w, "ac", INFER_F32, DIMS(-1, 6));
    node(w, OP_BINARY, "mul", IDS(x, x), IDS(sq));
    ifg_writer_attr_int(w, "kind", BIN_MUL);
    node(w, OP_UNARY, "exp", IDS(sq), IDS(ex));
    ifg_writer_attr_int(w, "kind", UN_EXP);
    node(w, OP_BINARY, "pow", IDS(ex), IDS(pw));
    ifg_writer_attr_int(w, "kind", BIN_POW);
    ifg_writer_attr_float(w, "scalar", 0.5);
    node(w, OP_BINARY, "rdiv", IDS(pw), IDS(dv));
    ifg_writer_attr_int(w, "kind", BIN_DIV);
    ifg_writer_attr_float(w, "scalar", 2.0);
    ifg_writer_attr_int(w, "reverse", 1);
    node(w, OP_BINARY, "addbias", IDS(dv, bias), IDS(lg));
    ifg_writer_attr_int(w, "kind", BIN_MAX);
    node(w, OP_COMPARE, "lt", IDS(x, lg), IDS(cmp));
    ifg_writer_attr_int(w, "kind", CMP_LT);
    node(w, OP_WHERE, "where", IDS(cmp, x, lg), IDS(wh));
    node(w, OP_MASKED_FILL, "fill", IDS(wh, mask), IDS(mf));
    ifg_writer_attr_float(w, "value", -3.5);
    node(w, OP_CAST, "cast", IDS(cmp), IDS(ci));
    ifg_writer_attr_int(w, "dtype", INFER_I64);
    node(w, OP_BINARY, "iadd", IDS(ci, q), IDS(qi));
    ifg_writer_attr_int(w, "kind", BIN_ADD);
    node(w, OP_REDUCE, "sum", IDS(qi), IDS(sm));
    ifg_writer_attr_int(w, "kind", RED_SUM);
    ifg_writer_attr_ints(w, "axes", INTS(-1));
    ifg_writer_attr_int(w, "keepdim", 1);
    node(w, OP_UNARY, "abs", IDS(q), IDS(ab));
    ifg_writer_attr_int(w, "kind", UN_ABS);
    node(w, OP_REDUCE, "max", IDS(ab), IDS(mx));
    ifg_writer_attr_int(w, "kind", RED_MAX);
    ifg_writer_attr_ints(w, "axes", INTS(1));
    node(w, OP_COMPARE, "gt", IDS(ab), IDS(gt));
    ifg_writer_attr_int(w, "kind", CMP_GT);
    ifg_writer_attr_float(w, "scalar", 1.0);
    node(w, OP_SOFTMAX, "logsoftmax", IDS(mf), IDS(ls));
    ifg_writer_attr_int(w, "log", 1);
    node(w, OP_ACTIVATION, "gelu", IDS(ls), IDS(ac));
    ifg_writer_attr_int(w, "kind", ACT_GELU_TANH);
    ifg_writer_graph(w, IDS(x, q), IDS(ac, sm, mx, gt));
    save(w, "elementwise");
}

/* What the graph passes rewrite: conv -> batchnorm (folded) -> add of a residual -> relu, a depthwise conv
 * -> hardswish, linear -> sigmoid (fused into the epilogues). */
static void fusion(void) {
    ifg_writer *w = begin();
    uint32_t x = act(w, "x", INFER_F32, DIMS(-1, 3, 6, 20));
    uint32_t cw = cst(w, "cw", INFER_F32, DIMS(3, 3, 3, 3)), dw = cst(w, "dw", INFER_F32, DIMS(3, 1, 3, 3));
    uint32_t g = cst(w, "+g", INFER_F32, DIMS(3)), b = cst(w, "b", INFER_F32, DIMS(3));
    uint32_t mu = cst(w, "m", INFER_F32, DIMS(3)), var = cst(w, "+v", INFER_F32, DIMS(3));
    uint32_t fw = cst(w, "fw", INFER_F32, DIMS(4, 360)), fb = cst(w, "fb", INFER_F32, DIMS(4));
    uint32_t c = act(w, "c", INFER_F32, DIMS(-1, 3, 6, 20)), n = act(w, "n", INFER_F32, DIMS(-1, 3, 6, 20));
    uint32_t s = act(w, "s", INFER_F32, DIMS(-1, 3, 6, 20)), r = act(w, "r", INFER_F32, DIMS(-1, 3, 6, 20));
    uint32_t d = act(w, "d", INFER_F32, DIMS(-1, 3, 6, 20)), h = act(w, "h", INFER_F32, DIMS(-1, 3, 6, 20));
    uint32_t f = act(w, "f", INFER_F32, DIMS(-1, 360)), l = act(w, "l", INFER_F32, DIMS(-1, 4));
    uint32_t y = act(w, "y", INFER_F32, DIMS(-1, 4));
    node(w, OP_CONV2D, "conv", IDS(x, cw), IDS(c));
    ifg_writer_attr_ints(w, "padding", INTS(1, 1));
    node(w, OP_BATCHNORM, "bn", IDS(c, g, b, mu, var), IDS(n));
    node(w, OP_BINARY, "residual", IDS(n, x), IDS(s));
    ifg_writer_attr_int(w, "kind", BIN_ADD);
    node(w, OP_ACTIVATION, "relu", IDS(s), IDS(r));
    ifg_writer_attr_int(w, "kind", ACT_RELU);
    node(w, OP_CONV2D, "depthwise", IDS(r, dw), IDS(d));
    ifg_writer_attr_ints(w, "padding", INTS(1, 1));
    ifg_writer_attr_int(w, "groups", 3);
    node(w, OP_ACTIVATION, "hardswish", IDS(d), IDS(h));
    ifg_writer_attr_int(w, "kind", ACT_HARDSWISH);
    node(w, OP_RESHAPE, "flatten", IDS(h), IDS(f));
    ifg_writer_attr_ints(w, "shape", INTS(-1, 360));
    node(w, OP_LINEAR, "fc", IDS(f, fw, fb), IDS(l));
    node(w, OP_ACTIVATION, "sigmoid", IDS(l), IDS(y));
    ifg_writer_attr_int(w, "kind", ACT_SIGMOID);
    ifg_writer_graph(w, IDS(x), IDS(y));
    save(w, "fusion");
}

/* linear with a residual and a fused activation, attributes of every type, and metadata. */
static void attributes(void) {
    ifg_writer *w = begin();
    uint32_t x = act(w, "x", INFER_F32, DIMS(-1, 7)), fw = cst(w, "fw", INFER_F32, DIMS(5, 7));
    uint32_t r = act(w, "r", INFER_F32, DIMS(-1, 5)), y = act(w, "y", INFER_F32, DIMS(-1, 5));
    uint32_t z = act(w, "z", INFER_F32, DIMS(-1, 5));
    node(w, OP_LINEAR, "fc", IDS(x, fw, IFG_NONE, r), IDS(y));
    ifg_writer_attr_int(w, "act", ACT_SILU);
    ifg_writer_attr_string(w, "note", "a string");
    ifg_writer_attr_floats(w, "scales", (const double[]){ 0.5, -0.25 }, 2);
    ifg_writer_attr_ints(w, "empty", NULL, 0);
    node(w, OP_LAYERNORM, "ln", IDS(y), IDS(z));
    ifg_writer_attr_float(w, "eps", 1e-3);
    ifg_writer_graph(w, IDS(x, r), IDS(z));
    ifg_writer_meta(w, "user.labels", "a,b,c,d,e");
    save(w, "attributes");
}

/* ---- .npy ---------------------------------------------------------------------------------------- */

static void write_raw(const char *name, const void *bytes, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/npy/%s", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, n, f) != n || fclose(f)) die(path, NULL);
}

static void npy(const char *name, infer_dtype dtype, int ndim, const int64_t *dims) {
    uint8_t data[256] = { 0 };
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 37 % 2);
    infer_tensor t = { dtype, ndim, { 0 }, data };
    if (ndim) memcpy(t.dims, dims, (size_t)ndim * sizeof *dims);
    char path[4096];
    infer_error err;
    snprintf(path, sizeof path, "%s/npy/%s", out_dir, name);
    if (npy_save(path, &t, &err) != INFER_OK) die(path, &err);
}

/* A file of format version major with header text (padded as NumPy pads) and data bytes. */
static void npy_version(const char *name, int major, const char *header, size_t data_bytes) {
    uint8_t buf[512] = { 0x93, 'N', 'U', 'M', 'P', 'Y', (uint8_t)major, 0 };
    size_t prefix = major == 1 ? 10 : 12, len = strlen(header), total = (prefix + len + 1 + 63) / 64 * 64;
    size_t hlen = total - prefix;
    buf[8] = (uint8_t)hlen;
    buf[9] = (uint8_t)(hlen >> 8);
    memcpy(buf + prefix, header, len);
    memset(buf + prefix + len, ' ', hlen - len - 1);
    buf[total - 1] = '\n';
    write_raw(name, buf, total + data_bytes);
}

static void npy_seeds(void) {
    npy("f32.npy", INFER_F32, DIMS(2, 3));
    npy("f16.npy", INFER_F16, DIMS(2, 2));
    npy("i64.npy", INFER_I64, DIMS(4));
    npy("i32.npy", INFER_I32, DIMS(1, 1, 3));
    npy("u8.npy", INFER_U8, DIMS(3, 0));
    npy("i8.npy", INFER_I8, DIMS(2, 2, 2, 2));
    npy("bool.npy", INFER_BOOL, 0, NULL);
    npy_version("v2.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
    npy_version("v3.npy", 3, "{\"shape\": (3L, 1), \"descr\": \"|b1\", \"fortran_order\": False}", 3);
    npy_version("fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16);
    npy_version("big_endian.npy", 1, "{'descr': '>i4', 'fortran_order': False, 'shape': (1,), }", 4);
    npy_version("f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 8);
}

/* ---- command lines: arguments after "infer", separated by NUL bytes ------------------------------- */

static void cli(const char *name, const char *args, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/cli/%s", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(args, 1, n, f) != n || fclose(f)) die(path, NULL);
}
#define CLI(name, s) cli(name, s, sizeof s - 1)

static void cli_seeds(void) {
    CLI("run", "run\0m.ifg\0a.npy\0b.npy\0-o\0y.npy\0z.npy\0--device\0cpu\0--threads\0002\0--no-optimize");
    CLI("run_dir", "run\0m.ifg\0a.npy\0--out-dir\0out\0--precision\0fp16\0--no-graph\0--print");
    CLI("info", "info\0m.ifg\0--layers\0--batch\0004\0--device\0auto");
    CLI("bench", "bench\0m.ifg\0--batch\0001,8,32\0--warmup\00010\0--duration\0000.5\0--iterations\0003\0"
                 "--id-range\00050\0--json\0r.json\0--profile\0--device\0cuda\0--precision\0tf32");
    CLI("bench_inputs", "bench\0m.ifg\0--inputs\0a.npy\0b.npy\0--batch\0002");
    CLI("help", "run\0--help");
    CLI("version", "--version");
}

static void make_dir(const char *sub) {
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", out_dir, sub[0] ? "/" : "", sub);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) die(path, NULL);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    out_dir = argv[1];
    make_dir("");
    make_dir("model");
    make_dir("npy");
    make_dir("cli");
    vision();
    conv_variants();
    sequence();
    shapes();
    named_dims();
    elementwise();
    fusion();
    attributes();
    npy_seeds();
    cli_seeds();
    return 0;
}
