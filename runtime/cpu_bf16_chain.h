/* cpu_bf16_chain.h — which activations a BF16 CPU engine passes as BF16 NHWC from one groups-1 BF16 convolution to
 * the next instead of f32 NCHW (kernels/cpu/conv2d_bf16_nhwc.c). */
#ifndef INFER_CPU_BF16_CHAIN_H
#define INFER_CPU_BF16_CHAIN_H

#include "engine.h"
#include "../kernels/cpu/cpu_kernels.h"

/* With e->opt.bf16_chain on and BF16 kernels in mode e->cpu_bf16: sets bf16_nhwc[t] = 1 (n_tensors entries, zeroed by
 * the caller) for each activation t that is no graph input or output, has C >= 16 channels (so its BF16 NHWC rows,
 * padded to a multiple of 32 channels, take no more bytes than f32 NCHW), is written by a convolution the NHWC
 * kernel takes (cpu_conv2d_bf16_nhwc_takes) and read only by such convolutions, as input 0 or as the residual
 * (input 3), or passed through a max pool (bit for bit: max commutes with rounding to BF16) or a depthwise convolution
 * (cpu_conv2d_depthwise_bf16_nhwc_takes: f32 sums of the BF16 inputs, rounded once) whose input and output both chain.
 * The convolutions reading or writing a chained tensor get the NHWC kernel in kernels[] (before prepacking: it packs its
 * weights in its own order), the chained depthwise ones cpu_conv2d_depthwise_bf16_nhwc_kernel; the others keep theirs. Returns the number of chained activations. */
int cpu_bf16_chain_plan(const infer_engine *e, const cpu_kernel **kernels, uint8_t *bf16_nhwc);

#endif
