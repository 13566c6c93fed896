/* cpu_int8_chain.h — which activations the CPU backend passes as u8 NHWC from one static INT8 convolution to the
 * next instead of f32 NCHW (the producer requantizes into the consumer's input scale, the consumer reads in place). */
#ifndef INFER_CPU_INT8_CHAIN_H
#define INFER_CPU_INT8_CHAIN_H

#include "engine.h"
#include "../kernels/cpu/cpu_kernels.h"

/* How a tensor passes between the CPU backend's kernels. */
enum { CHAIN_NONE = 0, CHAIN_U8_NHWC = 1, CHAIN_F32_NHWC = 2 };

/* Sets u8_nhwc[t] = CHAIN_U8_NHWC for each chained activation t (n_tensors entries, zeroed by the caller), out_q[p] to its
 * producer p's output quantization (its readers' common in_q) and res_q[r] of each node r reading it as its
 * residual (n_nodes entries each), by e->opt.int8_chain. kernels and packed: per node, the kernel chosen and its
 * packed block. An activation is chained when it is no graph input or output, its C channels take no more bytes as
 * u8 NHWC than as f32 (C >= 16), its producer can write it so (cpu_conv2d_s8_chain_caps) and every reader takes it:
 * as input 0 of an INT8 convolution (all with the same input quantization) or, FULL only, as the residual of one
 * (dequantized there: no longer bit for bit the f32 sum); EXACT: readers as input 0 only. A depthwise
 * convolution chains its input and output together or neither; so does a max pool whose input's producer can write
 * u8 NHWC and whose only reader it is (the stem's pool: max commutes with the quantizer, exact). Then
 * u8_nhwc[t] = CHAIN_F32_NHWC for an f32 activation written by a static groups-1 INT8 convolution (no residual of its
 * own) whose only reader takes it as the residual under a u8 NHWC output: stored as [positions, C] rows (the same
 * values, exact at every level). Returns the number of chained activations. */
int cpu_int8_chain_plan(const infer_engine *e, const cpu_kernel *const *kernels, const void *const *packed,
                        uint8_t *u8_nhwc, act_quant *out_q, act_quant *res_q);

#endif
