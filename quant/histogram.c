/* histogram.c — streaming histogram of |x| with exact range doubling. */
#include <math.h>
#include <string.h>
#include "histogram.h"

void quant_hist_init(quant_hist *h) { memset(h, 0, sizeof *h); }

float quant_hist_bin_width(const quant_hist *h) { return h->range / QUANT_HIST_BINS; }

/* Doubles the range: bins 2i and 2i+1 become bin i. */
static void grow(quant_hist *h) {
    for (int i = 0; i < QUANT_HIST_BINS / 2; i++) h->counts[i] = h->counts[2 * i] + h->counts[2 * i + 1];
    memset(h->counts + QUANT_HIST_BINS / 2, 0, sizeof(uint64_t) * (QUANT_HIST_BINS / 2));
    h->range *= 2.0f;
}

void quant_hist_add(quant_hist *h, const float *x, int64_t n) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) continue;
        amax = fmaxf(amax, fabsf(x[i]));
    }
    if (h->range == 0.0f && amax > 0.0f) h->range = amax;
    while (amax > h->range) grow(h);
    float per_unit = h->range > 0.0f ? QUANT_HIST_BINS / h->range : 0.0f;
    int first = h->total == 0;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v)) {
            h->nonfinite++;
            continue;
        }
        if (first) {
            h->min = h->max = v;
            first = 0;
        }
        h->min = fminf(h->min, v);
        h->max = fmaxf(h->max, v);
        float b = fabsf(v) * per_unit;
        int bin = b >= QUANT_HIST_BINS ? QUANT_HIST_BINS - 1 : (int)b;
        h->counts[bin]++;
        h->total++;
    }
}
