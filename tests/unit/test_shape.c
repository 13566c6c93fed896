/* test_shape.c — shape and dtype inference of every op, its error messages, and whole graphs at a batch. */
#include <criterion/criterion.h>
#include <stdio.h>
#include "testutil.h"
#include "graph_builder.h"

#define F32(...) ten(INFER_F32, DIMS(__VA_ARGS__))
#define TEN(dtype, ...) ten(dtype, DIMS(__VA_ARGS__))
#define ABSENT ((infer_tensor){ 0 })

static infer_tensor ten(infer_dtype dtype, int ndim, const int64_t *dims) { return tview(dtype, NULL, ndim, dims); }

typedef struct {
    infer_status status;
    infer_tensor out[IR_MAX_OUTPUTS];
    infer_error err;
} shape_result;

/* Shape inference of a one-node graph; an input with dtype 0 is absent. declared: output 0's declared
 * dtype, or 0 for none. */
static shape_result shape_of(op_code op, op_params p, int n_in, const infer_tensor *in, int n_out, infer_dtype declared) {
    shape_result r;
    memset(&r, 0, sizeof r);
    ir_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.name = "layer1";
    n.n_in = n_in;
    n.n_out = n_out;
    n.p = p;
    for (int k = 0; k < n_in; k++) n.in[k] = in[k].dtype ? k : IR_NONE;
    for (int k = 0; k < n_out; k++) n.out[k] = n_in + k;
    ir_graph g;
    memset(&g, 0, sizeof g);
    g.nodes = &n;
    g.n_nodes = 1;
    r.out[0].dtype = declared;
    r.status = ir_node_shape(&g, &n, in, r.out, &r.err);
    return r;
}
#define SHAPE(op, p, out_count, ...)                                                         \
    shape_of(op, p, (int)(sizeof((infer_tensor[]){ __VA_ARGS__ }) / sizeof(infer_tensor)), \
             (infer_tensor[]){ __VA_ARGS__ }, out_count, (infer_dtype)0)
/* One output declared as `declared`. */
#define SHAPE_AS(op, p, declared, ...)                                                       \
    shape_of(op, p, (int)(sizeof((infer_tensor[]){ __VA_ARGS__ }) / sizeof(infer_tensor)), \
             (infer_tensor[]){ __VA_ARGS__ }, 1, declared)

static void expect_dims(const shape_result *r, int k, infer_dtype dtype, int ndim, const int64_t *dims) {
    cr_assert_eq(r->status, INFER_OK, "unexpected failure: %s", r->err.message);
    const infer_tensor *t = &r->out[k];
    cr_assert_eq(t->dtype, dtype, "output %d dtype %s, expected %s", k, infer_dtype_name(t->dtype),
                 infer_dtype_name(dtype));
    cr_assert_eq(t->ndim, ndim, "output %d has %d dims, expected %d", k, t->ndim, ndim);
    for (int i = 0; i < ndim; i++)
        cr_assert_eq(t->dims[i], dims[i], "output %d dim %d is %lld, expected %lld", k, i, (long long)t->dims[i],
                     (long long)dims[i]);
}
#define EXPECT(r, ...) expect_dims(&(r), 0, INFER_F32, DIMS(__VA_ARGS__))
#define EXPECT_TYPED(r, k, dtype, ...) expect_dims(&(r), k, dtype, DIMS(__VA_ARGS__))

static void expect_error(const shape_result *r, infer_status status, const char *fragment) {
    cr_assert_eq(r->status, status, "status %s, expected %s (%s)", infer_status_name(r->status),
                 infer_status_name(status), r->err.message);
    cr_assert(strstr(r->err.message, fragment), "message '%s' lacks '%s'", r->err.message, fragment);
}

static op_params conv(int stride, int pad, int dil, int groups) {
    op_params p = { .conv2d = { { stride, stride }, { pad, pad }, { dil, dil }, groups, { ACT_NONE, 0, 0 } } };
    return p;
}

static op_params pool(int k, int s, int pad, int dil, int ceil_mode) {
    op_params p = { .pool2d = { { k, k }, { s, s }, { pad, pad }, { dil, dil }, ceil_mode, 1 } };
    return p;
}

Test(shape, conv2d) {
    shape_result r = SHAPE(OP_CONV2D, conv(2, 1, 1, 1), 1, F32(2, 3, 32, 32), F32(8, 3, 3, 3), F32(8));
    EXPECT(r, 2, 8, 16, 16);
    r = SHAPE(OP_CONV2D, conv(1, 0, 2, 1), 1, F32(2, 3, 32, 32), F32(8, 3, 3, 3));
    EXPECT(r, 2, 8, 28, 28);
    r = SHAPE(OP_CONV2D, conv(1, 0, 1, 2), 1, F32(1, 4, 10, 10), F32(6, 2, 3, 3), ABSENT, F32(1, 6, 8, 8));
    EXPECT(r, 1, 6, 8, 8);
    op_params rect = conv(1, 0, 1, 1);
    rect.conv2d.stride[1] = 3;
    rect.conv2d.padding[0] = 2;
    r = SHAPE(OP_CONV2D, rect, 1, F32(1, 1, 7, 9), F32(1, 1, 5, 3));
    EXPECT(r, 1, 1, 7, 3);
}

Test(shape, conv2d_errors) {
    shape_result r = SHAPE(OP_CONV2D, conv(1, 1, 1, 1), 1, F32(1, 64, 8, 8), F32(16, 32, 3, 3));
    expect_error(&r, INFER_ERR_SHAPE, "node 0 'layer1' (conv2d): input has 64 channels, weight expects 32");
    r = SHAPE(OP_CONV2D, conv(1, 1, 1, 2), 1, F32(1, 4, 8, 8), F32(5, 2, 3, 3));
    expect_error(&r, INFER_ERR_SHAPE, "not divisible by 2 groups");
    r = SHAPE(OP_CONV2D, conv(1, 1, 1, 1), 1, F32(1, 3, 8, 8), F32(8, 3, 3, 3), F32(7));
    expect_error(&r, INFER_ERR_SHAPE, "bias [7], expected [8]");
    r = SHAPE(OP_CONV2D, conv(1, 1, 1, 1), 1, F32(1, 3, 8, 8), F32(8, 3, 3, 3), ABSENT, F32(1, 8, 7, 8));
    expect_error(&r, INFER_ERR_SHAPE, "residual [1,8,7,8] differs from the output [1,8,8,8]");
    r = SHAPE(OP_CONV2D, conv(1, 0, 1, 1), 1, F32(1, 3, 2, 2), F32(8, 3, 5, 5));
    expect_error(&r, INFER_ERR_SHAPE, "too small");
    r = SHAPE(OP_CONV2D, conv(1, 0, 1, 1), 1, F32(3, 2, 2), F32(8, 3, 1, 1));
    expect_error(&r, INFER_ERR_SHAPE, "must be 4-D");
}

Test(shape, linear_and_matmul) {
    op_params none = { 0 };
    shape_result r = SHAPE(OP_LINEAR, none, 1, F32(4, 7, 16), F32(32, 16), F32(32), F32(4, 7, 32));
    EXPECT(r, 4, 7, 32);
    r = SHAPE(OP_LINEAR, none, 1, F32(4, 15), F32(32, 16));
    expect_error(&r, INFER_ERR_SHAPE, "input [4,15] has 15 features, weight [32,16] expects 16");
    r = SHAPE(OP_LINEAR, none, 1, F32(4, 16), F32(32, 16), F32(16));
    expect_error(&r, INFER_ERR_SHAPE, "bias [16], expected [32]");

    r = SHAPE(OP_MATMUL, none, 1, F32(2, 1, 3, 4), F32(5, 4, 6));
    EXPECT(r, 2, 5, 3, 6);
    r = SHAPE(OP_MATMUL, none, 1, F32(3, 4), F32(4, 5));
    EXPECT(r, 3, 5);
    r = SHAPE(OP_MATMUL, none, 1, F32(3, 4), F32(5, 4));
    expect_error(&r, INFER_ERR_SHAPE, "inner dimensions differ: [3,4] @ [5,4]");
    r = SHAPE(OP_MATMUL, none, 1, F32(2, 3, 4), F32(3, 4, 5));
    expect_error(&r, INFER_ERR_SHAPE, "batch dimensions");
    r = SHAPE(OP_MATMUL, none, 1, F32(4), F32(4, 5));
    expect_error(&r, INFER_ERR_SHAPE, "at least 2-D");
}

Test(shape, normalization) {
    op_params bn = { .batchnorm = { 1e-5f } };
    shape_result r = SHAPE(OP_BATCHNORM, bn, 1, F32(2, 4, 5, 5), F32(4), F32(4), F32(4), F32(4));
    EXPECT(r, 2, 4, 5, 5);
    r = SHAPE(OP_BATCHNORM, bn, 1, F32(2, 4, 5, 5), F32(4), F32(4), F32(4), F32(3));
    expect_error(&r, INFER_ERR_SHAPE, "var [3], expected [4]");

    op_params ln = { .layernorm = { 1, 1e-5f } };
    r = SHAPE(OP_LAYERNORM, ln, 1, F32(2, 5, 8), F32(8), F32(8));
    EXPECT(r, 2, 5, 8);
    ln.layernorm.axes = 2;
    r = SHAPE(OP_LAYERNORM, ln, 1, F32(2, 5, 8), F32(5, 8), ABSENT);
    EXPECT(r, 2, 5, 8);
    r = SHAPE(OP_LAYERNORM, ln, 1, F32(2, 5, 8), F32(8));
    expect_error(&r, INFER_ERR_SHAPE, "weight [8], expected [5,8]");
    ln.layernorm.axes = 4;
    r = SHAPE(OP_LAYERNORM, ln, 1, F32(2, 5, 8));
    expect_error(&r, INFER_ERR_SHAPE, "normalizes 4 trailing dims");
}

Test(shape, elementwise) {
    op_params act = { .activation = { ACT_RELU, 0, 0 } };
    shape_result r = SHAPE(OP_ACTIVATION, act, 1, F32(3, 5));
    EXPECT(r, 3, 5);
    op_params none = { 0 };
    r = SHAPE(OP_UNARY, none, 1, F32(7));
    EXPECT(r, 7);
    r = SHAPE(OP_UNARY, none, 1, F32((int64_t)1 << 40, (int64_t)1 << 40));
    expect_error(&r, INFER_ERR_SHAPE, "input 0 has shape [1099511627776,1099511627776]");
    r = SHAPE(OP_IDENTITY, none, 1, TEN(INFER_I64, 2, 2));
    EXPECT_TYPED(r, 0, INFER_I64, 2, 2);
    r = SHAPE(OP_CAST, ((op_params){ .cast = { INFER_F16 } }), 1, F32(2, 3));
    EXPECT_TYPED(r, 0, INFER_F16, 2, 3);

    op_params add = { .binary = { BIN_ADD, 0, 0 } };
    r = SHAPE(OP_BINARY, add, 1, F32(2, 1, 4), F32(3, 1));
    EXPECT(r, 2, 3, 4);
    r = SHAPE(OP_BINARY, add, 1, F32(5, 6), ABSENT);
    EXPECT(r, 5, 6);
    r = SHAPE(OP_BINARY, add, 1, F32(2, 3), F32(4));
    expect_error(&r, INFER_ERR_SHAPE, "shapes [2,3] and [4] do not broadcast");

    r = SHAPE(OP_COMPARE, none, 1, F32(3, 1), F32(4));
    EXPECT_TYPED(r, 0, INFER_BOOL, 3, 4);
    r = SHAPE(OP_COMPARE, none, 1, F32(3, 2), ABSENT);
    EXPECT_TYPED(r, 0, INFER_BOOL, 3, 2);

    r = SHAPE(OP_WHERE, none, 1, TEN(INFER_BOOL, 3, 1), F32(1, 4), F32(1));
    EXPECT(r, 3, 4);
    r = SHAPE(OP_WHERE, none, 1, F32(3, 1), F32(1, 4), F32(1));
    expect_error(&r, INFER_ERR_FORMAT, "condition is f32, expected bool");
    r = SHAPE(OP_WHERE, none, 1, TEN(INFER_BOOL, 3, 2), F32(1, 4), F32(1));
    expect_error(&r, INFER_ERR_SHAPE, "do not broadcast");

    op_params fill = { .masked_fill = { -1e9f } };
    r = SHAPE(OP_MASKED_FILL, fill, 1, F32(2, 3, 4), TEN(INFER_BOOL, 3, 4));
    EXPECT(r, 2, 3, 4);
    r = SHAPE(OP_MASKED_FILL, fill, 1, F32(2, 3, 4), TEN(INFER_BOOL, 2, 1, 1, 4));
    expect_error(&r, INFER_ERR_SHAPE, "mask [2,1,1,4] does not broadcast to input [2,3,4]");
    r = SHAPE(OP_MASKED_FILL, fill, 1, F32(2, 3, 4), F32(3, 4));
    expect_error(&r, INFER_ERR_FORMAT, "mask is f32");
}

Test(shape, softmax_and_reduce) {
    shape_result r = SHAPE(OP_SOFTMAX, ((op_params){ .softmax = { -1, 0 } }), 1, F32(2, 9));
    EXPECT(r, 2, 9);
    r = SHAPE(OP_SOFTMAX, ((op_params){ .softmax = { 3, 0 } }), 1, F32(2, 9, 4));
    expect_error(&r, INFER_ERR_SHAPE, "axis 3 is out of range for input [2,9,4]");

    op_params red = { .reduce = { RED_MEAN, 2, { 1, -1 }, 0 } };
    r = SHAPE(OP_REDUCE, red, 1, F32(2, 3, 4));
    EXPECT(r, 2);
    red.reduce.keepdim = 1;
    r = SHAPE(OP_REDUCE, red, 1, F32(2, 3, 4));
    EXPECT(r, 2, 1, 1);
    red.reduce.axes[1] = -2;
    r = SHAPE(OP_REDUCE, red, 1, F32(2, 3, 4));
    expect_error(&r, INFER_ERR_SHAPE, "listed twice");
    red.reduce.axes[1] = 3;
    r = SHAPE(OP_REDUCE, red, 1, F32(2, 3, 4));
    expect_error(&r, INFER_ERR_SHAPE, "axis 3 is out of range");
}

Test(shape, pools) {
    shape_result r = SHAPE(OP_MAXPOOL2D, pool(3, 2, 1, 1, 0), 1, F32(2, 64, 112, 112));
    EXPECT(r, 2, 64, 56, 56);
    r = SHAPE(OP_MAXPOOL2D, pool(2, 2, 0, 1, 0), 1, F32(1, 1, 5, 5));
    EXPECT(r, 1, 1, 2, 2);
    r = SHAPE(OP_MAXPOOL2D, pool(2, 2, 0, 1, 1), 1, F32(1, 1, 5, 5));
    EXPECT(r, 1, 1, 3, 3);
    r = SHAPE(OP_MAXPOOL2D, pool(3, 2, 0, 1, 1), 1, F32(1, 1, 6, 6));
    EXPECT(r, 1, 1, 3, 3);
    /* ceil_mode: a last window starting in the right padding is dropped (4 by the formula, 3 in PyTorch). */
    r = SHAPE(OP_MAXPOOL2D, pool(2, 2, 1, 1, 1), 1, F32(1, 1, 5, 5));
    EXPECT(r, 1, 1, 3, 3);
    r = SHAPE(OP_MAXPOOL2D, pool(3, 1, 0, 2, 0), 1, F32(1, 1, 10, 10));
    EXPECT(r, 1, 1, 6, 6);
    r = SHAPE(OP_AVGPOOL2D, pool(3, 3, 1, 1, 1), 1, F32(1, 2, 8, 7));
    EXPECT(r, 1, 2, 3, 3);
    r = SHAPE(OP_MAXPOOL2D, pool(3, 1, 0, 1, 0), 1, F32(1, 1, 2, 2));
    expect_error(&r, INFER_ERR_SHAPE, "too small for kernel 3x3");
    r = SHAPE(OP_AVGPOOL2D, pool(2, 2, 0, 1, 0), 1, F32(1, 5, 5));
    expect_error(&r, INFER_ERR_SHAPE, "must be 4-D");
    r = SHAPE(OP_ADAPTIVE_AVGPOOL2D, ((op_params){ .adaptive_pool = { { 1, 2 } } }), 1, F32(2, 3, 7, 7));
    EXPECT(r, 2, 3, 1, 2);
}

Test(shape, reshape_transpose_expand) {
    op_params p = { .shape = { 2, { -1, 12 } } };
    shape_result r = SHAPE(OP_RESHAPE, p, 1, TEN(INFER_I64, 2, 3, 4));
    EXPECT_TYPED(r, 0, INFER_I64, 2, 12);
    p = (op_params){ .shape = { 3, { 4, 1, 6 } } };
    r = SHAPE(OP_RESHAPE, p, 1, F32(2, 3, 4));
    EXPECT(r, 4, 1, 6);
    p = (op_params){ .shape = { 2, { 5, 5 } } };
    r = SHAPE(OP_RESHAPE, p, 1, F32(2, 3, 4));
    expect_error(&r, INFER_ERR_SHAPE, "cannot reshape [2,3,4] (24 elements) to [5,5]");
    p = (op_params){ .shape = { 2, { -1, 5 } } };
    r = SHAPE(OP_RESHAPE, p, 1, F32(2, 3, 4));
    expect_error(&r, INFER_ERR_SHAPE, "cannot reshape");
    p = (op_params){ .shape = { 2, { -1, 0 } } };
    r = SHAPE(OP_RESHAPE, p, 1, F32(2, 0));
    expect_error(&r, INFER_ERR_SHAPE, "cannot reshape");

    op_params t = { .transpose = { 3, { 2, 0, 1 } } };
    r = SHAPE(OP_TRANSPOSE, t, 1, F32(2, 3, 4));
    EXPECT(r, 4, 2, 3);
    r = SHAPE(OP_TRANSPOSE, t, 1, F32(2, 3));
    expect_error(&r, INFER_ERR_SHAPE, "perm has 3 entries for input [2,3]");

    op_params e = { .shape = { 3, { 2, -1, 4 } } };
    r = SHAPE(OP_EXPAND, e, 1, F32(3, 1));
    EXPECT(r, 2, 3, 4);
    e = (op_params){ .shape = { 2, { 3, 4 } } };
    r = SHAPE(OP_EXPAND, e, 1, F32(3, 2));
    expect_error(&r, INFER_ERR_SHAPE, "cannot expand input [3,2] to [3,4]");
    e = (op_params){ .shape = { 3, { -1, 3, 1 } } };
    r = SHAPE(OP_EXPAND, e, 1, F32(3, 1));
    expect_error(&r, INFER_ERR_SHAPE, "lacks");
    e = (op_params){ .shape = { 2, { (int64_t)1 << 40, (int64_t)1 << 40 } } };
    r = SHAPE(OP_EXPAND, e, 1, F32(1, 1));
    expect_error(&r, INFER_ERR_SHAPE, "too large");
}

Test(shape, concat_and_slice) {
    op_params c = { .concat = { -1 } };
    shape_result r = SHAPE(OP_CONCAT, c, 1, F32(2, 3), F32(2, 5), F32(2, 1));
    EXPECT(r, 2, 9);
    r = SHAPE(OP_CONCAT, c, 1, F32(2, 3), F32(3, 5));
    expect_error(&r, INFER_ERR_SHAPE, "input 1 [3,5] does not match input 0 [2,3] outside axis 1");
    r = SHAPE(OP_CONCAT, c, 1, F32(2, 3), TEN(INFER_I64, 2, 3));
    expect_error(&r, INFER_ERR_FORMAT, "input 1 is i64");
    c.concat.axis = 2;
    r = SHAPE(OP_CONCAT, c, 1, F32(2, 3), F32(2, 3));
    expect_error(&r, INFER_ERR_SHAPE, "axis 2 is out of range");

    struct { int64_t start, end, step, len; } cases[] = {
        { 2, 8, 3, 2 }, { -3, INT64_MAX, 1, 3 }, { 8, 2, 1, 0 }, { -100, 100, 1, 10 },
        { 0, 10, 2, 5 }, { 1, -1, 4, 2 }, { INT64_MIN, -9, 1, 1 }, { 10, 20, 1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        op_params s = { .slice = { -2, cases[i].start, cases[i].end, cases[i].step } };
        r = SHAPE(OP_SLICE, s, 1, F32(10, 3));
        cr_assert_eq(r.status, INFER_OK, "%s", r.err.message);
        cr_assert_eq(r.out[0].dims[0], cases[i].len, "slice %lld:%lld:%lld of 10 has %lld, expected %lld",
                     (long long)cases[i].start, (long long)cases[i].end, (long long)cases[i].step,
                     (long long)r.out[0].dims[0], (long long)cases[i].len);
        cr_assert_eq(r.out[0].dims[1], 3);
    }
    op_params s = { .slice = { 2, 0, 1, 1 } };
    r = SHAPE(OP_SLICE, s, 1, F32(10, 3));
    expect_error(&r, INFER_ERR_SHAPE, "axis 2 is out of range");
}

Test(shape, embedding) {
    op_params none = { 0 };
    shape_result r = SHAPE(OP_EMBEDDING, none, 1, TEN(INFER_I64, 2, 5), F32(100, 16));
    EXPECT(r, 2, 5, 16);
    r = SHAPE(OP_EMBEDDING, none, 1, TEN(INFER_I32, 7), TEN(INFER_F16, 100, 4));
    EXPECT_TYPED(r, 0, INFER_F16, 7, 4);
    r = SHAPE(OP_EMBEDDING, none, 1, F32(2, 5), F32(100, 16));
    expect_error(&r, INFER_ERR_FORMAT, "ids are f32, expected i64 or i32");
    r = SHAPE(OP_EMBEDDING, none, 1, TEN(INFER_I64, 2, 5), F32(100));
    expect_error(&r, INFER_ERR_SHAPE, "weight [100] must be 2-D");
}

Test(shape, attention) {
    op_params a = { .attention = { 4, 0, 0 } };
    shape_result r = SHAPE(OP_ATTENTION, a, 1, F32(2, 5, 16), F32(2, 7, 16), F32(2, 7, 16));
    EXPECT(r, 2, 5, 16);
    r = SHAPE(OP_ATTENTION, a, 1, F32(2, 5, 16), F32(2, 7, 16), F32(2, 7, 16), TEN(INFER_BOOL, 5, 7));
    EXPECT(r, 2, 5, 16);
    r = SHAPE(OP_ATTENTION, a, 1, F32(2, 5, 16), F32(2, 7, 16), F32(2, 7, 16), F32(7, 5));
    expect_error(&r, INFER_ERR_SHAPE, "mask [7,5], expected [5,7]");
    r = SHAPE(OP_ATTENTION, a, 1, F32(2, 5, 16), F32(3, 7, 16), F32(3, 7, 16));
    expect_error(&r, INFER_ERR_SHAPE, "do not fit");
    a.attention.heads = 3;
    r = SHAPE(OP_ATTENTION, a, 1, F32(2, 5, 16), F32(2, 7, 16), F32(2, 7, 16));
    expect_error(&r, INFER_ERR_SHAPE, "embedding size 16 is not divisible by 3 heads");
}

Test(shape, lstm) {
    op_params p = { .lstm = { 16, 2, 1 } };
    shape_result r = SHAPE(OP_LSTM, p, 3, F32(4, 10, 8), ABSENT, ABSENT, F32(64, 8), F32(64, 16), F32(64), F32(64),
                           F32(64, 16), F32(64, 16), ABSENT, ABSENT);
    EXPECT(r, 4, 10, 16);
    EXPECT_TYPED(r, 1, INFER_F32, 2, 4, 16);
    EXPECT_TYPED(r, 2, INFER_F32, 2, 4, 16);
    p.lstm.batch_first = 0;
    r = SHAPE(OP_LSTM, p, 3, F32(10, 4, 8), F32(2, 4, 16), F32(2, 4, 16), F32(64, 8), F32(64, 16), F32(64),
              F32(64), F32(64, 16), F32(64, 16), F32(64), F32(64));
    EXPECT(r, 10, 4, 16);
    EXPECT_TYPED(r, 2, INFER_F32, 2, 4, 16);
    r = SHAPE(OP_LSTM, p, 3, F32(10, 4, 8), ABSENT, ABSENT, F32(64, 8), F32(64, 16), ABSENT, ABSENT, F32(64, 8),
              F32(64, 16), ABSENT, ABSENT);
    expect_error(&r, INFER_ERR_SHAPE, "layer 1 w_ih [64,8], expected [64,16]");
    r = SHAPE(OP_LSTM, p, 3, F32(10, 4, 8), F32(2, 5, 16), ABSENT, F32(64, 8), F32(64, 16), ABSENT, ABSENT,
              F32(64, 16), F32(64, 16), ABSENT, ABSENT);
    expect_error(&r, INFER_ERR_SHAPE, "h0 [2,5,16], expected [2,4,16]");
    r = SHAPE(OP_LSTM, p, 3, F32(10, 4, 8), ABSENT, ABSENT, F32(64, 8), F32(64, 16), ABSENT, ABSENT);
    expect_error(&r, INFER_ERR_SHAPE, "7 inputs for 2 layers, expected 11");
}

/* x [-1,3,8,8] -> conv 3x3 pad 1 -> relu -> maxpool 2 -> reshape [-1,64] -> linear 10, plus a static input. */
static void small_net(ir_graph *g, float *w1, float *w2) {
    memset(g, 0, sizeof *g);
    int x = gb_input(g, gb_act(g, "x", DIMS(-1, 3, 8, 8)));
    int k = gb_const(g, "conv.weight", DIMS(4, 3, 3, 3), w1);
    int c = gb_act(g, "conv", DIMS(-1, 4, 8, 8)), a = gb_act(g, "relu", DIMS(-1, 4, 8, 8));
    int pl = gb_act(g, "pool", DIMS(-1, 4, 4, 4)), flat = gb_act(g, "flat", DIMS(-1, 64));
    int fw = gb_const(g, "fc.weight", DIMS(10, 64), w2), y = gb_output(g, gb_act(g, "fc", DIMS(-1, 10)));
    int s = gb_input(g, gb_act(g, "static", DIMS(2, 4)));
    int s2 = gb_output(g, gb_act(g, "static_out", DIMS(2, 4)));
    gb_node(g, OP_CONV2D, "conv", 2, (const int[]){ x, k }, 1, &c)->p = conv(1, 1, 1, 1);
    gb_unary(g, OP_ACTIVATION, "relu", c, a)->p.activation.kind = ACT_RELU;
    gb_unary(g, OP_MAXPOOL2D, "pool", a, pl)->p = pool(2, 2, 0, 1, 0);
    gb_unary(g, OP_RESHAPE, "flat", pl, flat)->p = (op_params){ .shape = { 2, { -1, 64 } } };
    gb_node(g, OP_LINEAR, "fc", 3, (const int[]){ flat, fw, IR_NONE }, 1, &y);
    gb_unary(g, OP_UNARY, "neg", s, s2);
}

Test(shape, graph_at_batch) {
    static float w1[4 * 3 * 9], w2[640];
    ir_graph g;
    small_net(&g, w1, w2);
    int64_t dims[16 * INFER_MAX_DIMS];
    int ndims[16];
    infer_error err;
    for (int64_t batch = 1; batch <= 5; batch += 4) {
        cr_assert_eq(ir_infer_shapes(&g, batch, dims, ndims, &err), INFER_OK, "%s", err.message);
        int fc = g.outputs[0], st = g.outputs[1];
        cr_assert_eq(ndims[fc], 2);
        cr_assert_eq(dims[fc * INFER_MAX_DIMS + 0], batch);
        cr_assert_eq(dims[fc * INFER_MAX_DIMS + 1], 10);
        cr_assert_eq(dims[st * INFER_MAX_DIMS + 0], 2, "a static dim 0 stays");
        cr_assert_eq(dims[2 * INFER_MAX_DIMS + 2], 8, "conv output height");
        cr_assert_eq(dims[1 * INFER_MAX_DIMS + 0], 4, "constants keep their shape");
    }
    cr_assert_eq(ir_infer_shapes(&g, 0, dims, ndims, &err), INFER_ERR_ARGUMENT);

    g.nodes[3].p.shape.shape[1] = 65; /* [N,4,4,4] does not reshape to [-1,65] */
    cr_assert_eq(ir_infer_shapes(&g, 3, dims, ndims, &err), INFER_ERR_SHAPE);
    cr_assert(strstr(err.message, "node 3 'flat' (reshape): cannot reshape [3,4,4,4]"), "%s", err.message);
    g.nodes[3].p.shape.shape[1] = 64;
    g.nodes[2].p.pool2d.kernel[0] = 3; /* pool 3x2 stride 2: [N,4,3,4], not the [-1,4,4,4] declared */
    cr_assert_eq(ir_infer_shapes(&g, 3, dims, ndims, &err), INFER_ERR_FORMAT);
    cr_assert(strstr(err.message, "tensor 'pool' (output 0 of node 2 'pool' (maxpool2d)) is declared [-1,4,4,4], "
                                  "inferred [3,4,3,4] at batch 3"), "%s", err.message);
    ir_free(&g);
}

/* ---- dtypes: what each op takes and gives, and declared dtypes checked against it ------------------- */

#define I64(...) TEN(INFER_I64, __VA_ARGS__)
#define F16(...) TEN(INFER_F16, __VA_ARGS__)

Test(shape, fixed_dtype_ops_take_f32) {
    op_params none = { 0 };
    shape_result r = SHAPE(OP_CONV2D, conv(1, 0, 1, 1), 1, F32(1, 3, 4, 4), F16(2, 3, 1, 1));
    expect_error(&r, INFER_ERR_FORMAT, "node 0 'layer1' (conv2d): weight (input 1) is f16, expected f32");
    r = SHAPE(OP_CONV2D, conv(1, 0, 1, 1), 1, F32(1, 3, 4, 4), F32(2, 3, 1, 1), I64(2));
    expect_error(&r, INFER_ERR_FORMAT, "bias (input 2) is i64");
    r = SHAPE(OP_LINEAR, none, 1, I64(2, 4), F32(3, 4));
    expect_error(&r, INFER_ERR_FORMAT, "(linear): input (input 0) is i64, expected f32");
    r = SHAPE(OP_LINEAR, none, 1, F32(2, 4), F32(3, 4), ABSENT, F16(2, 3));
    expect_error(&r, INFER_ERR_FORMAT, "residual (input 3) is f16");
    r = SHAPE(OP_MATMUL, none, 1, F32(2, 4), TEN(INFER_BF16, 4, 2));
    expect_error(&r, INFER_ERR_FORMAT, "b (input 1) is bf16");
    op_params bn = { .batchnorm = { 1e-5f } };
    r = SHAPE(OP_BATCHNORM, bn, 1, F32(2, 4), F32(4), F32(4), F32(4), F16(4));
    expect_error(&r, INFER_ERR_FORMAT, "var (input 4) is f16");
    r = SHAPE(OP_LAYERNORM, ((op_params){ .layernorm = { 1, 1e-5f } }), 1, F32(2, 8), F32(8), F16(8));
    expect_error(&r, INFER_ERR_FORMAT, "bias (input 2) is f16");
    r = SHAPE(OP_SOFTMAX, ((op_params){ .softmax = { -1, 0 } }), 1, TEN(INFER_BOOL, 2, 9));
    expect_error(&r, INFER_ERR_FORMAT, "input (input 0) is bool");
    r = SHAPE(OP_MAXPOOL2D, pool(2, 2, 0, 1, 0), 1, TEN(INFER_I32, 1, 1, 4, 4));
    expect_error(&r, INFER_ERR_FORMAT, "is i32, expected f32");
    r = SHAPE(OP_ADAPTIVE_AVGPOOL2D, ((op_params){ .adaptive_pool = { { 1, 1 } } }), 1, F16(1, 1, 4, 4));
    expect_error(&r, INFER_ERR_FORMAT, "is f16, expected f32");
    r = SHAPE(OP_ACTIVATION, ((op_params){ .activation = { ACT_RELU, 0, 0 } }), 1, I64(3));
    expect_error(&r, INFER_ERR_FORMAT, "(activation): input (input 0) is i64");
    op_params a = { .attention = { 2, 0, 0 } };
    r = SHAPE(OP_ATTENTION, a, 1, F32(1, 3, 4), F16(1, 3, 4), F32(1, 3, 4));
    expect_error(&r, INFER_ERR_FORMAT, "k (input 1) is f16");
    r = SHAPE(OP_ATTENTION, a, 1, F32(1, 3, 4), F32(1, 3, 4), F32(1, 3, 4), I64(3, 3));
    expect_error(&r, INFER_ERR_FORMAT, "mask is i64, expected f32 or bool");
    /* The reviewer's lstm_f16b.ifg: w_hh stored as f16 was read as f32, past the end of the file. */
    op_params l = { .lstm = { 8, 1, 1 } };
    r = SHAPE(OP_LSTM, l, 3, F32(1, 5, 4), ABSENT, ABSENT, F32(32, 4), F16(32, 8), ABSENT, ABSENT);
    expect_error(&r, INFER_ERR_FORMAT, "(lstm): layer 0 w_hh (input 4) is f16, expected f32");
    r = SHAPE(OP_LSTM, l, 3, F32(1, 5, 4), TEN(INFER_I32, 1, 1, 8), ABSENT, F32(32, 4), F32(32, 8), ABSENT, ABSENT);
    expect_error(&r, INFER_ERR_FORMAT, "h0 (input 1) is i32");
    r = SHAPE(OP_LSTM, l, 3, F32(1, 5, 4), ABSENT, ABSENT, F32(32, 4), F32(32, 8), ABSENT, F16(32));
    expect_error(&r, INFER_ERR_FORMAT, "layer 0 b_hh (input 6) is f16");
}

Test(shape, declared_output_dtypes) {
    op_params none = { 0 };
    /* The reviewer's linear_u8out.ifg: a u8 output got a quarter of the bytes the kernel writes. */
    shape_result r = SHAPE_AS(OP_LINEAR, none, INFER_U8, F32(1, 64), F32(4096, 64));
    expect_error(&r, INFER_ERR_FORMAT, "node 0 'layer1' (linear): output 0 '' is declared u8, expected f32");
    r = SHAPE_AS(OP_LINEAR, none, INFER_F32, F32(1, 64), F32(8, 64));
    EXPECT(r, 1, 8);
    r = SHAPE_AS(OP_SOFTMAX, ((op_params){ .softmax = { -1, 0 } }), INFER_BOOL, F32(1, 64));
    expect_error(&r, INFER_ERR_FORMAT, "declared bool, expected f32");
    r = SHAPE_AS(OP_COMPARE, none, INFER_F32, F32(3), F32(3));
    expect_error(&r, INFER_ERR_FORMAT, "declared f32, expected bool");
    r = SHAPE_AS(OP_CAST, ((op_params){ .cast = { INFER_I32 } }), INFER_I64, F32(3));
    expect_error(&r, INFER_ERR_FORMAT, "declared i64, expected i32");
    r = SHAPE_AS(OP_EMBEDDING, none, INFER_F32, I64(2), F16(10, 4));
    expect_error(&r, INFER_ERR_FORMAT, "declared f32, expected f16");
    r = SHAPE_AS(OP_RESHAPE, ((op_params){ .shape = { 1, { 6 } } }), INFER_F32, I64(2, 3));
    expect_error(&r, INFER_ERR_FORMAT, "(reshape): output 0 '' is declared f32, expected i64");
    r = SHAPE_AS(OP_TRANSPOSE, ((op_params){ .transpose = { 2, { 1, 0 } } }), INFER_I32, I64(2, 3));
    expect_error(&r, INFER_ERR_FORMAT, "declared i32, expected i64");
    r = SHAPE_AS(OP_CONCAT, ((op_params){ .concat = { 0 } }), INFER_F32, I64(2), I64(3));
    expect_error(&r, INFER_ERR_FORMAT, "declared f32, expected i64");
    r = SHAPE_AS(OP_WHERE, none, INFER_F32, TEN(INFER_BOOL, 3), I64(3), I64(3));
    expect_error(&r, INFER_ERR_FORMAT, "declared f32, expected i64");
    r = SHAPE_AS(OP_MASKED_FILL, ((op_params){ .masked_fill = { 0 } }), INFER_I64, F16(3), TEN(INFER_BOOL, 3));
    expect_error(&r, INFER_ERR_FORMAT, "input 0 is f16, expected f32, i64, i32, i8, u8 or bool");
    r = SHAPE_AS(OP_EXPAND, ((op_params){ .shape = { 2, { 2, 3 } } }), INFER_F16, F16(1, 3));
    EXPECT_TYPED(r, 0, INFER_F16, 2, 3);
}

/* binary: PyTorch's promotion among the dtypes kernels/cpu/binary.c computes with. */
Test(shape, binary_dtypes) {
    struct {
        infer_dtype a, b; /* b 0: the scalar */
        binary_kind kind;
        infer_dtype declared, expect; /* expect 0: refused */
    } cases[] = {
        { INFER_I64, INFER_I64, BIN_ADD, 0, INFER_I64 },   { INFER_I32, INFER_I64, BIN_MUL, 0, INFER_I64 },
        { INFER_U8, INFER_I32, BIN_SUB, 0, INFER_I32 },    { INFER_BOOL, INFER_F32, BIN_ADD, 0, INFER_F32 },
        { INFER_BOOL, INFER_BOOL, BIN_ADD, 0, INFER_BOOL }, { INFER_I8, INFER_BOOL, BIN_MAX, 0, INFER_I8 },
        { INFER_I64, INFER_F32, BIN_POW, 0, INFER_F32 },   { INFER_I64, INFER_I64, BIN_DIV, 0, INFER_F32 },
        { INFER_U8, INFER_I8, BIN_ADD, 0, 0 },             { INFER_F16, INFER_F16, BIN_ADD, 0, 0 },
        { INFER_I64, INFER_I64, BIN_ADD, INFER_F32, 0 },   { INFER_I64, INFER_I64, BIN_DIV, INFER_I64, 0 },
        /* with the scalar: the tensor's dtype; f32 for an integer tensor and a float scalar; i64 for bool
         * and an integer scalar */
        { INFER_I64, 0, BIN_ADD, INFER_I64, INFER_I64 },   { INFER_I64, 0, BIN_MUL, INFER_F32, INFER_F32 },
        { INFER_BOOL, 0, BIN_ADD, INFER_I64, INFER_I64 },  { INFER_BOOL, 0, BIN_ADD, INFER_BOOL, INFER_BOOL },
        { INFER_F32, 0, BIN_ADD, INFER_F32, INFER_F32 },   { INFER_F32, 0, BIN_ADD, INFER_I64, 0 },
        { INFER_I32, 0, BIN_ADD, INFER_I64, 0 },           { INFER_I64, 0, BIN_DIV, INFER_F32, INFER_F32 },
        { INFER_I64, 0, BIN_DIV, INFER_I64, 0 },           { INFER_I64, 0, BIN_POW, 0, INFER_I64 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        op_params p = { .binary = { cases[i].kind, 2.0f, 0 } };
        infer_tensor in[2] = { ten(cases[i].a, DIMS(2, 3)), ten(cases[i].b, DIMS(3)) };
        shape_result r = shape_of(OP_BINARY, p, cases[i].b ? 2 : 1, in, 1, cases[i].declared);
        if (cases[i].expect) {
            cr_assert_eq(r.status, INFER_OK, "case %zu: %s", i, r.err.message);
            cr_assert_eq(r.out[0].dtype, cases[i].expect, "case %zu: %s, expected %s", i,
                         infer_dtype_name(r.out[0].dtype), infer_dtype_name(cases[i].expect));
        } else {
            cr_assert_eq(r.status, INFER_ERR_FORMAT, "case %zu: %s (%s)", i, infer_status_name(r.status),
                         r.err.message);
        }
    }
    shape_result r = SHAPE(OP_BINARY, ((op_params){ .binary = { BIN_ADD, 0, 0 } }), 1, TEN(INFER_U8, 2), TEN(INFER_I8, 2));
    expect_error(&r, INFER_ERR_FORMAT, "inputs u8 and i8 promote to i16");
    r = SHAPE_AS(OP_BINARY, ((op_params){ .binary = { BIN_ADD, 0, 0 } }), INFER_F32, I64(2), I64(2));
    expect_error(&r, INFER_ERR_FORMAT, "(binary): output 0 '' is declared f32, expected i64");
}

Test(shape, unary_compare_reduce_dtypes) {
    op_params neg = { .unary = { UN_NEG } }, ex = { .unary = { UN_EXP } };
    shape_result r = SHAPE(OP_UNARY, neg, 1, I64(3));
    EXPECT_TYPED(r, 0, INFER_I64, 3);
    r = SHAPE(OP_UNARY, ex, 1, I64(3));
    EXPECT_TYPED(r, 0, INFER_F32, 3);
    r = SHAPE_AS(OP_UNARY, ex, INFER_I64, I64(3));
    expect_error(&r, INFER_ERR_FORMAT, "declared i64, expected f32");
    r = SHAPE(OP_UNARY, ex, 1, F16(3));
    expect_error(&r, INFER_ERR_FORMAT, "input 0 is f16");

    r = SHAPE(OP_COMPARE, ((op_params){ .compare = { CMP_LT, 0 } }), 1, I64(3), TEN(INFER_U8, 3));
    EXPECT_TYPED(r, 0, INFER_BOOL, 3);
    r = SHAPE(OP_COMPARE, ((op_params){ .compare = { CMP_LT, 0 } }), 1, TEN(INFER_BF16, 3), ABSENT);
    expect_error(&r, INFER_ERR_FORMAT, "input 0 is bf16");

    op_params sum = { .reduce = { RED_SUM, 1, { 1 }, 0 } };
    r = SHAPE(OP_REDUCE, sum, 1, I64(2, 3));
    EXPECT_TYPED(r, 0, INFER_I64, 2);
    r = SHAPE(OP_REDUCE, sum, 1, TEN(INFER_BOOL, 2, 3));
    EXPECT_TYPED(r, 0, INFER_I64, 2);
    r = SHAPE_AS(OP_REDUCE, sum, INFER_F32, TEN(INFER_I32, 2, 3)); /* torch.sum(x, dtype=torch.float32) */
    EXPECT_TYPED(r, 0, INFER_F32, 2);
    r = SHAPE_AS(OP_REDUCE, sum, INFER_I32, TEN(INFER_I32, 2, 3));
    expect_error(&r, INFER_ERR_FORMAT, "declared i32, expected i64");
    op_params mx = { .reduce = { RED_MAX, 1, { 1 }, 0 } }, mean = { .reduce = { RED_MEAN, 1, { 1 }, 0 } };
    r = SHAPE(OP_REDUCE, mx, 1, TEN(INFER_I32, 2, 3));
    EXPECT_TYPED(r, 0, INFER_I32, 2);
    r = SHAPE(OP_REDUCE, mean, 1, I64(2, 3));
    EXPECT_TYPED(r, 0, INFER_F32, 2);
    r = SHAPE(OP_REDUCE, mean, 1, F16(2, 3));
    expect_error(&r, INFER_ERR_FORMAT, "input 0 is f16");
}

/* reduce without axes reduces every dim, as torch.sum(x, dim=[]) does and as the kernel always did. */
Test(shape, reduce_without_axes_reduces_all) {
    op_params p = { .reduce = { RED_SUM, 0, { 0 }, 0 } };
    shape_result r = SHAPE(OP_REDUCE, p, 1, F32(2, 3));
    cr_assert_eq(r.status, INFER_OK, "%s", r.err.message);
    cr_assert_eq(r.out[0].ndim, 0, "a scalar, got %d dims", r.out[0].ndim);
    p.reduce.keepdim = 1;
    r = SHAPE(OP_REDUCE, p, 1, F32(2, 3));
    EXPECT(r, 1, 1);
}

/* Declared shapes checked at every batch: static dims exactly, a -1 at dim 0 as the batch. */
Test(shape, declared_shapes_checked) {
    static float w[4 * 4];
    ir_graph g;
    memset(&g, 0, sizeof g);
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4)));
    int a = gb_act(&g, "a", DIMS(-1, 4)), c = gb_const(&g, "c", DIMS(3, 4), w);
    int y = gb_output(&g, gb_act(&g, "y", DIMS(3, 4)));
    gb_unary(&g, OP_ACTIVATION, "relu", x, a)->p.activation.kind = ACT_RELU;
    gb_node(&g, OP_BINARY, "add", 2, (const int[]){ a, c }, 1, &y);
    int64_t dims[4 * INFER_MAX_DIMS];
    int ndims[4];
    infer_error err;
    cr_assert_eq(g.n_tensors, 4);
    cr_assert_eq(ir_infer_shapes(&g, 1, dims, ndims, &err), INFER_OK, "%s", err.message); /* [1,4] + [3,4] */
    cr_assert_eq(ir_infer_shapes(&g, 3, dims, ndims, &err), INFER_OK, "%s", err.message);
    g.tensors[y].dims[0] = 2; /* declared [2,4]: wrong at batch 3 */
    cr_assert_eq(ir_infer_shapes(&g, 3, dims, ndims, &err), INFER_ERR_FORMAT);
    cr_assert(strstr(err.message, "tensor 'y' (output 0 of node 1 'add' (binary)) is declared [2,4], inferred [3,4] "
                                  "at batch 3"), "%s", err.message);
    g.tensors[y].dims[0] = -1; /* [-1,4]: at batch 1 the add broadcasts to 3 rows, not 1 */
    cr_assert_eq(ir_infer_shapes(&g, 3, dims, ndims, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(ir_infer_shapes(&g, 1, dims, ndims, &err), INFER_ERR_FORMAT);
    cr_assert(strstr(err.message, "declared [-1,4], inferred [3,4] at batch 1"), "%s", err.message);
    g.tensors[a].ndim = 3; /* a declared [-1,4,0]: the rank differs */
    cr_assert_eq(ir_infer_shapes(&g, 3, dims, ndims, &err), INFER_ERR_FORMAT);
    cr_assert(strstr(err.message, "tensor 'a' (output 0 of node 0 'relu' (activation)) is declared [-1,4,0]"), "%s",
              err.message);
    g.tensors[a].ndim = 2;
    g.tensors[a].dtype = INFER_I64;
    cr_assert_eq(ir_infer_shapes(&g, 3, dims, ndims, &err), INFER_ERR_FORMAT);
    cr_assert(strstr(err.message, "node 0 'relu' (activation): output 0 'a' is declared i64, expected f32"), "%s",
              err.message);
    ir_free(&g);
}

/* lstm's h_n and c_n are [layers, B, H]: the format cannot mark B dynamic there, so the converter writes
 * the example batch and dim 1 is not compared; dims 0 and 2 are. */
Test(shape, lstm_state_batch_not_compared) {
    static float wih[16 * 3], whh[16 * 4];
    ir_graph g;
    memset(&g, 0, sizeof g);
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 5, 3)));
    int a = gb_const(&g, "w_ih", DIMS(16, 3), wih), b = gb_const(&g, "w_hh", DIMS(16, 4), whh);
    int y = gb_output(&g, gb_act(&g, "y", DIMS(-1, 5, 4)));
    int h = gb_act(&g, "h_n", DIMS(1, 1, 4)), c = gb_act(&g, "c_n", DIMS(1, 1, 4));
    gb_node(&g, OP_LSTM, "lstm", 7, (const int[]){ x, IR_NONE, IR_NONE, a, b, IR_NONE, IR_NONE }, 3,
            (const int[]){ y, h, c })->p.lstm = (lstm_params){ 4, 1, 1, 0 };
    int64_t dims[6 * INFER_MAX_DIMS];
    int ndims[6];
    infer_error err;
    cr_assert_eq(g.n_tensors, 6);
    cr_assert_eq(ir_infer_shapes(&g, 3, dims, ndims, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(dims[h * INFER_MAX_DIMS + 1], 3, "h_n is sized for the batch");
    g.tensors[c].dims[2] = 5;
    cr_assert_eq(ir_infer_shapes(&g, 3, dims, ndims, &err), INFER_ERR_FORMAT);
    cr_assert(strstr(err.message, "tensor 'c_n'"), "%s", err.message);
    ir_free(&g);
}

/* ---- opsvision: pad, resize, conv_transpose2d, roll, flip, group_norm ---- */
Test(shape, vision_ops) {
    op_params p = { .pad = { PAD_CONSTANT, 4, { 1, 2, -1, 0 }, 0.5f } };
    shape_result r = SHAPE(OP_PAD, p, 1, F32(2, 3, 7, 5));
    EXPECT(r, 2, 3, 6, 8);
    p.pad.mode = PAD_REFLECT;
    p.pad.pads[2] = 7;
    r = SHAPE(OP_PAD, p, 1, F32(2, 3, 7, 5));
    expect_error(&r, INFER_ERR_SHAPE, "reflect padding (7, 0) of dim 2 must be smaller than its size 7");
    p.pad.mode = PAD_CIRCULAR;
    r = SHAPE(OP_PAD, p, 1, F32(2, 3, 7, 5));
    EXPECT(r, 2, 3, 14, 8);
    p.pad.npads = 8;
    r = SHAPE(OP_PAD, p, 1, F32(7, 5));
    expect_error(&r, INFER_ERR_SHAPE, "8 pads for input [7,5]");

    op_params z = { .resize = { RESIZE_LINEAR, 0, 2, { 11, 16 }, { 0, 0 } } };
    r = SHAPE(OP_RESIZE, z, 1, F32(2, 3, 5, 7));
    EXPECT(r, 2, 3, 11, 16);
    r = SHAPE(OP_RESIZE, z, 1, F32(2, 3, 5));
    expect_error(&r, INFER_ERR_SHAPE, "must be 4-D [N,C,H,W] for 2 output sizes");
    z.resize.nsize = 1;
    r = SHAPE(OP_RESIZE, z, 1, F32(2, 3, 5));
    EXPECT(r, 2, 3, 11);

    op_params t = { .conv_transpose2d = { { 2, 2 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, 1 } };
    r = SHAPE(OP_CONV_TRANSPOSE2D, t, 1, F32(2, 5, 7, 6), F32(5, 4, 3, 3), F32(4));
    EXPECT(r, 2, 4, 14, 12);
    t.conv_transpose2d.groups = 2;
    r = SHAPE(OP_CONV_TRANSPOSE2D, t, 1, F32(2, 6, 7, 6), F32(6, 4, 3, 3));
    EXPECT(r, 2, 8, 14, 12);
    r = SHAPE(OP_CONV_TRANSPOSE2D, t, 1, F32(2, 6, 7, 6), F32(6, 4, 3, 3), F32(4));
    expect_error(&r, INFER_ERR_SHAPE, "bias [4], expected [8]");
    r = SHAPE(OP_CONV_TRANSPOSE2D, t, 1, F32(2, 5, 7, 6), F32(6, 4, 3, 3));
    expect_error(&r, INFER_ERR_SHAPE, "input has 5 channels");

    op_params o = { .roll = { 2, { 1, -1 }, { 3, -2 } } };
    r = SHAPE(OP_ROLL, o, 1, TEN(INFER_I64, 4, 5));
    EXPECT_TYPED(r, 0, INFER_I64, 4, 5);
    o.roll.dims[0] = 2;
    r = SHAPE(OP_ROLL, o, 1, F32(4, 5));
    expect_error(&r, INFER_ERR_SHAPE, "dim 2 is out of range for input [4,5]");
    op_params f = { .flip = { 2, { 0, -2 } } };
    r = SHAPE(OP_FLIP, f, 1, F32(4, 5));
    expect_error(&r, INFER_ERR_SHAPE, "dim 0 is listed twice");

    op_params g = { .group_norm = { 3, 1e-5f } };
    r = SHAPE(OP_GROUP_NORM, g, 1, F32(2, 6, 7), F32(6), ABSENT);
    EXPECT(r, 2, 6, 7);
    r = SHAPE(OP_GROUP_NORM, g, 1, F32(2, 8, 7));
    expect_error(&r, INFER_ERR_SHAPE, "8 channels, not divisible by 3 groups");
    r = SHAPE(OP_GROUP_NORM, g, 1, F32(2, 6, 7), F32(3));
    expect_error(&r, INFER_ERR_SHAPE, "weight [3], expected [6]");
}
