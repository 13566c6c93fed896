/* attention.cu — fused multi-head attention: one warp per (batch, head, query), online softmax in float. */
#include "cuda_common.cuh"

#define ATT_PER_LANE (CUDA_ATTENTION_MAX_HEAD / 32)

template <typename T>
__global__ void attention_kernel(const T *q, const T *k, const T *v, const void *mask, int mask_kind, T *y, int64_t B,
                                 int64_t Lq, int64_t Lk, int64_t E, int heads, int causal, float scale) {
    int lane = threadIdx.x & 31;
    int64_t hd = E / heads;
    int64_t warp = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int64_t nwarps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t w = warp; w < B * heads * Lq; w += nwarps) {
        int64_t i = w % Lq, h = (w / Lq) % heads, b = w / (Lq * heads);
        const T *qr = q + (b * Lq + i) * E + h * hd;
        float qv[ATT_PER_LANE], acc[ATT_PER_LANE];
#pragma unroll
        for (int t = 0; t < ATT_PER_LANE; t++) {
            int64_t d = lane + 32 * t;
            qv[t] = d < hd ? ldf(qr, d) * scale : 0.0f;
            acc[t] = 0.0f;
        }
        float m = -INFINITY, l = 0.0f;
        int64_t jend = causal ? (i + 1 < Lk ? i + 1 : Lk) : Lk;
        for (int64_t j = 0; j < jend; j++) {
            const T *kr = k + (b * Lk + j) * E + h * hd;
            float s = 0.0f;
#pragma unroll
            for (int t = 0; t < ATT_PER_LANE; t++) {
                int64_t d = lane + 32 * t;
                if (d < hd) s += qv[t] * ldf(kr, d);
            }
            s = warp_sum(s);
            if (mask_kind == 1) s += ldf((const T *)mask, i * Lk + j);
            else if (mask_kind == 3) s += ((const float *)mask)[i * Lk + j]; /* an f32 mask with half q, k, v */
            else if (mask_kind == 2 && ((const uint8_t *)mask)[i * Lk + j]) continue;
            if (s == -INFINITY) continue;
            float mn = fmaxf(m, s);
            float corr = expf(m - mn), p = expf(s - mn);
            l = l * corr + p;
            const T *vr = v + (b * Lk + j) * E + h * hd;
#pragma unroll
            for (int t = 0; t < ATT_PER_LANE; t++) {
                int64_t d = lane + 32 * t;
                if (d < hd) acc[t] = acc[t] * corr + p * ldf(vr, d);
            }
            m = mn;
        }
        T *yr = y + (b * Lq + i) * E + h * hd;
        float inv = l > 0.0f ? 1.0f / l : NAN; /* every key masked: NaN, as softmax over all -inf */
#pragma unroll
        for (int t = 0; t < ATT_PER_LANE; t++) {
            int64_t d = lane + 32 * t;
            if (d < hd) stf(yr, d, acc[t] * inv);
        }
    }
}

extern "C" infer_status cuda_attention(void *stream, int half, const void *q, const void *k, const void *v,
                                       const void *mask, int mask_kind, void *y, int64_t B, int64_t Lq, int64_t Lk,
                                       int64_t E, int heads, int causal, float scale, infer_error *err) {
    if (heads < 1 || E % heads != 0 || E / heads > CUDA_ATTENTION_MAX_HEAD)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "attention: E=%lld with %d heads (head size at most %d on CUDA)",
                          (long long)E, heads, CUDA_ATTENTION_MAX_HEAD);
    int64_t warps = B * heads * Lq;
    if (warps <= 0) return INFER_OK;
    if (!mask) mask_kind = 0;
    if (scale == 0.0f) scale = 1.0f / sqrtf((float)(E / heads));
    unsigned g = kernel_grid(warps * 32, 128);
    if (half)
        attention_kernel<__half><<<g, 128, 0, KSTREAM(stream)>>>((const __half *)q, (const __half *)k, (const __half *)v,
                                                                 mask, mask_kind, (__half *)y, B, Lq, Lk, E, heads,
                                                                 causal, scale);
    else
        attention_kernel<float><<<g, 128, 0, KSTREAM(stream)>>>((const float *)q, (const float *)k, (const float *)v,
                                                                mask, mask_kind, (float *)y, B, Lq, Lk, E, heads,
                                                                causal, scale);
    KERNEL_CHECK("attention");
    return INFER_OK;
}
