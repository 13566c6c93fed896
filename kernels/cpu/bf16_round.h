/* bf16_round.h — FP32 lanes rounded to BF16 with AVX-512 integer operations (no AVX512-BF16 needed). */
#ifndef INFER_BF16_ROUND_H
#define INFER_BF16_ROUND_H

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET512 __attribute__((target("avx512f,avx512bw,avx512vl")))

/* Each lane rounded to BF16 (nearest even; NaN a quiet NaN of its sign, as bf16_from_float), in its top 16 bits. */
TARGET512 static inline __m512i round_bf16_hi(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    __m512i qnan = _mm512_or_si512(_mm512_and_si512(u, _mm512_set1_epi32((int)0x80000000u)), _mm512_set1_epi32(0x7fc00000));
    r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), qnan);
    return _mm512_and_si512(r, _mm512_set1_epi32((int)0xffff0000u));
}

/* 16 lanes rounded to BF16, as 16 uint16 values. */
TARGET512 static inline __m256i round_bf16_16(__m512 x) {
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(round_bf16_hi(x), 16));
}

/* 16 BF16 values widened to FP32. */
TARGET512 static inline __m512 widen_bf16_16(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
#endif

#endif
