/* linear_s8_dynamic.c — dynamic INT8 linear: f32 rows quantized to u8 at run time (per row, asymmetric),
 * multiplied by s8 per-channel weights on the INT8 GEMM, dequantized to f32 with bias and activation. */
#include "gemm_s8_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Adding and taking away 1.5 * 2^23 rounds |v| < 2^22 to an integer, half to even, like nearbyintf in the
 * default rounding mode, and vectorizes. */
static inline float round_even(float v) { return (v + 12582912.0f) - 12582912.0f; }

/* scale and zero point of a row from its range [lo, hi] (lo <= 0 <= hi) */
static void row_params(float lo, float hi, float *scale, int32_t *zero, float *inv) {
    float s = (hi - lo) / 255.0f;
    if (!(s > 0.0f) || isinf(s)) s = 1.0f; /* an all-zero row, or one without a finite range */
    *inv = 1.0f / s;
    *scale = s;
    *zero = (int32_t)round_even(fminf(fmaxf(-lo * *inv, 0.0f), 255.0f));
}

void quant_rows_u8(int64_t M, int64_t K, const float *X, int64_t ldx, uint8_t *Q, int64_t ldq, float *scale,
                   int32_t *zero) {
    for (int64_t i = 0; i < M; i++) {
        const float *x = X + i * ldx;
        uint8_t *q = Q + i * ldq;
        float lo = 0.0f, hi = 0.0f, inv;
        for (int64_t k = 0; k < K; k++) {
            lo = fminf(lo, x[k]);
            hi = fmaxf(hi, x[k]);
        }
        row_params(lo, hi, &scale[i], &zero[i], &inv);
        int32_t z = zero[i];
        float qlo = (float)-z, qhi = (float)(255 - z);
        for (int64_t k = 0; k < K; k++) q[k] = (uint8_t)((int32_t)round_even(fminf(fmaxf(x[k] * inv, qlo), qhi)) + z);
    }
}

#if defined(__x86_64__)
/* quant_rows_u8 16 lanes at a time, bit for bit: vminps/vmaxps with the running value second skip NaN as
 * fminf/fmaxf do, and the clamp and rounding are the same operations. */
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) static void
quant_rows_u8_avx512(int64_t M, int64_t K, const float *X, int64_t ldx, uint8_t *Q, int64_t ldq, float *scale,
                     int32_t *zero) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    for (int64_t i = 0; i < M; i++) {
        const float *x = X + i * ldx;
        uint8_t *q = Q + i * ldq;
        __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
        int64_t k = 0;
        for (; k + 16 <= K; k += 16) {
            __m512 v = _mm512_loadu_ps(x + k);
            vlo = _mm512_min_ps(v, vlo);
            vhi = _mm512_max_ps(v, vhi);
        }
        float lo = _mm512_reduce_min_ps(vlo), hi = _mm512_reduce_max_ps(vhi), inv;
        for (; k < K; k++) {
            lo = fminf(lo, x[k]);
            hi = fmaxf(hi, x[k]);
        }
        row_params(lo, hi, &scale[i], &zero[i], &inv);
        int32_t z = zero[i];
        __m512 vinv = _mm512_set1_ps(inv), qlo = _mm512_set1_ps((float)-z), qhi = _mm512_set1_ps((float)(255 - z));
        __m512i vz = _mm512_set1_epi32(z);
        for (k = 0; k + 16 <= K; k += 16) {
            __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_loadu_ps(x + k), vinv), qlo), qhi);
            v = _mm512_sub_ps(_mm512_add_ps(v, magic), magic);
            _mm_storeu_si128((__m128i *)(q + k), _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvttps_epi32(v), vz)));
        }
        float sqlo = (float)-z, sqhi = (float)(255 - z);
        for (; k < K; k++) q[k] = (uint8_t)((int32_t)round_even(fminf(fmaxf(x[k] * inv, sqlo), sqhi)) + z);
    }
}
#endif

void quant_rows_u8_isa(int isa, int64_t M, int64_t K, const float *X, int64_t ldx, uint8_t *Q, int64_t ldq,
                              float *scale, int32_t *zero) {
#if defined(__x86_64__)
    if (isa >= CPU_ISA_AVX512) {
        quant_rows_u8_avx512(M, K, X, ldx, Q, ldq, scale, zero);
        return;
    }
#endif
    quant_rows_u8(M, K, X, ldx, Q, ldq, scale, zero);
}

static int64_t q_stride(int64_t K) { return (K + 63) / 64 * 64; }

size_t cpu_linear_s8_dynamic_workspace(int64_t M, int64_t K) {
    return (size_t)(M * q_stride(K) + M * (int64_t)(sizeof(float) + sizeof(int32_t)) + 64);
}

typedef struct {
    int isa;
    int64_t K;
    const float *X;
    int64_t ldx;
    uint8_t *Q;
    float *scale;
    int32_t *zero;
} rows_job;

static void quant_task(void *arg, int64_t begin, int64_t end, int thread) {
    const rows_job *job = arg;
    quant_rows_u8_isa(job->isa, end - begin, job->K, job->X + begin * job->ldx, job->ldx, job->Q + begin * q_stride(job->K),
                  q_stride(job->K), job->scale + begin, job->zero + begin);
}

void cpu_linear_s8_dynamic(cpu_ctx *ctx, int64_t M, const float *X, int64_t ldx, const void *packed_w,
                           const float *w_scale, const float *bias, const act_params *act, float *Y, int64_t ldy,
                           void *workspace) {
    int64_t K = gemm_s8_packed_k(packed_w);
    uint8_t *Q = (uint8_t *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
    float *scale = (float *)(Q + M * q_stride(K));
    int32_t *zero = (int32_t *)(scale + M);
    rows_job job = { ctx->isa, K, X, ldx, Q, scale, zero };
    int64_t grain = K > 0 ? 16384 / K + 1 : M;
    pool_parallel_for(ctx->threads > 1 ? ctx->pool : NULL, M, grain, quant_task, &job);
    gemm_s8_epilogue ep = { scale, zero, 1, w_scale, bias, 0, 0.0f, 0, *act };
    cpu_gemm_s8(ctx, M, Q, q_stride(K), packed_w, Y, ldy, &ep);
}
