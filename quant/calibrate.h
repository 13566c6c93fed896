/* calibrate.h — calibration methods: each a pure function of a histogram (histogram.h) giving the
 * threshold T at which |x| is clipped; the tensor's range is then calib_range(h, T). */
#ifndef INFER_QUANT_CALIBRATE_H
#define INFER_QUANT_CALIBRATE_H

#include "histogram.h"

typedef enum { CALIB_MINMAX = 0, CALIB_PERCENTILE, CALIB_ENTROPY, CALIB_MSE, CALIB_COUNT } calib_method;

const char *calib_method_name(int method);
int calib_method_parse(const char *name); /* -1 when unknown */

/* Every threshold is 0 for an empty histogram. */

/* The largest |x| seen: nothing is clipped. */
float calib_minmax(const quant_hist *h);

/* The smallest bin edge below which at least `percentile` percent (e.g. 99.99) of the values lie. */
float calib_percentile(const quant_hist *h, double percentile);

/* TensorRT's entropy calibration: of the thresholds at bin edges i * width (i from the number of levels to
 * QUANT_HIST_BINS), the one minimizing KL(P || Q), P the histogram up to i with the values above folded
 * into its last bin, Q that histogram merged into as many levels as the quantized tensor has (256 for
 * data that is never negative, else 128 per sign) and spread back over P's non-empty bins. */
float calib_entropy(const quant_hist *h);

/* The threshold at a bin edge minimizing the expected squared error of the quantized tensor: values above
 * T clipped ((|x| - T)^2), those below rounded (step^2 / 12, step the range of calib_range(h, T) / 255). */
float calib_mse(const quant_hist *h);

/* One of the above by method (percentile 99.99 for CALIB_PERCENTILE). */
float calib_threshold(const quant_hist *h, int method);

/* The range a threshold gives: [max(min, -T), min(max, T)] (widened to contain 0 by quant_params). */
void calib_range(const quant_hist *h, float threshold, float *lo, float *hi);

/* The u8 activation parameters (quant_params_u8) of the range a method picks; -1 when the histogram saw
 * nothing finite. */
int calib_params_u8(const quant_hist *h, int method, float *scale, int32_t *zero_point);

#endif
