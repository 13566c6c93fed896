/* cpu_dw_strips.h — which 1x1 convolutions the CPU backend runs together with the depthwise convolution after them,
 * in strips of output rows (kernels/cpu/conv2d_pw_dw.h), planned at engine build. */
#ifndef INFER_CPU_DW_STRIPS_H
#define INFER_CPU_DW_STRIPS_H

#include "engine.h"
#include "../kernels/cpu/cpu_kernels.h"

/* Sets strip_rows[i] (n_nodes entries, zeroed by the caller) to the depthwise output rows per strip when node i,
 * a 1x1 convolution, runs with node i + 1, the depthwise convolution reading its output: both on the dense f32
 * conv2d kernel (the 1x1's weights prepacked as GEMM rows or not, the depthwise one's not prepacked), the intermediate no graph output, read by that node alone (as its input),
 * f32 NCHW (not u8_nhwc, which may be NULL), and the 1x1's input, the intermediate and the depthwise output apart
 * in the arena; and the shape one where strips paid when measured (cpu_dw_strips.c). Returns the pairs planned. */
int cpu_dw_strips_plan(const infer_engine *e, const cpu_kernel *const *kernels, const void *const *packed,
                       const uint8_t *u8_nhwc, int *strip_rows);

/* Runs node i and i + 1 together (strip_rows from the plan) with their views from view(e, state, t); when the
 * shapes of this run no longer fit (named dims), one after the other. */
infer_status cpu_dw_strips_run(const infer_engine *e, cpu_ctx *ctx, int i, int strip_rows, engine_view_fn view,
                               const void *state, infer_error *err);

#endif
