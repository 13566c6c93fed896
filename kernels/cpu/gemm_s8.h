/* gemm_s8.h — INT8 kernels of the CPU backend: u8 x s8 GEMM with int32 accumulation and a fused
 * requantize/dequantize epilogue, dynamic INT8 linear, depthwise INT8 convolution (docs/INT8.md). */
#ifndef INFER_GEMM_S8_H
#define INFER_GEMM_S8_H

#include <stddef.h>
#include <stdint.h>
#include "cpu_kernels.h"

/* Code paths, each with its own packed weight layout. */
typedef enum {
    S8_PATH_SCALAR = 0,  /* portable reference */
    S8_PATH_AVX2,        /* 16-bit widening + vpmaddwd: exact, cannot saturate */
    S8_PATH_AVX_VNNI,    /* vpdpbusd on ymm (VEX) */
    S8_PATH_AVX512_VNNI, /* vpdpbusd on zmm */
    S8_PATH_AMX,         /* tdpbusd on 16 x 64-byte tiles */
    S8_PATH_COUNT
} s8_path;

int s8_path_supported(int path); /* this CPU (and OS) can run it */
int s8_path_best(void);          /* the fastest supported path */
const char *s8_path_name(int path);

/* Longest reduction: |sum of K products u8 * s8| <= 255 * 128 * K must fit int32. */
#define GEMM_S8_K_MAX 65536

/* What becomes of the int32 accumulator acc[i][n] = sum_k (A[i][k] - a_zero) * W[n][k]:
 *   y = (float)acc * (a_scale * w_scale[n]) + bias[n]   (one fused multiply-add, in f32)
 * is the f32 output (then the activation); u8 output is clamp(round_half_even(y * (1 / out_scale)) + out_zero,
 * 0, 255) intersected with the activation's range: bit for bit y's activation quantized by s8_quantize_rows with
 * (out_scale, out_zero), so a u8 chain gives what f32 output quantized by the next layer gives. Weights are
 * symmetric (zero point 0). */
typedef struct {
    const float *a_scale;  /* activation scale: one value, or M values when a_per_row */
    const int32_t *a_zero; /* activation zero point in [0, 255], as a_scale */
    int a_per_row;
    const float *w_scale;  /* N per-output-channel weight scales */
    const float *bias;     /* NULL, or N f32 values */
    int out_u8;            /* 1: C is u8, requantized with out_scale and out_zero; 0: C is f32 */
    float out_scale;
    int32_t out_zero;
    act_params act;        /* u8 output: ACT_NONE, ACT_RELU or ACT_CLIP; f32 output: any */
} gemm_s8_epilogue;

/* A residual added in the epilogue after the bias and before the activation (u8 output then quantizes the sum):
 * u8 rows q (NULL: none) as scale * (q[i * ld + n] - zero), in one fused multiply-add, and f32 f32 (NULL: none)
 * stored transposed (an NCHW plane: value (i, n) at f32[n * ld_f32 + i]), or with f32_rows 1 as rows (NHWC: value
 * (i, n) at f32[i * ld_f32 + n]), added. */
typedef struct {
    const uint8_t *q;
    int64_t ld;
    float scale;
    int32_t zero;
    const float *f32;
    int64_t ld_f32;
    int f32_rows;
} gemm_s8_residual;

/* NULL when ep can be applied, else what is wrong with it. */
const char *gemm_s8_epilogue_problem(const gemm_s8_epilogue *ep);

/* Weights W [N, K] (output channels x reduction, row-major, ldw apart) packed for path, with the
 * per-column sums the zero point compensation needs. Size SIZE_MAX when K > GEMM_S8_K_MAX or the size
 * overflows; dst 64-byte aligned. The packed buffer records path, K and N. */
size_t gemm_s8_packed_size(int path, int64_t K, int64_t N);
void gemm_s8_pack(int path, int64_t K, int64_t N, const int8_t *W, int64_t ldw, void *dst);
/* gemm_s8_pack of a convolution weight W [N, channels, kh*kw = taps] (OIHW) with K = channels * taps taken in
 * (tap, channel) order, the order of columns built from NHWC input (cpu_conv2d_s8_nhwc). */
void gemm_s8_pack_taps_last(int path, int64_t channels, int64_t taps, int64_t N, const int8_t *W, void *dst);
int gemm_s8_packed_path(const void *packed);
int64_t gemm_s8_packed_k(const void *packed);
int64_t gemm_s8_packed_n(const void *packed);

/* C[M, N] = epilogue(A[M, K] (u8, lda apart) x W^T) with W from gemm_s8_pack, on the packed buffer's path
 * (which the CPU must support). C is u8 or f32 by ep->out_u8, ldc elements apart. Parallel over output
 * tiles on ctx->pool, with ctx->scratch (threads x CPU_SCRATCH_BYTES); must not be called from a pool task. */
void cpu_gemm_s8(cpu_ctx *ctx, int64_t M, const uint8_t *A, int64_t lda, const void *packed, void *C, int64_t ldc,
                 const gemm_s8_epilogue *ep);

/* cpu_gemm_s8 with f32 output (ep->out_u8 0) written transposed: value (i, n) to Y[n * ldy + i] (a convolution's
 * NCHW output: n the channel, i the position) from each finished tile while it is in L1, plus residual[n * ldy + i]
 * when residual is not NULL, then post (ep->act applies before the residual: ACT_NONE when post is not). */
/* A holds M whole rows of lda bytes: with lda >= K rounded up to 64 the tiles read the padding (times zero weights)
 * instead of copying edges. */
/* res_u8 (NULL: none): a u8 residual [M, N] added in the tile epilogue (then ep->act applies after it: post and
 * residual must be none). */
void cpu_gemm_s8_nchw(cpu_ctx *ctx, int64_t M, const uint8_t *A, int64_t lda, const void *packed, float *Y,
                      int64_t ldy, const gemm_s8_epilogue *ep, const float *residual, act_params post,
                      const gemm_s8_residual *res_u8);

/* cpu_gemm_s8 where A holds M whole rows of lda bytes (with lda >= K rounded up to 64 the tiles read the padding,
 * times zero weights, instead of copying edges), plus residual res [M, N] (NULL: none). */
void cpu_gemm_s8_whole_rows(cpu_ctx *ctx, int64_t M, const uint8_t *A, int64_t lda, const void *packed, void *C,
                            int64_t ldc, const gemm_s8_epilogue *ep, const gemm_s8_residual *res);

/* ---- dynamic INT8 linear ------------------------------------------------------ */

/* Row i of X quantized to u8: the range [min(0, min x), max(0, max x)] mapped onto [0, 255]: scale =
 * range / 255 (1 for an all-zero row or an infinite range), inv = 1 / scale, zero = round(-lo * inv),
 * q = clamp(round(x * inv) + zero, 0, 255), rounding half to even; NaN is ignored by the range and
 * becomes q = 0. */
void quant_rows_u8(int64_t M, int64_t K, const float *X, int64_t ldx, uint8_t *Q, int64_t ldq, float *scale,
                   int32_t *zero);

/* The same with isa's vectors (CPU_ISA_*), bit for bit. */
void quant_rows_u8_isa(int isa, int64_t M, int64_t K, const float *X, int64_t ldx, uint8_t *Q, int64_t ldq,
                       float *scale, int32_t *zero);

/* Workspace bytes of cpu_linear_s8_dynamic for M rows of K. */
size_t cpu_linear_s8_dynamic_workspace(int64_t M, int64_t K);

/* Y[M, N] = act(X[M, K] W^T + bias) (f32 in and out) with W as s8 per output channel (w_scale, packed by
 * gemm_s8_pack) and X quantized per row at run time by quant_rows_u8 into workspace. */
void cpu_linear_s8_dynamic(cpu_ctx *ctx, int64_t M, const float *X, int64_t ldx, const void *packed_w,
                           const float *w_scale, const float *bias, const act_params *act, float *Y, int64_t ldy,
                           void *workspace);

/* ---- INT8 convolution ------------------------------------------------------------ */

/* One convolution of NCHW tensors (the fields of conv_geometry, without groups). */
typedef struct {
    int64_t batch, channels, height, width;     /* input */
    int64_t out_channels, out_height, out_width;
    int64_t kernel_h, kernel_w;
    int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
} conv_s8_geometry;

/* Workspace bytes of cpu_conv2d_s8: one image's columns (u8) and its output before the transpose. */
size_t cpu_conv2d_s8_workspace(const conv_s8_geometry *g, int out_u8);

/* y = epilogue(conv(x - a_zero, W)) (groups 1): x u8 [batch, C, H, W], W [out_channels, C*kh*kw] (OIHW)
 * packed by gemm_s8_pack with K = C*kh*kw, N = out_channels; padding reads as a_zero (real 0); ep as for the
 * GEMM with a per-tensor activation (a_per_row 0), n = output channel; y u8 or f32 [batch, out_channels,
 * oh, ow]. Per image: the columns (one row of C*kh*kw per output position) into workspace, the GEMM on
 * the packed weights' path, the [positions, out_channels] result transposed into y. */
void cpu_conv2d_s8(cpu_ctx *ctx, const conv_s8_geometry *g, const uint8_t *x, const void *packed_w,
                   const gemm_s8_epilogue *ep, void *y, void *workspace);

/* Workspace bytes of cpu_conv2d_s8_nhwc: one image's columns (none for a 1x1 stride-1 unpadded convolution). */
size_t cpu_conv2d_s8_nhwc_workspace(const conv_s8_geometry *g);

/* Bytes between positions of the u8 NHWC input cpu_conv2d_s8_nhwc reads best: C rounded up to 64. */
int64_t cpu_conv2d_s8_nhwc_stride(int64_t channels);
/* The stride a layer quantizing its own input uses: that one for a 1x1 read in place, else C (kernel rows of taps
 * contiguous: one copy per kernel row into the columns). */
int64_t cpu_conv2d_s8_nhwc_input_stride(const conv_s8_geometry *g);

/* y = act(epilogue(conv(x - a_zero, W)) + residual) (groups 1) with x u8 NHWC [batch, H, W, C] (positions
 * x_stride >= C bytes apart; cpu_conv2d_s8_nhwc_stride's lets the GEMM read rows whole), W [out_channels,
 * C, kh, kw] packed by gemm_s8_pack_taps_last, y and residual (NULL: none) f32 NCHW [batch, out_channels, oh, ow];
 * padding reads as a_zero; ep as for cpu_conv2d_s8 with f32 output (its act applies before the residual: none when
 * act is not). Per image: the columns in (i, j, c) order (a 1x1 stride-1 convolution reads x in place), the GEMM,
 * then one pass to NCHW (16x16 transposes on AVX-512) adding the residual and applying act. */
/* res_u8 (NULL: none): a u8 NHWC residual instead (res_u8->q: image 0; images oh*ow*ld apart; act none). */
void cpu_conv2d_s8_nhwc(cpu_ctx *ctx, const conv_s8_geometry *g, const uint8_t *x, int64_t x_stride,
                        const void *packed_w, const gemm_s8_epilogue *ep, const float *residual, act_params act, float *y,
                        const gemm_s8_residual *res_u8, void *workspace);

/* The same convolution with u8 NHWC output (ep->out_u8 1: requantized with out_scale and out_zero, act none, relu or
 * clip): y [batch, oh, ow, out_channels], positions y_stride >= out_channels bytes apart (the bytes between are left
 * alone), written by the GEMM's tiles directly. */
void cpu_conv2d_s8_nhwc_u8(cpu_ctx *ctx, const conv_s8_geometry *g, const uint8_t *x, int64_t x_stride,
                           const void *packed_w, const gemm_s8_epilogue *ep, uint8_t *y, int64_t y_stride,
                           const gemm_s8_residual *res_u8, void *workspace);

/* The same convolution with f32 NHWC output: y [batch, oh, ow, out_channels] (rows out_channels apart), ep->out_u8 0
 * (any act), no residual: the GEMM's tiles stored as they are, no transpose. */
void cpu_conv2d_s8_nhwc_f32_rows(cpu_ctx *ctx, const conv_s8_geometry *g, const uint8_t *x, int64_t x_stride,
                                 const void *packed_w, const gemm_s8_epilogue *ep, float *y, void *workspace);

/* Workspace bytes of cpu_conv2d_grouped_s8: one group's cpu_conv2d_s8 workspace. */
size_t cpu_conv2d_grouped_s8_workspace(const conv_s8_geometry *g, int64_t groups, int out_u8);

/* The grouped convolution (groups > 0 dividing channels and out_channels; g's channels and out_channels are the
 * totals): group k of each image is cpu_conv2d_s8 on input channels [k C/groups, (k+1) C/groups) with the
 * weights packed_w + k * group_bytes (rows [k O/groups, (k+1) O/groups) of W [O, C/groups*kh*kw] packed by
 * gemm_s8_pack with K = C/groups*kh*kw, N = O/groups), and ep's w_scale and bias from k O/groups; y as above. */
void cpu_conv2d_grouped_s8(cpu_ctx *ctx, const conv_s8_geometry *g, int64_t groups, const uint8_t *x,
                           const void *packed_w, size_t group_bytes, const gemm_s8_epilogue *ep, void *y,
                           void *workspace);

/* y = epilogue(depthwise_conv(x - a_zero, w)) in NCHW (out_channels == channels): x u8 [batch, C, H, W],
 * w s8 [C, kh, kw] (symmetric, per channel w_scale[c]), padding reads as a_zero (real 0); ep as above with
 * n = channel; y u8 or f32 [batch, C, oh, ow]. Parallel over planes. path: the S8_PATH_* to run (AVX-512
 * code for AVX512_VNNI and AMX, AVX2 code for AVX2 and AVX_VNNI). */
void cpu_conv2d_depthwise_s8(cpu_ctx *ctx, int path, const conv_s8_geometry *g, const uint8_t *x, const int8_t *w,
                             const gemm_s8_epilogue *ep, void *y);

/* Depthwise weights w s8 [C, kh*kw = taps] repacked for cpu_conv2d_depthwise_s8_nhwc on path: bytes, and the fill
 * (dst 64-byte aligned). */
size_t cpu_depthwise_s8_nhwc_pack_size(int path, int64_t channels, int64_t taps);
void cpu_depthwise_s8_nhwc_pack(int path, int64_t channels, int64_t taps, const int8_t *w, void *dst);

/* y = requant(depthwise_conv(x - a_zero, w)): x u8 NHWC [batch, H, W, C], positions x_stride >= C bytes apart;
 * y u8 NHWC [batch, oh, ow, C], positions y_stride >= C bytes apart (bytes between C and the stride are left
 * alone); packed from cpu_depthwise_s8_nhwc_pack for the same path; ep as for cpu_conv2d_depthwise_s8 with
 * ep->out_u8 == 1, a per-tensor activation, act ACT_NONE / ACT_RELU / ACT_CLIP, n = channel; padding reads as
 * a_zero (real 0). Bit for bit cpu_conv2d_depthwise_s8's u8 output. Channels are the vector lanes (AVX-512: 64
 * per block, taps in quads for vpdpbusd; AVX2: 32, taps in pairs for vpmaddwd; more than 128 taps: scalar).
 * Parallel over output rows (all images) on ctx->pool; allocates nothing; with ctx->scratch, the channels'
 * epilogue constants are computed once into the calling thread's part. path as for cpu_conv2d_depthwise_s8. */
void cpu_conv2d_depthwise_s8_nhwc(cpu_ctx *ctx, int path, const conv_s8_geometry *g, const uint8_t *x,
                                  int64_t x_stride, const void *packed, const gemm_s8_epilogue *ep, uint8_t *y,
                                  int64_t y_stride);

#endif
