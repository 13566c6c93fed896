/* maxpool2d_u8_nhwc.h — max pooling on a u8 NHWC activation of an INT8 chain (maxpool2d_u8_nhwc.c). */
#ifndef INFER_CPU_MAXPOOL2D_U8_NHWC_H
#define INFER_CPU_MAXPOOL2D_U8_NHWC_H

#include "cpu_kernels.h"

/* x u8 [batch, h, w, C] (positions x_stride >= C bytes apart) -> y u8 [batch, oh, ow, C] (y_stride >= C apart; the
 * bytes past C are left alone), pooled by p (kernel, stride, padding, dilation; oh and ow as its shape rule gives).
 * Padding taps are skipped; a window with no tap on the input gives 0. Since the u8 values of a chain are a
 * monotone quantization of the f32 values, this is bit for bit the f32 pool quantized afterwards. Parallel over
 * output rows on ctx->pool; the byte loop compiled per ISA. */
void cpu_maxpool2d_u8_nhwc(cpu_ctx *ctx, const pool2d_params *p, int64_t batch, int64_t channels, int64_t h,
                           int64_t w, const uint8_t *x, int64_t x_stride, int64_t oh, int64_t ow, uint8_t *y,
                           int64_t y_stride);

#endif
