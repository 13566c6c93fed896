/* s8_layer.h — what the INT8 linear and conv2d kernel entries share: the packed weight block built at engine
 * build from an int8 per-channel weight, the INT8 path an engine's ISA allows, and input quantization. */
#ifndef INFER_S8_LAYER_H
#define INFER_S8_LAYER_H

#include "gemm_s8.h"

#define CPU_INT8_CHANNEL IR_STORAGE_BIT(IR_STORAGE_INT8_CHANNEL)

/* The head of a node's packed block; the scales and the weights follow it in the block. */
typedef struct {
    int32_t path;           /* s8_path the weights are packed for */
    int32_t depthwise;      /* 1: dw holds the raw [C, kh*kw] s8 weights; 0: gemm holds the GEMM's panels */
    int32_t is_static;      /* the node's input is quantized with calibrated (in_scale, in_zero) */
    int32_t nhwc;           /* gemm packed with K in (kh, kw, c) order for cpu_conv2d_s8_nhwc (static, groups 1) */
    int64_t n, k;           /* output channels, reduction (per group) */
    int64_t groups;         /* gemm: that many GEMM blocks of n / groups columns, group_bytes apart */
    size_t group_bytes;
    const float *w_scale;   /* n */
    const void *gemm;
    const int8_t *dw;
    const void *dw_nhwc;    /* depthwise, static: the weights packed for cpu_conv2d_depthwise_s8_nhwc, else NULL */
} s8_weights;

/* What an INT8 convolution can do in a u8 NHWC chain (runtime/cpu_int8_chain.c): read its input as u8 NHWC, write
 * its output so (requantized to ctx->out_q, a residual added first), read its residual so
 * (dequantized with ctx->res_q), and (depthwise) only input and output together. */
enum { S8_CHAIN_IN = 1, S8_CHAIN_OUT = 2, S8_CHAIN_PAIRED = 4, S8_CHAIN_RESIDUAL = 8 };
unsigned cpu_conv2d_s8_chain_caps(const ir_node *n, const void *packed);

/* The INT8 path for an engine of CPU_ISA_* isa: scalar -> scalar; avx2 -> avx-vnni (VEX) or avx2;
 * avx512 -> the best this CPU runs (amx, avx512-vnni). */
int s8_path_for_isa(int isa);

/* Bytes of the block for weight tensor w viewed as [n, k] (k = the rest of its dims) for isa, its rows packed
 * as `groups` GEMM blocks of n / groups rows each (a grouped convolution; 1 otherwise; ignored for depthwise);
 * 0 when w is not an int8 per-channel constant along axis 0 with zero points absent or all zero, groups does
 * not divide n, or the size overflows. */
size_t s8_weights_size(const ir_graph *g, const ir_tensor *w, int isa, int depthwise, int64_t groups);
/* Fills the block (s8_weights_size bytes, 64-byte aligned). */
void s8_weights_pack(const ir_graph *g, const ir_tensor *w, int isa, int depthwise, int64_t groups, int is_static,
                     void *dst);

/* The message of a node whose block is missing (its weight's storage does not fit, or memory ran out). */
infer_status s8_weights_missing(const ir_node *n, infer_error *err);

/* q[i][j] = clamp(round_half_even(x[i][j] * (1 / scale)) + zero, 0, 255) (NaN: 0) for rows x cols, ldx and ldq
 * apart, parallel over rows on ctx->pool. */
void s8_quantize_rows(cpu_ctx *ctx, int64_t rows, int64_t cols, const float *x, int64_t ldx, float scale,
                      int32_t zero, uint8_t *q, int64_t ldq);

/* One image x f32 [channels, positions] (NCHW) to q u8 [positions, channels] (NHWC, positions ldq >= channels bytes
 * apart; the bytes between are left alone): the bytes of s8_quantize_rows, transposed; 16 x 16 blocks in registers
 * on AVX-512, else scalar; parallel over positions on ctx->pool. */
void s8_quantize_nhwc(cpu_ctx *ctx, int64_t channels, int64_t positions, const float *x, float scale, int32_t zero,
                      uint8_t *q, int64_t ldq);

/* Text for infer_layer_info.weights: "int8 per-channel, <static|dynamic>, <path>". */
void s8_describe(const void *packed, char *buf, size_t size);

/* The kernel entries (kernels/cpu/linear_s8.c, conv2d_s8_layer.c) in the ops' kernel lists. */
infer_status cpu_linear_s8(cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out, infer_error *err);
size_t cpu_linear_s8_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads);
size_t cpu_linear_s8_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads);
void cpu_linear_s8_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads, void *dst);
int cpu_s8_weight_input(const ir_node *n, int k); /* input 1 */
#define CPU_LINEAR_S8_KERNEL                                                                                    \
    { .storages = CPU_DENSE | CPU_INT8_CHANNEL, .run = cpu_linear_s8, .workspace = cpu_linear_s8_workspace,     \
      .prepack_input = cpu_s8_weight_input, .pack_size = cpu_linear_s8_pack_size, .pack = cpu_linear_s8_pack,  \
      .describe = s8_describe }

infer_status cpu_conv2d_s8_layer(cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                                 infer_error *err);
size_t cpu_conv2d_s8_layer_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads);
size_t cpu_conv2d_s8_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads);
void cpu_conv2d_s8_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads, void *dst);
#define CPU_CONV2D_S8_KERNEL                                                                                    \
    { .storages = CPU_DENSE | CPU_INT8_CHANNEL, .run = cpu_conv2d_s8_layer,                                    \
      .workspace = cpu_conv2d_s8_layer_workspace, .prepack_input = cpu_s8_weight_input,                        \
      .pack_size = cpu_conv2d_s8_pack_size, .pack = cpu_conv2d_s8_pack, .describe = s8_describe }

#endif
