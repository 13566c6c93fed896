/* sigmoid_avx512.h — sigmoid and SiLU on 16 floats without a division, shared by the AVX-512 epilogues. */
#ifndef INFER_CPU_SIGMOID_AVX512_H
#define INFER_CPU_SIGMOID_AVX512_H

#if defined(__x86_64__)
#include <immintrin.h>

/* exp(z) of the clamped z = -x by the polynomial of epilogue_vec.h with FMAs and vscalefps for the 2^n, then
 * vrcp14ps refined by one Newton step (relative error about 1e-7; vdivps was a third of EfficientNet's SiLU
 * epilogues). The clamp at +-80 keeps 1 + exp(z) and its reciprocal normal; NaN goes through (min/max return
 * their second operand, x, when it is NaN). */
__attribute__((target("avx512f,fma"))) static inline __m512 sigmoid_avx512(__m512 x) {
    __m512 z = _mm512_min_ps(_mm512_set1_ps(80.0f), _mm512_max_ps(_mm512_set1_ps(-80.0f), _mm512_sub_ps(_mm512_setzero_ps(), x)));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(z, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), z);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(1.9875691500e-4f), r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512 d = _mm512_add_ps(_mm512_scalef_ps(p, n), _mm512_set1_ps(1.0f));
    __m512 inv = _mm512_rcp14_ps(d);
    return _mm512_fmadd_ps(inv, _mm512_fnmadd_ps(d, inv, _mm512_set1_ps(1.0f)), inv);
}

/* x * sigmoid(x), and NaN at -inf as act_apply's x / (1 + exp(-x)) gives (-inf / inf). */
__attribute__((target("avx512f,fma"))) static inline __m512 silu_avx512(__m512 x) {
    __m512 y = _mm512_mul_ps(x, sigmoid_avx512(x));
    return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, _mm512_set1_ps(-__builtin_inff()), _CMP_EQ_OQ),
                              _mm512_set1_ps(__builtin_nanf("")));
}

#endif
#endif
