/* epilogue.c — bias, residual and activation applied to a block of C in place: the scalar definition
 * (cpu_apply_epilogue) and AVX2 / AVX-512 versions chosen by ISA (cpu_epilogue_isa). */
#include <string.h>
#include "gemm_internal.h"

void cpu_apply_epilogue(float *C, int64_t rows, int64_t cols, int64_t ldc, const gemm_epilogue *ep, int64_t row0,
                        int64_t col0) {
    if (!ep) return;
    act_params act = ep->act;
    for (int64_t i = 0; i < rows; i++) {
        float *c = C + i * ldc;
        if (ep->bias && ep->bias_per_row) {
            float b = ep->bias[row0 + i];
            for (int64_t j = 0; j < cols; j++) c[j] += b;
        } else if (ep->bias) {
            const float *b = ep->bias + col0;
            for (int64_t j = 0; j < cols; j++) c[j] += b[j];
        }
        if (ep->residual) {
            const float *r = ep->residual + (row0 + i) * ep->ld_residual + col0;
            for (int64_t j = 0; j < cols; j++) c[j] += r[j];
        }
        if (act.kind != ACT_NONE)
            for (int64_t j = 0; j < cols; j++) c[j] = act_apply(&act, c[j]);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define VW 8
#define VNAME(name) name##_avx2
#include "epilogue_vec.h"
#undef VW
#undef VNAME
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,fma")
/* 1 / (1 + exp(-x)) without a division (vdivps was a third of EfficientNet's SiLU epilogues): exp(z) of the
 * clamped z = -x as in epilogue_vec.h but with FMAs and vscalefps for the 2^n, then vrcp14ps refined by one
 * Newton step (relative error about 1e-7). The clamp at +-80 keeps 1 + exp(z) and its reciprocal normal;
 * NaN goes through (min/max return their second operand, x, when it is NaN). */
static inline __m512 sigmoid_avx512(__m512 x) {
    __m512 z = _mm512_min_ps(_mm512_set1_ps(80.0f), _mm512_max_ps(_mm512_set1_ps(-80.0f), -x));
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
#define VW 16
#define VNAME(name) name##_avx512
#define VSIGMOID(x) ((vf)sigmoid_avx512((__m512)(x)))
#define VSILU(x) ((x) * VSIGMOID(x))
#include "epilogue_vec.h"
#undef VSIGMOID
#undef VSILU
#undef VW
#undef VNAME
#pragma GCC pop_options
#endif

void cpu_epilogue_isa(int isa, float *C, int64_t rows, int64_t cols, int64_t ldc, const gemm_epilogue *ep,
                      int64_t row0, int64_t col0) {
    if (!ep || (!ep->bias && !ep->residual && ep->act.kind == ACT_NONE)) return;
#if defined(__x86_64__)
    if (isa == CPU_ISA_AVX512) {
        rows_avx512(C, rows, cols, ldc, ep, row0, col0);
        return;
    }
    if (isa == CPU_ISA_AVX2) {
        rows_avx2(C, rows, cols, ldc, ep, row0, col0);
        return;
    }
#endif
    (void)isa;
    cpu_apply_epilogue(C, rows, cols, ldc, ep, row0, col0);
}
