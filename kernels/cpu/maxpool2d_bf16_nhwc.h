/* maxpool2d_bf16_nhwc.h — max pooling on a BF16 NHWC activation of a BF16 chain (maxpool2d_bf16_nhwc.c). */
#ifndef INFER_CPU_MAXPOOL2D_BF16_NHWC_H
#define INFER_CPU_MAXPOOL2D_BF16_NHWC_H

#include "cpu_kernels.h"

/* x BF16 [batch, h, w, C] (positions stride values apart) -> y BF16 [batch, oh, ow, C] (the same stride; values past
 * C are copied from the first tap: the chain's zero padding stays zero), pooled by p (kernel, stride, padding,
 * dilation; oh and ow as its shape rule gives). Padding taps are skipped; NaN wins, as in the f32 pool; a window
 * with no tap on the input gives 0. Max commutes with rounding to BF16: bit for bit the f32 pool of the BF16
 * values. Parallel over output rows on ctx->pool. */
void cpu_maxpool2d_bf16_nhwc(cpu_ctx *ctx, const pool2d_params *p, int64_t batch, int64_t h, int64_t w,
                             const uint16_t *x, int64_t stride, int64_t oh, int64_t ow, uint16_t *y);

#endif
