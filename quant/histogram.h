/* histogram.h — the histogram of |x| a tensor's calibration collects over batches: QUANT_HIST_BINS equal
 * bins over [0, range), the range doubling (pairs of bins merged, exactly) when a larger value arrives. */
#ifndef INFER_QUANT_HISTOGRAM_H
#define INFER_QUANT_HISTOGRAM_H

#include <stdint.h>

#define QUANT_HIST_BINS 2048

typedef struct {
    uint64_t counts[QUANT_HIST_BINS]; /* bin i: |x| in [i, i+1) * range / QUANT_HIST_BINS (the last holds range) */
    float range;                      /* 0 until a non-zero finite value arrives */
    float min, max;                   /* the signed extremes seen (0, 0 before any) */
    uint64_t total;                   /* finite values counted */
    uint64_t nonfinite;               /* NaN and infinities, not counted in bins */
} quant_hist;

void quant_hist_init(quant_hist *h);
void quant_hist_add(quant_hist *h, const float *x, int64_t n);

/* Width of one bin (0 while range is 0). */
float quant_hist_bin_width(const quant_hist *h);

#endif
