/* conv2d_depthwise_s8_nhwc.c — depthwise INT8 convolution of u8 NHWC input into u8 NHWC output (scalar). */
#include <string.h>
#include "gemm_internal.h"
#include "gemm_s8_internal.h"

size_t cpu_depthwise_s8_nhwc_pack_size(int path, int64_t channels, int64_t taps) {
    (void)path;
    return (size_t)(channels * taps);
}

void cpu_depthwise_s8_nhwc_pack(int path, int64_t channels, int64_t taps, const int8_t *w, void *dst) {
    (void)path;
    memcpy(dst, w, (size_t)(channels * taps));
}

void cpu_conv2d_depthwise_s8_nhwc(cpu_ctx *ctx, int path, const conv_s8_geometry *g, const uint8_t *x,
                                  int64_t x_stride, const void *packed, const gemm_s8_epilogue *ep,
                                  uint8_t *y, int64_t y_stride) {
    (void)ctx, (void)path;
    const int8_t *w = packed;
    float lo, hi;
    s8_clamp_range(ep, &lo, &hi);
    int64_t C = g->channels, taps = g->kernel_h * g->kernel_w;
    int32_t za = ep->a_zero[0];
    for (int64_t b = 0; b < g->batch; b++)
        for (int64_t oh = 0; oh < g->out_height; oh++)
            for (int64_t ow = 0; ow < g->out_width; ow++)
                for (int64_t c = 0; c < C; c++) {
                    int32_t acc = 0;
                    for (int64_t i = 0; i < g->kernel_h; i++) {
                        int64_t ih = oh * g->stride_h - g->pad_h + i * g->dilation_h;
                        if (ih < 0 || ih >= g->height) continue;
                        for (int64_t j = 0; j < g->kernel_w; j++) {
                            int64_t iw = ow * g->stride_w - g->pad_w + j * g->dilation_w;
                            if (iw < 0 || iw >= g->width) continue;
                            int32_t xv = x[((b * g->height + ih) * g->width + iw) * x_stride + c];
                            acc += (xv - za) * w[c * taps + i * g->kernel_w + j];
                        }
                    }
                    float o = ep->bias ? ep->bias[c] : 0.0f;
                    float v = fmaf((float)acc, ep->a_scale[0] * ep->w_scale[c], o) * (1.0f / ep->out_scale);
                    v = v > lo ? v : lo;
                    v = v < hi ? v : hi;
                    y[((b * g->out_height + oh) * g->out_width + ow) * y_stride + c] =
                        (uint8_t)((int32_t)nearbyintf(v) + ep->out_zero);
                }
}
