/* s8_quantize.c — f32 to u8 with one (scale, zero point) per tensor, the entry of a static INT8 layer:
 * AVX-512, AVX2 and scalar code giving the same bytes, parallel over rows. */
#include "s8_layer.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Adding and taking away 1.5 * 2^23 rounds |v| < 2^22 to an integer, half to even (the default rounding mode). */
static inline float round_even(float v) { return (v + 12582912.0f) - 12582912.0f; }

/* q = round_half_even(clamp(x * inv, -zero, 255 - zero)) + zero, which equals clamp(round(x * inv) + zero, 0, 255)
 * because rounding is monotone and the bounds are integers; NaN gives -zero, so q = 0. The comparisons (not
 * fminf/fmaxf, which are library calls here) take the bound when v is NaN, like vmaxps/vminps with the bound
 * second. */
static void row_scalar(const float *x, int64_t n, float inv, int32_t zero, uint8_t *q) {
    float lo = (float)-zero, hi = (float)(255 - zero);
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] * inv;
        v = v > lo ? v : lo;
        v = v < hi ? v : hi;
        q[i] = (uint8_t)((int32_t)round_even(v) + zero);
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw"))) static void row_avx512(const float *x, int64_t n, float inv, int32_t zero,
                                                                   uint8_t *q) {
    __m512 vinv = _mm512_set1_ps(inv), lo = _mm512_set1_ps((float)-zero), hi = _mm512_set1_ps((float)(255 - zero));
    __m512i vz = _mm512_set1_epi32(zero);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vinv);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi); /* NaN: the second operand, lo */
        __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(v), vz); /* nearest even under the default MXCSR */
        _mm512_mask_cvtepi32_storeu_epi8(q + i, m, r);
    }
}

__attribute__((target("avx2"))) static void row_avx2(const float *x, int64_t n, float inv, int32_t zero, uint8_t *q) {
    __m256 vinv = _mm256_set1_ps(inv), lo = _mm256_set1_ps((float)-zero), hi = _mm256_set1_ps((float)(255 - zero));
    __m256i vz = _mm256_set1_epi32(zero);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv), lo), hi);
        __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(v), vz);
        __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
        _mm_storel_epi64((__m128i *)(q + i), _mm_packus_epi16(w, w));
    }
    row_scalar(x + i, n - i, inv, zero, q + i);
}
#endif

typedef struct {
    const float *x;
    int64_t cols, ldx, ldq;
    float inv;
    int32_t zero;
    int isa;
    uint8_t *q;
} quant_job;

static void quant_task(void *arg, int64_t begin, int64_t end, int thread) {
    const quant_job *j = arg;
    (void)thread;
    for (int64_t r = begin; r < end; r++) {
        const float *x = j->x + r * j->ldx;
        uint8_t *q = j->q + r * j->ldq;
#if defined(__x86_64__)
        if (j->isa >= CPU_ISA_AVX512) row_avx512(x, j->cols, j->inv, j->zero, q);
        else if (j->isa == CPU_ISA_AVX2) row_avx2(x, j->cols, j->inv, j->zero, q);
        else
#endif
            row_scalar(x, j->cols, j->inv, j->zero, q);
    }
}

void s8_quantize_rows(cpu_ctx *ctx, int64_t rows, int64_t cols, const float *x, int64_t ldx, float scale,
                      int32_t zero, uint8_t *q, int64_t ldq) {
    /* a contiguous block is one long row: the vector code then runs without row tails */
    if (ldx == cols && ldq == cols && rows > 1 && rows * cols / (ctx->threads > 1 ? ctx->threads : 1) >= 4096) {
        int64_t parts = ctx->threads > 1 ? ctx->threads * 4 : 1, chunk = (rows * cols + parts - 1) / parts;
        chunk = (chunk + 63) / 64 * 64;
        parts = (rows * cols + chunk - 1) / chunk;
        /* parts rows of chunk values; the last row is shorter, done apart */
        quant_job job = { x, chunk, chunk, chunk, 1.0f / scale, zero, ctx->isa, q };
        pool_parallel_for(ctx->threads > 1 ? ctx->pool : NULL, parts - 1, 1, quant_task, &job);
        int64_t done = (parts - 1) * chunk;
        quant_job last = { x + done, rows * cols - done, 0, 0, 1.0f / scale, zero, ctx->isa, q + done };
        quant_task(&last, 0, 1, 0);
        return;
    }
    quant_job job = { x, cols, ldx, ldq, 1.0f / scale, zero, ctx->isa, q };
    pool_parallel_for(ctx->threads > 1 ? ctx->pool : NULL, rows, 1 + 16384 / (cols + 1), quant_task, &job);
}
