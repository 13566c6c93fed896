/* test_conv2d.c — conv2d (dense, 1x1, grouped, depthwise) against a direct 7-loop convolution, serial and
 * threaded, on every ISA this CPU has. */
#include <criterion/criterion.h>
#include "testutil.h"
#include "../../kernels/cpu/cpu_kernels.h"
#include "../../kernels/cpu/conv2d_winograd.h"

typedef struct {
    int64_t n, c, h, w, o, kh, kw;
    int sh, sw, ph, pw, dh, dw, groups;
    int bias, residual;
    act_kind act;
} conv_case;

static const conv_case cases[] = {
    /* n  c   h   w   o  kh kw sh sw ph pw dh dw g  bias res act */
    { 1, 3, 7, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, ACT_NONE },
    { 3, 5, 13, 13, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ACT_RELU },
    { 1, 13, 17, 17, 5, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, ACT_CLIP },
    { 3, 13, 7, 7, 13, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, ACT_GELU },
    { 1, 5, 17, 13, 3, 5, 5, 1, 1, 3, 3, 2, 2, 1, 0, 0, ACT_SILU },
    { 1, 3, 17, 17, 13, 7, 7, 2, 2, 3, 3, 1, 1, 1, 1, 0, ACT_RELU },
    { 3, 3, 13, 17, 7, 3, 5, 1, 2, 0, 1, 1, 2, 1, 1, 1, ACT_HARDSWISH },
    { 1, 13, 13, 13, 7, 1, 1, 2, 2, 0, 0, 1, 1, 1, 1, 0, ACT_SIGMOID }, /* strided 1x1: goes through im2col */
    { 1, 4, 13, 13, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1, 1, ACT_TANH },
    { 3, 6, 7, 17, 10, 5, 5, 2, 2, 3, 3, 1, 1, 2, 0, 1, ACT_NONE },
    { 1, 10, 13, 13, 4, 1, 1, 1, 1, 0, 0, 1, 1, 2, 1, 0, ACT_HARDSIGMOID }, /* grouped 1x1 */
    /* at most 4 output positions (the GEMM's few-columns path) */
    { 1, 13, 3, 3, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ACT_RELU },
    { 3, 5, 5, 5, 9, 5, 5, 1, 1, 0, 0, 1, 1, 1, 1, 0, ACT_GELU },
    { 1, 10, 3, 3, 12, 3, 3, 2, 2, 1, 1, 1, 1, 2, 0, 1, ACT_NONE },
    /* rows wider than one 32-column sliver: stride 1, 2 (dilated) and 3 */
    { 1, 3, 9, 45, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, ACT_RELU },
    { 1, 2, 5, 41, 3, 5, 5, 1, 1, 2, 2, 1, 1, 1, 0, 1, ACT_NONE },
    { 3, 3, 11, 77, 7, 3, 3, 2, 2, 2, 3, 2, 2, 1, 1, 0, ACT_NONE },
    { 1, 3, 13, 40, 4, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, ACT_CLIP },
    /* depthwise (groups == channels), incl. a channel multiplier of 2 and rows wider than 16 */
    { 1, 5, 13, 13, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5, 1, 0, ACT_RELU },
    { 3, 13, 17, 17, 13, 3, 3, 2, 2, 1, 1, 1, 1, 13, 1, 1, ACT_CLIP },
    { 1, 3, 7, 7, 6, 5, 5, 1, 1, 3, 3, 1, 1, 3, 0, 0, ACT_NONE },
    { 1, 5, 17, 41, 5, 7, 7, 1, 1, 3, 3, 1, 1, 5, 1, 1, ACT_SILU },
    { 1, 3, 13, 45, 3, 3, 3, 2, 2, 1, 1, 1, 1, 3, 1, 0, ACT_GELU },
    { 3, 5, 17, 37, 10, 3, 5, 1, 2, 0, 1, 2, 2, 5, 1, 1, ACT_HARDSWISH },
    { 1, 7, 13, 21, 7, 3, 3, 3, 3, 1, 1, 1, 1, 7, 0, 1, ACT_RELU }, /* stride 3: the checked path */
    { 1, 3, 7, 9, 3, 1, 1, 1, 1, 0, 0, 1, 1, 3, 1, 0, ACT_NONE },  /* 1x1 depthwise */
    { 1, 3, 5, 161, 3, 3, 3, 2, 2, 1, 1, 1, 1, 3, 1, 0, ACT_NONE },   /* rows of 64+ inside columns */
    { 1, 2, 4, 150, 2, 5, 5, 1, 1, 2, 2, 1, 1, 2, 0, 1, ACT_RELU },
    { 1, 2, 5, 101, 4, 3, 5, 2, 2, 1, 2, 1, 2, 2, 1, 1, ACT_NONE },
};

/* Batches of images with few output positions each (1x1, 2x2, 3x3, 7x7): the whole batch as one GEMM
 * whose columns span images, when the workspace allows, for 1x1 (on the image itself, or strided) and
 * 3x3 kernels, grouped too; 1 output channel, and more than one 8-row micro-tile of them. */
static const conv_case batched_cases[] = {
    /* n  c   h   w   o  kh kw sh sw ph pw dh dw g  bias res act */
    { 2, 7, 1, 1, 9, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, ACT_RELU },      /* 1x1 outputs */
    { 3, 9, 1, 1, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_NONE },
    { 5, 6, 2, 2, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 1, ACT_CLIP },
    { 2, 13, 2, 2, 19, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, ACT_GELU },    /* 2x2 outputs */
    { 3, 11, 2, 2, 21, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, ACT_SILU },
    { 5, 5, 4, 4, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ACT_RELU },
    { 5, 8, 4, 3, 1, 1, 1, 2, 2, 0, 0, 1, 1, 1, 1, 0, ACT_SIGMOID },   /* strided 1x1, 2x2 outputs */
    { 2, 10, 3, 3, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 1, ACT_HARDSWISH }, /* 3x3 outputs */
    { 3, 17, 3, 3, 33, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, ACT_TANH },
    { 5, 4, 6, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, ACT_HARDSIGMOID },
    { 3, 12, 3, 3, 8, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1, 1, ACT_RELU },     /* grouped */
    { 2, 8, 7, 7, 12, 1, 1, 1, 1, 0, 0, 1, 1, 4, 1, 0, ACT_CLIP },
    { 2, 9, 7, 7, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ACT_RELU },     /* 7x7 outputs */
    { 3, 6, 13, 14, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0, ACT_GELU },
    { 5, 21, 7, 7, 13, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, ACT_SILU },
    { 3, 7, 7, 7, 5, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, ACT_NONE },
    { 5, 3, 9, 9, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1, 1, 0, ACT_RELU },      /* unpadded 3x3, 7x7 outputs */
    /* depthwise planes with rows of at most 64 (all columns vectorized, padding masked) and beyond */
    { 5, 6, 4, 4, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6, 1, 1, ACT_CLIP },
    { 3, 4, 3, 3, 8, 3, 3, 2, 2, 1, 1, 1, 1, 4, 1, 0, ACT_RELU },
    { 2, 3, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3, 0, 1, ACT_NONE },
    { 2, 3, 6, 64, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3, 1, 0, ACT_SILU },
    { 2, 3, 5, 33, 3, 5, 5, 2, 2, 4, 4, 2, 2, 3, 1, 1, ACT_HARDSWISH },
    { 3, 2, 7, 130, 2, 3, 3, 2, 2, 1, 1, 1, 1, 2, 1, 0, ACT_GELU },
    { 1, 2, 5, 20, 2, 3, 9, 1, 1, 1, 4, 1, 1, 2, 1, 0, ACT_RELU },
};

static int64_t out_size(int64_t in, int64_t k, int s, int p, int d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

/* Direct convolution in double: y = act(conv(x, w) + b + residual). */
static void reference(const conv_case *cc, int64_t oh_n, int64_t ow_n, const float *x, const float *w,
                      const float *b, const float *res, float *y) {
    int64_t cg = cc->c / cc->groups, og = cc->o / cc->groups;
    act_params act = { cc->act, -0.25f, 0.5f };
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t o = 0; o < cc->o; o++)
            for (int64_t oh = 0; oh < oh_n; oh++)
                for (int64_t ow = 0; ow < ow_n; ow++) {
                    double acc = b ? b[o] : 0.0;
                    int64_t g = o / og;
                    for (int64_t ci = 0; ci < cg; ci++)
                        for (int64_t kh = 0; kh < cc->kh; kh++)
                            for (int64_t kw = 0; kw < cc->kw; kw++) {
                                int64_t ih = oh * cc->sh - cc->ph + kh * cc->dh, iw = ow * cc->sw - cc->pw + kw * cc->dw;
                                if (ih < 0 || ih >= cc->h || iw < 0 || iw >= cc->w) continue;
                                acc += (double)w[((o * cg + ci) * cc->kh + kh) * cc->kw + kw] *
                                       x[((n * cc->c + g * cg + ci) * cc->h + ih) * cc->w + iw];
                            }
                    int64_t at = ((n * cc->o + o) * oh_n + oh) * ow_n + ow;
                    if (res) acc += res[at];
                    y[at] = act_apply(&act, (float)acc);
                }
}

static void check_case(const conv_case *cc, int index) {
    test_rng r = rng_seed(1000 + (uint64_t)index);
    int64_t oh = out_size(cc->h, cc->kh, cc->sh, cc->ph, cc->dh), ow = out_size(cc->w, cc->kw, cc->sw, cc->pw, cc->dw);
    int64_t x_dims[4] = { cc->n, cc->c, cc->h, cc->w }, w_dims[4] = { cc->o, cc->c / cc->groups, cc->kh, cc->kw };
    int64_t b_dims[1] = { cc->o }, y_dims[4] = { cc->n, cc->o, oh, ow };
    int64_t y_count = cc->n * cc->o * oh * ow;
    float *x = rng_array(&r, cc->n * cc->c * cc->h * cc->w, -1, 1);
    float *w = rng_array(&r, w_dims[0] * w_dims[1] * cc->kh * cc->kw, -1, 1);
    float *b = cc->bias ? rng_array(&r, cc->o, -1, 1) : NULL;
    float *res = cc->residual ? rng_array(&r, y_count, -1, 1) : NULL;
    float *want = malloc((size_t)y_count * sizeof *want), *y = malloc((size_t)y_count * sizeof *y);
    reference(cc, oh, ow, x, w, b, res, want);

    ir_node node;
    memset(&node, 0, sizeof node);
    node.op = OP_CONV2D;
    node.n_in = cc->residual ? 4 : cc->bias ? 3 : 2;
    node.n_out = 1;
    node.p.conv2d = (conv2d_params){ { cc->sh, cc->sw }, { cc->ph, cc->pw }, { cc->dh, cc->dw }, cc->groups,
                                     { cc->act, -0.25f, 0.5f }, { 0, 0 }, INFER_WINOGRAD_AUTO };
    infer_tensor in[4] = { tview(INFER_F32, x, 4, x_dims), tview(INFER_F32, w, 4, w_dims),
                           tview(INFER_F32, b, 1, b_dims), tview(INFER_F32, res, 4, y_dims) };
    infer_tensor out = tview(INFER_F32, y, 4, y_dims);

    for (int threads = 1; threads <= 2; threads++) {
        thread_pool *pool = NULL;
        infer_error err;
        if (threads > 1) cr_assert_eq(pool_create(threads, &pool, &err), INFER_OK);
        uint8_t *scratch = malloc(CPU_SCRATCH_BYTES * (size_t)threads);
        /* without a workspace, then with exactly the one asked for (which may change the method) */
        size_t ws_bytes = cpu_conv2d_workspace(&node, in, &out, threads);
        if (cc->n > 1 && oh * ow <= 49 && cc->groups != cc->c)
            cr_assert(ws_bytes > 0, "case %d: a batch of %lld positions per image merges", index, (long long)(oh * ow));
        for (int with_ws = 0; with_ws <= (ws_bytes > 0); with_ws++) {
            void *ws = with_ws ? malloc(ws_bytes) : NULL;
            for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++) {
                cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = isa, .workspace = ws,
                                 .workspace_bytes = with_ws ? ws_bytes : 0, .scratch = scratch };
                for (int64_t i = 0; i < y_count; i++) y[i] = NAN;
                cr_assert_eq(cpu_conv2d(&ctx, &node, in, &out, &err), INFER_OK, "case %d: %s", index, err.message);
                double e = rel_l2(y, want, y_count);
                cr_assert(e <= 1e-6, "case %d threads %d isa %d workspace %zu: rel L2 %g", index, threads, isa,
                          with_ws ? ws_bytes : 0, e);
            }
            free(ws);
        }
        free(scratch);
        pool_destroy(pool);
    }
    free(x);
    free(w);
    free(b);
    free(res);
    free(want);
    free(y);
}

Test(conv2d, matches_direct_convolution) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i], (int)i);
}

Test(conv2d, batches_of_few_positions_match_direct_convolution) {
    for (size_t i = 0; i < sizeof batched_cases / sizeof batched_cases[0]; i++)
        check_case(&batched_cases[i], 100 + (int)i);
}

Test(conv2d, needs_no_workspace_and_refuses_bad_inputs) {
    ir_node node;
    memset(&node, 0, sizeof node);
    node.op = OP_CONV2D;
    node.n_in = 2;
    node.p.conv2d = (conv2d_params){ { 1, 1 }, { 1, 1 }, { 1, 1 }, 1, { ACT_NONE, 0, 0 }, { 0, 0 }, INFER_WINOGRAD_AUTO };
    test_rng r = rng_seed(5);
    float *x = rng_array(&r, 2 * 5 * 5, -1, 1), *w = rng_array(&r, 3 * 2 * 9, -1, 1), y[3 * 25];
    int64_t x_dims[4] = { 1, 2, 5, 5 }, w_dims[4] = { 3, 2, 3, 3 }, y_dims[4] = { 1, 3, 5, 5 };
    infer_tensor in[2] = { tview(INFER_F32, x, 4, x_dims), tview(INFER_F32, w, 4, w_dims) };
    infer_tensor out = tview(INFER_F32, y, 4, y_dims);
    conv_geometry g; /* the im2col path needs none; a 3x3 stride-1 conv run by Winograd asks for its tile blocks */
    conv_geometry_of(&node, in, &out, &g);
    cr_assert_eq(cpu_conv2d_workspace(&node, in, &out, 2), 0, "AUTO leaves 2 channels to im2col");
    cr_assert_eq(conv2d_workspace_for(&node, in, &out, 2, INFER_WINOGRAD_OFF), 0);
    cr_assert_gt(conv_winograd_workspace(&g, 2), 0);
    cr_assert_eq(conv2d_workspace_for(&node, in, &out, 2, INFER_WINOGRAD_ON), conv_winograd_workspace(&g, 2));
    {
        int64_t wide_x[4] = { 1, 16, 28, 28 }, wide_w[4] = { 16, 16, 3, 3 }, wide_y[4] = { 1, 16, 28, 28 };
        infer_tensor wx[2] = { tview(INFER_F32, x, 4, wide_x), tview(INFER_F32, w, 4, wide_w) };
        infer_tensor wy = tview(INFER_F32, y, 4, wide_y);
        conv_geometry wg;
        conv_geometry_of(&node, wx, &wy, &wg);
        cr_assert_eq(cpu_conv2d_workspace(&node, wx, &wy, 2), conv_winograd_workspace(&wg, 2),
                     "AUTO takes 16 channels over 49 tiles");
    }
    uint8_t *scratch = malloc(CPU_SCRATCH_BYTES);
    cpu_ctx ctx = { .threads = 1, .isa = cpu_detect_isa(), .scratch = scratch };
    infer_error err;
    in[1].dtype = INFER_F16;
    cr_assert_eq(cpu_conv2d(&ctx, &node, in, &out, &err), INFER_ERR_DTYPE);
    in[1].dtype = INFER_F32;
    in[1].dims[1] = 3; /* 3 weight channels for 2 input channels */
    cr_assert_eq(cpu_conv2d(&ctx, &node, in, &out, &err), INFER_ERR_SHAPE);
    cr_assert(strstr(err.message, "weight") != NULL, "%s", err.message);
    in[1].dims[1] = 2;
    float bias[2] = { 1, 2 };
    int64_t b_dims[1] = { 2 };
    infer_tensor with_bias[3] = { in[0], in[1], tview(INFER_F32, bias, 1, b_dims) };
    node.n_in = 3;
    cr_assert_eq(cpu_conv2d(&ctx, &node, with_bias, &out, &err), INFER_ERR_SHAPE); /* 2 biases, 3 outputs */
    cr_assert(strstr(err.message, "bias") != NULL, "%s", err.message);
    free(scratch);
    free(x);
    free(w);
}
