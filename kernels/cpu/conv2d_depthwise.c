/* conv2d_depthwise.c — depthwise convolution: direct, parallel over planes, vectorized along the output row. */
#include "conv2d.h"
#include "gemm_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* One output plane: input channel plane x, kernel taps w, output plane y. */
typedef struct {
    const conv_geometry *g;
    const float *x, *w;
    float bias;
} dw_plane;

/* Output columns [ow0, ow1) of row oh, checking every tap against the input's borders. */
static void row_checked(const dw_plane *p, int64_t oh, float *y, int64_t ow0, int64_t ow1) {
    const conv_geometry *g = p->g;
    for (int64_t ow = ow0; ow < ow1; ow++) {
        float acc = p->bias;
        for (int64_t kh = 0; kh < g->kernel_h; kh++) {
            int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
            if (ih < 0 || ih >= g->height) continue;
            for (int64_t kw = 0; kw < g->kernel_w; kw++) {
                int64_t iw = ow * g->stride_w - g->pad_w + kw * g->dilation_w;
                if (iw >= 0 && iw < g->width) acc += p->w[kh * g->kernel_w + kw] * p->x[ih * g->width + iw];
            }
        }
        y[ow] = acc;
    }
}

#if defined(__x86_64__)
#define DW_VECS 4 /* independent accumulators: hide the FMA latency of the tap chain */
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

/* DW_VECS x 16 output columns from ow; mask[v] selects the columns of vector v (all set for a full
 * block, which then compiles to plain loads), mask_lo/hi the inputs stride 2 reads for it. kernel_w
 * is passed separately so that the common 3 can be a constant. */
AVX512 static inline __attribute__((always_inline)) void
block_avx512(const dw_plane *p, int64_t oh, float *y, int64_t ow, int64_t kernel_w, const __mmask16 *mask,
             const __mmask16 *mask_lo, const __mmask16 *mask_hi) {
    const conv_geometry *g = p->g;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    __m512 acc[DW_VECS];
    for (int v = 0; v < DW_VECS; v++) acc[v] = _mm512_set1_ps(p->bias);
    for (int64_t kh = 0; kh < g->kernel_h; kh++) {
        int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
        if (ih < 0 || ih >= g->height) continue;
        const float *xr = p->x + ih * g->width + ow * g->stride_w - g->pad_w;
        const float *wr = p->w + kh * kernel_w;
        for (int64_t kw = 0; kw < kernel_w; kw++) {
            const float *src = xr + kw * g->dilation_w;
            __m512 wt = _mm512_set1_ps(wr[kw]);
            if (g->stride_w == 1) {
                for (int v = 0; v < DW_VECS; v++)
                    acc[v] = _mm512_fmadd_ps(wt, _mm512_maskz_loadu_ps(mask[v], src + 16 * v), acc[v]);
            } else {
                for (int v = 0; v < DW_VECS; v++) {
                    __m512 lo = _mm512_maskz_loadu_ps(mask_lo[v], src + 32 * v);
                    __m512 hi = _mm512_maskz_loadu_ps(mask_hi[v], src + 32 * v + 16);
                    acc[v] = _mm512_fmadd_ps(wt, _mm512_permutex2var_ps(lo, even, hi), acc[v]);
                }
            }
        }
    }
    for (int v = 0; v < DW_VECS; v++) _mm512_mask_storeu_ps(y + ow + 16 * v, mask[v], acc[v]);
}

/* Output columns [ow0, ow1) of row oh where every horizontal tap is inside the row; stride 1 or 2.
 * Returns ow1. */
AVX512 static int64_t row_interior_avx512(const dw_plane *p, int64_t oh, float *y, int64_t ow0, int64_t ow1) {
    static const __mmask16 full[DW_VECS] = { 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF };
    static const __mmask16 full_hi[DW_VECS] = { 0x7FFF, 0x7FFF, 0x7FFF, 0x7FFF }; /* stride 2 reads 31 */
    int64_t ow = ow0, kernel_w = p->g->kernel_w;
    for (; ow + 16 * DW_VECS <= ow1; ow += 16 * DW_VECS) {
        if (kernel_w == 3) block_avx512(p, oh, y, ow, 3, full, full, full_hi);
        else block_avx512(p, oh, y, ow, kernel_w, full, full, full_hi);
    }
    if (ow < ow1) {
        __mmask16 mask[DW_VECS], mask_lo[DW_VECS], mask_hi[DW_VECS];
        for (int v = 0; v < DW_VECS; v++) {
            int64_t count = ow1 - ow - 16 * v;
            count = count < 0 ? 0 : count > 16 ? 16 : count;
            int64_t span = count ? 2 * count - 1 : 0;
            mask[v] = (__mmask16)((1u << count) - 1);
            mask_lo[v] = span >= 16 ? 0xFFFF : (__mmask16)((1u << span) - 1);
            mask_hi[v] = span > 16 ? (__mmask16)((1u << (span - 16)) - 1) : 0;
        }
        block_avx512(p, oh, y, ow, kernel_w, mask, mask_lo, mask_hi);
    }
    return ow1;
}

/* As row_interior_avx512 with 8 columns at a time; leaves the last ow1 - ow0 mod 8 columns. */
__attribute__((target("avx2,fma"))) static int64_t row_interior_avx2(const dw_plane *p, int64_t oh, float *y,
                                                                      int64_t ow0, int64_t ow1) {
    const conv_geometry *g = p->g;
    int64_t ow = ow0;
    for (; ow + 8 <= ow1; ow += 8) {
        __m256 acc = _mm256_set1_ps(p->bias);
        for (int64_t kh = 0; kh < g->kernel_h; kh++) {
            int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
            if (ih < 0 || ih >= g->height) continue;
            const float *xr = p->x + ih * g->width + ow * g->stride_w - g->pad_w;
            for (int64_t kw = 0; kw < g->kernel_w; kw++) {
                const float *src = xr + kw * g->dilation_w;
                __m256 v;
                if (g->stride_w == 1) v = _mm256_loadu_ps(src);
                else {
                    /* inputs 0..14 (the last read is src[14]): even lanes of two 8-wide loads */
                    __m256 lo = _mm256_loadu_ps(src), hi = _mm256_maskload_ps(src + 8, _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, -1, 0));
                    v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)), 0xD8));
                }
                acc = _mm256_fmadd_ps(_mm256_set1_ps(p->w[kh * g->kernel_w + kw]), v, acc);
            }
        }
        _mm256_storeu_ps(y + ow, acc);
    }
    return ow;
}
#endif

/* Columns whose horizontal taps all fall inside the input row: [*lo, *hi). */
static void interior_columns(const conv_geometry *g, int64_t *lo, int64_t *hi) {
    int64_t first = (g->pad_w + g->stride_w - 1) / g->stride_w;
    int64_t last_tap = (g->kernel_w - 1) * g->dilation_w - g->pad_w; /* input column of the last tap at ow 0 */
    int64_t end = last_tap >= g->width ? 0 : (g->width - 1 - last_tap) / g->stride_w + 1;
    if (end > g->out_width) end = g->out_width;
    if (first > end) first = end;
    *lo = first;
    *hi = end;
}

/* One output plane, each row finished (residual, activation) while it is in L1. */
static void plane(const dw_plane *p, int isa, const float *residual, const act_params *act, float *y) {
    const conv_geometry *g = p->g;
    int64_t lo, hi;
    interior_columns(g, &lo, &hi);
    int vector = g->stride_w <= 2 && isa >= CPU_ISA_AVX2;
    for (int64_t oh = 0; oh < g->out_height; oh++) {
        float *row = y + oh * g->out_width;
        int64_t done = lo;
#if defined(__x86_64__)
        if (vector && isa == CPU_ISA_AVX512) done = row_interior_avx512(p, oh, row, lo, hi);
        else if (vector) done = row_interior_avx2(p, oh, row, lo, hi);
#else
        (void)vector;
#endif
        row_checked(p, oh, row, 0, lo);
        row_checked(p, oh, row, done, g->out_width);
        gemm_epilogue ep = { NULL, 0, residual ? residual + oh * g->out_width : NULL, 0, *act };
        cpu_epilogue_isa(isa, row, 1, g->out_width, g->out_width, &ep, 0, 0);
    }
}

typedef struct {
    const conv_geometry *g;
    const float *x, *w, *b, *residual;
    const act_params *act;
    float *y;
    int isa;
} dw_job;

static void dw_task(void *arg, int64_t begin, int64_t end, int thread) {
    const dw_job *job = arg;
    const conv_geometry *g = job->g;
    (void)thread;
    int64_t mult = g->out_channels / g->channels, taps = g->kernel_h * g->kernel_w;
    int64_t in_plane = g->height * g->width, out_plane = g->out_height * g->out_width;
    for (int64_t i = begin; i < end; i++) {
        int64_t image = i / g->out_channels, o = i % g->out_channels;
        dw_plane p = { g, job->x + (image * g->channels + o / mult) * in_plane, job->w + o * taps,
                       job->b ? job->b[o] : 0.0f };
        plane(&p, job->isa, job->residual ? job->residual + i * out_plane : NULL, job->act, job->y + i * out_plane);
    }
}

void conv2d_depthwise(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                      const float *residual, const act_params *act, float *y) {
    dw_job job = { g, x, w, b, residual, act, y, ctx->isa };
    int64_t planes = g->batch * g->out_channels;
    int64_t work = g->out_height * g->out_width * g->kernel_h * g->kernel_w;
    int64_t grain = work >= 4096 ? 1 : 4096 / (work + 1) + 1;
    pool_parallel_for(ctx->pool, planes, grain, dw_task, &job);
}
