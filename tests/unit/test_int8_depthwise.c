/* test_int8_depthwise.c — cpu_conv2d_depthwise_s8 on every path against a naive reference of the
 * documented arithmetic: strides 1, 2, 3, padding, dilation, odd widths, u8 and f32 outputs, with and
 * without scratch, exact. */
#include "int8_util.h"

typedef struct { int64_t c, h, w, kh, kw, s, p, d; } dw_case;

static const dw_case cases[] = {
    { 3, 7, 17, 3, 3, 1, 1, 1 },   { 5, 9, 33, 3, 3, 2, 1, 1 },   { 2, 17, 65, 5, 5, 1, 2, 2 },
    { 3, 5, 129, 3, 3, 2, 0, 1 },  { 4, 3, 7, 3, 3, 3, 1, 1 },    { 1, 1, 1, 1, 1, 1, 0, 1 },
    { 2, 33, 3, 3, 3, 1, 1, 1 },   { 3, 12, 40, 7, 1, 1, 3, 1 },  { 2, 8, 70, 1, 7, 2, 3, 1 },
};

enum { OUT_U8, OUT_U8_RELU6, OUT_F32_RELU, OUT_F32_SILU, OUT_KINDS };

static void check_path(int path, int threads) {
    cpu_ctx ctx = int8_ctx(threads);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const dw_case *k = &cases[t];
        conv_s8_geometry g = { 2, k->c, k->h, k->w, k->c, 0, 0, k->kh, k->kw, k->s, k->s, k->p, k->p, k->d, k->d };
        g.out_height = (k->h + 2 * k->p - k->d * (k->kh - 1) - 1) / k->s + 1;
        g.out_width = (k->w + 2 * k->p - k->d * (k->kw - 1) - 1) / k->s + 1;
        test_rng r = rng_seed(500 + t);
        uint8_t *x = rng_u8(&r, g.batch * k->c * k->h * k->w);
        int8_t *w = rng_s8(&r, k->c * k->kh * k->kw);
        float *w_scale = rng_array(&r, k->c, 0.002f, 0.02f), *bias = rng_array(&r, k->c, -1.0f, 1.0f);
        float a_scale = 0.02f;
        int32_t a_zero = 117;
        int64_t outs = g.batch * k->c * g.out_height * g.out_width;
        float *got = malloc((size_t)outs * sizeof(float)), *want = malloc((size_t)outs * sizeof(float));
        for (int kind = 0; kind < OUT_KINDS; kind++) {
            gemm_s8_epilogue ep = { &a_scale, &a_zero, 0, w_scale, bias, kind <= OUT_U8_RELU6, 0.03f, 90,
                                    { ACT_NONE, 0, 0 } };
            if (kind == OUT_U8_RELU6) ep.act = (act_params){ ACT_CLIP, 0.0f, 2.0f };
            if (kind == OUT_F32_RELU) ep.act.kind = ACT_RELU;
            if (kind == OUT_F32_SILU) ep.act.kind = ACT_SILU;
            float lo = -INFINITY, hi = INFINITY;
            if (ep.out_u8) {
                lo = -90.0f;
                hi = 255.0f - 90.0f;
                if (ep.act.kind == ACT_CLIP) {
                    lo = fmaxf(lo, nearbyintf(ep.act.min * (1.0f / ep.out_scale)));
                    hi = fminf(hi, nearbyintf(ep.act.max * (1.0f / ep.out_scale)));
                }
            } else if (ep.act.kind == ACT_RELU) {
                lo = 0.0f;
            }
            for (int64_t n = 0; n < g.batch; n++)
                for (int64_t c = 0; c < k->c; c++)
                    for (int64_t oh = 0; oh < g.out_height; oh++)
                        for (int64_t ow = 0; ow < g.out_width; ow++) {
                            int64_t acc = 0;
                            for (int64_t i = 0; i < k->kh; i++)
                                for (int64_t j = 0; j < k->kw; j++) {
                                    int64_t ih = oh * k->s - k->p + i * k->d, iw = ow * k->s - k->p + j * k->d;
                                    int32_t xv = ih < 0 || ih >= k->h || iw < 0 || iw >= k->w
                                                     ? a_zero
                                                     : x[((n * k->c + c) * k->h + ih) * k->w + iw];
                                    acc += (int64_t)(xv - a_zero) * w[(c * k->kh + i) * k->kw + j];
                                }
                            float inv = ep.out_u8 ? 1.0f / ep.out_scale : 1.0f;
                            float v = fminf(fmaxf(fmaf((float)acc, a_scale * w_scale[c], bias[c]) * inv, lo), hi);
                            int64_t at = ((n * k->c + c) * g.out_height + oh) * g.out_width + ow;
                            if (ep.out_u8) ((uint8_t *)want)[at] = (uint8_t)(nearbyintf(v) + 90.0f);
                            else want[at] = kind == OUT_F32_SILU ? act_apply(&ep.act, v) : v;
                        }
            /* with scratch (planes copied with real padding) and without (border columns one by one) */
            for (int with_scratch = 1; with_scratch >= 0; with_scratch--) {
                cpu_ctx run = ctx;
                if (!with_scratch) run.scratch = NULL;
                memset(got, 0xA5, (size_t)outs * sizeof(float));
                cpu_conv2d_depthwise_s8(&run, path, &g, x, w, &ep, got);
                for (int64_t e = 0; e < outs; e++) {
                    if (ep.out_u8)
                        cr_assert_eq(((uint8_t *)got)[e], ((uint8_t *)want)[e], "%s case %zu kind %d: y[%ld] = %d, want %d",
                                     s8_path_name(path), t, kind, e, ((uint8_t *)got)[e], ((uint8_t *)want)[e]);
                    else if (kind == OUT_F32_SILU) /* the vector silu is within a few ulp of act_apply */
                        cr_assert(fabsf(got[e] - want[e]) <= 1e-6f * (1.0f + fabsf(want[e])), "%s case %zu: %g vs %g",
                                  s8_path_name(path), t, got[e], want[e]);
                    else
                        cr_assert(got[e] == want[e], "%s case %zu kind %d: y[%ld] = %.9g, want %.9g", s8_path_name(path),
                                  t, kind, e, got[e], want[e]);
                }
                if (ep.out_u8) /* nothing past the u8 output */
                    for (int64_t e = outs; e < outs * 4; e++) cr_assert_eq(((uint8_t *)got)[e], 0xA5);
            }
        }
        free(x), free(w), free(w_scale), free(bias), free(got), free(want);
    }
    int8_ctx_free(&ctx);
}

Test(int8_depthwise, scalar) { check_path(S8_PATH_SCALAR, 1); }

Test(int8_depthwise, avx2) {
    REQUIRE_S8_PATH(S8_PATH_AVX2);
    check_path(S8_PATH_AVX2, 1);
    check_path(S8_PATH_AVX2, 2);
}

Test(int8_depthwise, avx512) {
    REQUIRE_S8_PATH(S8_PATH_AVX512_VNNI);
    check_path(S8_PATH_AVX512_VNNI, 1);
    check_path(S8_PATH_AVX512_VNNI, 2);
}
