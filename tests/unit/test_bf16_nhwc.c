/* test_bf16_nhwc.c — BF16 NHWC chains (kernels/cpu/conv2d_bf16_nhwc.c, runtime/cpu_bf16_chain.c): a residual block
 * of 1x1, 3x3 and strided 3x3 convolutions at odd sizes, chained, against the same engine unchained and against FP32,
 * with each BF16 kernel (AVX512-BF16, AMX-BF16) this CPU has and 1 to 3 threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "engine_util.h"
#include "../../kernels/cpu/cpu_features.h"
#include "../../kernels/cpu/gemm_bf16.h"
#include "../../kernels/cpu/maxpool2d_bf16_nhwc.h"
#include "../../base/half.h"

typedef struct {
    int64_t n, c, mid, h, w; /* batch, input channels, the block's wide channels, image */
    int64_t ka, ca;          /* the first convolution's kernel (1 or 3) and input channels (f32 NCHW, the input's) */
} block_case;

static const block_case cases[] = {
    { 3, 17, 80, 7, 9, 1, 17 },
    { 1, 33, 48, 9, 7, 3, 33 },
    { 2, 16, 33, 5, 11, 1, 16 },
    { 1, 17, 64, 14, 14, 3, 17 }, /* 196 positions: whole 32-row blocks and a tail */
    { 2, 32, 40, 6, 8, 3, 32 },   /* 32 channels: a kernel row's taps one run */
    { 3, 17, 33, 9, 11, 3, 10 },  /* 10 input channels: a kernel row of 30 values one fixed-size copy (as the stem) */
};

static void activation(ifg_writer *w, act_kind kind, const char *name, uint32_t x, uint32_t y) {
    tw_node(w, OP_ACTIVATION, name, TW_IDS(x), TW_IDS(y));
    ifg_writer_attr_int(w, "kind", kind);
    if (kind == ACT_CLIP) {
        ifg_writer_attr_float(w, "act_min", 0.0);
        ifg_writer_attr_float(w, "act_max", 6.0);
    }
}

static uint32_t conv(ifg_writer *w, test_rng *r, const char *name, uint32_t x, int64_t cin, int64_t cout, int64_t k,
                     int64_t stride, const int64_t *out_dims, float **keep) {
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s.w", name);
    snprintf(bn, sizeof bn, "%s.b", name);
    float scale = 1.5f / sqrtf((float)(cin * k * k));
    keep[0] = rng_array(r, cout * cin * k * k, -scale, scale);
    keep[1] = rng_array(r, cout, -0.5f, 0.5f);
    uint32_t wt = tw_const(w, wn, INFER_F32, DIMS(cout, cin, k, k), keep[0]);
    uint32_t bt = tw_const(w, bn, INFER_F32, DIMS(cout), keep[1]);
    uint32_t y = tw_act(w, name, INFER_F32, 4, out_dims);
    tw_node(w, OP_CONV2D, name, TW_IDS(x, wt, bt), TW_IDS(y));
    ifg_writer_attr_ints(w, "stride", (const int64_t[]){ stride, stride }, 2);
    ifg_writer_attr_ints(w, "padding", (const int64_t[]){ k / 2, k / 2 }, 2);
    return y;
}

/* x [n,ca,h,w] -> a: 1x1 or 3x3 ca->c relu -> 3x3 max pool (stride 1) -> b: 3x3 c->mid silu -> d: 1x1 mid->c, + the pool,
 * relu -> e: 3x3 stride 2 c->mid clip (the output). Chained: a's output, the pool's (read by b and as d's residual),
 * b's and d's. */
static infer_model *block_model(const block_case *cc) {
    test_rng r = rng_seed(91);
    ifg_writer *w = tw_new();
    float *keep[8];
    int64_t oh = (cc->h - 1) / 2 + 1, ow = (cc->w - 1) / 2 + 1;
    const int64_t in_dims[4] = { cc->n, cc->ca, cc->h, cc->w };
    const int64_t full_c[4] = { cc->n, cc->c, cc->h, cc->w }, full_mid[4] = { cc->n, cc->mid, cc->h, cc->w };
    const int64_t half_mid[4] = { cc->n, cc->mid, oh, ow };
    uint32_t x = tw_act(w, "x", INFER_F32, 4, in_dims);
    uint32_t a = conv(w, &r, "a", x, cc->ca, cc->c, cc->ka, 1, full_c, keep);
    uint32_t a_act = tw_act(w, "a.act", INFER_F32, 4, full_c);
    activation(w, ACT_RELU, "a.relu", a, a_act);
    uint32_t pooled = tw_act(w, "pool", INFER_F32, 4, full_c);
    tw_node(w, OP_MAXPOOL2D, "pool", TW_IDS(a_act), TW_IDS(pooled));
    ifg_writer_attr_ints(w, "kernel", (const int64_t[]){ 3, 3 }, 2);
    ifg_writer_attr_ints(w, "stride", (const int64_t[]){ 1, 1 }, 2);
    ifg_writer_attr_ints(w, "padding", (const int64_t[]){ 1, 1 }, 2);
    uint32_t b = conv(w, &r, "b", pooled, cc->c, cc->mid, 3, 1, full_mid, keep + 2);
    uint32_t b_act = tw_act(w, "b.act", INFER_F32, 4, full_mid);
    activation(w, ACT_SILU, "b.silu", b, b_act);
    uint32_t d = conv(w, &r, "d", b_act, cc->mid, cc->c, 1, 1, full_c, keep + 4);
    uint32_t sum = tw_act(w, "sum", INFER_F32, 4, full_c), sum_act = tw_act(w, "sum.act", INFER_F32, 4, full_c);
    tw_node(w, OP_BINARY, "residual", TW_IDS(d, pooled), TW_IDS(sum));
    ifg_writer_attr_int(w, "kind", BIN_ADD);
    activation(w, ACT_RELU, "sum.relu", sum, sum_act);
    uint32_t e = conv(w, &r, "e", sum_act, cc->c, cc->mid, 3, 2, half_mid, keep + 6);
    uint32_t e_act = tw_act(w, "e.act", INFER_F32, 4, half_mid);
    activation(w, ACT_CLIP, "e.clip", e, e_act);
    tw_graph(w, TW_IDS(x), TW_IDS(e_act));
    for (int i = 0; i < 8; i++) free(keep[i]);
    return model_from_writer(w);
}

/* The model's output (malloc'd copy) at this precision, BF16 kernel, chain setting and thread count. */
static float *run_block(const infer_model *m, const infer_tensor *in, infer_precision precision,
                        infer_cpu_bf16 kernel, int chain, int threads, int64_t *n_out, int *chained) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.precision = precision;
    o.cpu_bf16 = kernel;
    o.bf16_chain = chain;
    o.threads = threads;
    infer_engine *e = NULL;
    infer_error err;
    cr_assert_eq(infer_engine_create(m, &o, &e, &err), INFER_OK, "%s", err.message);
    *chained = layers_described(e, "BF16 NHWC");
    infer_tensor out;
    for (int run = 0; run < 2; run++) /* twice: nothing left over from the first run matters */
        cr_assert_eq(infer_engine_run(e, in, 1, &out, 1, &err), INFER_OK, "%s", err.message);
    *n_out = infer_tensor_elements(&out);
    float *copy = malloc((size_t)*n_out * sizeof(float));
    memcpy(copy, out.data, (size_t)*n_out * sizeof(float));
    infer_engine_destroy(e);
    return copy;
}

/* Model m (freed here) on seeded input of batch n (elements in total): BF16 with chains (want_chained layers on them)
 * and without (none), at 1-3 threads, each within tolerance of FP32 and of each other; label names the case.
 * Tolerances: four BF16 layers each round their inputs and weights (~2e-3 relative, tests/golden/bf16_check.c);
 * chained, each activation is rounded once more when stored: measured below 5e-3 against FP32 here, so 1.5e-2; a
 * wrong tap, channel or residual is off by 1e-1 or more. */
static void check_chained(infer_model *m, int64_t n, int64_t elements, uint32_t seed, infer_cpu_bf16 kernel,
                          int want_chained, const char *label) {
    test_rng r = rng_seed(seed);
    float *x = rng_array(&r, elements, -1, 1);
    infer_tensor in = model_input(m, 0, n, x);
    int64_t n_ref, n_on, n_off;
    int chained;
    float *ref = run_block(m, &in, INFER_PRECISION_FP32, INFER_CPU_BF16_AUTO, 1, 2, &n_ref, &chained);
    for (int threads = 1; threads <= 3; threads++) {
        float *on = run_block(m, &in, INFER_PRECISION_BF16, kernel, 1, threads, &n_on, &chained);
        cr_expect_eq(chained, want_chained, "%s: %d layers chained, not %d", label, chained, want_chained);
        float *off = run_block(m, &in, INFER_PRECISION_BF16, kernel, 0, threads, &n_off, &chained);
        cr_expect_eq(chained, 0, "%s, chains off: %d layers chained", label, chained);
        cr_assert(n_on == n_ref && n_off == n_ref);
        double e_on = rel_l2(on, ref, n_ref), e_off = rel_l2(off, ref, n_ref), e_pair = rel_l2(on, off, n_ref);
        cr_expect(e_on < 1.5e-2 && e_off < 1.5e-2 && e_pair < 1.5e-2,
                  "%s, kernel %d, %d threads: chained vs fp32 %g, unchained vs fp32 %g, chained vs unchained %g", label,
                  (int)kernel, threads, e_on, e_off, e_pair);
        free(on), free(off);
    }
    free(ref), free(x);
    infer_model_free(m);
}

static void check_case(const block_case *cc, infer_cpu_bf16 kernel) {
    char label[128];
    snprintf(label, sizeof label, "n %lld c %lld mid %lld %lldx%lld", (long long)cc->n, (long long)cc->c,
             (long long)cc->mid, (long long)cc->h, (long long)cc->w);
    check_chained(block_model(cc), cc->n, cc->n * cc->ca * cc->h * cc->w, 5, kernel, 5, label);
}

static int have(int feature) { return cpu_detect_isa() >= CPU_ISA_AVX512 && (cpu_detect_features() & feature); }

Test(bf16_nhwc, chained_block_matches_unchained_and_fp32_avx512) {
    if (!have(CPU_FEAT_AVX512_BF16)) cr_skip_test("this CPU lacks AVX512-BF16");
    for (int i = 0; i < (int)(sizeof cases / sizeof *cases); i++) check_case(&cases[i], INFER_CPU_BF16_AVX512);
}

Test(bf16_nhwc, chained_block_matches_unchained_and_fp32_amx) {
    if (!have(CPU_FEAT_AMX_BF16)) cr_skip_test("this CPU lacks AMX-BF16");
    for (int i = 0; i < (int)(sizeof cases / sizeof *cases); i++) check_case(&cases[i], INFER_CPU_BF16_AMX);
}

/* The BF16 NHWC max pool against the f32 max of the same BF16 values (bit for bit), NaN winning, the padding
 * channels kept zero: 3x3 stride 2 padding 1 and 2x2 stride 2 with ceil mode's last window half outside. */
Test(bf16_nhwc, maxpool_matches_f32_max) {
    const struct { int64_t n, c, h, w; int k, s, pad; int64_t oh, ow; } pc[] = {
        { 3, 17, 7, 9, 3, 2, 1, 4, 5 },
        { 1, 80, 5, 5, 2, 2, 0, 3, 3 },
        { 2, 33, 9, 7, 3, 1, 1, 9, 7 },
    };
    test_rng r = rng_seed(17);
    for (int ci = 0; ci < 3; ci++) {
        int64_t n = pc[ci].n, c = pc[ci].c, h = pc[ci].h, w = pc[ci].w, oh = pc[ci].oh, ow = pc[ci].ow;
        int64_t S = cpu_bf16_nhwc_stride(c);
        uint16_t *x = calloc((size_t)(n * h * w * S), 2), *y = calloc((size_t)(n * oh * ow * S), 2);
        float *v = rng_array(&r, n * h * w * c, -3, 3);
        for (int64_t i = 0; i < n * h * w; i++)
            for (int64_t ch = 0; ch < c; ch++) x[i * S + ch] = bf16_from_float(v[i * c + ch]);
        x[5 * S + 3] = bf16_from_float(NAN);
        pool2d_params p = { { pc[ci].k, pc[ci].k }, { pc[ci].s, pc[ci].s }, { pc[ci].pad, pc[ci].pad }, { 1, 1 }, 0, 0 };
        cpu_ctx ctx = { .isa = cpu_detect_isa(), .threads = 1 };
        cpu_maxpool2d_bf16_nhwc(&ctx, &p, n, h, w, x, S, oh, ow, y);
        int bad = 0;
        for (int64_t b = 0; b < n; b++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++)
                    for (int64_t ch = 0; ch < S; ch++) {
                        float want = -INFINITY;
                        int any = 0;
                        for (int ki = 0; ki < p.kernel[0]; ki++)
                            for (int kj = 0; kj < p.kernel[1]; kj++) {
                                int64_t ih = i * p.stride[0] - p.padding[0] + ki, iw = j * p.stride[1] - p.padding[1] + kj;
                                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                                float t = bf16_to_float(x[((b * h + ih) * w + iw) * S + ch]);
                                want = !any || t > want || t != t ? t : want;
                                any = 1;
                            }
                        uint16_t got = y[((b * oh + i) * ow + j) * S + ch];
                        int ok = want != want ? (got & 0x7fff) > 0x7f80 : got == bf16_from_float(any ? want : 0.0f);
                        if (!ok && bad++ < 5)
                            cr_expect(0, "case %d (%lld, %lld, %lld, %lld): got %04x, want %g", ci, (long long)b,
                                      (long long)i, (long long)j, (long long)ch, got, want);
                    }
        cr_expect_eq(bad, 0, "case %d: %d wrong values", ci, bad);
        free(x), free(y), free(v);
    }
}

/* Depthwise convolutions in a chain (kernels/cpu/conv2d_depthwise_bf16_nhwc.c): x [n,ca,h,w] -> a: 1x1 ca->mid relu ->
 * 3x3 depthwise (stride 1 or 2) clip(0, 6) -> 5x5 stride 2 depthwise (padding 2, dilation 1 or 2) relu -> p: 1x1 mid->c
 * (the output).
 * Chained: a's output and both depthwise ones (4 layers touched); mid not a multiple of 32: padding channels. */
typedef struct {
    int64_t n, ca, mid, c, h, w, dilation, stride1;
} dw_case;

static uint32_t depthwise(ifg_writer *w, test_rng *r, const char *name, uint32_t x, int64_t ch, int64_t k,
                          int64_t stride, int64_t dilation, act_kind act, const int64_t *out_dims, float **keep) {
    char wn[64], bn[64], an[64];
    snprintf(wn, sizeof wn, "%s.w", name);
    snprintf(bn, sizeof bn, "%s.b", name);
    snprintf(an, sizeof an, "%s.act", name);
    keep[0] = rng_array(r, ch * k * k, -1.0f / (float)k, 1.0f / (float)k);
    keep[1] = rng_array(r, ch, -0.5f, 0.5f);
    uint32_t wt = tw_const(w, wn, INFER_F32, DIMS(ch, 1, k, k), keep[0]);
    uint32_t bt = tw_const(w, bn, INFER_F32, DIMS(ch), keep[1]);
    uint32_t y = tw_act(w, name, INFER_F32, 4, out_dims), y_act = tw_act(w, an, INFER_F32, 4, out_dims);
    tw_node(w, OP_CONV2D, name, TW_IDS(x, wt, bt), TW_IDS(y));
    ifg_writer_attr_ints(w, "stride", (const int64_t[]){ stride, stride }, 2);
    ifg_writer_attr_ints(w, "padding", (const int64_t[]){ dilation * (k / 2), dilation * (k / 2) }, 2);
    ifg_writer_attr_ints(w, "dilation", (const int64_t[]){ dilation, dilation }, 2);
    ifg_writer_attr_int(w, "groups", ch);
    activation(w, act, an, y, y_act);
    return y_act;
}

static infer_model *dw_model(const dw_case *cc) {
    test_rng r = rng_seed(23);
    ifg_writer *w = tw_new();
    float *keep[8];
    int64_t h1 = (cc->h - 1) / cc->stride1 + 1, w1 = (cc->w - 1) / cc->stride1 + 1, oh = (h1 - 1) / 2 + 1, ow = (w1 - 1) / 2 + 1;
    const int64_t in_dims[4] = { cc->n, cc->ca, cc->h, cc->w }, full[4] = { cc->n, cc->mid, cc->h, cc->w };
    const int64_t mid1[4] = { cc->n, cc->mid, h1, w1 };
    const int64_t half[4] = { cc->n, cc->mid, oh, ow }, out_dims[4] = { cc->n, cc->c, oh, ow };
    uint32_t x = tw_act(w, "x", INFER_F32, 4, in_dims);
    uint32_t a = conv(w, &r, "a", x, cc->ca, cc->mid, 1, 1, full, keep);
    uint32_t a_act = tw_act(w, "a.act", INFER_F32, 4, full);
    activation(w, ACT_RELU, "a.relu", a, a_act);
    uint32_t d1 = depthwise(w, &r, "dw1", a_act, cc->mid, 3, cc->stride1, 1, ACT_CLIP, mid1, keep + 2);
    uint32_t d2 = depthwise(w, &r, "dw2", d1, cc->mid, 5, 2, cc->dilation, ACT_RELU, half, keep + 4);
    uint32_t p = conv(w, &r, "p", d2, cc->mid, cc->c, 1, 1, out_dims, keep + 6);
    tw_graph(w, TW_IDS(x), TW_IDS(p));
    for (int i = 0; i < 8; i++) free(keep[i]);
    return model_from_writer(w);
}

/* Tolerance as check_chained's: the depthwise layers sum f32 products of the rounded inputs, their outputs rounded once. */
static void check_dw_case(const dw_case *cc, infer_cpu_bf16 kernel) {
    char label[160];
    snprintf(label, sizeof label, "dw: n %lld ca %lld mid %lld %lldx%lld dilation %lld stride %lld", (long long)cc->n,
             (long long)cc->ca, (long long)cc->mid, (long long)cc->h, (long long)cc->w, (long long)cc->dilation,
             (long long)cc->stride1);
    check_chained(dw_model(cc), cc->n, cc->n * cc->ca * cc->h * cc->w, 6, kernel, 4, label);
}

static const dw_case dw_cases[] = {
    { 3, 17, 40, 19, 7, 9, 1, 1 },
    { 1, 10, 33, 16, 9, 7, 2, 1 },
    { 2, 16, 64, 24, 11, 6, 1, 2 },
    { 1, 24, 144, 33, 15, 13, 1, 1 },
    { 1, 20, 48, 17, 13, 10, 1, 2 },
};

Test(bf16_nhwc, chained_depthwise_matches_unchained_and_fp32) {
    infer_cpu_bf16 kernels[2] = { INFER_CPU_BF16_AVX512, INFER_CPU_BF16_AMX };
    int feature[2] = { CPU_FEAT_AVX512_BF16, CPU_FEAT_AMX_BF16 }, ran = 0;
    for (int k = 0; k < 2; k++) {
        if (!have(feature[k])) continue;
        for (int i = 0; i < (int)(sizeof dw_cases / sizeof *dw_cases); i++) check_dw_case(&dw_cases[i], kernels[k]);
        ran++;
    }
    if (!ran) cr_skip_test("this CPU lacks AVX512-BF16 and AMX-BF16");
}
