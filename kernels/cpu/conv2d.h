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
/* The geometry from the input and weight views alone, the output size from the attributes (64-bit); 0 when the
 * attributes or the shapes make no convolution. */
int conv_geometry_of_inputs(const ir_node *n, const infer_tensor *in, conv_geometry *g);

/* groups == channels (> 1): each output channel reads one input channel. */
int conv_is_depthwise(const conv_geometry *g);

/* The im2col matrix of one group, [Cg*kh*kw, images*oh*ow]: row (c, i, j) holds input channel c seen
 * through kernel tap (i, j) at every output position, zero where the tap is in the padding. Column
 * q is output position q % (oh*ow) of image q / (oh*ow), whose input starts image_stride floats after
 * the previous image's (0 for a single image). */
typedef struct {
    const conv_geometry *g;
    const float *x; /* the group's first input channel in the first image */
    int64_t image_stride;
} conv_columns;

/* A gemm_b_source packer for conv_columns: rows [k0, k0+kc) x columns [j0, j0+nc) into nr-wide slivers. */
void conv_pack_columns(const void *src, int isa, int nr, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                       float *dst);

/* The same for a 1x1, stride 1, unpadded convolution, whose column q of row c is the contiguous
 * x[image * image_stride + c * h*w + q % (h*w)]. */
void conv_pack_pointwise(const void *src, int isa, int nr, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                         float *dst);

/* y = act(depthwise_conv(x, w) + b + residual); b and residual may be NULL. */
void conv2d_depthwise(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                      const float *residual, const act_params *act, float *y);
/* The same for output rows [oh0, oh1) of every plane only (the others untouched): the input rows those read. */
void conv2d_depthwise_rows(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                           const float *residual, const act_params *act, float *y, int64_t oh0, int64_t oh1);

/* The AVX-512 channel-blocked depthwise path (conv2d_depthwise_blocked.c): whether it takes g (one output
 * channel per input channel, at most 25 taps, a block's buffers within the per-thread scratch), and the run of
 * output rows [oh0, oh1). */
int conv_depthwise_blocked_fits(const conv_geometry *g, int isa);
void conv2d_depthwise_blocked(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                              const float *residual, const act_params *act, float *y, int64_t oh0, int64_t oh1);

/* The AVX-512 direct depthwise path on NCHW rows (conv2d_depthwise_direct.c): whether it takes g (3x3 or 5x5,
 * stride 1 or 2 both ways, no dilation, its stride-2 row buffers within the per-thread scratch), and the run of
 * output rows [oh0, oh1). */
int conv_depthwise_direct_fits(const conv_geometry *g, int isa);
/* Whether the direct path is measured faster than the blocked one for g (when both fit). */
int conv_depthwise_direct_wins(const conv_geometry *g);
void conv2d_depthwise_direct(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                             const float *residual, const act_params *act, float *y, int64_t oh0, int64_t oh1);

/* The AVX-512 flat depthwise path on small planes (conv2d_depthwise_flat.c): whether it takes g (3x3 or 5x5,
 * 'same' padding, dilation 1; stride 1 on planes of 17-256 values, stride 2 on inputs of <= 16 columns into
 * <= 8 output columns and <= 32 output rows), and the whole output. */
int conv_depthwise_flat_fits(const conv_geometry *g, int isa);
/* Whether the flat path is measured faster than the direct and blocked ones for g (when it fits). */
int conv_depthwise_flat_wins(const conv_geometry *g);
void conv2d_depthwise_flat(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                           const float *residual, const act_params *act, float *y);

/* The AVX-512 GEMV path (conv2d_gemv.c): 1x1 convolutions on 1x1 planes, groups 1, 1-8 images; conv2d_gemv runs
 * the layer and returns 1 when it fits (and w is there), else 0 and does nothing. */
int conv2d_gemv_fits(const conv_geometry *g, int isa);
int conv2d_gemv(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                const float *residual, const act_params *act, float *y);

/* The dense kernel's prepacked weights (conv2d_prepack.c): Winograd's for the 3x3 layers mode picks, else the
 * GEMM's row slivers for groups-1 layers with enough output positions, else none (size 0). The kernel table's
 * hooks take the mode from the node (conv2d_params.winograd, the engine's choice); the _for versions are given it. */
size_t conv2d_prepack_size_for(const ir_node *n, const infer_tensor *in, int isa, infer_winograd mode);
void conv2d_prepack_for(const ir_node *n, const infer_tensor *in, int isa, infer_winograd mode, void *dst);
size_t cpu_conv2d_prepack_size(const ir_node *n, const infer_tensor *in, int isa);
/* The dense kernel's workspace when mode picks its Winograd layers (the kernel table's hook: the node's mode). */
size_t conv2d_workspace_for(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads,
                            infer_winograd mode);
void cpu_conv2d_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst);
void cpu_conv2d_prepack_describe(const void *packed, char *buf, size_t size);
/* The GEMM row slivers alone (what the _for versions pack when neither Winograd nor conv2d_small takes the layer). */
size_t conv2d_rows_prepack_size(const ir_node *n, const infer_tensor *in, int isa);
void conv2d_rows_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst);
int cpu_conv2d_packed_only(const void *prepacked, int isa);
/* The row slivers in prepacked for g and isa; NULL when prepacked holds none (or Winograd's). */
const float *conv2d_packed_rows(const void *prepacked, const conv_geometry *g, int isa);

/* Small images (conv2d_small.c): groups-1 layers with few output positions as the transposed GEMM, weights
 * prepacked as its column slivers. takes: the shape rule the engine's prepacking applies (all images' output positions
 * within [MIN, MAX], at least MIN_CHANNELS outputs and MIN_DEPTH inputs x taps, not a stride-1 unpadded 1x1:
 * measured faster than packed rows for ResNet's 3x3 and strided layers with 7x7 outputs and depth 1024-4608,
 * bench/RESULTS.md, slower at 14x14, for 1x1s and at depth 256, where packing and the transpose weigh more); prepack_size with force set packs any groups-1 layer (tests, benches); conv2d_small returns 0
 * (doing nothing) unless ctx->prepacked holds this layer's weights for ctx->isa and the workspace has
 * conv_small_workspace(g) bytes. */
#define CONV_SMALL_MIN_POSITIONS 32
#define CONV_SMALL_MAX_POSITIONS 64
#define CONV_SMALL_MIN_CHANNELS 64
#define CONV_SMALL_MIN_DEPTH 1024
int conv_small_takes(const conv_geometry *g);
size_t conv_small_prepack_size(const ir_node *n, const infer_tensor *in, int isa, int force);
void conv_small_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst);
/* prepacked holds a small-image layer's weights for isa: conv2d_small then serves every run of that layer (a smaller
 * batch has fewer positions and needs less workspace than the build's). */
int conv_small_packed(const void *prepacked, int isa);
int conv_small_describe(const void *packed, char *buf, size_t size);
size_t conv_small_workspace(const conv_geometry *g);
int conv2d_small(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *bias, const float *residual,
                 const act_params *act, float *y);

#endif
