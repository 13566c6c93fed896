/* test_int8_dynamic.c — per-row u8 quantization of f32 activations, and the dynamic INT8 linear on every
 * path: bit-identical across paths, within float rounding of the exact dequantized product, and within a
 * stated quantization error (rel L2 <= 1.5e-2) of the f32 linear. */
#include "int8_util.h"

Test(int8_dynamic, quant_rows_u8_ranges_and_rounding) {
    const float rows[4][5] = {
        { 0, 0, 0, 0, 0 },               /* all zero: scale 1, zero 0 */
        { 0.5f, 1, 2, 3, 5.1f },         /* all positive: the range starts at 0 */
        { -4, -3, -2, -1, -0.25f },      /* all negative: zero point 255 */
        { -1.5f, -0.5f, 0, 0.75f, 2.5f }, /* both signs */
    };
    uint8_t q[4][5];
    float scale[4];
    int32_t zero[4];
    quant_rows_u8(4, 5, &rows[0][0], 5, &q[0][0], 5, scale, zero);
    cr_assert_eq(scale[0], 1.0f);
    cr_assert_eq(zero[0], 0);
    for (int k = 0; k < 5; k++) cr_assert_eq(q[0][k], 0);
    cr_assert_eq(zero[1], 0);
    cr_assert_eq(q[1][4], 255);
    cr_assert_eq(zero[2], 255);
    cr_assert_eq(q[2][0], 0);
    for (int i = 1; i < 4; i++) {
        cr_assert_float_eq(scale[i], (fmaxf(rows[i][4], 0) - fminf(rows[i][0], 0)) / 255.0f, 1e-7f);
        for (int k = 0; k < 5; k++) {
            float back = scale[i] * (float)(q[i][k] - zero[i]);
            cr_assert(fabsf(back - rows[i][k]) <= 0.5f * scale[i] * 1.0001f, "row %d: %g came back as %g", i,
                      rows[i][k], back);
        }
    }
    /* 0 is exact: real zero is the zero point */
    cr_assert_eq(q[3][2], zero[3]);
    /* NaN or Inf neither crash nor write outside [0, 255] (the result is meaningless) */
    float bad[3] = { NAN, INFINITY, 1.0f };
    uint8_t qb[3];
    quant_rows_u8(1, 3, bad, 3, qb, 3, scale, zero);
    cr_assert(zero[0] >= 0 && zero[0] <= 255);
}

/* The vector row quantization against the scalar definition, bit for bit, with NaN, infinities, -0 and
 * row lengths around the vector width. */
Test(int8_dynamic, quant_rows_u8_vectors_match_scalar) {
    test_rng r = rng_seed(21);
    for (int64_t k = 1; k <= 70; k += 3) {
        enum { M = 9 };
        float *x = rng_array(&r, M * k, -3.0f, 5.0f);
        for (int64_t i = 0; i < k; i++) x[2 * k + i] = fabsf(x[2 * k + i]); /* a one-sided row */
        x[3 * k + k / 2] = NAN;
        x[4 * k] = INFINITY;
        x[5 * k + k - 1] = -0.0f;
        for (int64_t i = 0; i < k; i++) x[6 * k + i] = 0.0f;
        uint8_t *want = malloc((size_t)(M * k)), *got = malloc((size_t)(M * k));
        float ws[M], gs[M];
        int32_t wz[M], gz[M];
        quant_rows_u8(M, k, x, k, want, k, ws, wz);
        for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++) {
            memset(got, 0xA5, (size_t)(M * k));
            quant_rows_u8_isa(isa, M, k, x, k, got, k, gs, gz);
            cr_assert(memcmp(got, want, (size_t)(M * k)) == 0, "isa %d, K %ld: quantized rows differ", isa, k);
            for (int i = 0; i < M; i++) cr_assert(gs[i] == ws[i] && gz[i] == wz[i], "isa %d, K %ld, row %d", isa, k, i);
        }
        free(x), free(want), free(got);
    }
}

typedef struct { int64_t m, n, k; } size3;

static const size3 sizes[] = {
    { 1, 1, 1 }, { 3, 7, 17 }, { 7, 33, 3 }, { 17, 65, 129 }, { 33, 129, 65 }, { 65, 17, 33 }, { 129, 3, 7 },
    { 1, 1000, 257 }, { 128, 129, 300 },
};

/* Symmetric per-channel weights: scale = max|w| / 127, q = round(w / scale). */
static void quantize_weights(const float *w, int64_t n, int64_t k, int8_t *q, float *scale) {
    for (int64_t j = 0; j < n; j++) {
        float amax = 0.0f;
        for (int64_t p = 0; p < k; p++) amax = fmaxf(amax, fabsf(w[j * k + p]));
        scale[j] = amax > 0.0f ? amax / 127.0f : 1.0f;
        for (int64_t p = 0; p < k; p++) q[j * k + p] = (int8_t)nearbyintf(w[j * k + p] / scale[j]);
    }
}

static float act_ref(const act_params *act, double v) {
    return act->kind == ACT_RELU ? (float)(v > 0 ? v : 0) : act_apply(act, (float)v);
}

Test(int8_dynamic, linear_on_every_path) {
    static const act_params acts[] = { { ACT_NONE, 0, 0 }, { ACT_RELU, 0, 0 }, { ACT_GELU, 0, 0 } };
    for (int threads = 1; threads <= 2; threads++) {
        cpu_ctx ctx = int8_ctx(threads);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            const size3 *z = &sizes[s];
            test_rng r = rng_seed(77 + s);
            float *x = rng_array(&r, z->m * z->k, -2.0f, 3.0f), *w = rng_array(&r, z->n * z->k, -1.0f, 1.0f);
            float *bias = rng_array(&r, z->n, -1.0f, 1.0f), *w_scale = malloc((size_t)z->n * sizeof(float));
            int8_t *wq = malloc((size_t)(z->n * z->k));
            quantize_weights(w, z->n, z->k, wq, w_scale);
            /* the activations as the kernel quantizes them, for the exact reference */
            uint8_t *xq = malloc((size_t)(z->m * z->k));
            float *x_scale = malloc((size_t)z->m * sizeof(float));
            int32_t *x_zero = malloc((size_t)z->m * sizeof(int32_t));
            quant_rows_u8(z->m, z->k, x, z->k, xq, z->k, x_scale, x_zero);
            void *ws = malloc(cpu_linear_s8_dynamic_workspace(z->m, z->k));
            size_t bytes = (size_t)(z->m * z->n) * sizeof(float);
            float *y = malloc(bytes), *y_scalar = malloc(bytes), *exact = malloc(bytes), *fp = malloc(bytes);
            for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
                for (int64_t i = 0; i < z->m; i++)
                    for (int64_t j = 0; j < z->n; j++) {
                        double e = 0, f = 0;
                        for (int64_t p = 0; p < z->k; p++) {
                            e += (double)x_scale[i] * (xq[i * z->k + p] - x_zero[i]) * w_scale[j] * wq[j * z->k + p];
                            f += (double)x[i * z->k + p] * w[j * z->k + p];
                        }
                        exact[i * z->n + j] = act_ref(&acts[a], e + bias[j]);
                        fp[i * z->n + j] = act_ref(&acts[a], f + bias[j]);
                    }
                for (int path = 0; path < S8_PATH_COUNT; path++) {
                    if (!s8_path_supported(path)) continue;
                    void *packed = aligned_alloc(64, (gemm_s8_packed_size(path, z->k, z->n) + 63) / 64 * 64);
                    gemm_s8_pack(path, z->k, z->n, wq, z->k, packed);
                    cpu_linear_s8_dynamic(&ctx, z->m, x, z->k, packed, w_scale, bias, &acts[a], y, z->n, ws);
                    free(packed);
                    if (path == S8_PATH_SCALAR) memcpy(y_scalar, y, bytes);
                    else
                        for (int64_t e = 0; e < z->m * z->n; e++)
                            cr_assert(y[e] == y_scalar[e], "%s: y[%ld] = %.9g, scalar %.9g", s8_path_name(path), e,
                                      y[e], y_scalar[e]);
                    double err_exact = rel_l2(y, exact, z->m * z->n), err_fp = rel_l2(y, fp, z->m * z->n);
                    cr_assert(err_exact <= 2e-6, "%s %ldx%ldx%ld act %d: rel L2 %.3g from the exact product",
                              s8_path_name(path), z->m, z->n, z->k, acts[a].kind, err_exact);
                    cr_assert(err_fp <= 1.5e-2, "%s %ldx%ldx%ld act %d: rel L2 %.3g from f32",
                              s8_path_name(path), z->m, z->n, z->k, acts[a].kind, err_fp);
                }
            }
            free(x), free(w), free(bias), free(w_scale), free(wq), free(xq), free(x_scale), free(x_zero);
            free(ws), free(y), free(y_scalar), free(exact), free(fp);
        }
        int8_ctx_free(&ctx);
    }
}
