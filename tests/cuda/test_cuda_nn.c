/* test_cuda_nn.c — conv2d, linear, matmul, norms, pools, attention, LSTM and embedding on the GPU against the CPU kernels. */
#include "cuda_cases.h"

static int64_t conv_out(int64_t in, int k, int s, int p, int d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

typedef struct {
    int64_t n, c, h, w, o;
    int k, s, p, d, g, bias, residual;
    act_params act;
} conv_case;

static void check_conv(test_rng *r, const conv_case *cc, const char *what, int tf32) {
    ir_node n = t_node(OP_CONV2D, 4, 1);
    n.p.conv2d.stride[0] = n.p.conv2d.stride[1] = cc->s;
    n.p.conv2d.padding[0] = n.p.conv2d.padding[1] = cc->p;
    n.p.conv2d.dilation[0] = n.p.conv2d.dilation[1] = cc->d;
    n.p.conv2d.groups = cc->g;
    n.p.conv2d.act = cc->act;
    int64_t oh = conv_out(cc->h, cc->k, cc->s, cc->p, cc->d), ow = conv_out(cc->w, cc->k, cc->s, cc->p, cc->d);
    infer_tensor in[4] = { t_rand(r, SHAPE(cc->n, cc->c, cc->h, cc->w), -1, 1),
                           t_rand(r, SHAPE(cc->o, cc->c / cc->g, cc->k, cc->k), -0.5f, 0.5f),
                           cc->bias ? t_rand(r, SHAPE(cc->o), -0.5f, 0.5f) : t_none(),
                           cc->residual ? t_rand(r, SHAPE(cc->n, cc->o, oh, ow), -1, 1) : t_none() };
    t_absent(&n, in);
    infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(cc->n, cc->o, oh, ow)) };
    ct_check(what, &n, in, out);
    if (tf32) {
        double e = ct_compare_node(&n, in, out, INFER_PRECISION_TF32, 0);
        cr_expect(e <= ct_tol(INFER_PRECISION_TF32), "%s (tf32): %g", what, e);
    }
    t_free(in, 4);
}

Test(cuda_nn, conv2d) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(11);
    act_params none = { ACT_NONE, 0, 0 }, relu = { ACT_RELU, 0, 0 }, relu6 = { ACT_CLIP, 0, 6 },
               gelu = { ACT_GELU, 0, 0 }, silu = { ACT_SILU, 0, 0 };
    conv_case cs[] = {
        { 2, 3, 11, 13, 8, 3, 2, 1, 1, 1, 1, 0, relu },   /* stem-like, fused relu */
        { 2, 8, 9, 9, 16, 1, 1, 0, 1, 1, 1, 0, none },    /* 1x1, identity (fused only with precomp gemm) */
        { 2, 8, 9, 9, 8, 3, 1, 1, 1, 1, 1, 1, relu },     /* residual + relu */
        { 2, 4, 9, 9, 6, 3, 1, 1, 1, 2, 1, 0, relu6 },    /* grouped, clipped relu */
        { 2, 6, 9, 9, 6, 3, 1, 1, 1, 6, 1, 1, relu6 },    /* depthwise with residual */
        { 1, 5, 10, 7, 10, 3, 2, 1, 1, 5, 1, 0, silu },   /* depthwise, channel multiplier 2, stride 2 */
        { 2, 3, 12, 12, 5, 3, 1, 2, 2, 1, 0, 0, gelu },   /* dilation, no bias, unfused gelu */
        { 1, 16, 7, 7, 32, 3, 1, 1, 1, 1, 1, 1, none },   /* residual without activation */
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "conv2d case %zu", i);
        check_conv(&r, &cs[i], what, i == 0);
    }
}

Test(cuda_nn, linear) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(12);
    act_kind acts[] = { ACT_NONE, ACT_RELU, ACT_GELU, ACT_GELU_TANH, ACT_SIGMOID };
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (int variant = 0; variant < 3; variant++) { /* 0: bias, 1: bias + residual, 2: neither */
            ir_node n = t_node(OP_LINEAR, 4, 1);
            n.p.linear.act.kind = acts[a];
            infer_tensor in[4] = { t_rand(&r, SHAPE(3, 5, 17), -1, 1), t_rand(&r, SHAPE(11, 17), -0.5f, 0.5f),
                                   variant < 2 ? t_rand(&r, SHAPE(11), -0.5f, 0.5f) : t_none(),
                                   variant == 1 ? t_rand(&r, SHAPE(3, 5, 11), -1, 1) : t_none() };
            t_absent(&n, in);
            infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(3, 5, 11)) };
            char what[64];
            snprintf(what, sizeof what, "linear act %s variant %d", act_name(acts[a]), variant);
            ct_check(what, &n, in, out);
            if (a == 1 && variant == 0) {
                double e = ct_compare_node(&n, in, out, INFER_PRECISION_TF32, 0);
                cr_expect(e <= ct_tol(INFER_PRECISION_TF32), "linear tf32: %g", e);
            }
            t_free(in, 4);
        }
    /* a larger one: cuBLASLt picks a real kernel */
    ir_node n = t_node(OP_LINEAR, 3, 1);
    n.p.linear.act.kind = ACT_RELU;
    infer_tensor in[3] = { t_rand(&r, SHAPE(67, 257), -1, 1), t_rand(&r, SHAPE(129, 257), -0.2f, 0.2f),
                           t_rand(&r, SHAPE(129), -0.5f, 0.5f) };
    infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(67, 129)) };
    ct_check("linear 67x257x129", &n, in, out);
    t_free(in, 3);
}

Test(cuda_nn, matmul_batches) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(13);
    struct { int na; int64_t a[4]; int nb; int64_t b[4]; int no; int64_t o[4]; } cs[] = {
        { 2, { 5, 7 }, 2, { 7, 4 }, 2, { 5, 4 } },                       /* plain */
        { 3, { 3, 5, 7 }, 3, { 3, 7, 4 }, 3, { 3, 5, 4 } },              /* strided batch */
        { 3, { 3, 5, 7 }, 2, { 7, 4 }, 3, { 3, 5, 4 } },                 /* b shared: folded */
        { 2, { 5, 7 }, 3, { 3, 7, 4 }, 3, { 3, 5, 4 } },                 /* a shared: stride 0 */
        { 4, { 2, 1, 5, 7 }, 4, { 1, 3, 7, 4 }, 4, { 2, 3, 5, 4 } },     /* both broadcast: one GEMM per matrix */
        { 4, { 2, 4, 9, 16 }, 4, { 2, 4, 16, 9 }, 4, { 2, 4, 9, 9 } },   /* attention scores */
    };
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        ir_node n = t_node(OP_MATMUL, 2, 1);
        infer_tensor in[2] = { t_rand(&r, cs[c].na, cs[c].a, -1, 1), t_rand(&r, cs[c].nb, cs[c].b, -1, 1) };
        infer_tensor out[1] = { t_shape(INFER_F32, cs[c].no, cs[c].o) };
        char what[64];
        snprintf(what, sizeof what, "matmul case %zu", c);
        ct_check(what, &n, in, out);
        t_free(in, 2);
    }
}

Test(cuda_nn, norms) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(14);
    ir_node b = t_node(OP_BATCHNORM, 5, 1);
    b.p.batchnorm.eps = 1e-5f;
    infer_tensor bi[5] = { t_rand(&r, SHAPE(3, 5, 7, 9), -2, 2), t_rand(&r, SHAPE(5), 0.5f, 1.5f),
                           t_rand(&r, SHAPE(5), -0.5f, 0.5f), t_rand(&r, SHAPE(5), -0.5f, 0.5f),
                           t_rand(&r, SHAPE(5), 0.5f, 2) };
    infer_tensor bo[1] = { t_shape(INFER_F32, SHAPE(3, 5, 7, 9)) };
    ct_check("batchnorm", &b, bi, bo);
    t_free(bi, 5);

    ir_node l = t_node(OP_LAYERNORM, 3, 1);
    l.p.layernorm.axes = 1;
    l.p.layernorm.eps = 1e-5f;
    infer_tensor li[3] = { t_rand(&r, SHAPE(6, 19, 100), -2, 3), t_rand(&r, SHAPE(100), 0.5f, 1.5f),
                           t_rand(&r, SHAPE(100), -0.5f, 0.5f) };
    infer_tensor lo[1] = { t_shape(INFER_F32, SHAPE(6, 19, 100)) };
    ct_check("layernorm", &l, li, lo);
    t_free(li, 3);
    ir_node l2 = t_node(OP_LAYERNORM, 1, 1);
    l2.p.layernorm.axes = 2;
    l2.p.layernorm.eps = 1e-6f;
    infer_tensor l2i[1] = { t_rand(&r, SHAPE(4, 5, 6), -1, 1) };
    infer_tensor l2o[1] = { t_shape(INFER_F32, SHAPE(4, 5, 6)) };
    ct_check("layernorm 2 axes, no affine", &l2, l2i, l2o);
    t_free(l2i, 1);
}

static int64_t pool_out(int64_t in, int k, int s, int p, int d, int ceil_mode) {
    int64_t num = in + 2 * p - d * (k - 1) - 1;
    int64_t o = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
    if (ceil_mode && (o - 1) * s >= in + p) o--;
    return o;
}

Test(cuda_nn, pools) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(15);
    struct { int k, s, p, d, ceil, include; } cs[] = { { 3, 2, 1, 1, 0, 1 }, { 3, 2, 1, 1, 1, 0 }, { 2, 2, 0, 1, 1, 1 },
                                                       { 3, 1, 1, 2, 0, 1 } };
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++)
        for (int op = 0; op < 2; op++) {
            if (op == 1 && cs[c].d != 1) continue; /* avgpool has no dilation */
            ir_node n = t_node(op ? OP_AVGPOOL2D : OP_MAXPOOL2D, 1, 1);
            pool2d_params *p = &n.p.pool2d;
            p->kernel[0] = p->kernel[1] = cs[c].k;
            p->stride[0] = p->stride[1] = cs[c].s;
            p->padding[0] = p->padding[1] = cs[c].p;
            p->dilation[0] = p->dilation[1] = cs[c].d;
            p->ceil_mode = cs[c].ceil;
            p->count_include_pad = cs[c].include;
            int64_t oh = pool_out(15, cs[c].k, cs[c].s, cs[c].p, cs[c].d, cs[c].ceil);
            int64_t ow = pool_out(17, cs[c].k, cs[c].s, cs[c].p, cs[c].d, cs[c].ceil);
            infer_tensor in[1] = { t_rand(&r, SHAPE(2, 3, 15, 17), -2, 2) };
            infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(2, 3, oh, ow)) };
            char what[64];
            snprintf(what, sizeof what, "%s case %zu", op ? "avgpool" : "maxpool", c);
            ct_check(what, &n, in, out);
            t_free(in, 1);
        }
    int sizes[3][2] = { { 4, 5 }, { 1, 1 }, { 7, 3 } };
    for (int s = 0; s < 3; s++) {
        ir_node n = t_node(OP_ADAPTIVE_AVGPOOL2D, 1, 1);
        n.p.adaptive_pool.output_size[0] = sizes[s][0];
        n.p.adaptive_pool.output_size[1] = sizes[s][1];
        infer_tensor in[1] = { t_rand(&r, SHAPE(2, 3, 15, 17), -2, 2) };
        infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(2, 3, sizes[s][0], sizes[s][1])) };
        ct_check("adaptive avgpool", &n, in, out);
        t_free(in, 1);
    }
}

Test(cuda_nn, attention) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(16);
    struct { int64_t B, Lq, Lk, E; int heads, causal, mask; } cs[] = {
        { 2, 5, 7, 24, 3, 0, 0 }, { 2, 6, 6, 24, 3, 1, 0 }, { 1, 5, 7, 16, 2, 0, 1 },
        { 1, 5, 7, 16, 2, 0, 2 }, { 2, 9, 9, 128, 2, 1, 0 }, { 1, 3, 40, 256, 1, 0, 0 },
    };
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        ir_node n = t_node(OP_ATTENTION, 4, 1);
        n.p.attention.heads = cs[c].heads;
        n.p.attention.causal = cs[c].causal;
        infer_tensor in[4] = { t_rand(&r, SHAPE(cs[c].B, cs[c].Lq, cs[c].E), -1, 1),
                               t_rand(&r, SHAPE(cs[c].B, cs[c].Lk, cs[c].E), -1, 1),
                               t_rand(&r, SHAPE(cs[c].B, cs[c].Lk, cs[c].E), -1, 1),
                               cs[c].mask == 1 ? t_rand(&r, SHAPE(cs[c].Lq, cs[c].Lk), -2, 0)
                               : cs[c].mask == 2 ? t_bool(&r, SHAPE(cs[c].Lq, cs[c].Lk), 30) : t_none() };
        if (cs[c].mask == 2) /* keep one key visible in every row */
            for (int64_t i = 0; i < cs[c].Lq; i++) ((uint8_t *)in[3].data)[i * cs[c].Lk] = 0;
        t_absent(&n, in);
        infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(cs[c].B, cs[c].Lq, cs[c].E)) };
        char what[64];
        snprintf(what, sizeof what, "attention case %zu", c);
        ct_check(what, &n, in, out);
        t_free(in, 4);
    }
}

Test(cuda_nn, lstm) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(17);
    for (int bf = 0; bf < 2; bf++)
        for (int states = 0; states < 2; states++) {
            int64_t T = 5, B = 3, I = 4, H = 6, L = 2;
            ir_node n = t_node(OP_LSTM, 3 + 4 * (int)L, 3);
            n.p.lstm.hidden = (int)H;
            n.p.lstm.layers = (int)L;
            n.p.lstm.batch_first = bf;
            infer_tensor in[11];
            in[0] = bf ? t_rand(&r, SHAPE(B, T, I), -1, 1) : t_rand(&r, SHAPE(T, B, I), -1, 1);
            in[1] = states ? t_rand(&r, SHAPE(L, B, H), -1, 1) : t_none();
            in[2] = states ? t_rand(&r, SHAPE(L, B, H), -1, 1) : t_none();
            for (int64_t l = 0; l < L; l++) {
                in[3 + 4 * l] = t_rand(&r, SHAPE(4 * H, l ? H : I), -0.5f, 0.5f);
                in[4 + 4 * l] = t_rand(&r, SHAPE(4 * H, H), -0.5f, 0.5f);
                in[5 + 4 * l] = t_rand(&r, SHAPE(4 * H), -0.5f, 0.5f);
                in[6 + 4 * l] = t_rand(&r, SHAPE(4 * H), -0.5f, 0.5f);
            }
            t_absent(&n, in);
            infer_tensor out[3] = { bf ? t_shape(INFER_F32, SHAPE(B, T, H)) : t_shape(INFER_F32, SHAPE(T, B, H)),
                                    t_shape(INFER_F32, SHAPE(L, B, H)), t_shape(INFER_F32, SHAPE(L, B, H)) };
            char what[64];
            snprintf(what, sizeof what, "lstm batch_first %d states %d", bf, states);
            ct_check(what, &n, in, out);
            t_free(in, 11);
        }
}

Test(cuda_nn, embedding_and_bad_ids) {
    REQUIRE_CUDA();
    test_rng r = rng_seed(18);
    infer_dtype dts[2] = { INFER_I64, INFER_I32 };
    for (int d = 0; d < 2; d++) {
        ir_node n = t_node(OP_EMBEDDING, 2, 1);
        infer_tensor in[2] = { t_ids(&r, SHAPE(3, 7), 50, dts[d]), t_rand(&r, SHAPE(50, 13), -1, 1) };
        infer_tensor out[1] = { t_shape(INFER_F32, SHAPE(3, 7, 13)) };
        ct_check("embedding", &n, in, out);
        /* one id out of range: a run error, not garbage */
        if (dts[d] == INFER_I64) ((int64_t *)in[0].data)[5] = 50;
        else ((int32_t *)in[0].data)[5] = -1;
        out[0].data = malloc(3 * 7 * 13 * sizeof(float));
        infer_error err;
        infer_status s = cuda_test_run_node(&n, in, out, INFER_PRECISION_FP32, &err);
        cr_expect_eq(s, INFER_ERR_RUNTIME, "status %d: %s", s, err.message);
        free(out[0].data);
        t_free(in, 2);
    }
}
