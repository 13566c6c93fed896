/* quant_params.c — scale and zero point from a range, (de)quantization, symmetric per-channel weights. */
#include <math.h>
#include "quant_params.h"

int quant_params(float lo, float hi, int qmin, int qmax, int symmetric, quant_affine *out) {
    if (!isfinite(lo) || !isfinite(hi) || qmin >= qmax) return -1;
    lo = fminf(lo, 0.0f);
    hi = fmaxf(hi, 0.0f);
    quant_affine p;
    if (symmetric) {
        float amax = fmaxf(-lo, hi);
        p.scale = amax / ((float)(qmax - qmin) / 2.0f);
        p.zero_point = (qmin + qmax + 1) / 2;
        if (qmin + qmax + 1 < 0 && (qmin + qmax + 1) % 2) p.zero_point -= 1; /* floor, not toward zero */
    } else {
        p.scale = (hi - lo) / (float)(qmax - qmin);
        p.zero_point = 0;
        if (p.scale > 0.0f) {
            float z = (float)qmin - nearbyintf(lo / p.scale);
            p.zero_point = (int32_t)fminf(fmaxf(z, (float)qmin), (float)qmax);
        }
    }
    if (!(p.scale > 0.0f) || !isfinite(p.scale)) {
        p.scale = 1.0f;
        if (!symmetric) p.zero_point = qmin > 0 ? qmin : qmax < 0 ? qmax : 0;
    }
    *out = p;
    return 0;
}

int quant_params_u8(float lo, float hi, quant_affine *out) { return quant_params(lo, hi, 0, 255, 0, out); }

int quant_params_s8_symmetric(float lo, float hi, quant_affine *out) {
    return quant_params(lo, hi, -127, 127, 1, out);
}

int32_t quant_value(float x, quant_affine p, int qmin, int qmax) {
    float v = nearbyintf(x / p.scale) + (float)p.zero_point;
    if (isnan(v)) return p.zero_point;
    return (int32_t)fminf(fmaxf(v, (float)qmin), (float)qmax);
}

void quant_to_u8(const float *x, int64_t n, quant_affine p, uint8_t *q) {
    for (int64_t i = 0; i < n; i++) q[i] = (uint8_t)quant_value(x[i], p, 0, 255);
}

void quant_to_s8(const float *x, int64_t n, quant_affine p, int8_t *q) {
    for (int64_t i = 0; i < n; i++) q[i] = (int8_t)quant_value(x[i], p, -128, 127);
}

void dequant_u8(const uint8_t *q, int64_t n, quant_affine p, float *x) {
    for (int64_t i = 0; i < n; i++) x[i] = p.scale * (float)((int32_t)q[i] - p.zero_point);
}

void dequant_s8(const int8_t *q, int64_t n, quant_affine p, float *x) {
    for (int64_t i = 0; i < n; i++) x[i] = p.scale * (float)((int32_t)q[i] - p.zero_point);
}

int quant_weights_per_channel(const float *w, int64_t channels, int64_t per_channel, int8_t *q, float *scales) {
    for (int64_t c = 0; c < channels; c++) {
        const float *wc = w + c * per_channel;
        float amax = 0.0f;
        for (int64_t i = 0; i < per_channel; i++) {
            if (!isfinite(wc[i])) return -1;
            amax = fmaxf(amax, fabsf(wc[i]));
        }
        quant_affine p = { 1.0f, 0 };
        quant_params_s8_symmetric(-amax, amax, &p);
        scales[c] = p.scale;
        for (int64_t i = 0; i < per_channel; i++) q[c * per_channel + i] = (int8_t)quant_value(wc[i], p, -127, 127);
    }
    return 0;
}

void quant_bias_correction(const float *w, const int8_t *q, const float *scales, int64_t channels,
                           int64_t per_channel, const double *mean_x, float *bias) {
    for (int64_t c = 0; c < channels; c++) {
        double shift = 0;
        for (int64_t k = 0; k < per_channel; k++) {
            int64_t at = c * per_channel + k;
            shift += ((double)w[at] - (double)scales[c] * q[at]) * mean_x[k];
        }
        bias[c] = (float)(bias[c] + shift);
    }
}
