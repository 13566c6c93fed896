/* test_quant.c — quantization parameter math (ranges, zero points, rounding half to even, per-channel
 * weights), the streaming histogram, and the calibration methods on known distributions: a Gaussian with
 * a few far outliers (percentile, entropy and mse clip them, minmax keeps them) and a uniform one. */
#include <criterion/criterion.h>
#include "testutil.h"
#include "../../quant/calibrate.h"
#include "../../quant/quant_params.h"

Test(quant, params_from_ranges) {
    quant_affine p;
    cr_assert_eq(quant_params_u8(-1.0f, 3.0f, &p), 0);
    cr_assert_float_eq(p.scale, 4.0f / 255.0f, 1e-9f);
    cr_assert_eq(p.zero_point, 64); /* round(63.75) */
    cr_assert_eq(quant_params_u8(2.0f, 5.0f, &p), 0); /* widened to [0, 5]: 0 is exact */
    cr_assert_float_eq(p.scale, 5.0f / 255.0f, 1e-9f);
    cr_assert_eq(p.zero_point, 0);
    cr_assert_eq(quant_params_u8(-5.0f, -2.0f, &p), 0);
    cr_assert_eq(p.zero_point, 255);
    cr_assert_eq(quant_params_s8_symmetric(-3.0f, 2.0f, &p), 0);
    cr_assert_float_eq(p.scale, 3.0f / 127.0f, 1e-9f);
    cr_assert_eq(p.zero_point, 0);
    cr_assert_eq(quant_params(-1.0f, 1.0f, 0, 255, 1, &p), 0); /* symmetric u8: zero point 128 */
    cr_assert_eq(p.zero_point, 128);
    cr_assert_eq(quant_params_u8(0.0f, 0.0f, &p), 0);
    cr_assert_eq(p.scale, 1.0f);
    cr_assert_eq(p.zero_point, 0);
    cr_assert_eq(quant_params_u8(NAN, 1.0f, &p), -1);
    cr_assert_eq(quant_params_u8(0.0f, INFINITY, &p), -1);
    cr_assert_eq(quant_params(0.0f, 1.0f, 5, 5, 0, &p), -1);
    /* every real in the range comes back within half a step; 0 exactly */
    cr_assert_eq(quant_params_u8(-0.7f, 2.3f, &p), 0);
    for (float x = -0.7f; x <= 2.3f; x += 0.01f) {
        uint8_t q;
        float back;
        quant_to_u8(&x, 1, p, &q);
        dequant_u8(&q, 1, p, &back);
        cr_assert(fabsf(back - x) <= 0.5f * p.scale * 1.0001f, "%g came back as %g", x, back);
    }
    cr_assert_eq(quant_value(0.0f, p, 0, 255), p.zero_point);
    cr_assert_eq(quant_value(100.0f, p, 0, 255), 255); /* saturates */
    cr_assert_eq(quant_value(-100.0f, p, 0, 255), 0);
    cr_assert_eq(quant_value(NAN, p, 0, 255), p.zero_point);
}

Test(quant, rounds_half_to_even) {
    quant_affine p = { 0.5f, 0 };
    const float x[] = { 1.25f, 1.75f, -1.25f, -1.75f, 0.25f, 2.25f };
    const int32_t want[] = { 2, 4, -2, -4, 0, 4 }; /* 2.5 -> 2, 3.5 -> 4, 0.5 -> 0, 4.5 -> 4 */
    for (int i = 0; i < 6; i++) cr_assert_eq(quant_value(x[i], p, -128, 127), want[i], "x = %g", x[i]);
    int8_t q[6];
    quant_to_s8(x, 6, p, q);
    for (int i = 0; i < 6; i++) cr_assert_eq(q[i], want[i]);
}

Test(quant, weights_per_channel) {
    test_rng r = rng_seed(3);
    enum { C = 7, K = 33 };
    float w[C * K], scales[C], back[K];
    int8_t q[C * K];
    rng_fill(&r, w, C * K, -1.0f, 1.0f);
    for (int k = 0; k < K; k++) w[2 * K + k] *= 100.0f; /* channels of very different magnitudes */
    for (int k = 0; k < K; k++) w[5 * K + k] = 0.0f;    /* and an all-zero one */
    cr_assert_eq(quant_weights_per_channel(w, C, K, q, scales), 0);
    for (int c = 0; c < C; c++) {
        float amax = 0.0f;
        int reaches = 0;
        for (int k = 0; k < K; k++) amax = fmaxf(amax, fabsf(w[c * K + k]));
        cr_assert_float_eq(scales[c], amax > 0 ? amax / 127.0f : 1.0f, 1e-9f * (1 + amax));
        quant_affine p = { scales[c], 0 };
        dequant_s8(q + c * K, K, p, back);
        for (int k = 0; k < K; k++) {
            cr_assert(q[c * K + k] >= -127 && q[c * K + k] <= 127);
            cr_assert(fabsf(back[k] - w[c * K + k]) <= 0.5f * scales[c] * 1.0001f);
            reaches |= q[c * K + k] == 127 || q[c * K + k] == -127;
        }
        cr_assert(reaches || amax == 0.0f, "channel %d does not use the full range", c);
    }
    w[40] = NAN;
    cr_assert_eq(quant_weights_per_channel(w, C, K, q, scales), -1);
}

/* With the correction, the mean output of the quantized weights over inputs of the calibration mean equals
 * the float layer's; without it, it is off by the weights' rounding times the mean. */
Test(quant, bias_correction_removes_the_mean_shift) {
    test_rng r = rng_seed(5);
    enum { C = 5, K = 64 };
    float w[C * K], scales[C], bias[C], corrected[C];
    int8_t q[C * K];
    double mean_x[K];
    rng_fill(&r, w, C * K, -1.0f, 1.0f);
    rng_fill(&r, bias, C, -0.5f, 0.5f);
    for (int k = 0; k < K; k++) mean_x[k] = 2.0 + rng_float(&r, 0.0f, 1.0f); /* e.g. post-ReLU inputs */
    cr_assert_eq(quant_weights_per_channel(w, C, K, q, scales), 0);
    memcpy(corrected, bias, sizeof bias);
    quant_bias_correction(w, q, scales, C, K, mean_x, corrected);
    for (int c = 0; c < C; c++) {
        double fp = bias[c], quant = corrected[c], uncorrected = bias[c];
        for (int k = 0; k < K; k++) {
            fp += (double)w[c * K + k] * mean_x[k];
            quant += (double)scales[c] * q[c * K + k] * mean_x[k];
            uncorrected += (double)scales[c] * q[c * K + k] * mean_x[k];
        }
        cr_assert(fabs(quant - fp) < 1e-5, "channel %d: %g vs %g", c, quant, fp);
        cr_assert(fabs(uncorrected - fp) > 1e-4, "channel %d: nothing to correct (the test is too easy)", c);
    }
}

Test(quant, histogram_grows_exactly) {
    static quant_hist h;
    quant_hist_init(&h);
    float a[4] = { 0.1f, -0.5f, 1.0f, 0.0f };
    quant_hist_add(&h, a, 4);
    cr_assert_eq(h.range, 1.0f);
    cr_assert_eq(h.total, 4);
    cr_assert_eq(h.counts[QUANT_HIST_BINS - 1], 1); /* |x| == range lands in the last bin */
    cr_assert_eq(h.counts[0], 1);
    float b[3] = { -9.0f, NAN, INFINITY };
    quant_hist_add(&h, b, 3);
    cr_assert_eq(h.range, 16.0f); /* doubled four times */
    cr_assert_eq(h.total, 5);
    cr_assert_eq(h.nonfinite, 2);
    cr_assert_eq(h.min, -9.0f);
    cr_assert_eq(h.max, 1.0f);
    uint64_t sum = 0;
    for (int i = 0; i < QUANT_HIST_BINS; i++) sum += h.counts[i];
    cr_assert_eq(sum, 5);
    /* 1.0 was in the last of 2048 bins over [0, 1): now bin 2047 / 16 = 127 */
    cr_assert_eq(h.counts[127], 1);
    cr_assert_eq(h.counts[(int)(9.0f / 16.0f * QUANT_HIST_BINS)], 1);
}

static float gaussian(test_rng *r) {
    float u = rng_float(r, 1e-7f, 1.0f), v = rng_float(r, 0.0f, 1.0f);
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

/* 10^6 samples of N(0, 1) in batches, then 4 outliers between 20 and 30 in magnitude: few enough that
 * clipping them costs less squared error than the coarser steps of a range that holds them. */
static void gaussian_with_outliers(quant_hist *h) {
    test_rng r = rng_seed(11);
    quant_hist_init(h);
    float *batch = malloc(100000 * sizeof(float));
    for (int b = 0; b < 10; b++) {
        for (int i = 0; i < 100000; i++) batch[i] = gaussian(&r);
        quant_hist_add(h, batch, 100000);
    }
    const float outliers[4] = { 20, -24, 27, -30 };
    quant_hist_add(h, outliers, 4);
    free(batch);
}

Test(quant, calibration_clips_outliers_except_minmax) {
    static quant_hist h;
    gaussian_with_outliers(&h);
    float t_minmax = calib_minmax(&h), t_pct = calib_percentile(&h, 99.99), t_ent = calib_entropy(&h),
          t_mse = calib_mse(&h);
    cr_log_info("gaussian + outliers: minmax %.3f percentile %.3f entropy %.3f mse %.3f", t_minmax, t_pct, t_ent, t_mse);
    cr_assert_eq(t_minmax, 30.0f);
    /* the 99.99th percentile of |N(0,1)| is 3.89 (a bin is at most 64/2048 wide) */
    cr_assert(t_pct > 3.7f && t_pct < 4.1f, "percentile %g", t_pct);
    /* below the smallest outlier, above the bulk of the Gaussian */
    cr_assert(t_ent > 2.5f && t_ent < 20.0f, "entropy %g", t_ent);
    cr_assert(t_mse > 2.5f && t_mse < 20.0f, "mse %g", t_mse);
    float scale;
    int32_t zero;
    cr_assert_eq(calib_params_u8(&h, CALIB_PERCENTILE, &scale, &zero), 0);
    cr_assert_float_eq(scale, 2.0f * t_pct / 255.0f, 2e-3f * scale); /* symmetric data: zero near 128 */
    cr_assert(zero >= 127 && zero <= 129, "zero point %d", zero);
    for (int m = 0; m < CALIB_COUNT; m++) {
        float lo, hi, t = calib_threshold(&h, m);
        calib_range(&h, t, &lo, &hi);
        cr_assert(lo < 0 && hi > 0 && hi <= t && -lo <= t);
        cr_assert_eq(calib_method_parse(calib_method_name(m)), m);
    }
    cr_assert_eq(calib_method_parse("kl"), -1);
}

/* Uniform [0, 1): nothing to clip: every method keeps (nearly) the whole range, one-sided. */
Test(quant, calibration_keeps_a_uniform_range) {
    static quant_hist h;
    quant_hist_init(&h);
    test_rng r = rng_seed(12);
    float *x = malloc(200000 * sizeof(float));
    rng_fill(&r, x, 200000, 0.0f, 1.0f);
    quant_hist_add(&h, x, 200000);
    free(x);
    float t_pct = calib_percentile(&h, 99.0), t_ent = calib_entropy(&h), t_mse = calib_mse(&h);
    cr_log_info("uniform: minmax %.3f percentile(99) %.3f entropy %.3f mse %.3f", calib_minmax(&h), t_pct, t_ent, t_mse);
    cr_assert(calib_minmax(&h) > 0.9999f && calib_minmax(&h) < 1.0f);
    cr_assert(fabsf(t_pct - 0.99f) < 0.002f, "percentile %g", t_pct);
    cr_assert(t_ent > 0.9f, "entropy %g", t_ent);
    cr_assert(t_mse > 0.9f, "mse %g", t_mse);
    float lo, hi;
    calib_range(&h, t_mse, &lo, &hi);
    cr_assert(lo >= 0.0f); /* one-sided data stays one-sided */
}

Test(quant, calibration_of_an_empty_histogram) {
    static quant_hist h;
    quant_hist_init(&h);
    for (int m = 0; m < CALIB_COUNT; m++) cr_assert_eq(calib_threshold(&h, m), 0.0f);
    float scale;
    int32_t zero;
    cr_assert_eq(calib_params_u8(&h, CALIB_MSE, &scale, &zero), -1);
    float zeros[5] = { 0 };
    quant_hist_add(&h, zeros, 5);
    for (int m = 0; m < CALIB_COUNT; m++) cr_assert_eq(calib_threshold(&h, m), 0.0f);
}
