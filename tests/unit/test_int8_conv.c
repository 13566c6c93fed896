/* test_int8_conv.c — cpu_conv2d_s8 and the grouped cpu_conv2d_grouped_s8 on every path against a naive reference
 * of the documented arithmetic (padding as the zero point): odd channels and sizes, strides, padding, dilation,
 * 1x1, groups, u8 and f32 outputs, serial and threaded, exact. */
#include "int8_util.h"

typedef struct { int64_t c, h, w, o, kh, kw, s, p, d, g; } conv_case; /* g: groups */

static const conv_case cases[] = {
    { 3, 7, 9, 5, 3, 3, 1, 1, 1, 1 },   { 1, 17, 17, 3, 7, 7, 2, 3, 1, 1 }, { 17, 5, 7, 33, 1, 1, 1, 0, 1, 1 },
    { 7, 9, 11, 13, 3, 3, 2, 1, 1, 1 }, { 4, 12, 10, 7, 3, 3, 1, 2, 2, 1 }, { 5, 3, 1, 65, 3, 1, 1, 1, 1, 1 },
    { 33, 4, 4, 17, 3, 3, 1, 1, 1, 1 }, { 2, 1, 1, 1, 1, 1, 1, 0, 1, 1 },
    /* grouped: ResNeXt-like 3x3, ShuffleNet-like 1x1, stride 2 with dilation, groups of one input channel */
    { 15, 9, 11, 21, 3, 3, 1, 1, 1, 3 }, { 18, 7, 5, 22, 1, 1, 1, 0, 1, 2 }, { 12, 13, 11, 36, 3, 3, 2, 2, 2, 4 },
    { 5, 6, 7, 15, 3, 3, 1, 1, 1, 5 },
};

static void check_path(int path, int threads) {
    cpu_ctx ctx = int8_ctx(threads);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const conv_case *k = &cases[t];
        int64_t groups = k->g, cg = k->c / groups, og = k->o / groups;
        conv_s8_geometry g = { 2, k->c, k->h, k->w, k->o, 0, 0, k->kh, k->kw, k->s, k->s, k->p, k->p, k->d, k->d };
        g.out_height = (k->h + 2 * k->p - k->d * (k->kh - 1) - 1) / k->s + 1;
        g.out_width = (k->w + 2 * k->p - k->d * (k->kw - 1) - 1) / k->s + 1;
        int64_t K = cg * k->kh * k->kw, outs = g.batch * k->o * g.out_height * g.out_width;
        test_rng r = rng_seed(900 + t);
        uint8_t *x = rng_u8(&r, g.batch * k->c * k->h * k->w);
        int8_t *w = rng_s8(&r, k->o * K);
        float *w_scale = rng_array(&r, k->o, 0.001f, 0.01f), *bias = rng_array(&r, k->o, -1.0f, 1.0f);
        float a_scale = 0.03f;
        int32_t a_zero = 141;
        size_t group_bytes = (gemm_s8_packed_size(path, K, og) + 63) / 64 * 64;
        void *packed = aligned_alloc(64, group_bytes * (size_t)groups);
        for (int64_t j = 0; j < groups; j++) gemm_s8_pack(path, K, og, w + j * og * K, K, (char *)packed + j * group_bytes);
        float *got = malloc((size_t)outs * sizeof(float) + 64), *want = malloc((size_t)outs * sizeof(float));
        for (int kind = 0; kind < 3; kind++) {
            gemm_s8_epilogue ep = { &a_scale, &a_zero, 0, w_scale, kind ? bias : NULL, kind < 2, 0.05f, 20,
                                    { kind == 1 ? ACT_CLIP : ACT_NONE, 0.0f, 6.0f } };
            float lo = -INFINITY, hi = INFINITY;
            if (ep.out_u8) {
                lo = -20.0f;
                hi = 235.0f;
                if (kind == 1) {
                    lo = 0.0f;
                    hi = fminf(hi, nearbyintf(6.0f * (1.0f / 0.05f)));
                }
            }
            for (int64_t n = 0; n < g.batch; n++)
                for (int64_t o = 0; o < k->o; o++)
                    for (int64_t oh = 0; oh < g.out_height; oh++)
                        for (int64_t ow = 0; ow < g.out_width; ow++) {
                            int64_t acc = 0;
                            for (int64_t c = 0; c < cg; c++)
                                for (int64_t i = 0; i < k->kh; i++)
                                    for (int64_t j = 0; j < k->kw; j++) {
                                        int64_t ih = oh * k->s - k->p + i * k->d, iw = ow * k->s - k->p + j * k->d;
                                        int32_t xv = ih < 0 || ih >= k->h || iw < 0 || iw >= k->w
                                                         ? a_zero
                                                         : x[((n * k->c + o / og * cg + c) * k->h + ih) * k->w + iw];
                                        acc += (int64_t)(xv - a_zero) * w[o * K + (c * k->kh + i) * k->kw + j];
                                    }
                            float inv = ep.out_u8 ? 1.0f / ep.out_scale : 1.0f;
                            float off = ep.bias ? bias[o] : 0.0f;
                            float v = fminf(fmaxf(fmaf((float)acc, a_scale * w_scale[o], off) * inv, lo), hi);
                            int64_t at = ((n * k->o + o) * g.out_height + oh) * g.out_width + ow;
                            if (ep.out_u8) ((uint8_t *)want)[at] = (uint8_t)(nearbyintf(v) + 20.0f);
                            else want[at] = v;
                        }
            void *ws = malloc(groups > 1 ? cpu_conv2d_grouped_s8_workspace(&g, groups, ep.out_u8)
                                         : cpu_conv2d_s8_workspace(&g, ep.out_u8));
            memset(got, 0xA5, (size_t)outs * sizeof(float) + 64);
            if (groups > 1) cpu_conv2d_grouped_s8(&ctx, &g, groups, x, packed, group_bytes, &ep, got, ws);
            else cpu_conv2d_s8(&ctx, &g, x, packed, &ep, got, ws);
            free(ws);
            for (int64_t e = 0; e < outs; e++) {
                if (ep.out_u8)
                    cr_assert_eq(((uint8_t *)got)[e], ((uint8_t *)want)[e], "%s case %zu kind %d: y[%ld] = %d, want %d",
                                 s8_path_name(path), t, kind, e, ((uint8_t *)got)[e], ((uint8_t *)want)[e]);
                else
                    cr_assert(got[e] == want[e], "%s case %zu: y[%ld] = %.9g, want %.9g", s8_path_name(path), t, e,
                              got[e], want[e]);
            }
            int64_t bytes = outs * (ep.out_u8 ? 1 : 4);
            for (int64_t e = bytes; e < bytes + 64; e++) cr_assert_eq(((uint8_t *)got)[e], 0xA5); /* nothing past y */
        }
        free(x), free(w), free(w_scale), free(bias), free(packed), free(got), free(want);
    }
    int8_ctx_free(&ctx);
}

Test(int8_conv, scalar) { check_path(S8_PATH_SCALAR, 1); }

Test(int8_conv, avx2) {
    REQUIRE_S8_PATH(S8_PATH_AVX2);
    check_path(S8_PATH_AVX2, 2);
}

Test(int8_conv, avx_vnni) {
    REQUIRE_S8_PATH(S8_PATH_AVX_VNNI);
    check_path(S8_PATH_AVX_VNNI, 1);
}

Test(int8_conv, avx512_vnni) {
    REQUIRE_S8_PATH(S8_PATH_AVX512_VNNI);
    check_path(S8_PATH_AVX512_VNNI, 1);
    check_path(S8_PATH_AVX512_VNNI, 2);
}

Test(int8_conv, amx) {
    REQUIRE_S8_PATH(S8_PATH_AMX);
    check_path(S8_PATH_AMX, 2);
}
