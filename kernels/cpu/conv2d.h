/* conv2d.h — what conv2d.c shares with the depthwise kernel: the geometry of one convolution. */
#ifndef INFER_CONV2D_H
#define INFER_CONV2D_H

#include "cpu_kernels.h"

typedef struct {
    int64_t batch, channels, height, width;     /* input */
    int64_t out_channels, out_height, out_width;
    int64_t kernel_h, kernel_w;
    int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
    int64_t groups;
} conv_geometry;

void conv_geometry_of(const ir_node *n, const infer_tensor *in, const infer_tensor *out, conv_geometry *g);

/* groups == channels (> 1): each output channel reads one input channel. */
int conv_is_depthwise(const conv_geometry *g);

/* The im2col matrix of one image and group, [Cg*kh*kw, oh*ow]: row (c, i, j) holds input channel c
 * seen through kernel tap (i, j) at every output position, zero where the tap is in the padding. */
typedef struct {
    const conv_geometry *g;
    const float *x; /* the group's first input channel */
} conv_columns;

/* A gemm_b_source packer for conv_columns: rows [k0, k0+kc) x columns [j0, j0+nc) into nr-wide slivers. */
void conv_pack_columns(const void *src, int isa, int nr, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                       float *dst);

/* y = act(depthwise_conv(x, w) + b + residual); b and residual may be NULL. */
void conv2d_depthwise(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                      const float *residual, const act_params *act, float *y);

#endif
