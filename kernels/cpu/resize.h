/* resize.h — PyTorch's source coordinates and cubic weights for resize, shared by the CPU and CUDA kernels. */
#ifndef INFER_CPU_RESIZE_H
#define INFER_CPU_RESIZE_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define RESIZE_FN __host__ __device__ static inline
#else
#define RESIZE_FN static inline
#endif

/* in/out, or 1/scale when a scale factor was given (PyTorch's compute_scales_value). */
RESIZE_FN float resize_scale_value(float scale, int64_t in, int64_t out) {
    return scale > 0.0f ? 1.0f / scale : (float)in / (float)out;
}

/* area_pixel_compute_scale: the step between source coordinates. */
RESIZE_FN float resize_area_scale(int64_t in, int64_t out, int align_corners, float scale) {
    if (align_corners) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    return resize_scale_value(scale, in, out);
}

/* area_pixel_compute_source_index: the (real) source coordinate of output index o. */
RESIZE_FN float resize_source(float step, int64_t o, int align_corners, int cubic) {
    if (align_corners) return step * (float)o;
    float s = step * ((float)o + 0.5f) - 0.5f;
    return !cubic && s < 0.0f ? 0.0f : s;
}

/* The nearest (exact: half-pixel centres) source index of output index o. */
RESIZE_FN int64_t resize_nearest(int64_t o, int64_t in, int64_t out, float scale, int exact) {
    float step = resize_scale_value(scale, in, out);
    int64_t i = (int64_t)floorf(exact ? ((float)o + 0.5f) * step : (float)o * step);
    return i < in - 1 ? i : in - 1;
}

/* Cubic convolution weights (A = -0.75) of the four taps around a fractional offset t. */
RESIZE_FN void resize_cubic_weights(float t, float w[4]) {
    const float A = -0.75f;
    float x1 = t + 1.0f, x2 = 1.0f - t, x3 = 2.0f - t;
    w[0] = ((A * x1 - 5.0f * A) * x1 + 8.0f * A) * x1 - 4.0f * A;
    w[1] = ((A + 2.0f) * t - (A + 3.0f)) * t * t + 1.0f;
    w[2] = ((A + 2.0f) * x2 - (A + 3.0f)) * x2 * x2 + 1.0f;
    w[3] = ((A * x3 - 5.0f * A) * x3 + 8.0f * A) * x3 - 4.0f * A;
}

/* The linear taps of output index o: i0, i1 and the weight of i1. */
RESIZE_FN void resize_linear_taps(float step, int64_t o, int64_t in, int align_corners, int64_t *i0, int64_t *i1,
                                      float *lambda) {
    float s = resize_source(step, o, align_corners, 0);
    int64_t i = (int64_t)s;
    if (i > in - 1) i = in - 1;
    *i0 = i;
    *i1 = i < in - 1 ? i + 1 : i;
    float l = s - (float)i;
    *lambda = l < 0.0f ? 0.0f : l > 1.0f ? 1.0f : l;
}

#endif
