/* test_attr_bounds.c — crafted attribute values (found by fuzzing or by reading the arithmetic they feed),
 * re-created with the C writer: each is refused with a message naming the node and the attribute, or runs
 * in time bounded by the input, never overflowing. */
#include <criterion/criterion.h>
#include <time.h>
#include "engine_util.h"

/* Engine creation must fail with status and a message containing fragment, optimized or not. */
static void expect_refused(const infer_model *m, infer_status status, const char *fragment) {
    for (int optimize = 0; optimize <= 1; optimize++) {
        infer_engine *e;
        infer_error err;
        infer_status s = engine_for(m, 1, optimize, 1, &e, &err);
        cr_assert_eq(s, status, "optimize %d: %s, expected %s (%s)", optimize, infer_status_name(s),
                     infer_status_name(status), s == INFER_OK ? "built" : err.message);
        cr_assert(strstr(err.message, fragment), "optimize %d: message '%s' lacks '%s'", optimize, err.message,
                  fragment);
        cr_assert_null(e);
    }
}

static double seconds_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* One pool node x [1,C,H,W] -> y [1,C,OH,OW] with the given attributes. */
static infer_model *pool_model(op_code op, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow,
                               const int64_t kernel[2], const int64_t stride[2], const int64_t padding[2],
                               const int64_t dilation[2]) {
    ifg_writer *wr = tw_new();
    uint32_t x = tw_act(wr, "x", INFER_F32, DIMS(1, c, h, w)), y = tw_act(wr, "y", INFER_F32, DIMS(1, c, oh, ow));
    tw_node(wr, op, "pool", TW_IDS(x), TW_IDS(y));
    ifg_writer_attr_ints(wr, "kernel", kernel, 2);
    if (stride) ifg_writer_attr_ints(wr, "stride", stride, 2);
    if (padding) ifg_writer_attr_ints(wr, "padding", padding, 2);
    if (dilation) ifg_writer_attr_ints(wr, "dilation", dilation, 2);
    tw_graph(wr, TW_IDS(x), TW_IDS(y));
    return model_from_writer(wr);
}

/* maxpool2d kernel and dilation 2^30: (kernel - 1) * dilation + 1 overflowed an int (a signed overflow). */
Test(attr_bounds, pool_window_overflow_refused) {
    const int64_t big[2] = { 1 << 30, 1 << 30 }, one[2] = { 1, 1 };
    infer_model *m = pool_model(OP_MAXPOOL2D, 1, 4, 4, 1, 1, big, one, NULL, big);
    expect_refused(m, INFER_ERR_FORMAT, "node 0 'pool' (maxpool2d): attribute 'dilation' gives a window of "
                                        "1152921503533105153 (kernel 1073741824, dilation 1073741824), above 1073741824");
    infer_model_free(m);
    const int64_t k[2] = { 3, 1 << 29 }, d[2] = { 1, 3 };
    m = pool_model(OP_MAXPOOL2D, 1, 4, 4, 1, 1, k, one, NULL, d);
    expect_refused(m, INFER_ERR_FORMAT, "attribute 'dilation' gives a window of 1610612734");
    infer_model_free(m);
}

/* A window of 2^30 taps, half of it padding, over a 2x3 input: one output per plane, computed from the
 * taps that fall on the input. Every tap was visited: seconds per plane. */
static void huge_window_runs(op_code op) {
    enum { C = 64 };
    const int64_t k[2] = { 1 << 30, 1 << 30 }, pad[2] = { 1 << 29, 1 << 29 };
    infer_model *m = pool_model(op, C, 2, 3, 1, 1, k, NULL, pad, NULL);
    infer_engine *e = engine_ok(m, 1, 1, 1);
    float x[C * 6], y[C];
    for (int i = 0; i < C * 6; i++) x[i] = (float)(i % 7) - 3.0f;
    infer_tensor in = model_input(m, 0, 1, x), out;
    infer_error err;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(infer_engine_run(e, &in, 1, &out, 1, &err), INFER_OK, "%s", err.message);
    double s = seconds_since(&t0);
    cr_assert_lt(s, 1.0, "%s with a 2^30 x 2^30 window over 2x3 planes took %.2f s", op_name(op), s);
    memcpy(y, out.data, sizeof y);
    for (int c = 0; c < C; c++) {
        float want = op == OP_MAXPOOL2D ? -INFINITY : 0.0f;
        for (int i = 0; i < 6; i++) want = op == OP_MAXPOOL2D ? fmaxf(want, x[c * 6 + i]) : want + x[c * 6 + i];
        if (op == OP_AVGPOOL2D) want /= 0x1p60f; /* padding counts: the window clipped to the padded input */
        cr_assert(fabsf(y[c] - want) <= 1e-6f * fabsf(want) + 1e-30f, "plane %d: %g, expected %g", c, y[c], want);
    }
    infer_engine_destroy(e);
    infer_model_free(m);
}

Test(attr_bounds, maxpool_huge_window_bounded_by_input) { huge_window_runs(OP_MAXPOOL2D); }
Test(attr_bounds, avgpool_huge_window_bounded_by_input) { huge_window_runs(OP_AVGPOOL2D); }

/* adaptive_avgpool2d's bins are bounded by (i + 1) * H / output_size: with H 2^40 and output_size 2^30 the
 * product passes 2^63 (refused before anything is allocated). */
Test(attr_bounds, adaptive_pool_bin_bounds_overflow_refused) {
    const int64_t h = (int64_t)1 << 40, size[2] = { 1 << 30, 1 };
    ifg_writer *wr = tw_new();
    uint32_t x = tw_act(wr, "x", INFER_F32, DIMS(1, 1, h, 1));
    uint32_t y = tw_act(wr, "y", INFER_F32, DIMS(1, 1, 1 << 30, 1));
    tw_node(wr, OP_ADAPTIVE_AVGPOOL2D, "adapt", TW_IDS(x), TW_IDS(y));
    ifg_writer_attr_ints(wr, "output_size", size, 2);
    tw_graph(wr, TW_IDS(x), TW_IDS(y));
    infer_model *m = model_from_writer(wr);
    expect_refused(m, INFER_ERR_FORMAT, "node 0 'adapt' (adaptive_avgpool2d): attribute 'output_size' (1073741824,1) "
                                        "with input [1,1,1099511627776,1] overflows 64 bits");
    infer_model_free(m);
}

/* conv2d with dilation and padding 2^30 over a 1x1 input: legal (one output, from the kernel's centre tap),
 * computed in 64 bits. */
Test(attr_bounds, conv_huge_dilation_and_padding_runs) {
    const float w[9] = { 0.5f, -1.0f, 2.0f, 3.0f, 0.25f, -4.0f, 5.0f, 6.0f, -7.0f };
    const int64_t big[2] = { 1 << 30, 1 << 30 };
    ifg_writer *wr = tw_new();
    uint32_t x = tw_act(wr, "x", INFER_F32, DIMS(1, 1, 1, 1)), wt = tw_const(wr, "w", INFER_F32, DIMS(1, 1, 3, 3), w);
    uint32_t y = tw_act(wr, "y", INFER_F32, DIMS(1, 1, 1, 1));
    tw_node(wr, OP_CONV2D, "conv", TW_IDS(x, wt), TW_IDS(y));
    ifg_writer_attr_ints(wr, "dilation", big, 2);
    ifg_writer_attr_ints(wr, "padding", big, 2);
    tw_graph(wr, TW_IDS(x), TW_IDS(y));
    infer_model *m = model_from_writer(wr);
    for (int optimize = 0; optimize <= 1; optimize++) {
        infer_engine *e = engine_ok(m, 1, optimize, 1);
        float xv = 3.0f;
        infer_tensor in = model_input(m, 0, 1, &xv), out;
        infer_error err;
        cr_assert_eq(infer_engine_run(e, &in, 1, &out, 1, &err), INFER_OK, "%s", err.message);
        cr_assert_float_eq(((const float *)out.data)[0], 0.75f, 1e-6f, "got %g", ((const float *)out.data)[0]);
        infer_engine_destroy(e);
    }
    infer_model_free(m);
}

/* slice with start INT64_MIN, end INT64_MAX and step INT64_MAX: clamped before any arithmetic, one element. */
Test(attr_bounds, slice_extreme_bounds_run) {
    ifg_writer *wr = tw_new();
    uint32_t x = tw_act(wr, "x", INFER_F32, DIMS(1, 5)), y = tw_act(wr, "y", INFER_F32, DIMS(1, 1));
    tw_node(wr, OP_SLICE, "slice", TW_IDS(x), TW_IDS(y));
    ifg_writer_attr_int(wr, "axis", -1);
    ifg_writer_attr_int(wr, "start", INT64_MIN);
    ifg_writer_attr_int(wr, "end", INT64_MAX);
    ifg_writer_attr_int(wr, "step", INT64_MAX);
    tw_graph(wr, TW_IDS(x), TW_IDS(y));
    infer_model *m = model_from_writer(wr);
    infer_engine *e = engine_ok(m, 1, 1, 1);
    float xv[5] = { 7, 8, 9, 10, 11 };
    infer_tensor in = model_input(m, 0, 1, xv), out;
    infer_error err;
    cr_assert_eq(infer_engine_run(e, &in, 1, &out, 1, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(((const float *)out.data)[0], 7.0f);
    infer_engine_destroy(e);
    infer_model_free(m);
}

/* A one-node model x [1,4] -> y (declared [1,4]) whose attribute is set by attr; must be refused. */
static void expect_one_node_refused(op_code op, void (*attr)(ifg_writer *), infer_status status, const char *fragment) {
    ifg_writer *wr = tw_new();
    uint32_t x = tw_act(wr, "x", INFER_F32, DIMS(1, 4)), y = tw_act(wr, "y", INFER_F32, DIMS(1, 4));
    tw_node(wr, op, "n", TW_IDS(x), TW_IDS(y));
    attr(wr);
    tw_graph(wr, TW_IDS(x), TW_IDS(y));
    infer_model *m = model_from_writer(wr);
    expect_refused(m, status, fragment);
    infer_model_free(m);
}

static void reshape_overflowing(ifg_writer *w) {
    const int64_t shape[3] = { (int64_t)1 << 62, 4, -1 };
    ifg_writer_attr_ints(w, "shape", shape, 3);
}
static void expand_huge(ifg_writer *w) {
    const int64_t shape[3] = { INT64_MAX, 1, 4 };
    ifg_writer_attr_ints(w, "shape", shape, 3);
}
static void pool_window_above_bound(ifg_writer *w) {
    const int64_t kernel[2] = { 1, (1 << 30) + 1 };
    ifg_writer_attr_ints(w, "kernel", kernel, 2);
}
static void softmax_axis_far(ifg_writer *w) { ifg_writer_attr_int(w, "axis", INT64_MIN); }

Test(attr_bounds, extreme_shape_attributes_refused) {
    expect_one_node_refused(OP_RESHAPE, reshape_overflowing, INFER_ERR_SHAPE,
                            "node 0 'n' (reshape): target shape [4611686018427387904,4,-1] overflows");
    expect_one_node_refused(OP_EXPAND, expand_huge, INFER_ERR_SHAPE, "node 0 'n' (expand): output 0");
    expect_one_node_refused(OP_MAXPOOL2D, pool_window_above_bound, INFER_ERR_FORMAT,
                            "node 0 'n' (maxpool2d): attribute 'kernel' value 1 is 1073741825, must be in [1, 1073741824]");
    expect_one_node_refused(OP_SOFTMAX, softmax_axis_far, INFER_ERR_FORMAT,
                            "node 0 'n' (softmax): attribute 'axis' is -9223372036854775808, must be in [-8, 7]");
}
