/* epilogue.c — bias, residual and activation applied to a block of C in place: the scalar definition
 * (cpu_apply_epilogue) and AVX2 / AVX-512 versions chosen by ISA (cpu_epilogue_isa); the same vector
 * activations for the standalone activation op (cpu_activation_isa). */
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
#include "sigmoid_avx512.h"

/* GCC takes the target pragmas; clang ignores them and takes the attribute pushes (the AVX-512 block calls
 * sigmoid_avx512, which clang only lets a function with the AVX-512 target call). */
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#endif
#define VW 8
#define VNAME(name) name##_avx2
#include "epilogue_vec.h"
#undef VW
#undef VNAME
#if defined(__clang__)
#pragma clang attribute pop
#endif
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,fma")
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma"))), apply_to = function)
#endif
#define VW 16
#define VNAME(name) name##_avx512
#define VSIGMOID(x) ((vf)sigmoid_avx512((__m512)(x)))
#define VSILU(x) ((vf)silu_avx512((__m512)(x)))
#include "epilogue_vec.h"
#undef VSIGMOID
#undef VSILU
#undef VW
#undef VNAME
#if defined(__clang__)
#pragma clang attribute pop
#endif
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

int cpu_activation_isa(int isa, const float *x, float *y, int64_t n, const act_params *act) {
#if defined(__x86_64__)
    if (isa == CPU_ISA_AVX512) {
        act_row_avx512(x, y, n, act);
        return 1;
    }
    if (isa == CPU_ISA_AVX2) {
        act_row_avx2(x, y, n, act);
        return 1;
    }
#endif
    (void)isa, (void)x, (void)y, (void)n, (void)act;
    return 0;
}
