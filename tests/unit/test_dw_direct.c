/* test_dw_direct.c — the AVX-512 direct depthwise path (kernels/cpu/conv2d_depthwise_direct.c) called directly,
 * also at the shapes where the blocked path is chosen instead (so the op-test table does not reach it there),
 * against the scalar kernel; and runs of output rows in parts equal to the whole run bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "engine_util.h"
#include "../../kernels/cpu/conv2d.h"

typedef struct {
    int64_t n, c, h, w, k, stride, pad;
    act_kind act;
    int residual;
} dw_case;

static const dw_case cases[] = {
    { 1, 17, 9, 113, 3, 1, 1, ACT_CLIP, 0 },   { 3, 33, 5, 13, 5, 1, 2, ACT_SILU, 0 },
    { 1, 17, 5, 7, 3, 1, 0, ACT_RELU, 0 },     { 3, 17, 9, 13, 3, 2, 0, ACT_NONE, 1 },
    { 1, 33, 9, 113, 5, 2, 2, ACT_SIGMOID, 0 }, { 1, 33, 14, 14, 5, 2, 2, ACT_SILU, 0 },
    { 3, 17, 5, 9, 3, 2, 2, ACT_RELU, 0 },     { 1, 3, 37, 31, 3, 1, 1, ACT_HARDSWISH, 0 },
    { 1, 3, 37, 31, 5, 2, 2, ACT_CLIP, 1 },    { 1, 33, 7, 7, 3, 1, 1, ACT_SILU, 0 },
    { 2, 5, 1, 1, 5, 1, 2, ACT_RELU, 0 },      { 1, 17, 16, 33, 3, 2, 1, ACT_NONE, 0 },
};

static void check_case(const dw_case *cc, int index) {
    test_rng r = rng_seed(7000 + (uint64_t)index);
    int64_t oh = (cc->h + 2 * cc->pad - cc->k) / cc->stride + 1, ow = (cc->w + 2 * cc->pad - cc->k) / cc->stride + 1;
    conv_geometry g = { cc->n, cc->c, cc->h, cc->w, cc->c, oh, ow, cc->k, cc->k, cc->stride, cc->stride,
                        cc->pad, cc->pad, 1, 1, cc->c };
    int64_t y_count = cc->n * cc->c * oh * ow;
    float *x = rng_array(&r, cc->n * cc->c * cc->h * cc->w, -1, 1), *w = rng_array(&r, cc->c * cc->k * cc->k, -1, 1);
    float *b = rng_array(&r, cc->c, -1, 1), *res = cc->residual ? rng_array(&r, y_count, -1, 1) : NULL;
    float *want = malloc((size_t)y_count * sizeof(float)), *y = malloc((size_t)y_count * sizeof(float));
    float *parts = malloc((size_t)y_count * sizeof(float));
    act_params act = { cc->act, -0.5f, 0.75f };
    cpu_ctx scalar = { .threads = 1, .isa = CPU_ISA_SCALAR };
    conv2d_depthwise(&scalar, &g, x, w, b, res, &act, want);
    cr_assert(conv_depthwise_direct_fits(&g, CPU_ISA_AVX512), "case %d fits", index);
    for (int threads = 1; threads <= 3; threads++) {
        thread_pool *pool = NULL;
        infer_error err;
        if (threads > 1) cr_assert_eq(pool_create(threads, &pool, &err), INFER_OK);
        cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = CPU_ISA_AVX512 };
        for (int64_t i = 0; i < y_count; i++) y[i] = parts[i] = NAN;
        conv2d_depthwise_direct(&ctx, &g, x, w, b, res, &act, y, 0, oh);
        double e = rel_l2(y, want, y_count);
        cr_assert(e <= 1e-6, "case %d threads %d: rel L2 %g", index, threads, e);
        /* rows in parts of 1, 2, 3 ... (as the strips call it): the same bits */
        int64_t at = 0;
        for (int64_t step = 1; at < oh; step++) {
            int64_t end = at + step < oh ? at + step : oh;
            conv2d_depthwise_direct(&ctx, &g, x, w, b, res, &act, parts, at, end);
            at = end;
        }
        cr_assert(!memcmp(y, parts, (size_t)y_count * sizeof(float)), "case %d threads %d: parts differ", index,
                  threads);
        pool_destroy(pool);
    }
    free(x), free(w), free(b), free(res), free(want), free(y), free(parts);
}

Test(dw_direct, matches_the_scalar_kernel) {
    if (cpu_detect_isa() < CPU_ISA_AVX512) cr_skip_test("no AVX-512 here");
    for (int i = 0; i < (int)(sizeof cases / sizeof *cases); i++) check_case(&cases[i], i);
}
