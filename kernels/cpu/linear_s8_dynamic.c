/* linear_s8_dynamic.c — dynamic INT8 linear: f32 rows quantized to u8 at run time (per row, asymmetric),
 * multiplied by s8 per-channel weights on the INT8 GEMM, dequantized to f32 with bias and activation. */
#include "gemm_s8_internal.h"

/* Adding and taking away 1.5 * 2^23 rounds |v| < 2^22 to an integer, half to even, like nearbyintf in the
 * default rounding mode, and vectorizes. */
static inline float round_even(float v) { return (v + 12582912.0f) - 12582912.0f; }

void quant_rows_u8(int64_t M, int64_t K, const float *X, int64_t ldx, uint8_t *Q, int64_t ldq, float *scale,
                   int32_t *zero) {
    for (int64_t i = 0; i < M; i++) {
        const float *x = X + i * ldx;
        uint8_t *q = Q + i * ldq;
        float lo = 0.0f, hi = 0.0f;
        for (int64_t k = 0; k < K; k++) {
            lo = fminf(lo, x[k]);
            hi = fmaxf(hi, x[k]);
        }
        float s = (hi - lo) / 255.0f;
        if (!(s > 0.0f) || isinf(s)) s = 1.0f; /* an all-zero row, or one without a finite range */
        float inv = 1.0f / s;
        /* zero in [0, 255]: lo <= 0 <= hi */
        int32_t z = (int32_t)round_even(fminf(fmaxf(-lo * inv, 0.0f), 255.0f));
        float qlo = (float)-z, qhi = (float)(255 - z);
        for (int64_t k = 0; k < K; k++) q[k] = (uint8_t)((int32_t)round_even(fminf(fmaxf(x[k] * inv, qlo), qhi)) + z);
        scale[i] = s;
        zero[i] = z;
    }
}

static int64_t q_stride(int64_t K) { return (K + 63) / 64 * 64; }

size_t cpu_linear_s8_dynamic_workspace(int64_t M, int64_t K) {
    return (size_t)(M * q_stride(K) + M * (int64_t)(sizeof(float) + sizeof(int32_t)) + 64);
}

typedef struct {
    int64_t K;
    const float *X;
    int64_t ldx;
    uint8_t *Q;
    float *scale;
    int32_t *zero;
} rows_job;

static void quant_task(void *arg, int64_t begin, int64_t end, int thread) {
    const rows_job *job = arg;
    quant_rows_u8(end - begin, job->K, job->X + begin * job->ldx, job->ldx, job->Q + begin * q_stride(job->K),
                  q_stride(job->K), job->scale + begin, job->zero + begin);
}

void cpu_linear_s8_dynamic(cpu_ctx *ctx, int64_t M, const float *X, int64_t ldx, const void *packed_w,
                           const float *w_scale, const float *bias, const act_params *act, float *Y, int64_t ldy,
                           void *workspace) {
    int64_t K = gemm_s8_packed_k(packed_w);
    uint8_t *Q = (uint8_t *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
    float *scale = (float *)(Q + M * q_stride(K));
    int32_t *zero = (int32_t *)(scale + M);
    rows_job job = { K, X, ldx, Q, scale, zero };
    int64_t grain = K > 0 ? 16384 / K + 1 : M;
    pool_parallel_for(ctx->threads > 1 ? ctx->pool : NULL, M, grain, quant_task, &job);
    gemm_s8_epilogue ep = { scale, zero, 1, w_scale, bias, 0, 0.0f, 0, *act };
    cpu_gemm_s8(ctx, M, Q, q_stride(K), packed_w, Y, ldy, &ep);
}
