/* test_int8_nhwc.c — the NHWC INT8 convolution path: s8_quantize_nhwc on every ISA and thread count against the
 * documented formula (odd channel and position counts, ties, NaN, infinities; exact), gemm_s8_pack_taps_last, and
 * cpu_conv2d_s8_nhwc on every INT8 path against a naive reference (1x1 read in place, 1x1 stride 2, 7x7/2, dilation,
 * odd sizes; residual and activations in the output pass; serial and threaded; exact), and the same convolutions
 * into f32 NHWC rows (cpu_conv2d_s8_nhwc_f32_rows; exact). */
#include <math.h>
#include "int8_util.h"
#include "../../kernels/cpu/gemm_internal.h"
#include "../../kernels/cpu/s8_layer.h"

/* clamp(round_half_even(x / scale) + zero, 0, 255), NaN: 0 (docs/INT8.md) */
static uint8_t want_q(float x, float inv, int32_t zero) {
    float v = x * inv;
    if (v != v) return 0;
    double r = nearbyint(fmin(fmax(v, -1e9), 1e9)) + zero;
    return (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
}

static void check_quantize(int isa, int threads) {
    cpu_ctx ctx = int8_ctx(threads);
    ctx.isa = isa;
    static const struct { int64_t c, p; } shapes[] = { { 1, 1 }, { 3, 50 }, { 16, 16 }, { 17, 33 }, { 33, 15 },
                                                      { 64, 49 }, { 5, 3000 }, { 130, 7 } };
    test_rng r = rng_seed(4242);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t C = shapes[s].c, P = shapes[s].p, n = C * P;
        float *x = rng_array(&r, n, -3.0f, 5.0f);
        float scale = 8.0f / 255;
        int32_t zero = 96;
        for (int64_t i = 0; i < n; i += 7) x[i] = ((float)(i % 300) - 100.5f) * scale; /* ties, out of range */
        x[0] = NAN;
        if (n > 3) x[1] = INFINITY, x[2] = -INFINITY, x[3] = 1e30f;
        int64_t ldq = C + (s % 2 ? 5 : 0), bytes = P * ldq; /* odd shapes: positions 5 bytes further apart */
        uint8_t *q = malloc((size_t)bytes + 64);
        memset(q, 0xA5, (size_t)bytes + 64);
        s8_quantize_nhwc(&ctx, C, P, x, scale, zero, q, ldq);
        for (int64_t p = 0; p < P; p++)
            for (int64_t c = 0; c < ldq; c++) {
                uint8_t want = c < C ? want_q(x[c * P + p], 1.0f / scale, zero) : 0xA5; /* the gaps left alone */
                cr_assert_eq(q[p * ldq + c], want, "isa %d threads %d shape %zu: q[%ld][%ld] = %d, want %d", isa,
                             threads, s, p, c, q[p * ldq + c], want);
            }
        for (int64_t e = bytes; e < bytes + 64; e++) cr_assert_eq(q[e], 0xA5); /* nothing past q */
        free(x), free(q);
    }
    int8_ctx_free(&ctx);
}

Test(int8_nhwc, quantize_scalar) { check_quantize(CPU_ISA_SCALAR, 1), check_quantize(CPU_ISA_SCALAR, 2); }

Test(int8_nhwc, quantize_avx512) {
    if (cpu_detect_isa() < CPU_ISA_AVX512) cr_skip_test("this CPU has no AVX-512");
    check_quantize(CPU_ISA_AVX512, 1), check_quantize(CPU_ISA_AVX512, 3);
}

typedef struct { int64_t c, h, w, o, kh, kw, s, p, d; } conv_case;

static const conv_case cases[] = {
    { 17, 5, 7, 33, 1, 1, 1, 0, 1 },  /* 1x1 stride 1: x read in place */
    { 64, 9, 9, 16, 1, 1, 1, 0, 1 },  /* K a multiple of 64 (whole AMX blocks) */
    { 19, 9, 11, 21, 1, 1, 2, 0, 1 }, /* 1x1 stride 2: columns */
    { 3, 17, 19, 18, 7, 7, 2, 3, 1 }, /* the stem */
    { 7, 9, 11, 13, 3, 3, 2, 1, 1 },  { 33, 4, 4, 17, 3, 3, 1, 1, 1 }, { 4, 12, 10, 7, 3, 3, 1, 2, 2 },
    { 5, 3, 1, 65, 3, 1, 1, 1, 1 },   { 2, 1, 1, 1, 1, 1, 1, 0, 1 },   { 6, 4, 5, 9, 5, 5, 1, 4, 1 },
};

/* post: 0 none (act clip 0..6 in the GEMM), 1 residual then relu, 2 residual then hardswish, 3 relu in the GEMM */
static void check_conv(int path, int isa, int threads) {
    cpu_ctx ctx = int8_ctx(threads);
    ctx.isa = isa;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const conv_case *k = &cases[t];
        conv_s8_geometry g = { 2, k->c, k->h, k->w, k->o, 0, 0, k->kh, k->kw, k->s, k->s, k->p, k->p, k->d, k->d };
        g.out_height = (k->h + 2 * k->p - k->d * (k->kh - 1) - 1) / k->s + 1;
        g.out_width = (k->w + 2 * k->p - k->d * (k->kw - 1) - 1) / k->s + 1;
        int64_t K = k->c * k->kh * k->kw, m = g.out_height * g.out_width, outs = g.batch * k->o * m;
        test_rng r = rng_seed(1900 + t);
        /* NHWC, positions xs apart: C (packed), or the GEMM's whole-row stride (its padding random bytes) */
        int64_t xs = t % 2 ? k->c : cpu_conv2d_s8_nhwc_stride(k->c);
        uint8_t *x = rng_u8(&r, g.batch * k->h * k->w * xs);
        int8_t *w = rng_s8(&r, k->o * K);                      /* OIHW */
        float *w_scale = rng_array(&r, k->o, 0.001f, 0.01f), *bias = rng_array(&r, k->o, -1.0f, 1.0f);
        float *residual = rng_array(&r, outs, -2.0f, 2.0f);
        float a_scale = 0.03f;
        int32_t a_zero = 141;
        void *packed = aligned_alloc(64, (gemm_s8_packed_size(path, K, k->o) + 63) / 64 * 64);
        gemm_s8_pack_taps_last(path, k->c, k->kh * k->kw, k->o, w, packed);
        float *got = malloc((size_t)outs * sizeof(float) + 64), *want = malloc((size_t)outs * sizeof(float));
        void *ws = malloc(cpu_conv2d_s8_nhwc_workspace(&g));
        for (int post = 0; post < 4; post++) {
            act_params in_gemm = { post == 0 ? ACT_CLIP : post == 3 ? ACT_RELU : ACT_NONE, 0.0f, 6.0f };
            act_params after = { post == 1 ? ACT_RELU : post == 2 ? ACT_HARDSWISH : ACT_NONE, 0.0f, 0.0f };
            const float *res = post == 1 || post == 2 ? residual : NULL;
            gemm_s8_epilogue ep = { &a_scale, &a_zero, 0, w_scale, post ? bias : NULL, 0, 0.0f, 0, in_gemm };
            for (int64_t n = 0; n < g.batch; n++)
                for (int64_t o = 0; o < k->o; o++)
                    for (int64_t oh = 0; oh < g.out_height; oh++)
                        for (int64_t ow = 0; ow < g.out_width; ow++) {
                            int64_t acc = 0;
                            for (int64_t c = 0; c < k->c; c++)
                                for (int64_t i = 0; i < k->kh; i++)
                                    for (int64_t j = 0; j < k->kw; j++) {
                                        int64_t ih = oh * k->s - k->p + i * k->d, iw = ow * k->s - k->p + j * k->d;
                                        int32_t xv = ih < 0 || ih >= k->h || iw < 0 || iw >= k->w
                                                         ? a_zero
                                                         : x[((n * k->h + ih) * k->w + iw) * xs + c];
                                        acc += (int64_t)(xv - a_zero) * w[o * K + (c * k->kh + i) * k->kw + j];
                                    }
                            float v = fmaf((float)acc, a_scale * w_scale[o], ep.bias ? bias[o] : 0.0f);
                            if (in_gemm.kind == ACT_CLIP) v = fminf(fmaxf(v, 0.0f), 6.0f);
                            if (in_gemm.kind == ACT_RELU) v = fmaxf(v, 0.0f);
                            int64_t at = (n * k->o + o) * m + oh * g.out_width + ow;
                            if (res) v += res[at];
                            if (after.kind == ACT_RELU) v = fmaxf(v, 0.0f);
                            if (after.kind == ACT_HARDSWISH) v = v * fminf(fmaxf(v + 3.0f, 0.0f), 6.0f) / 6.0f;
                            want[at] = v;
                        }
            memset(got, 0xA5, (size_t)outs * sizeof(float) + 64);
            cpu_conv2d_s8_nhwc(&ctx, &g, x, xs, packed, &ep, res, after, got, NULL, ws);
            for (int64_t e = 0; e < outs; e++) {
                float tol = post == 2 ? 1e-5f * (1.0f + fabsf(want[e])) : 0.0f; /* hardswish: the vector form's ulps */
                cr_assert(fabsf(got[e] - want[e]) <= tol, "%s isa %d case %zu post %d: y[%ld] = %.9g, want %.9g",
                          s8_path_name(path), isa, t, post, e, got[e], want[e]);
            }
            for (int64_t e = outs * 4; e < outs * 4 + 64; e++) cr_assert_eq(((uint8_t *)got)[e], 0xA5);
            if (res || after.kind != ACT_NONE) continue;
            /* f32 NHWC rows (a chain's residual for a later layer): the same values, position-major */
            memset(got, 0xA5, (size_t)outs * sizeof(float) + 64);
            cpu_conv2d_s8_nhwc_f32_rows(&ctx, &g, x, xs, packed, &ep, got, ws);
            for (int64_t e = 0; e < outs; e++) {
                int64_t n = e / (k->o * m), o = e / m % k->o, pos = e % m;
                float y = got[(n * m + pos) * k->o + o];
                cr_assert(y == want[e], "%s isa %d case %zu post %d f32 rows: image %ld channel %ld position %ld = "
                          "%.9g, want %.9g", s8_path_name(path), isa, t, post, (long)n, (long)o, (long)pos, y, want[e]);
            }
            for (int64_t e = outs * 4; e < outs * 4 + 64; e++) cr_assert_eq(((uint8_t *)got)[e], 0xA5);
        }
        free(ws), free(x), free(w), free(w_scale), free(bias), free(residual), free(packed), free(got), free(want);
    }
    int8_ctx_free(&ctx);
}

Test(int8_nhwc, conv_scalar) { check_conv(S8_PATH_SCALAR, CPU_ISA_SCALAR, 1), check_conv(S8_PATH_SCALAR, CPU_ISA_SCALAR, 2); }

Test(int8_nhwc, conv_avx2) {
    REQUIRE_S8_PATH(S8_PATH_AVX2);
    check_conv(S8_PATH_AVX2, CPU_ISA_AVX2, 2);
}

Test(int8_nhwc, conv_avx_vnni) {
    REQUIRE_S8_PATH(S8_PATH_AVX_VNNI);
    check_conv(S8_PATH_AVX_VNNI, CPU_ISA_AVX2, 1);
}

Test(int8_nhwc, conv_avx512_vnni) {
    REQUIRE_S8_PATH(S8_PATH_AVX512_VNNI);
    check_conv(S8_PATH_AVX512_VNNI, CPU_ISA_AVX512, 1);
    check_conv(S8_PATH_AVX512_VNNI, CPU_ISA_AVX512, 3);
}

Test(int8_nhwc, conv_amx) {
    REQUIRE_S8_PATH(S8_PATH_AMX);
    check_conv(S8_PATH_AMX, CPU_ISA_AVX512, 2);
}
