/* s8_store_nchw.c — the INT8 GEMM's transposed f32 output: one finished tile (positions x channels, in L1) stored
 * as channel rows of an NCHW plane, the residual added and the activation applied on the way; and the other way, an
 * NCHW residual's tile loaded for the epilogue; 16x16 in-register transposes on AVX-512, scalar otherwise. */
#include <string.h>
#include "gemm_internal.h"
#include "gemm_s8_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static void store_scalar(int rows, int cols, const float *t, int64_t ldt, float *y, int64_t ldy, const float *res,
                         int relu) {
    for (int j = 0; j < cols; j++)
        for (int i = 0; i < rows; i++) {
            float v = t[i * ldt + j];
            if (res) v += res[j * ldy + i];
            if (relu) v = v > 0.0f ? v : 0.0f;
            y[j * ldy + i] = v;
        }
}

#if defined(__x86_64__)
#define TARGET512 __attribute__((target("avx512f")))

/* r[i] (16 rows of 16 floats) transposed in place: four rounds of interleaving row i with row i + 8 into rows 2i and
 * 2i + 1 (each rotates the 8-bit index (row, column) left by one bit, so four swap row and column). */
TARGET512 static inline __attribute__((always_inline)) void transpose16_f32(__m512 r[16]) {
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
#pragma GCC unroll 4
    for (int round = 0; round < 4; round++) {
        __m512 t[16];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            t[2 * i] = _mm512_permutex2var_ps(r[i], lo, r[i + 8]);
            t[2 * i + 1] = _mm512_permutex2var_ps(r[i], hi, r[i + 8]);
        }
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) r[i] = t[i];
    }
}

/* The first n (<= 16) of 16 lanes. */
static inline __mmask16 lanes16(int n) { return (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1); }

TARGET512 static void store_avx512(int rows, int cols, const float *t, int64_t ldt, float *y, int64_t ldy,
                                   const float *res, int relu) {
    __mmask16 rm = lanes16(rows);
    for (int j0 = 0; j0 < cols; j0 += 16) {
        int nc = cols - j0 < 16 ? cols - j0 : 16;
        __mmask16 cm = lanes16(nc);
        __m512 r[16];
#pragma GCC unroll 16
        for (int k = 0; k < 16; k++) r[k] = k < rows ? _mm512_maskz_loadu_ps(cm, t + k * ldt + j0) : _mm512_setzero_ps();
        transpose16_f32(r);
        for (int j = 0; j < nc; j++) {
            if (res) _mm_prefetch((const char *)(res + (j0 + j) * ldy + 64), _MM_HINT_T0); /* a later tile's */
            __m512 v = r[j];
            if (res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(rm, res + (j0 + j) * ldy));
            if (relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
            _mm512_mask_storeu_ps(y + (j0 + j) * ldy, rm, v);
        }
    }
}

TARGET512 static void load_avx512(int rows, int cols, const float *x, int64_t ldx, float *t, int64_t ldt) {
    __mmask16 rm = lanes16(rows);
    for (int j0 = 0; j0 < cols; j0 += 16) {
        int nc = cols - j0 < 16 ? cols - j0 : 16;
        __mmask16 cm = lanes16(nc);
        __m512 r[16];
#pragma GCC unroll 16
        for (int k = 0; k < 16; k++) r[k] = k < nc ? _mm512_maskz_loadu_ps(rm, x + (j0 + k) * ldx) : _mm512_setzero_ps();
        transpose16_f32(r);
        for (int i = 0; i < rows; i++) _mm512_mask_storeu_ps(t + i * ldt + j0, cm, r[i]);
    }
}
#endif

void s8_load_nchw(int isa, int rows, int cols, const float *x, int64_t ldx, float *tile, int64_t ldt) {
#if defined(__x86_64__)
    if (isa >= CPU_ISA_AVX512) {
        for (int r0 = 0; r0 < rows; r0 += 16)
            load_avx512(rows - r0 < 16 ? rows - r0 : 16, cols, x + r0, ldx, tile + r0 * ldt, ldt);
        return;
    }
#endif
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) tile[i * ldt + j] = x[j * ldx + i];
}

void s8_store_nchw(int isa, int rows, int cols, const float *tile, int64_t ldt, float *y, int64_t ldy,
                   const float *residual, const act_params *post) {
    int relu = post->kind == ACT_RELU;
#if defined(__x86_64__)
    if (isa >= CPU_ISA_AVX512) {
        for (int r0 = 0; r0 < rows; r0 += 16) /* 16 positions at a time */
            store_avx512(rows - r0 < 16 ? rows - r0 : 16, cols, tile + r0 * ldt, ldt, y + r0, ldy,
                         residual ? residual + r0 : NULL, relu);
    } else
#endif
        store_scalar(rows, cols, tile, ldt, y, ldy, residual, relu);
    if (post->kind != ACT_NONE && !relu) {
        gemm_epilogue ep;
        memset(&ep, 0, sizeof ep);
        ep.act = *post;
        cpu_epilogue_isa(isa, y, cols, rows, ldy, &ep, 0, 0);
    }
}
