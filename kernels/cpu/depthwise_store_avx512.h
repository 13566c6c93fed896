/* depthwise_store_avx512.h — the flat and direct depthwise paths' fused activation: which activations go into the
 * store, and the masked store of 16 outputs through relu, clip, SiLU or sigmoid. */
#ifndef INFER_DEPTHWISE_STORE_AVX512_H
#define INFER_DEPTHWISE_STORE_AVX512_H

#include "gemm_internal.h"

/* relu, clip, silu and sigmoid without a residual go into the store (NaN as act_apply: relu 0, clip NaN); the rest
 * is an epilogue pass after (GEMM_CLAMP_NONE, and *fused 0 unless the activation is none). */
static inline int depthwise_store_clamp(const act_params *act, int residual, int *fused) {
    int clamp = residual ? GEMM_CLAMP_NONE
                : act->kind == ACT_RELU ? GEMM_CLAMP_RELU
                : act->kind == ACT_CLIP ? GEMM_CLAMP_CLIP
                : act->kind == ACT_SILU ? GEMM_CLAMP_SILU
                : act->kind == ACT_SIGMOID ? GEMM_CLAMP_SIGMOID : GEMM_CLAMP_NONE;
    *fused = !residual && (act->kind == ACT_NONE || clamp != GEMM_CLAMP_NONE);
    return clamp;
}

#if defined(__x86_64__)
#include <immintrin.h>
#include "sigmoid_avx512.h"

__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma"))) static inline __attribute__((always_inline)) void
depthwise_store_avx512(int clamp, __m512 lo, __m512 hi, __m512 v, float *dst, __mmask16 m) {
    if (clamp == GEMM_CLAMP_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
    else if (clamp == GEMM_CLAMP_CLIP) v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));
    else if (clamp == GEMM_CLAMP_SILU) v = silu_avx512(v);
    else if (clamp == GEMM_CLAMP_SIGMOID) v = sigmoid_avx512(v);
    _mm512_mask_storeu_ps(dst, m, v);
}
#endif

#endif
