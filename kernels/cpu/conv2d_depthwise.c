/* conv2d_depthwise.c — depthwise convolution: direct, parallel over planes, vectorized along the output row. */
#include "conv2d.h"

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
/* Output columns [ow0, ow1) of row oh where every horizontal tap is inside the row, 16 at a time;
 * stride 1 or 2. Returns the first column it did not compute. */
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma"))) static int64_t
row_interior_avx512(const dw_plane *p, int64_t oh, float *y, int64_t ow0, int64_t ow1) {
    const conv_geometry *g = p->g;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t ow = ow0;
    for (; ow < ow1; ow += 16) {
        int64_t count = ow1 - ow < 16 ? ow1 - ow : 16;
        __mmask16 mask = (__mmask16)((1u << count) - 1);
        /* stride 2 reads 2*count-1 inputs: up to 16 from the first vector, the rest from the second */
        int64_t span = 2 * count - 1;
        __mmask16 mask_lo = span >= 16 ? 0xFFFF : (__mmask16)((1u << span) - 1);
        __mmask16 mask_hi = span > 16 ? (__mmask16)((1u << (span - 16)) - 1) : 0;
        __m512 acc = _mm512_set1_ps(p->bias);
        for (int64_t kh = 0; kh < g->kernel_h; kh++) {
            int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
            if (ih < 0 || ih >= g->height) continue;
            const float *xr = p->x + ih * g->width + ow * g->stride_w - g->pad_w;
            for (int64_t kw = 0; kw < g->kernel_w; kw++) {
                const float *src = xr + kw * g->dilation_w;
                __m512 v;
                if (g->stride_w == 1) v = _mm512_maskz_loadu_ps(mask, src);
                else
                    v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(mask_lo, src), even,
                                               _mm512_maskz_loadu_ps(mask_hi, src + 16));
                acc = _mm512_fmadd_ps(_mm512_set1_ps(p->w[kh * g->kernel_w + kw]), v, acc);
            }
        }
        _mm512_mask_storeu_ps(y + ow, mask, acc);
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

static void plane(const dw_plane *p, int isa, float *y) {
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
        float *y = job->y + i * out_plane;
        plane(&p, job->isa, y);
        gemm_epilogue ep = { NULL, 0, job->residual ? job->residual + i * out_plane : NULL, 0, *job->act };
        if (ep.residual || ep.act.kind != ACT_NONE) cpu_apply_epilogue(y, 1, out_plane, out_plane, &ep, 0, 0);
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
