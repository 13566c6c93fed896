/* conv2d_winograd.h — Winograd F(4x4, 3x3) for FP32 3x3 stride-1 convolutions: what conv2d.c, the backend and
 * the transforms (conv2d_winograd.c, conv2d_winograd_x86.c) share. */
#ifndef INFER_CONV2D_WINOGRAD_H
#define INFER_CONV2D_WINOGRAD_H

#include "conv2d.h"

/* A tile is 4x4 outputs computed from a 6x6 input patch; its transforms are 36 values (xi = 6 * row + col). */
#define WINO_XI 36
/* Tiles transformed together (one vector of lanes). */
#define WINO_LANES 16

/* Whether g runs Winograd in mode (infer_engine_options.winograd: AUTO where it measured faster, ON wherever the
 * geometry allows: 3x3, stride 1, dilation 1, groups 1; OFF nowhere), at the engine's planned shapes. */
int conv_winograd_takes(const conv_geometry *g, infer_winograd mode);

/* Bytes of the transformed weights of node n (in[1] its [out, in, 3, 3] f32 weight) for mode, 0 when the layer
 * does not take Winograd; and their fill. The kernel table's prepack hooks (mode AUTO; the backend asks with the engine's mode). */
size_t conv_winograd_prepack_size(const ir_node *n, const infer_tensor *in, int isa, infer_winograd mode);
size_t cpu_conv2d_winograd_prepack_size(const ir_node *n, const infer_tensor *in, int isa);
void cpu_conv2d_winograd_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst);
void cpu_conv2d_winograd_describe(const void *packed, char *buf, size_t size);

/* Records the engine's mode in the transformed weights (after the fill): AUTO ones run im2col at a run's batch
 * whose tiles are too few, ON ones never. */
void conv_winograd_set_mode(void *packed, infer_winograd mode);

/* Whether prepacked holds transformed weights for g's channels. */
int conv_winograd_packed(const void *prepacked, const conv_geometry *g);

/* Workspace bytes of a Winograd run of g on that many threads (0 when the geometry does not allow it). */
size_t conv_winograd_workspace(const conv_geometry *g, int threads);

/* y = act(conv(x, w) + b + residual) from the transformed weights; 0 (nothing done) when the workspace is too
 * small, the tensors too large for the kernel's 32-bit offsets, or (AUTO) the run's tiles too few: the caller
 * runs the im2col path (the original weights stay readable). */
int conv2d_winograd(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *b, const float *residual,
                    const act_params *act, float *y);

/* ---- the transforms (one block of tiles) ------------------------------------------------------------ */

typedef struct {
    const conv_geometry *g;
    const float *x;          /* the input, image 0 channel 0 */
    int64_t tiles_w, tiles_hw; /* tiles per row of an image, per image */
    int64_t tiles;           /* over the whole batch */
    int nr;                  /* the GEMM's column panel width: V is written in its packed-B layout */
} wino_plan;

/* Tiles [t0, t0 + tn) of the batch (tile t: image t / tiles_hw, then row-major in the image) for every input
 * channel into v: matrix xi at v + xi * v_stride holds [channels, tn] as cpu_sgemm_pack_b lays it out (nr-wide
 * panels, k-major), lanes past tn up to the next multiple of WINO_LANES zero. */
typedef void (*wino_input_fn)(const wino_plan *p, int64_t t0, int64_t tn, float *v, int64_t v_stride);

/* From m (matrix xi at m + xi * m_stride: rows of output channels [o0, o0 + on), ldm apart, tn tiles each) the
 * outputs of those channels and tiles: + bias (NULL: none) + residual (NULL: none), then relu or clip when act
 * is one of them (other activations: the caller applies them afterwards). */
typedef void (*wino_output_fn)(const wino_plan *p, const float *m, int64_t m_stride, int64_t ldm, int64_t o0,
                               int64_t on, int64_t t0, int64_t tn, const float *bias, const float *residual,
                               const act_params *act, float *y);

void conv_winograd_input_scalar(const wino_plan *p, int64_t t0, int64_t tn, float *v, int64_t v_stride);
void conv_winograd_output_scalar(const wino_plan *p, const float *m, int64_t m_stride, int64_t ldm, int64_t o0,
                                 int64_t on, int64_t t0, int64_t tn, const float *bias, const float *residual,
                                 const act_params *act, float *y);
/* The same compiled for AVX2 + FMA (conv2d_winograd.c), and the AVX-512 versions (conv2d_winograd_x86.c); NULL
 * where not built. */
wino_input_fn conv_winograd_input_avx2(void);
wino_output_fn conv_winograd_output_avx2(void);
wino_input_fn conv_winograd_input_avx512(void);
wino_output_fn conv_winograd_output_avx512(void);

#endif
