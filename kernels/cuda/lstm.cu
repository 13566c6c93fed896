/* lstm.cu — one fused LSTM step: the recurrent product h·w_hhᵀ, gates (i, f, g, o), cell and hidden updates. */
#include "cuda_common.cuh"

__device__ __forceinline__ float sigmoid_dev(float x) { return 1.0f / (1.0f + expf(-x)); }

/* One warp per (batch row b, hidden unit j): the 4 gate rows of w_hh read coalesced. */
template <typename T>
__global__ void lstm_step_kernel(const T *gx, int64_t gx_stride, const T *w_hh, const T *b_ih, const T *b_hh,
                                 const T *h_prev, int64_t hp_stride, T *c, T *h_out, int64_t ho_stride, int64_t B,
                                 int64_t H) {
    int lane = threadIdx.x & 31;
    int64_t warp = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int64_t nwarps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t w = warp; w < B * H; w += nwarps) {
        int64_t b = w / H, j = w % H;
        float g[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
        if (h_prev) {
            const T *hp = h_prev + b * hp_stride;
            for (int64_t kk = lane; kk < H; kk += 32) {
                float hv = ldf(hp, kk);
#pragma unroll
                for (int q = 0; q < 4; q++) g[q] += hv * ldf(w_hh, (q * H + j) * H + kk);
            }
#pragma unroll
            for (int q = 0; q < 4; q++) g[q] = warp_sum(g[q]);
        }
        if (lane == 0) {
            const T *gr = gx + b * gx_stride;
#pragma unroll
            for (int q = 0; q < 4; q++) {
                g[q] += ldf(gr, q * H + j);
                if (b_ih) g[q] += ldf(b_ih, q * H + j);
                if (b_hh) g[q] += ldf(b_hh, q * H + j);
            }
            float ig = sigmoid_dev(g[0]), fg = sigmoid_dev(g[1]), gg = tanhf(g[2]), og = sigmoid_dev(g[3]);
            float cv = fg * ldf(c, b * H + j) + ig * gg;
            stf(c, b * H + j, cv);
            stf(h_out, b * ho_stride + j, og * tanhf(cv));
        }
    }
}

extern "C" infer_status cuda_lstm_step(void *stream, infer_dtype dtype, const void *gx, int64_t gx_stride,
                                       const void *w_hh, const void *b_ih, const void *b_hh, const void *h_prev,
                                       int64_t hp_stride, void *c, void *h_out, int64_t ho_stride, int64_t B, int64_t H,
                                       infer_error *err) {
    NEED_FLOAT_STORAGE("lstm_step", dtype);
    if (B <= 0 || H <= 0) return INFER_OK;
    unsigned g = kernel_grid(B * H * 32, 128);
    if (dtype == INFER_F16)
        lstm_step_kernel<__half><<<g, 128, 0, KSTREAM(stream)>>>(
            (const __half *)gx, gx_stride, (const __half *)w_hh, (const __half *)b_ih, (const __half *)b_hh,
            (const __half *)h_prev, hp_stride, (__half *)c, (__half *)h_out, ho_stride, B, H);
    else
        lstm_step_kernel<float><<<g, 128, 0, KSTREAM(stream)>>>(
            (const float *)gx, gx_stride, (const float *)w_hh, (const float *)b_ih, (const float *)b_hh,
            (const float *)h_prev, hp_stride, (float *)c, (float *)h_out, ho_stride, B, H);
    KERNEL_CHECK("lstm step");
    return INFER_OK;
}
