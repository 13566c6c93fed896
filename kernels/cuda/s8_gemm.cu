/* s8_gemm.cu — the INT8 building blocks of the CUDA linear and conv2d: u8 quantization (stored as s8 = q - 128),
 * s8 im2col, a dp4a GEMM with int32 sums, and the epilogue (zero-point compensation, scales, bias, residual, act). */
#include "cuda_common.cuh"

#define S8_TILE 16

/* u8 parameters of a row's range [lo, hi] (lo <= 0 <= hi), as the CPU's dynamic quantization computes them. */
__device__ __forceinline__ void s8_row_params(float lo, float hi, float *scale, int *zero, float *inv) {
    float s = (hi - lo) / 255.0f;
    if (!(s > 0.0f) || isinf(s)) s = 1.0f;
    *inv = 1.0f / s;
    *scale = s;
    *zero = (int)rintf(fminf(fmaxf(-lo * *inv, 0.0f), 255.0f));
}

/* One block per row of x [rows, len]: q[r][k] = clamp(round(x * inv) + zero, 0, 255) - 128 for k < len and 0
 * up to ldq; static_scale > 0: those parameters, else the row's own range. Writes scale[r] and zero[r]. */
template <typename T>
__global__ void s8_quantize_kernel(const T *x, int64_t len, int8_t *q, int64_t ldq, float static_scale,
                                   int static_zero, float *scale_out, int *zero_out) {
    __shared__ float red[33];
    __shared__ float params[2];
    int64_t r = blockIdx.x;
    const T *row = x + r * len;
    if (static_scale > 0.0f) {
        if (threadIdx.x == 0) {
            params[0] = 1.0f / static_scale;
            params[1] = (float)static_zero;
            scale_out[r] = static_scale;
            zero_out[r] = static_zero;
        }
    } else {
        float lo = 0.0f, hi = 0.0f;
        for (int64_t k = threadIdx.x; k < len; k += blockDim.x) {
            float v = ldf(row, k);
            lo = fminf(lo, v);
            hi = fmaxf(hi, v);
        }
        hi = block_max(hi, red);
        __syncthreads();
        lo = -block_max(-lo, red);
        if (threadIdx.x == 0) {
            float s, inv;
            int z;
            s8_row_params(lo, hi, &s, &z, &inv);
            params[0] = inv;
            params[1] = (float)z;
            scale_out[r] = s;
            zero_out[r] = z;
        }
    }
    __syncthreads();
    float inv = params[0], z = params[1];
    int8_t *qr = q + r * ldq;
    for (int64_t k = threadIdx.x; k < ldq; k += blockDim.x) {
        int v = 0;
        if (k < len) v = (int)rintf(fminf(fmaxf(ldf(row, k) * inv, -z), 255.0f - z)) + (int)z - 128;
        qr[k] = (int8_t)v;
    }
}

extern "C" infer_status cuda_s8_quantize(void *stream, infer_dtype dtype, const void *x, int64_t rows, int64_t len,
                                         int8_t *q, int64_t ldq, float static_scale, int static_zero,
                                         float *scale_out, int *zero_out, infer_error *err) {
    NEED_FLOAT_STORAGE("s8_quantize", dtype);
    if (rows <= 0) return INFER_OK;
    if (rows > 0x7fffffff || ldq < len)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "CUDA s8_quantize: %lld rows of %lld (stride %lld)",
                          (long long)rows, (long long)len, (long long)ldq);
    if (dtype == INFER_F16)
        s8_quantize_kernel<__half><<<(unsigned)rows, KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const __half *)x, len, q, ldq, static_scale, static_zero, scale_out, zero_out);
    else
        s8_quantize_kernel<float><<<(unsigned)rows, KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            (const float *)x, len, q, ldq, static_scale, static_zero, scale_out, zero_out);
    KERNEL_CHECK("s8_quantize");
    return INFER_OK;
}

/* cols[(img * P + p)][k4]: the s8 input tap of output position p for k = (c, i, j) in OIHW order; a tap in the
 * padding is the image's zero point (real 0), k >= K is 0. */
__global__ void s8_im2col_kernel(const int8_t *x, const int *zero, int8_t *cols, int64_t images, int64_t C,
                                 int64_t H, int64_t W, int64_t OH, int64_t OW, int kh, int kw, int sh, int sw, int ph,
                                 int pw, int dh, int dw, int64_t K, int64_t K4) {
    int64_t P = OH * OW, total = images * P * K4;
    GRID_STRIDE(i, total) {
        int64_t k = i % K4, row = i / K4, p = row % P, img = row / P;
        int v = 0;
        if (k < K) {
            int64_t j = k % kw, t = k / kw, ii = t % kh, c = t / kh;
            int64_t oy = p / OW, ox = p % OW;
            int64_t y = oy * sh - ph + ii * dh, xx = ox * sw - pw + j * dw;
            if (y >= 0 && y < H && xx >= 0 && xx < W) v = x[((img * C + c) * H + y) * W + xx];
            else v = zero[img] - 128;
        }
        cols[i] = (int8_t)v;
    }
}

extern "C" infer_status cuda_s8_im2col(void *stream, const int8_t *x, const int *zero, int8_t *cols, int64_t images,
                                       int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW, const int *kernel,
                                       const int *stride, const int *pad, const int *dil, int64_t K4,
                                       infer_error *err) {
    int64_t total = images * OH * OW * K4;
    if (total <= 0) return INFER_OK;
    s8_im2col_kernel<<<kernel_grid(total), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
        x, zero, cols, images, C, H, W, OH, OW, kernel[0], kernel[1], stride[0], stride[1], pad[0], pad[1], dil[0],
        dil[1], C * kernel[0] * kernel[1], K4);
    KERNEL_CHECK("s8_im2col");
    return INFER_OK;
}

/* acc[M][N] = sum over k of a[m][k] * w[n][k], s8 rows of K4 bytes (4 per int32 word) through dp4a; one
 * thread per output, 16 x 16 tiles of both operands in shared memory. */
__global__ void s8_gemm_dp4a_kernel(const int *a, const int *w, int *acc, int64_t M, int64_t N, int64_t words) {
    __shared__ int as[S8_TILE][S8_TILE + 1], ws[S8_TILE][S8_TILE + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int64_t m = (int64_t)blockIdx.x * S8_TILE + ty, n = (int64_t)blockIdx.y * S8_TILE + tx;
    int64_t wrow = (int64_t)blockIdx.y * S8_TILE + ty;
    int sum = 0;
    for (int64_t k0 = 0; k0 < words; k0 += S8_TILE) {
        as[ty][tx] = m < M && k0 + tx < words ? a[m * words + k0 + tx] : 0;
        ws[ty][tx] = wrow < N && k0 + tx < words ? w[wrow * words + k0 + tx] : 0;
        __syncthreads();
        for (int kk = 0; kk < S8_TILE; kk++) sum = __dp4a(as[ty][kk], ws[tx][kk], sum);
        __syncthreads();
    }
    if (m < M && n < N) acc[m * N + n] = sum;
}

extern "C" infer_status cuda_s8_gemm_dp4a(void *stream, const int8_t *a, const int8_t *w, int32_t *acc, int64_t M,
                                          int64_t N, int64_t K4, infer_error *err) {
    if (M <= 0 || N <= 0) return INFER_OK;
    int64_t gx = (M + S8_TILE - 1) / S8_TILE, gy = (N + S8_TILE - 1) / S8_TILE;
    if (K4 % 4 || gx > 0x7fffffff || gy > 65535)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "CUDA INT8 GEMM: %lld x %lld x %lld is outside the dp4a kernel's "
                          "grid", (long long)M, (long long)N, (long long)K4);
    dim3 grid((unsigned)gx, (unsigned)gy), block(S8_TILE, S8_TILE);
    s8_gemm_dp4a_kernel<<<grid, block, 0, KSTREAM(stream)>>>((const int *)a, (const int *)w, acc, M, N, K4 / 4);
    KERNEL_CHECK("s8_gemm_dp4a");
    return INFER_OK;
}

/* y = act((acc - (zero - 128) * colsum[n]) * (a_scale * w_scale[n]) + bias[n] + residual), for GEMM row m of
 * quantization group m / group; row m is output row m (positions 1) or image m / positions, position
 * m % positions of an NCHW output [images, N, positions]. */
template <typename T>
__global__ void s8_epilogue_kernel(const int *acc, int64_t M, int64_t N, int64_t group, int64_t positions,
                                   const float *a_scale, const int *a_zero, const int *colsum, const float *w_scale,
                                   const T *bias, const T *res, T *y, int kind, float mn, float mx) {
    GRID_STRIDE(i, M * N) {
        int64_t m = i / N, n = i % N, g = m / group;
        unsigned comp = (unsigned)(a_zero[g] - 128) * (unsigned)colsum[n];
        int v = (int)((unsigned)acc[i] - comp);
        float f = fmaf((float)v, a_scale[g] * w_scale[n], bias ? ldf(bias, n) : 0.0f);
        int64_t o = positions == 1 ? i : ((m / positions) * N + n) * positions + m % positions;
        if (res) f += ldf(res, o);
        stf(y, o, act_dev(kind, mn, mx, f));
    }
}

extern "C" infer_status cuda_s8_epilogue(void *stream, infer_dtype dtype, const int32_t *acc, int64_t M, int64_t N,
                                         int64_t group, int64_t positions, const float *a_scale, const int *a_zero,
                                         const int32_t *colsum, const float *w_scale, const void *bias,
                                         const void *residual, void *y, act_params act, infer_error *err) {
    NEED_FLOAT_STORAGE("s8_epilogue", dtype);
    if (M <= 0 || N <= 0) return INFER_OK;
    if (group < 1) group = 1;
    if (positions < 1) positions = 1;
    if (dtype == INFER_F16)
        s8_epilogue_kernel<__half><<<kernel_grid(M * N), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            acc, M, N, group, positions, a_scale, a_zero, colsum, w_scale, (const __half *)bias,
            (const __half *)residual, (__half *)y, act.kind, act.min, act.max);
    else
        s8_epilogue_kernel<float><<<kernel_grid(M * N), KERNEL_BLOCK, 0, KSTREAM(stream)>>>(
            acc, M, N, group, positions, a_scale, a_zero, colsum, w_scale, (const float *)bias,
            (const float *)residual, (float *)y, act.kind, act.min, act.max);
    KERNEL_CHECK("s8_epilogue");
    return INFER_OK;
}
