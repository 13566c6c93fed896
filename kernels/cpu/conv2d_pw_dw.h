/* conv2d_pw_dw.h — a 1x1 convolution and the depthwise convolution reading its output, run together in strips of
 * output rows (the CPU backend plans the pairs, runtime/cpu_dw_strips.c). */
#ifndef INFER_CONV2D_PW_DW_H
#define INFER_CONV2D_PW_DW_H

#include "conv2d.h"

#define CPU_PW_DW_MIN_ROWS 2 /* output rows of a strip at least */

/* The pair runs in strips: pw a 1x1, stride 1, unpadded, ungrouped f32 convolution, dw a depthwise f32
 * convolution (one output channel per channel) reading pw's output as its input 0, neither with a residual; the
 * views at the engine's shapes (the data only tells whether a bias is there; f32, one per channel). */
int cpu_pw_dw_fits(const ir_node *pw, const infer_tensor *pw_in, const infer_tensor *pw_out, const ir_node *dw,
                   const infer_tensor *dw_in, const infer_tensor *dw_out);

/* Output rows per strip: the intermediate rows a strip reads (its C x rows x W floats) within cache_bytes (<= 0:
 * half this CPU's L2), at least CPU_PW_DW_MIN_ROWS. */
int cpu_pw_dw_strip_rows(const ir_node *dw, const infer_tensor *dw_in, const infer_tensor *dw_out,
                         int64_t cache_bytes);

/* pw_out = pw(pw_in), dw_out = dw(pw_out), strip_rows output rows of dw at a time, each after the 1x1 GEMM of the
 * intermediate rows it reads (into pw_out, NCHW, so its values are those of the two nodes run one after the
 * other). ctx->prepacked: pw's weights as conv2d prepacked them, or NULL. Each thread runs its part of an image's
 * output rows (or whole images when there is one per thread) serially on its scratch. */
infer_status cpu_pw_dw_run(cpu_ctx *ctx, const ir_node *pw, const infer_tensor *pw_in, infer_tensor *pw_out,
                           const ir_node *dw, const infer_tensor *dw_in, infer_tensor *dw_out, int strip_rows,
                           infer_error *err);

#endif
