/* quant_params.h — quantization parameter math: scale and zero point from a range, quantizing and
 * dequantizing tensors, symmetric per-channel weights (docs/INT8.md). */
#ifndef INFER_QUANT_PARAMS_H
#define INFER_QUANT_PARAMS_H

#include <stdint.h>

/* value = scale * (q - zero_point) */
typedef struct {
    float scale;
    int32_t zero_point;
} quant_affine;

/* Parameters mapping [lo, hi] (first widened to contain 0, so that 0 is exact) onto [qmin, qmax]:
 * asymmetric: scale = (hi - lo) / (qmax - qmin), zero_point = qmin - round(lo / scale), clamped to the
 * range; symmetric: scale = max(-lo, hi) / ((qmax - qmin) / 2), zero_point = (qmin + qmax + 1) / 2
 * (0 for [-127, 127] and [-128, 127], 128 for [0, 255]). An empty range ([0, 0]) gets scale 1.
 * Returns 0, or -1 (out untouched) when lo or hi is NaN or infinite, or qmin >= qmax. */
int quant_params(float lo, float hi, int qmin, int qmax, int symmetric, quant_affine *out);

/* The project's two kinds: u8 asymmetric activations [0, 255], s8 symmetric weights [-127, 127]. */
int quant_params_u8(float lo, float hi, quant_affine *out);
int quant_params_s8_symmetric(float lo, float hi, quant_affine *out);

/* q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax); NaN becomes zero_point. */
int32_t quant_value(float x, quant_affine p, int qmin, int qmax);
void quant_to_u8(const float *x, int64_t n, quant_affine p, uint8_t *q);
void quant_to_s8(const float *x, int64_t n, quant_affine p, int8_t *q);
void dequant_u8(const uint8_t *q, int64_t n, quant_affine p, float *x);
void dequant_s8(const int8_t *q, int64_t n, quant_affine p, float *x);

/* Weights [channels, per_channel] (row-major; channel = output channel, axis 0) quantized symmetrically
 * per channel to [-127, 127]: scales[c] = max|w_c| / 127 (1 for an all-zero channel), rounding half to
 * even. Returns 0, or -1 when a weight is NaN or infinite (q and scales then undefined). */
int quant_weights_per_channel(const float *w, int64_t channels, int64_t per_channel, int8_t *q, float *scales);

/* Bias correction for quantized weights: the expected output the weights' rounding loses,
 * E[x] . (w_c - dequant(q_c)), given back through the bias: bias[c] += sum_k (w[c][k] - scales[c] *
 * q[c][k]) * mean_x[k], with mean_x the calibration data's mean of each input (per_channel values), so
 * that the quantized layer's mean output equals the float layer's. bias holds channels values (zeros for
 * a layer without bias). */
void quant_bias_correction(const float *w, const int8_t *q, const float *scales, int64_t channels,
                           int64_t per_channel, const double *mean_x, float *bias);

#endif
