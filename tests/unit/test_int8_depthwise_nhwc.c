/* test_int8_depthwise_nhwc.c — cpu_conv2d_depthwise_s8_nhwc on every path, 1 and 2 threads, bit for bit against
 * cpu_conv2d_depthwise_s8 (u8 out) on the NCHW transpose of the same input: kernel sizes, strides, padding,
 * dilation, odd channel counts, strided and packed positions (the latter without scratch), act none / relu /
 * clip; bytes past C untouched. */
#include "int8_util.h"

typedef struct { int64_t batch, c, h, w, kh, kw, s, p, d; } dwn_case;

static const dwn_case cases[] = {
    /* the NCHW kernel's cases */
    { 2, 3, 7, 17, 3, 3, 1, 1, 1 },    { 2, 5, 9, 33, 3, 3, 2, 1, 1 },   { 2, 2, 17, 65, 5, 5, 1, 2, 2 },
    { 2, 3, 5, 129, 3, 3, 2, 0, 1 },   { 2, 4, 3, 7, 3, 3, 3, 1, 1 },    { 2, 1, 1, 1, 1, 1, 1, 0, 1 },
    { 2, 2, 33, 3, 3, 3, 1, 1, 1 },    { 2, 3, 12, 40, 7, 1, 1, 3, 1 },  { 2, 2, 8, 70, 1, 7, 2, 3, 1 },
    /* channel counts around the vector blocks, a big kernel, a kernel larger than the image */
    { 2, 65, 6, 5, 3, 3, 1, 1, 1 },    { 1, 33, 9, 9, 5, 5, 2, 2, 1 },   { 1, 31, 11, 10, 3, 3, 3, 2, 2 },
    { 1, 20, 4, 4, 7, 7, 1, 3, 1 },    { 1, 7, 3, 3, 5, 5, 1, 2, 1 },    { 1, 129, 5, 7, 12, 12, 1, 6, 1 },
    /* mobilenet-like depthwise 3x3 layers at odd channel counts */
    { 1, 17, 56, 56, 3, 3, 1, 1, 1 },  { 1, 17, 56, 56, 3, 3, 2, 1, 1 }, { 2, 17, 28, 28, 3, 3, 1, 1, 1 },
    { 2, 17, 28, 28, 3, 3, 2, 1, 1 },  { 1, 40, 56, 56, 3, 3, 1, 1, 1 }, { 1, 40, 56, 56, 3, 3, 2, 1, 1 },
    { 2, 40, 28, 28, 3, 3, 1, 1, 1 },  { 2, 40, 28, 28, 3, 3, 2, 1, 1 }, { 1, 96, 56, 56, 3, 3, 1, 1, 1 },
    { 1, 96, 56, 56, 3, 3, 2, 1, 1 },  { 2, 96, 28, 28, 3, 3, 1, 1, 1 }, { 2, 96, 28, 28, 3, 3, 2, 1, 1 },
    { 1, 144, 56, 56, 3, 3, 1, 1, 1 }, { 1, 144, 56, 56, 3, 3, 2, 1, 1 }, { 2, 144, 28, 28, 3, 3, 1, 1, 1 },
    { 2, 144, 28, 28, 3, 3, 2, 1, 1 },
};

enum { ACT_KIND_NONE, ACT_KIND_RELU, ACT_KIND_CLIP6, ACT_KINDS };

static int64_t round64(int64_t x) { return (x + 63) / 64 * 64; }

static void check_path(int path, int threads) {
    cpu_ctx ctx = int8_ctx(threads);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const dwn_case *k = &cases[t];
        int64_t C = k->c, taps = k->kh * k->kw;
        conv_s8_geometry g = { k->batch, C, k->h, k->w, C, 0, 0, k->kh, k->kw, k->s, k->s, k->p, k->p, k->d, k->d };
        g.out_height = (k->h + 2 * k->p - k->d * (k->kh - 1) - 1) / k->s + 1;
        g.out_width = (k->w + 2 * k->p - k->d * (k->kw - 1) - 1) / k->s + 1;
        int64_t in_pos = k->batch * k->h * k->w, out_pos = k->batch * g.out_height * g.out_width;
        test_rng r = rng_seed(900 + t);
        int64_t xs_max = round64(C);
        uint8_t *x = rng_u8(&r, in_pos * xs_max); /* NHWC at the widest stride; the bytes past C are noise */
        int8_t *w = rng_s8(&r, C * taps);
        float *w_scale = rng_array(&r, C, 0.002f, 0.02f), *bias = rng_array(&r, C, -2.0f, 2.0f);
        float a_scale = 0.02f;
        int32_t a_zero = (int32_t)(rng_u64(&r) % 256);
        uint8_t *x_nchw = malloc((size_t)(in_pos * C)), *want = malloc((size_t)(out_pos * C));
        uint8_t *got = malloc((size_t)(out_pos * round64(C) + 64));
        size_t packed_bytes = cpu_depthwise_s8_nhwc_pack_size(path, C, taps);
        void *packed = aligned_alloc(64, (packed_bytes + 63) / 64 * 64);
        cpu_depthwise_s8_nhwc_pack(path, C, taps, w, packed);
        cpu_ctx serial = int8_ctx(1);
        for (int act = 0; act < ACT_KINDS; act++) {
            gemm_s8_epilogue ep = { &a_scale, &a_zero, 0, w_scale, bias, 1, 0.05f, act ? 20 : 90, { ACT_NONE, 0, 0 } };
            if (act == ACT_KIND_RELU) ep.act.kind = ACT_RELU;
            if (act == ACT_KIND_CLIP6) ep.act = (act_params){ ACT_CLIP, 0.0f, 6.0f };
            for (int packed_x = 0; packed_x < 2; packed_x++) {
                int64_t xs = packed_x ? C : xs_max, ys = packed_x ? C : round64(C);
                /* the reference on the NCHW transpose of x at stride xs */
                for (int64_t n = 0; n < k->batch; n++)
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t i = 0; i < k->h * k->w; i++)
                            x_nchw[(n * C + c) * k->h * k->w + i] = x[(n * k->h * k->w + i) * xs + c];
                cpu_conv2d_depthwise_s8(&serial, S8_PATH_SCALAR, &g, x_nchw, w, &ep, want);
                memset(got, 0xA5, (size_t)(out_pos * ys + 64));
                cpu_ctx run = ctx; /* without scratch, the blocks' epilogues are computed per tile of rows */
                if (packed_x) run.scratch = NULL;
                /* packed: a copy of exactly in_pos * C bytes, so that a sanitizer sees any read past them */
                uint8_t *xin = packed_x ? malloc((size_t)(in_pos * C)) : x;
                if (packed_x) memcpy(xin, x, (size_t)(in_pos * C));
                cpu_conv2d_depthwise_s8_nhwc(&run, path, &g, xin, xs, packed, &ep, got, ys);
                if (packed_x) free(xin);
                for (int64_t pos = 0; pos < out_pos; pos++) {
                    int64_t n = pos / (g.out_height * g.out_width), i = pos % (g.out_height * g.out_width);
                    for (int64_t c = 0; c < C; c++) {
                        uint8_t y_want = want[(n * C + c) * g.out_height * g.out_width + i], y_got = got[pos * ys + c];
                        cr_assert_eq(y_got, y_want, "%s %d threads case %zu act %d stride %ld: position %ld channel %ld = %d, want %d",
                                     s8_path_name(path), threads, t, act, (long)xs, (long)pos, (long)c, y_got, y_want);
                    }
                    for (int64_t c = C; c < ys; c++)
                        cr_assert_eq(got[pos * ys + c], 0xA5, "%s case %zu: byte %ld past C written",
                                     s8_path_name(path), t, (long)c);
                }
                for (int64_t e = out_pos * ys; e < out_pos * ys + 64; e++) cr_assert_eq(got[e], 0xA5, "past the end");
            }
        }
        int8_ctx_free(&serial);
        free(x), free(w), free(w_scale), free(bias), free(x_nchw), free(want), free(got), free(packed);
    }
    int8_ctx_free(&ctx);
}

Test(int8_depthwise_nhwc, scalar) { check_path(S8_PATH_SCALAR, 1); }

Test(int8_depthwise_nhwc, avx2) {
    REQUIRE_S8_PATH(S8_PATH_AVX2);
    check_path(S8_PATH_AVX2, 1);
    check_path(S8_PATH_AVX2, 2);
}

Test(int8_depthwise_nhwc, avx_vnni) {
    REQUIRE_S8_PATH(S8_PATH_AVX_VNNI);
    check_path(S8_PATH_AVX_VNNI, 2);
}

Test(int8_depthwise_nhwc, avx512) {
    REQUIRE_S8_PATH(S8_PATH_AVX512_VNNI);
    check_path(S8_PATH_AVX512_VNNI, 1);
    check_path(S8_PATH_AVX512_VNNI, 2);
}

Test(int8_depthwise_nhwc, amx) {
    REQUIRE_S8_PATH(S8_PATH_AMX);
    check_path(S8_PATH_AMX, 2);
}
