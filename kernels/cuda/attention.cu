/* attention.cu — fused multi-head attention: one warp per (batch, head, query), online softmax in float. */
#include "cuda_common.cuh"
#include "cuda_ops.h"

#define ATT_PER_LANE (CUDA_ATTENTION_MAX_HEAD / 32)

template <typename T>
__global__ void attention_kernel(const T *q, const T *k, const T *v, const void *mask, int mask_kind, int64_t mstride, T *y,
                                 int64_t B,
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
            int64_t mi = b * mstride + i * Lk + j; /* mstride: 0, or Lq * Lk for a mask per batch */
            if (mask_kind == 1) s += ldf((const T *)mask, mi);
            else if (mask_kind == 3) s += ((const float *)mask)[mi]; /* an f32 mask with half q, k, v */
            else if (mask_kind == 2 && ((const uint8_t *)mask)[mi]) continue;
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

extern "C" infer_status cuda_attention(void *stream, infer_dtype dtype, const void *q, const void *k, const void *v,
                                       const void *mask, int mask_kind, int64_t mask_stride, void *y, int64_t B,
                                       int64_t Lq, int64_t Lk,
                                       int64_t E, int heads, int causal, float scale, infer_error *err) {
    NEED_FLOAT_STORAGE("attention", dtype);
    if (heads < 1 || E % heads != 0 || E / heads > CUDA_ATTENTION_MAX_HEAD)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "attention: E=%lld with %d heads (head size at most %d on CUDA)",
                          (long long)E, heads, CUDA_ATTENTION_MAX_HEAD);
    int64_t warps = B * heads * Lq;
    if (warps <= 0) return INFER_OK;
    if (!mask) mask_kind = 0;
    if (scale == 0.0f) scale = 1.0f / sqrtf((float)(E / heads));
    unsigned g = kernel_grid(warps * 32, 128);
    if (dtype == INFER_F16)
        attention_kernel<__half><<<g, 128, 0, KSTREAM(stream)>>>((const __half *)q, (const __half *)k, (const __half *)v,
                                                                 mask, mask_kind, mask_stride, (__half *)y, B, Lq, Lk, E, heads,
                                                                 causal, scale);
    else
        attention_kernel<float><<<g, 128, 0, KSTREAM(stream)>>>((const float *)q, (const float *)k, (const float *)v,
                                                                mask, mask_kind, mask_stride, (float *)y, B, Lq, Lk, E, heads,
                                                                causal, scale);
    KERNEL_CHECK("attention");
    return INFER_OK;
}

/* ---- the op's entry in the CUDA kernel table (cuda_ops.h) ---------------------------------------- */

static int supports_attention(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *q = cuda_node_input(g, n, 0), *m = cuda_node_input(g, n, 3);
    if (!q || q->ndim != 3) return cuda_refuse(why, len, "attention input is not 3-D");
    int64_t E = q->dims[2];
    int h = n->p.attention.heads;
    if (h < 1 || E % h) return cuda_refuse(why, len, "E=%lld not divisible by %d heads", (long long)E, h);
    if (E / h > CUDA_ATTENTION_MAX_HEAD)
        return cuda_refuse(why, len, "head size %lld > %d", (long long)(E / h), CUDA_ATTENTION_MAX_HEAD);
    if (m) {
        if (m->ndim != 2 && m->ndim != 3) return cuda_refuse(why, len, "attention mask is %d-D", m->ndim);
        if (m->dtype == INFER_BOOL || m->dtype == INFER_U8) return cuda_floats_only(g, n, fp16, 1u << 3, 0, why, len);
    }
    return cuda_floats_only(g, n, fp16, 0, 0, why, len);
}

static infer_status run_attention(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p,
                                  const infer_tensor *in, const infer_tensor *out, infer_error *err) {
    const infer_tensor *y = &out[0];
    const infer_tensor *m = n->n_in > 3 && in[3].data ? &in[3] : NULL;
    int mk = !m ? 0 : (m->dtype == INFER_BOOL || m->dtype == INFER_U8) ? 2 : m->dtype != y->dtype ? 3 : 1;
    int64_t stride = m && m->ndim == 3 && m->dims[0] != 1 ? m->dims[1] * m->dims[2] : 0;
    return cuda_attention(l->stream, y->dtype, in[0].data, in[1].data, in[2].data, m ? m->data : NULL, mk, stride, y->data,
                          in[0].dims[0], in[0].dims[1], in[1].dims[1], in[0].dims[2], n->p.attention.heads,
                          n->p.attention.causal, n->p.attention.scale, err);
}

/* The mask: its kernel reads an f32 mask with half q, k, v. */
static int exact_input_attention(const ir_graph *g, const ir_node *n, int k) { return k == 3; }

extern "C" const cuda_kernel cuda_kernels_attention[] = {
    { CUDA_DENSE, supports_attention, NULL, NULL, run_attention, 0, exact_input_attention },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
