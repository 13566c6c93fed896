/* conv2d_depthwise_s8.c — depthwise INT8 convolution in NCHW: int32 sums of (x - a_zero) * w per output,
 * the GEMM's requantize/dequantize epilogue per channel; scalar, AVX2 (8 columns) and AVX-512 (16 columns)
 * rows over the taps that lie inside the image, parallel over planes. */
#include <string.h>
#include "gemm_internal.h"
#include "gemm_s8_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* One plane: its input, taps, and epilogue (v = acc * scale + off, clamped to [lo, hi]). */
typedef struct {
    const conv_s8_geometry *g;
    const uint8_t *x;
    const int8_t *w;
    int32_t za;
    float scale, off, lo, hi;
    int32_t zo;
    int out_u8;
} dw_plane;

static inline void store_scalar(const dw_plane *p, int32_t acc, void *y, int64_t at) {
    float v = fminf(fmaxf(fmaf((float)acc, p->scale, p->off), p->lo), p->hi);
    if (p->out_u8) ((uint8_t *)y)[at] = (uint8_t)((int32_t)nearbyintf(v) + p->zo);
    else ((float *)y)[at] = v;
}

/* Output columns [ow0, ow1) of row oh, every tap checked against the borders (padding adds nothing). */
static void row_checked(const dw_plane *p, int64_t oh, void *y, int64_t ow0, int64_t ow1) {
    const conv_s8_geometry *g = p->g;
    for (int64_t ow = ow0; ow < ow1; ow++) {
        int32_t acc = 0;
        for (int64_t kh = 0; kh < g->kernel_h; kh++) {
            int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
            if (ih < 0 || ih >= g->height) continue;
            for (int64_t kw = 0; kw < g->kernel_w; kw++) {
                int64_t iw = ow * g->stride_w - g->pad_w + kw * g->dilation_w;
                if (iw >= 0 && iw < g->width)
                    acc += ((int32_t)p->x[ih * g->width + iw] - p->za) * p->w[kh * g->kernel_w + kw];
            }
        }
        store_scalar(p, acc, y, oh * g->out_width + ow);
    }
}

/* The columns [*lo, *hi) whose vectors of lanes columns read only inside the row: stride 1 or 2 (stride 2
 * reads 2 * lanes bytes). Empty for other strides. */
static void inside_columns(const conv_s8_geometry *g, int64_t lanes, int64_t *lo, int64_t *hi) {
    *lo = *hi = 0;
    if (g->stride_w != 1 && g->stride_w != 2) return;
    int64_t first = (g->pad_w + g->stride_w - 1) / g->stride_w;
    /* the last byte read by the vector at ow: ow*s - pad + (kw-1)*dil + lanes*s - 1 < width */
    int64_t room = g->width - 1 + g->pad_w - (g->kernel_w - 1) * g->dilation_w - (lanes * g->stride_w - 1);
    if (room < 0) return;
    int64_t last = room / g->stride_w; /* the last ow a vector may start at */
    if (last < first) return;
    int64_t vectors = (last - first + 1) / lanes, fit = (g->out_width - first) / lanes; /* fit: implied */
    *lo = first;
    *hi = first + (vectors < fit ? vectors : fit) * lanes;
}

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
#define AVX2 __attribute__((target("avx2,fma")))

AVX512 static void row_avx512(const dw_plane *p, int64_t oh, void *y) {
    const conv_s8_geometry *g = p->g;
    int64_t lo, hi, s = g->stride_w;
    inside_columns(g, 16, &lo, &hi);
    row_checked(p, oh, y, 0, lo < g->out_width ? lo : g->out_width);
    __m512i za = _mm512_set1_epi32(p->za);
    __m256i low_bytes = _mm256_set1_epi16(0x00FF);
    for (int64_t ow = lo; ow < hi; ow += 16) {
        __m512i acc = _mm512_setzero_si512();
        for (int64_t kh = 0; kh < g->kernel_h; kh++) {
            int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
            if (ih < 0 || ih >= g->height) continue;
            const uint8_t *xr = p->x + ih * g->width + ow * s - g->pad_w;
            for (int64_t kw = 0; kw < g->kernel_w; kw++) {
                const uint8_t *src = xr + kw * g->dilation_w;
                __m512i x = s == 1 ? _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)src))
                                   : _mm512_cvtepu16_epi32(_mm256_and_si256(_mm256_loadu_si256((const __m256i *)src),
                                                                            low_bytes));
                __m512i wt = _mm512_set1_epi32(p->w[kh * g->kernel_w + kw]);
                acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(_mm512_sub_epi32(x, za), wt));
            }
        }
        __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(p->scale), _mm512_set1_ps(p->off));
        v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(p->lo)), _mm512_set1_ps(p->hi));
        int64_t at = oh * g->out_width + ow;
        if (p->out_u8)
            _mm_storeu_si128((__m128i *)((uint8_t *)y + at),
                             _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(p->zo))));
        else
            _mm512_storeu_ps((float *)y + at, v);
    }
    row_checked(p, oh, y, hi > lo ? hi : (lo < g->out_width ? lo : g->out_width), g->out_width);
}

AVX2 static void row_avx2(const dw_plane *p, int64_t oh, void *y) {
    const conv_s8_geometry *g = p->g;
    int64_t lo, hi, s = g->stride_w;
    inside_columns(g, 8, &lo, &hi);
    row_checked(p, oh, y, 0, lo < g->out_width ? lo : g->out_width);
    __m256i za = _mm256_set1_epi32(p->za);
    __m128i low_bytes = _mm_set1_epi16(0x00FF);
    for (int64_t ow = lo; ow < hi; ow += 8) {
        __m256i acc = _mm256_setzero_si256();
        for (int64_t kh = 0; kh < g->kernel_h; kh++) {
            int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
            if (ih < 0 || ih >= g->height) continue;
            const uint8_t *xr = p->x + ih * g->width + ow * s - g->pad_w;
            for (int64_t kw = 0; kw < g->kernel_w; kw++) {
                const uint8_t *src = xr + kw * g->dilation_w;
                __m256i x = s == 1 ? _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)src))
                                   : _mm256_cvtepu16_epi32(_mm_and_si128(_mm_loadu_si128((const __m128i *)src),
                                                                         low_bytes));
                __m256i wt = _mm256_set1_epi32(p->w[kh * g->kernel_w + kw]);
                acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(_mm256_sub_epi32(x, za), wt));
            }
        }
        __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(p->scale), _mm256_set1_ps(p->off));
        v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(p->lo)), _mm256_set1_ps(p->hi));
        int64_t at = oh * g->out_width + ow;
        if (p->out_u8) {
            __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(p->zo));
            __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
            _mm_storel_epi64((__m128i *)((uint8_t *)y + at), _mm_packus_epi16(w16, w16));
        } else {
            _mm256_storeu_ps((float *)y + at, v);
        }
    }
    row_checked(p, oh, y, hi > lo ? hi : (lo < g->out_width ? lo : g->out_width), g->out_width);
}
#endif

typedef struct {
    const conv_s8_geometry *g;
    const uint8_t *x;
    const int8_t *w;
    const gemm_s8_epilogue *ep;
    uint8_t *y;
    int path, isa;
    float lo, hi;
} dw_job;

static void plane_task(void *arg, int64_t begin, int64_t end, int thread) {
    const dw_job *job = arg;
    const conv_s8_geometry *g = job->g;
    const gemm_s8_epilogue *ep = job->ep;
    int64_t in_plane = g->height * g->width, out_plane = g->out_height * g->out_width;
    size_t elem = ep->out_u8 ? 1 : sizeof(float);
    for (int64_t t = begin; t < end; t++) {
        int64_t c = t % g->channels;
        float m = ep->out_u8 ? ep->w_scale[c] / ep->out_scale : ep->w_scale[c];
        float o = ep->bias ? (ep->out_u8 ? ep->bias[c] / ep->out_scale : ep->bias[c]) : 0.0f;
        dw_plane p = { g, job->x + t * in_plane, job->w + c * g->kernel_h * g->kernel_w, ep->a_zero[0],
                       ep->a_scale[0] * m, o, job->lo, job->hi, ep->out_zero, ep->out_u8 };
        uint8_t *y = job->y + (size_t)(t * out_plane) * elem;
        for (int64_t oh = 0; oh < g->out_height; oh++) {
#if defined(__x86_64__)
            if (job->path == S8_PATH_AVX512_VNNI || job->path == S8_PATH_AMX) {
                row_avx512(&p, oh, y);
                continue;
            }
            if (job->path == S8_PATH_AVX2 || job->path == S8_PATH_AVX_VNNI) {
                row_avx2(&p, oh, y);
                continue;
            }
#endif
            row_checked(&p, oh, y, 0, g->out_width);
        }
        if (s8_post_activation(ep)) {
            gemm_epilogue act_only;
            memset(&act_only, 0, sizeof act_only);
            act_only.act = ep->act;
            cpu_epilogue_isa(job->isa, (float *)y, 1, out_plane, out_plane, &act_only, 0, 0);
        }
    }
}

void cpu_conv2d_depthwise_s8(cpu_ctx *ctx, int path, const conv_s8_geometry *g, const uint8_t *x, const int8_t *w,
                             const gemm_s8_epilogue *ep, void *y) {
    dw_job job = { g, x, w, ep, y, path, ctx->isa, 0.0f, 0.0f };
    s8_clamp_range(ep, &job.lo, &job.hi);
    int64_t planes = g->batch * g->channels, work = g->out_height * g->out_width * g->kernel_h * g->kernel_w;
    pool_parallel_for(ctx->threads > 1 ? ctx->pool : NULL, planes, work > 0 ? 65536 / work + 1 : planes, plane_task,
                      &job);
}
