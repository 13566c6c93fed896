/* s8_quantize_nhwc.c — one f32 NCHW image to u8 NHWC with one (scale, zero point) per tensor, the entry of a static
 * INT8 convolution: blocks of 16 channels x 16 positions quantized and transposed in registers (AVX-512), the scalar
 * code the reference giving the same bytes; parallel over position blocks. */
#include "s8_layer.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define BLOCK 256 /* positions per task unit: 16 channel rows of BLOCK floats are read as 16 sequential streams */

/* The rounding of s8_quantize.c: adding and taking away 1.5 * 2^23 rounds |v| < 2^22 half to even. */
static inline float round_even(float v) { return (v + 12582912.0f) - 12582912.0f; }

typedef struct {
    const float *x;
    int64_t channels, positions, ldq;
    float inv;
    int32_t zero;
    uint8_t *q;
} nhwc_job;

/* Positions [p0, p1) of every channel, one value at a time (the definition; comparisons as in s8_quantize.c). */
static void block_scalar(const nhwc_job *j, int64_t p0, int64_t p1) {
    float lo = (float)-j->zero, hi = (float)(255 - j->zero);
    for (int64_t p = p0; p < p1; p++)
        for (int64_t c = 0; c < j->channels; c++) {
            float v = j->x[c * j->positions + p] * j->inv;
            v = v > lo ? v : lo;
            v = v < hi ? v : hi;
            j->q[p * j->ldq + c] = (uint8_t)((int32_t)round_even(v) + j->zero);
        }
}

#if defined(__x86_64__)
#define TARGET512 __attribute__((target("avx512f,avx512bw,avx512vl")))

/* r[i] (16 rows of 16 bytes) transposed in place: four rounds of interleaving row i with row i + 8 into rows 2i and
 * 2i + 1 each rotate the 8-bit index (row, column) left by one bit; after four, row and column have swapped. */
TARGET512 static inline __attribute__((always_inline)) void transpose16_u8(__m128i r[16]) {
    for (int round = 0; round < 4; round++) {
        __m128i t[16];
        for (int i = 0; i < 8; i++) {
            t[2 * i] = _mm_unpacklo_epi8(r[i], r[i + 8]);
            t[2 * i + 1] = _mm_unpackhi_epi8(r[i], r[i + 8]);
        }
        for (int i = 0; i < 16; i++) r[i] = t[i];
    }
}

TARGET512 static void block_avx512(const nhwc_job *j, int64_t p0, int64_t p1) {
    __m512 vinv = _mm512_set1_ps(j->inv), lo = _mm512_set1_ps((float)-j->zero), hi = _mm512_set1_ps((float)(255 - j->zero));
    __m512i vz = _mm512_set1_epi32(j->zero);
    int64_t C = j->channels;
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
        int64_t nc = C - c0 < 16 ? C - c0 : 16;
        for (int64_t p = p0; p < p1; p += 16) {
            int64_t np = p1 - p < 16 ? p1 - p : 16;
            __mmask16 pm = (__mmask16)(np == 16 ? 0xFFFF : (1u << np) - 1);
            __m128i r[16];
            for (int i = 0; i < 16; i++) {
                if (i >= nc) {
                    r[i] = _mm_setzero_si128();
                    continue;
                }
                __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(pm, j->x + (c0 + i) * j->positions + p), vinv);
                v = _mm512_min_ps(_mm512_max_ps(v, lo), hi); /* NaN: the second operand, lo */
                r[i] = _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), vz));
            }
            transpose16_u8(r);
            __mmask16 cm = (__mmask16)(nc == 16 ? 0xFFFF : (1u << nc) - 1);
            for (int64_t i = 0; i < np; i++) _mm_mask_storeu_epi8(j->q + (p + i) * j->ldq + c0, cm, r[i]);
        }
    }
}
#endif

typedef struct {
    nhwc_job j;
    int isa;
} nhwc_task_arg;

static void nhwc_task(void *arg, int64_t begin, int64_t end, int thread) {
    const nhwc_task_arg *a = arg;
    (void)thread;
    int64_t p0 = begin * BLOCK, p1 = end * BLOCK < a->j.positions ? end * BLOCK : a->j.positions;
#if defined(__x86_64__)
    if (a->isa >= CPU_ISA_AVX512) {
        block_avx512(&a->j, p0, p1);
        return;
    }
#endif
    block_scalar(&a->j, p0, p1);
}

void s8_quantize_nhwc(cpu_ctx *ctx, int64_t channels, int64_t positions, const float *x, float scale, int32_t zero,
                      uint8_t *q, int64_t ldq) {
    nhwc_task_arg a = { { x, channels, positions, ldq, 1.0f / scale, zero, q }, ctx->isa };
    int64_t blocks = (positions + BLOCK - 1) / BLOCK;
    pool_parallel_for(ctx->threads > 1 ? ctx->pool : NULL, blocks, 1, nhwc_task, &a);
}
