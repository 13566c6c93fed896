/* test_conv_small.c — the small-image transposed GEMM convolution (conv2d_small.c) against a direct convolution at
 * odd sizes, serial and threaded, on every ISA this CPU has; its shape rule; a residual sharing the output. */
#include <criterion/criterion.h>
#include "engine_util.h"
#include "../../kernels/cpu/cpu_kernels.h"
#include "../../kernels/cpu/conv2d.h"

typedef struct {
    int64_t n, c, h, w, o, k;
    int s, p;
    int bias, residual;
    act_kind act;
} small_case;

static const small_case cases[] = {
    /* n   c  h  w   o  k  s  p bias res act */
    { 1, 17, 7, 7, 33, 3, 1, 1, 1, 1, ACT_RELU },  /* 49 positions: 6 row slivers + 1 row; 33 outputs: a masked sliver */
    { 1, 33, 9, 5, 64, 3, 1, 1, 1, 0, ACT_CLIP },  /* 45 positions, the rule's output channels */
    { 3, 17, 7, 7, 65, 3, 2, 1, 0, 1, ACT_SILU },  /* batch 3 of 4x4: slivers across images */
    { 3, 33, 9, 5, 17, 1, 1, 0, 1, 1, ACT_NONE },  /* 1x1 */
    { 1, 17, 14, 14, 40, 1, 2, 0, 1, 0, ACT_GELU }, /* strided 1x1 */
    { 2, 5, 7, 9, 19, 5, 1, 2, 1, 1, ACT_HARDSWISH },
    { 1, 3, 3, 3, 7, 3, 1, 1, 1, 0, ACT_RELU },    /* 9 positions: one sliver and a bit */
};

static int64_t out_size(const small_case *sc, int64_t in) { return (in + 2 * sc->p - sc->k) / sc->s + 1; }

static void reference(const small_case *sc, const float *x, const float *w, const float *b, const float *res,
                      const act_params *act, float *y) {
    int64_t oh = out_size(sc, sc->h), ow = out_size(sc, sc->w);
    for (int64_t n = 0; n < sc->n; n++)
        for (int64_t o = 0; o < sc->o; o++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    double acc = b ? b[o] : 0.0;
                    for (int64_t c = 0; c < sc->c; c++)
                        for (int64_t u = 0; u < sc->k; u++)
                            for (int64_t v = 0; v < sc->k; v++) {
                                int64_t ih = i * sc->s - sc->p + u, iw = j * sc->s - sc->p + v;
                                if (ih < 0 || ih >= sc->h || iw < 0 || iw >= sc->w) continue;
                                acc += (double)w[((o * sc->c + c) * sc->k + u) * sc->k + v] *
                                       x[((n * sc->c + c) * sc->h + ih) * sc->w + iw];
                            }
                    int64_t at = ((n * sc->o + o) * oh + i) * ow + j;
                    if (res) acc += res[at];
                    y[at] = act_apply(act, (float)acc);
                }
}

typedef struct {
    float *x, *w, *b, *res, *want, *y;
    int64_t y_count;
    ir_node node;
    infer_tensor in[4], out;
    conv_geometry g;
} small_setup;

static void setup(const small_case *sc, int index, small_setup *s) {
    test_rng r = rng_seed(500 + (uint64_t)index);
    int64_t oh = out_size(sc, sc->h), ow = out_size(sc, sc->w);
    int64_t x_dims[4] = { sc->n, sc->c, sc->h, sc->w }, w_dims[4] = { sc->o, sc->c, sc->k, sc->k };
    int64_t b_dims[1] = { sc->o }, y_dims[4] = { sc->n, sc->o, oh, ow };
    s->y_count = sc->n * sc->o * oh * ow;
    s->x = rng_array(&r, sc->n * sc->c * sc->h * sc->w, -1, 1);
    s->w = rng_array(&r, sc->o * sc->c * sc->k * sc->k, -0.5f, 0.5f);
    s->b = sc->bias ? rng_array(&r, sc->o, -1, 1) : NULL;
    s->res = sc->residual ? rng_array(&r, s->y_count, -1, 1) : NULL;
    s->want = malloc((size_t)s->y_count * sizeof *s->want);
    s->y = malloc((size_t)s->y_count * sizeof *s->y);
    memset(&s->node, 0, sizeof s->node);
    s->node.op = OP_CONV2D;
    s->node.n_in = sc->residual ? 4 : sc->bias ? 3 : 2;
    s->node.n_out = 1;
    s->node.p.conv2d = (conv2d_params){ { sc->s, sc->s }, { sc->p, sc->p }, { 1, 1 }, 1, { sc->act, -0.25f, 0.5f },
                                        { 0, 0 }, INFER_WINOGRAD_AUTO };
    s->in[0] = tview(INFER_F32, s->x, 4, x_dims);
    s->in[1] = tview(INFER_F32, s->w, 4, w_dims);
    s->in[2] = tview(INFER_F32, s->b, 1, b_dims);
    s->in[3] = tview(INFER_F32, s->res, 4, y_dims);
    s->out = tview(INFER_F32, s->y, 4, y_dims);
    conv_geometry_of(&s->node, s->in, &s->out, &s->g);
    reference(sc, s->x, s->w, s->b, s->res, &s->node.p.conv2d.act, s->want);
}

static void teardown(small_setup *s) {
    free(s->x), free(s->w), free(s->b), free(s->res), free(s->want), free(s->y);
}

Test(conv_small, matches_direct_convolution_on_every_isa) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        small_setup s;
        setup(&cases[i], (int)i, &s);
        size_t ws_bytes = conv_small_workspace(&s.g);
        cr_assert_gt(ws_bytes, 0);
        void *ws = malloc(ws_bytes);
        for (int threads = 1; threads <= 2; threads++) {
            thread_pool *pool = NULL;
            infer_error err;
            if (threads > 1) cr_assert_eq(pool_create(threads, &pool, &err), INFER_OK);
            uint8_t *scratch = malloc(CPU_SCRATCH_BYTES * (size_t)threads);
            for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++) {
                size_t bytes = conv_small_prepack_size(&s.node, s.in, isa, 1);
                cr_assert_gt(bytes, 0, "case %zu isa %d", i, isa);
                void *packed = aligned_alloc(64, (bytes + 63) / 64 * 64);
                conv_small_prepack(&s.node, s.in, isa, packed);
                cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = isa, .workspace = ws,
                                .workspace_bytes = ws_bytes, .scratch = scratch, .prepacked = packed };
                for (int64_t k = 0; k < s.y_count; k++) s.y[k] = NAN;
                /* the path itself, then through the kernel (which must take it) */
                cr_assert_eq(conv2d_small(&ctx, &s.g, s.x, s.b, s.res, &s.node.p.conv2d.act, s.y), 1, "case %zu", i);
                double e = rel_l2(s.y, s.want, s.y_count);
                cr_expect(e <= 1e-6, "case %zu threads %d isa %d: rel L2 %g", i, threads, isa, e);
                for (int64_t k = 0; k < s.y_count; k++) s.y[k] = NAN;
                cr_assert_eq(cpu_conv2d(&ctx, &s.node, s.in, &s.out, &err), INFER_OK, "%s", err.message);
                e = rel_l2(s.y, s.want, s.y_count);
                cr_expect(e <= 1e-6, "case %zu threads %d isa %d (kernel): rel L2 %g", i, threads, isa, e);
                /* too small a workspace, or weights packed for another ISA: not taken */
                ctx.workspace_bytes = ws_bytes - 1;
                cr_expect_eq(conv2d_small(&ctx, &s.g, s.x, s.b, s.res, &s.node.p.conv2d.act, s.y), 0);
                ctx.workspace_bytes = ws_bytes;
                ctx.isa = isa == CPU_ISA_SCALAR ? CPU_ISA_AVX2 : CPU_ISA_SCALAR;
                cr_expect_eq(conv2d_small(&ctx, &s.g, s.x, s.b, s.res, &s.node.p.conv2d.act, s.y), 0);
                free(packed);
            }
            free(scratch);
            pool_destroy(pool);
        }
        free(ws);
        teardown(&s);
    }
}

/* The residual is the output's own storage (the engine reuses a dead residual's buffer). */
Test(conv_small, residual_in_place) {
    small_setup s;
    setup(&cases[0], 0, &s);
    size_t ws_bytes = conv_small_workspace(&s.g), bytes = conv_small_prepack_size(&s.node, s.in, cpu_detect_isa(), 1);
    void *ws = malloc(ws_bytes), *packed = aligned_alloc(64, (bytes + 63) / 64 * 64);
    uint8_t *scratch = malloc(CPU_SCRATCH_BYTES);
    conv_small_prepack(&s.node, s.in, cpu_detect_isa(), packed);
    cpu_ctx ctx = { .threads = 1, .isa = cpu_detect_isa(), .workspace = ws, .workspace_bytes = ws_bytes,
                    .scratch = scratch, .prepacked = packed };
    memcpy(s.y, s.res, (size_t)s.y_count * sizeof *s.y);
    cr_assert_eq(conv2d_small(&ctx, &s.g, s.x, s.b, s.y, &s.node.p.conv2d.act, s.y), 1);
    double e = rel_l2(s.y, s.want, s.y_count);
    cr_expect(e <= 1e-6, "rel L2 %g", e);
    free(ws), free(packed), free(scratch);
    teardown(&s);
}

/* The engine's rule: 32-64 output positions in all, at least 64 output channels, depth (inputs x taps) 1024+, groups 1,
 * not a stride-1 unpadded 1x1; the prepacking picks
 * the transposed GEMM's weights exactly then (else packed rows or Winograd). */
Test(conv_small, rule_picks_seven_by_seven) {
    static const struct { int64_t n, c, h, o, k; int s, p, groups, takes; } shapes[] = {
        { 1, 512, 7, 512, 3, 1, 1, 1, 1 },   /* resnet layer4 3x3 */
        { 1, 256, 14, 512, 3, 2, 1, 1, 1 },  /* its stride-2 entry: 7x7 out */
        { 1, 2048, 7, 512, 1, 1, 0, 1, 0 },  /* resnet50 layer4 1x1: packed rows */
        { 1, 1024, 14, 2048, 1, 2, 0, 1, 1 }, /* its strided 1x1 downsample */
        { 1, 256, 14, 512, 1, 2, 0, 1, 0 },  /* resnet18's: depth 256 */
        { 1, 256, 14, 256, 3, 1, 1, 1, 0 },  /* 14x14: 196 positions, packed rows */
        { 8, 512, 7, 512, 3, 1, 1, 1, 0 },   /* batch 8: 392 positions */
        { 1, 128, 7, 32, 3, 1, 1, 1, 0 },    /* 32 outputs */
        { 1, 128, 7, 64, 3, 1, 1, 2, 0 },    /* grouped */
        { 1, 128, 4, 64, 3, 1, 1, 1, 0 },    /* 16 positions */
        { 1, 113, 7, 64, 3, 1, 1, 1, 0 },    /* depth 1017 */
        { 1, 114, 7, 64, 3, 1, 1, 1, 1 },    /* depth 1026 */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int64_t oh = (shapes[i].h + 2 * shapes[i].p - shapes[i].k) / shapes[i].s + 1;
        conv_geometry g = { .batch = shapes[i].n, .channels = shapes[i].c, .height = shapes[i].h, .width = shapes[i].h,
                            .out_channels = shapes[i].o, .out_height = oh, .out_width = oh, .kernel_h = shapes[i].k,
                            .kernel_w = shapes[i].k, .stride_h = shapes[i].s, .stride_w = shapes[i].s,
                            .pad_h = shapes[i].p, .pad_w = shapes[i].p, .dilation_h = 1, .dilation_w = 1,
                            .groups = shapes[i].groups };
        cr_expect_eq(conv_small_takes(&g), shapes[i].takes, "shape %zu", i);
        float dummy = 0;
        ir_node node;
        memset(&node, 0, sizeof node);
        node.op = OP_CONV2D;
        node.n_in = 2;
        node.p.conv2d = (conv2d_params){ { shapes[i].s, shapes[i].s }, { shapes[i].p, shapes[i].p }, { 1, 1 },
                                         shapes[i].groups, { ACT_NONE, 0, 0 }, { 0, 0 }, INFER_WINOGRAD_AUTO };
        infer_tensor in[2] = { tview(INFER_F32, &dummy, 4, (int64_t[]){ g.batch, g.channels, g.height, g.width }),
                               tview(INFER_F32, &dummy, 4,
                                     (int64_t[]){ g.out_channels, g.channels / g.groups, g.kernel_h, g.kernel_w }) };
        size_t small = conv_small_prepack_size(&node, in, cpu_detect_isa(), 0);
        cr_expect_eq(small > 0, shapes[i].takes, "shape %zu", i);
        if (shapes[i].takes)
            cr_expect_eq(conv2d_prepack_size_for(&node, in, cpu_detect_isa(), INFER_WINOGRAD_AUTO), small, "shape %zu", i);
    }
}

/* Through the engine: a 7x7 layer's weights are prepacked for the transposed GEMM (its layer info says so) and its
 * output matches the direct convolution, 1 and 2 threads. */
Test(conv_small, engine_runs_it) {
    enum { CI = 129, CO = 64, H = 7 };
    const small_case sc = { 1, CI, H, H, CO, 3, 1, 1, 1, 0, ACT_RELU };
    small_setup s;
    setup(&sc, 77, &s);
    ifg_writer *wr = tw_new();
    uint32_t x = tw_act(wr, "x", INFER_F32, DIMS(1, CI, H, H));
    uint32_t wt = tw_const(wr, "w", INFER_F32, DIMS(CO, CI, 3, 3), s.w), bt = tw_const(wr, "b", INFER_F32, DIMS(CO), s.b);
    uint32_t y = tw_act(wr, "y", INFER_F32, DIMS(1, CO, H, H));
    tw_node(wr, OP_CONV2D, "conv", TW_IDS(x, wt, bt), TW_IDS(y));
    int64_t pad[2] = { 1, 1 };
    ifg_writer_attr_ints(wr, "padding", pad, 2);
    ifg_writer_attr_int(wr, "act", ACT_RELU);
    tw_graph(wr, TW_IDS(x), TW_IDS(y));
    infer_model *m = model_from_writer(wr);
    for (int threads = 1; threads <= 2; threads++) {
        infer_engine_options o;
        infer_engine_options_init(&o);
        o.device = INFER_DEVICE_CPU;
        o.threads = threads;
        infer_engine *e = NULL;
        infer_error err;
        cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_OK, "%s", err.message);
        infer_tensor in = model_input(m, 0, 1, s.x), out;
        cr_assert_eq(infer_engine_run(e, &in, 1, &out, 1, &err), INFER_OK, "%s", err.message);
        double d = rel_l2(out.data, s.want, s.y_count);
        cr_expect(d <= 1e-6, "threads %d: rel L2 %g", threads, d);
        cr_expect(layers_described(e, "transposed") > 0, "threads %d: the layer's weights are not the transposed GEMM's", threads);
        infer_engine_destroy(e);
    }
    infer_model_free(m);
    teardown(&s);
}
