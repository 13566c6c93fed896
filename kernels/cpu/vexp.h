/* vexp.h — vectorized exp for softmax-like rows (AVX2, AVX-512, or libm expf), chosen by cpu_ctx.isa. */
#ifndef INFER_CPU_VEXP_H
#define INFER_CPU_VEXP_H

#include <stdint.h>

/* Largest x[i] for i < n (NaNs ignored); -INFINITY for an empty or all-NaN row. */
float vexp_row_max(int isa, const float *x, int64_t n);

/* y[i] = exp(x[i] - shift) for i < n (y may alias x, or be NULL for the sum alone); returns the sum in double.
 * The SIMD paths are within a few ulp of expf for arguments up to 88.37 (larger ones clamp there),
 * give 0 below ln(FLT_MIN) and for -inf, and keep NaN. */
double vexp_row(int isa, const float *x, float *y, int64_t n, float shift);

#endif
