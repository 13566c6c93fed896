/* cpu_int8_chain.h — which activations the CPU backend passes as u8 NHWC from one static INT8 convolution to the
 * next instead of f32 NCHW (the producer requantizes into the consumer's input scale, the consumer reads in place). */
#ifndef INFER_CPU_INT8_CHAIN_H
#define INFER_CPU_INT8_CHAIN_H

#include "engine.h"
#include "../kernels/cpu/cpu_kernels.h"

/* Sets u8_nhwc[t] = 1 for each chained activation t (n_tensors entries, zeroed by the caller) and out_q[p] to its
 * producer p's output quantization (the consumer's in_q; n_nodes entries). kernels and packed: per node, the
 * kernel chosen and its packed block. An activation is chained when its producer and its only consumer (input 0)
 * are INT8 convolutions whose kernels can write and read it so (cpu_conv2d_s8_chain_caps), it is no graph input
 * or output, and its channels C take no more bytes as u8 NHWC than as f32 (C >= 16); a depthwise convolution
 * chains both its input and its output or neither. Returns the number of chained activations. */
int cpu_int8_chain_plan(const infer_engine *e, const cpu_kernel *const *kernels, const void *const *packed,
                        uint8_t *u8_nhwc, act_quant *out_q);

#endif
