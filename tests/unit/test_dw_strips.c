/* test_dw_strips.c — a 1x1 convolution and the depthwise convolution after it run together in strips of rows
 * (kernels/cpu/conv2d_pw_dw.c, runtime/cpu_dw_strips.c) against the two run one after the other. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "engine_util.h"
#include "../../kernels/cpu/conv2d_pw_dw.h"

typedef struct {
    int64_t n, c, e, h, w, stride; /* batch, input and expanded channels, image, depthwise stride */
    act_kind act;
} strip_case;

static const strip_case cases[] = {
    { 1, 17, 51, 13, 11, 1, ACT_CLIP },
    { 1, 17, 51, 13, 11, 2, ACT_CLIP },
    { 3, 17, 51, 9, 9, 2, ACT_SILU },
    { 3, 17, 51, 9, 9, 1, ACT_RELU },
    { 1, 5, 33, 17, 70, 2, ACT_SILU }, /* wide rows: the depthwise row kernel past 64 columns */
    { 2, 16, 48, 14, 14, 1, ACT_NONE },
};

/* pw and dw of case cc: pw reads tensor ids 0..2 and writes 3, dw reads 3..5 and writes 6. */
static void nodes_of(const strip_case *cc, ir_node *pw, ir_node *dw) {
    memset(pw, 0, sizeof *pw);
    memset(dw, 0, sizeof *dw);
    pw->op = dw->op = OP_CONV2D;
    pw->name = "expand";
    dw->name = "depthwise";
    pw->n_in = dw->n_in = 3;
    pw->n_out = dw->n_out = 1;
    for (int k = 0; k < 3; k++) pw->in[k] = k, dw->in[k] = 3 + k;
    pw->out[0] = 3;
    dw->out[0] = 6;
    act_params act = { cc->act, 0.0f, 6.0f };
    pw->p.conv2d = (conv2d_params){ { 1, 1 }, { 0, 0 }, { 1, 1 }, 1, act, { 0, 0 }, INFER_WINOGRAD_AUTO };
    dw->p.conv2d = (conv2d_params){ { cc->stride, cc->stride }, { 1, 1 }, { 1, 1 }, cc->e, act, { 0, 0 }, INFER_WINOGRAD_AUTO };
}

static void check_kernel_case(const strip_case *cc, int index) {
    test_rng r = rng_seed(4000 + (uint64_t)index);
    int64_t oh = (cc->h + 2 - 3) / cc->stride + 1, ow = (cc->w + 2 - 3) / cc->stride + 1;
    int64_t x_dims[4] = { cc->n, cc->c, cc->h, cc->w }, pw_dims[4] = { cc->e, cc->c, 1, 1 }, b_dims[1] = { cc->e };
    int64_t mid_dims[4] = { cc->n, cc->e, cc->h, cc->w }, dw_dims[4] = { cc->e, 1, 3, 3 };
    int64_t y_dims[4] = { cc->n, cc->e, oh, ow };
    int64_t mid_count = cc->n * cc->e * cc->h * cc->w, y_count = cc->n * cc->e * oh * ow;
    float *x = rng_array(&r, cc->n * cc->c * cc->h * cc->w, -1, 1), *pw_w = rng_array(&r, cc->e * cc->c, -0.5f, 0.5f);
    float *pw_b = rng_array(&r, cc->e, -1, 1), *dw_w = rng_array(&r, cc->e * 9, -1, 1), *dw_b = rng_array(&r, cc->e, -1, 1);
    float *mid_want = malloc((size_t)mid_count * sizeof(float)), *y_want = malloc((size_t)y_count * sizeof(float));
    float *mid = malloc((size_t)mid_count * sizeof(float)), *y = malloc((size_t)y_count * sizeof(float));
    ir_node pw, dw;
    nodes_of(cc, &pw, &dw);
    infer_tensor pin[3] = { tview(INFER_F32, x, 4, x_dims), tview(INFER_F32, pw_w, 4, pw_dims),
                            tview(INFER_F32, pw_b, 1, b_dims) };
    infer_tensor din[3] = { tview(INFER_F32, mid, 4, mid_dims), tview(INFER_F32, dw_w, 4, dw_dims),
                            tview(INFER_F32, dw_b, 1, b_dims) };
    infer_tensor pout = tview(INFER_F32, mid, 4, mid_dims), dout = tview(INFER_F32, y, 4, y_dims);
    cr_assert(cpu_pw_dw_fits(&pw, pin, &pout, &dw, din, &dout), "case %d fits", index);
    for (int threads = 1; threads <= 3; threads++) {
        thread_pool *pool = NULL;
        infer_error err;
        if (threads > 1) cr_assert_eq(pool_create(threads, &pool, &err), INFER_OK);
        uint8_t *scratch = malloc(CPU_SCRATCH_BYTES * (size_t)threads);
        for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++) {
            cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = isa, .scratch = scratch };
            /* the two nodes one after the other */
            infer_tensor pout_want = tview(INFER_F32, mid_want, 4, mid_dims), din_want[3] = { pout_want, din[1], din[2] };
            infer_tensor dout_want = tview(INFER_F32, y_want, 4, y_dims);
            cr_assert_eq(cpu_conv2d(&ctx, &pw, pin, &pout_want, &err), INFER_OK, "%s", err.message);
            cr_assert_eq(cpu_conv2d(&ctx, &dw, din_want, &dout_want, &err), INFER_OK, "%s", err.message);
            const int strips[] = { 1, 2, 3, 5, (int)oh };
            for (size_t s = 0; s < sizeof strips / sizeof *strips; s++) {
                for (int64_t i = 0; i < mid_count; i++) mid[i] = NAN;
                for (int64_t i = 0; i < y_count; i++) y[i] = NAN;
                cr_assert_eq(cpu_pw_dw_run(&ctx, &pw, pin, &pout, &dw, din, &dout, strips[s], &err), INFER_OK, "%s",
                             err.message);
                double em = rel_l2(mid, mid_want, mid_count), ey = rel_l2(y, y_want, y_count);
                cr_assert(em <= 1e-6 && ey <= 1e-6, "case %d threads %d isa %d strips of %d: rel L2 %g (1x1), %g",
                          index, threads, isa, strips[s], em, ey);
            }
        }
        free(scratch);
        pool_destroy(pool);
    }
    free(x), free(pw_w), free(pw_b), free(dw_w), free(dw_b), free(mid_want), free(y_want), free(mid), free(y);
}

Test(dw_strips, kernel_matches_the_two_convolutions) {
    for (int i = 0; i < (int)(sizeof cases / sizeof *cases); i++) check_kernel_case(&cases[i], i);
}

/* Three threads on a 3-row image: parts of one output row would have their shared rows overlap (two tasks writing
 * the same rows at once, the GEMM's k passes adding onto each other's sums: K 300 > kc); repeated, as a race is. */
Test(dw_strips, parts_never_share_rows_with_two_tasks) {
    static const strip_case race = { 1, 300, 64, 3, 40, 1, ACT_SILU };
    for (int rep = 0; rep < 8; rep++) check_kernel_case(&race, 100 + rep);
}

Test(dw_strips, refuses_what_does_not_fit) {
    strip_case cc = { 1, 8, 16, 6, 6, 1, ACT_NONE };
    ir_node pw, dw;
    nodes_of(&cc, &pw, &dw);
    int64_t x_dims[4] = { 1, 8, 6, 6 }, pw_dims[4] = { 16, 8, 1, 1 }, mid_dims[4] = { 1, 16, 6, 6 };
    int64_t dw_dims[4] = { 16, 1, 3, 3 }, b_dims[1] = { 16 };
    infer_tensor pin[3] = { tview(INFER_F32, NULL, 4, x_dims), tview(INFER_F32, NULL, 4, pw_dims),
                            tview(INFER_F32, NULL, 1, b_dims) };
    infer_tensor din[3] = { tview(INFER_F32, NULL, 4, mid_dims), tview(INFER_F32, NULL, 4, dw_dims),
                            tview(INFER_F32, NULL, 1, b_dims) };
    infer_tensor pout = din[0], dout = din[0];
    cr_assert(cpu_pw_dw_fits(&pw, pin, &pout, &dw, din, &dout));
    pw.p.conv2d.stride[0] = 2; /* not a 1x1 stride 1 */
    cr_assert(!cpu_pw_dw_fits(&pw, pin, &pout, &dw, din, &dout));
    pw.p.conv2d.stride[0] = 1;
    dw.p.conv2d.groups = 1; /* not depthwise */
    cr_assert(!cpu_pw_dw_fits(&pw, pin, &pout, &dw, din, &dout));
    dw.p.conv2d.groups = 16;
    dw.in[0] = 7; /* reads something else */
    cr_assert(!cpu_pw_dw_fits(&pw, pin, &pout, &dw, din, &dout));
    dw.in[0] = 3;
    pw.n_in = 4, pw.in[3] = 8; /* a residual */
    cr_assert(!cpu_pw_dw_fits(&pw, pin, &pout, &dw, din, &dout));
}

/* ---- engines: an inverted-residual block, strips on and off ------------------------------------------- */

/* An activation node (clip: relu6), which the graph passes fuse into the convolution before it. */
static void activation(ifg_writer *w, act_kind kind, const char *name, uint32_t x, uint32_t y) {
    tw_node(w, OP_ACTIVATION, name, TW_IDS(x), TW_IDS(y));
    ifg_writer_attr_int(w, "kind", kind);
    if (kind == ACT_CLIP) {
        ifg_writer_attr_float(w, "act_min", 0.0);
        ifg_writer_attr_float(w, "act_max", 6.0);
    }
}

/* x [n,c,h,w] -> 1x1 expand (e channels) -> act -> 3x3 depthwise (stride) -> act -> 1x1 project (c channels)
 * [-> + x when stride 1 and residual]; with mid_output the expanded tensor is a graph output too. */
static infer_model *block_model(const strip_case *cc, int residual, int mid_output) {
    test_rng r = rng_seed(77);
    ifg_writer *w = tw_new();
    int64_t oh = (cc->h + 2 - 3) / cc->stride + 1, ow = (cc->w + 2 - 3) / cc->stride + 1;
    float *pw_w = rng_array(&r, cc->e * cc->c, -0.5f, 0.5f), *pw_b = rng_array(&r, cc->e, -1, 1);
    float *dw_w = rng_array(&r, cc->e * 9, -1, 1), *dw_b = rng_array(&r, cc->e, -1, 1);
    float *pj_w = rng_array(&r, cc->c * cc->e, -0.3f, 0.3f), *pj_b = rng_array(&r, cc->c, -1, 1);
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(cc->n, cc->c, cc->h, cc->w));
    uint32_t wpw = tw_const(w, "pw.w", INFER_F32, DIMS(cc->e, cc->c, 1, 1), pw_w);
    uint32_t bpw = tw_const(w, "pw.b", INFER_F32, DIMS(cc->e), pw_b);
    uint32_t wdw = tw_const(w, "dw.w", INFER_F32, DIMS(cc->e, 1, 3, 3), dw_w);
    uint32_t bdw = tw_const(w, "dw.b", INFER_F32, DIMS(cc->e), dw_b);
    uint32_t wpj = tw_const(w, "pj.w", INFER_F32, DIMS(cc->c, cc->e, 1, 1), pj_w);
    uint32_t bpj = tw_const(w, "pj.b", INFER_F32, DIMS(cc->c), pj_b);
    uint32_t mid = tw_act(w, "mid", INFER_F32, DIMS(cc->n, cc->e, cc->h, cc->w));
    uint32_t mid_act = tw_act(w, "mid_act", INFER_F32, DIMS(cc->n, cc->e, cc->h, cc->w));
    uint32_t dwo = tw_act(w, "dwo", INFER_F32, DIMS(cc->n, cc->e, oh, ow));
    uint32_t dwo_act = tw_act(w, "dwo_act", INFER_F32, DIMS(cc->n, cc->e, oh, ow));
    uint32_t pj = tw_act(w, "pj", INFER_F32, DIMS(cc->n, cc->c, oh, ow));
    tw_node(w, OP_CONV2D, "expand", TW_IDS(x, wpw, bpw), TW_IDS(mid));
    activation(w, cc->act, "expand.act", mid, mid_act);
    tw_node(w, OP_CONV2D, "depthwise", TW_IDS(mid_act, wdw, bdw), TW_IDS(dwo));
    ifg_writer_attr_ints(w, "stride", (const int64_t[]){ cc->stride, cc->stride }, 2);
    ifg_writer_attr_ints(w, "padding", (const int64_t[]){ 1, 1 }, 2);
    ifg_writer_attr_int(w, "groups", cc->e);
    activation(w, cc->act, "depthwise.act", dwo, dwo_act);
    tw_node(w, OP_CONV2D, "project", TW_IDS(dwo_act, wpj, bpj), TW_IDS(pj));
    uint32_t out = pj;
    if (residual) {
        out = tw_act(w, "out", INFER_F32, DIMS(cc->n, cc->c, oh, ow));
        tw_node(w, OP_BINARY, "residual", TW_IDS(pj, x), TW_IDS(out));
        ifg_writer_attr_int(w, "kind", BIN_ADD);
    }
    if (mid_output) tw_graph(w, TW_IDS(x), TW_IDS(out, mid_act));
    else tw_graph(w, TW_IDS(x), TW_IDS(out));
    free(pw_w), free(pw_b), free(dw_w), free(dw_b), free(pj_w), free(pj_b);
    return model_from_writer(w);
}

static void check_block(const strip_case *cc, int residual, int mid_output) {
    infer_model *m = block_model(cc, residual, mid_output);
    test_rng r = rng_seed(5);
    int64_t count = cc->n * cc->c * cc->h * cc->w;
    float *x = rng_array(&r, count, -1, 1);
    infer_tensor in = model_input(m, 0, cc->n, x);
    for (int threads = 1; threads <= 3; threads++) {
        float *outs[2] = { NULL, NULL };
        int64_t n_out = 0;
        for (int fuse = 0; fuse <= 1; fuse++) {
            infer_engine_options o;
            infer_engine_options_init(&o);
            o.device = INFER_DEVICE_CPU;
            o.threads = threads;
            o.fuse_dw = fuse;
            infer_engine *e = NULL;
            infer_error err;
            cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_OK, "%s", err.message);
            int in_strips = layers_described(e, "in strips of");
            cr_assert_eq(in_strips, fuse && !mid_output, "fuse %d, mid output %d: %d layers in strips", fuse,
                         mid_output, in_strips);
            infer_tensor out[2];
            for (int run = 0; run < 2; run++) /* twice: nothing left over from the first run matters */
                cr_assert_eq(infer_engine_run(e, &in, 1, out, mid_output ? 2 : 1, &err), INFER_OK, "%s", err.message);
            n_out = infer_tensor_elements(&out[0]);
            outs[fuse] = malloc((size_t)n_out * sizeof(float));
            memcpy(outs[fuse], out[0].data, (size_t)n_out * sizeof(float));
            infer_engine_destroy(e);
        }
        double err_l2 = rel_l2(outs[1], outs[0], n_out);
        cr_assert(err_l2 <= 1e-6, "n %lld stride %lld residual %d threads %d: rel L2 %g", (long long)cc->n,
                  (long long)cc->stride, residual, threads, err_l2);
        free(outs[0]), free(outs[1]);
    }
    free(x);
    infer_model_free(m);
}

/* Intermediates of at least 4 MiB per image: where the backend runs strips. */
static const strip_case block_cases[] = {
    { 1, 17, 51, 147, 141, 1, ACT_CLIP },
    { 1, 17, 51, 147, 141, 2, ACT_CLIP },
    { 3, 17, 51, 141, 147, 2, ACT_SILU },
    { 3, 17, 51, 143, 145, 1, ACT_RELU },
};

Test(dw_strips, engine_block_matches_unfused) {
    for (int i = 0; i < (int)(sizeof block_cases / sizeof *block_cases); i++) {
        check_block(&block_cases[i], 0, 0);
        if (block_cases[i].stride == 1) check_block(&block_cases[i], 1, 0);
    }
}

Test(dw_strips, intermediate_read_elsewhere_is_not_fused) { check_block(&block_cases[0], 0, 1); }
