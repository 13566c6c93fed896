/* calibrate.c — minmax, percentile, entropy (KL) and mse thresholds over a histogram of |x|. */
#include <math.h>
#include <string.h>
#include "calibrate.h"
#include "quant_params.h"

static const char *names[CALIB_COUNT] = { "minmax", "percentile", "entropy", "mse" };

const char *calib_method_name(int method) { return method >= 0 && method < CALIB_COUNT ? names[method] : "?"; }

int calib_method_parse(const char *name) {
    for (int m = 0; m < CALIB_COUNT; m++)
        if (strcmp(name, names[m]) == 0) return m;
    return -1;
}

float calib_minmax(const quant_hist *h) { return h->total ? fmaxf(fabsf(h->min), fabsf(h->max)) : 0.0f; }

float calib_percentile(const quant_hist *h, double percentile) {
    if (!h->total) return 0.0f;
    double want = percentile / 100.0 * (double)h->total, seen = 0;
    for (int i = 0; i < QUANT_HIST_BINS; i++) {
        seen += (double)h->counts[i];
        if (seen >= want) return fminf((float)(i + 1) * quant_hist_bin_width(h), calib_minmax(h));
    }
    return calib_minmax(h);
}

/* Quantization levels over [0, T] of |x|: 256 steps for one-sided data, 128 per side otherwise. */
static int levels_of(const quant_hist *h) { return h->min >= 0.0f || h->max <= 0.0f ? 256 : 128; }

float calib_entropy(const quant_hist *h) {
    if (!h->total || h->range == 0.0f) return 0.0f;
    int levels = levels_of(h);
    static const int bins = QUANT_HIST_BINS;
    double p[QUANT_HIST_BINS], q[QUANT_HIST_BINS], above = 0;
    for (int i = levels; i < bins; i++) above += (double)h->counts[i];
    double best = INFINITY;
    int best_i = bins;
    for (int i = levels; i <= bins; i++) {
        /* above: the values in bins [i, bins) */
        if (i > levels) above -= (double)h->counts[i - 1];
        double p_sum = 0;
        for (int b = 0; b < i; b++) p_sum += (p[b] = (double)h->counts[b]);
        p[i - 1] += above;
        p_sum += above;
        if (p_sum == 0) continue;
        /* Q: the first i bins (without the folded values) merged into `levels` chunks, each chunk's mass
         * spread evenly over the bins where P is not empty */
        double q_sum = 0;
        for (int j = 0; j < levels; j++) {
            int start = (int)((int64_t)j * i / levels), end = (int)((int64_t)(j + 1) * i / levels);
            double mass = 0;
            int nonzero = 0;
            for (int b = start; b < end; b++) {
                mass += (double)h->counts[b];
                nonzero += p[b] != 0;
            }
            for (int b = start; b < end; b++) q[b] = p[b] != 0 && nonzero ? mass / nonzero : 0;
            q_sum += mass;
        }
        double kl = 0;
        int finite = q_sum > 0;
        for (int b = 0; b < i && finite; b++) {
            if (p[b] == 0) continue;
            if (q[b] == 0) finite = 0;
            else kl += p[b] / p_sum * log((p[b] / p_sum) / (q[b] / q_sum));
        }
        if (finite && kl < best) {
            best = kl;
            best_i = i;
        }
    }
    return fminf((float)best_i * quant_hist_bin_width(h), calib_minmax(h));
}

void calib_range(const quant_hist *h, float threshold, float *lo, float *hi) {
    *lo = fmaxf(h->min, -threshold);
    *hi = fminf(h->max, threshold);
}

float calib_mse(const quant_hist *h) {
    if (!h->total || h->range == 0.0f) return 0.0f;
    double width = quant_hist_bin_width(h), best = INFINITY;
    int best_i = QUANT_HIST_BINS;
    for (int i = 1; i <= QUANT_HIST_BINS; i++) {
        float t = (float)(i * width), lo, hi;
        calib_range(h, t, &lo, &hi);
        double step = (fmax(hi, 0.0) - fmin(lo, 0.0)) / 255.0, inside = 0, clipped = 0;
        for (int b = 0; b < QUANT_HIST_BINS; b++) {
            if (!h->counts[b]) continue;
            double center = (b + 0.5) * width;
            if (b < i) inside += (double)h->counts[b];
            else clipped += (double)h->counts[b] * (center - t) * (center - t);
        }
        double err = inside * step * step / 12.0 + clipped;
        if (err < best) {
            best = err;
            best_i = i;
        }
    }
    return fminf((float)(best_i * width), calib_minmax(h));
}

float calib_threshold(const quant_hist *h, int method) {
    switch (method) {
    case CALIB_MINMAX: return calib_minmax(h);
    case CALIB_PERCENTILE: return calib_percentile(h, 99.99);
    case CALIB_ENTROPY: return calib_entropy(h);
    case CALIB_MSE: return calib_mse(h);
    default: return calib_minmax(h);
    }
}

int calib_params_u8(const quant_hist *h, int method, float *scale, int32_t *zero_point) {
    if (!h->total) return -1;
    float lo, hi;
    calib_range(h, calib_threshold(h, method), &lo, &hi);
    quant_affine p;
    if (quant_params_u8(lo, hi, &p) != 0) return -1;
    *scale = p.scale;
    *zero_point = p.zero_point;
    return 0;
}
