/* conv2d_depthwise_s8.c — depthwise INT8 convolution in NCHW: int32 sums of (x - a_zero) * w per output,
 * the GEMM's requantize/dequantize epilogue per channel; scalar, AVX2 (8 columns) and AVX-512 (16 columns)
 * rows, parallel over planes. With scratch, each plane is first copied with its padding made real, so
 * that every column is computed by vectors; without, the border columns are computed one by one. */
#include <string.h>
#include "gemm_internal.h"
#include "gemm_s8_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* One plane: its input, taps, and epilogue (v = (acc * scale + off) * inv, clamped to [lo, hi]). */
typedef struct {
    const conv_s8_geometry *g;
    const uint8_t *x;
    const int8_t *w;
    int32_t za;
    float scale, off, inv, lo, hi;
    int32_t zo;
    int out_u8;
} dw_plane;

static inline void store_scalar(const dw_plane *p, int32_t acc, void *y, int64_t at) {
    float v = fmaf((float)acc, p->scale, p->off) * p->inv; /* then max, min as vmaxps/vminps (no NaN here) */
    v = v > p->lo ? v : p->lo;
    v = v < p->hi ? v : p->hi;
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

/* The output columns [*lo, *hi) all of whose taps lie inside the row (stride 1 or 2; empty otherwise):
 * the rest, a few columns at each border, go through row_checked. */
static void inside_columns(const conv_s8_geometry *g, int64_t *lo, int64_t *hi) {
    *lo = *hi = 0;
    if (g->stride_w != 1 && g->stride_w != 2) return;
    int64_t first = (g->pad_w + g->stride_w - 1) / g->stride_w;
    int64_t reach = g->width - 1 + g->pad_w - (g->kernel_w - 1) * g->dilation_w; /* last ow * stride */
    if (reach < 0) return;
    int64_t end = reach / g->stride_w + 1;
    if (end > g->out_width) end = g->out_width;
    if (end <= first) return;
    *lo = first;
    *hi = end;
}

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
#define AVX2 __attribute__((target("avx2,fma")))

/* n <= 64 columns from ow, all inside the row, as up to 4 vectors of 16 with independent accumulators; the
 * last vector's masked loads read only the bytes its lanes use. */
AVX512 static inline void block_avx512(const dw_plane *p, int64_t oh, void *y, int64_t ow, int n) {
    const conv_s8_geometry *g = p->g;
    int64_t s = g->stride_w;
    int nv = (n + 15) / 16, tail = n - 16 * (nv - 1);
    __mmask16 m[4];
    __mmask32 m2[4]; /* stride 2: bytes 0, 2, .., 2n-2 of each vector's 32 */
    __m512i acc[4];
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) {
        int lanes = v < nv - 1 ? 16 : v == nv - 1 ? tail : 0;
        m[v] = (__mmask16)((1u << lanes) - 1);
        m2[v] = lanes ? (__mmask32)((1ull << (2 * lanes - 1)) - 1) : 0;
        acc[v] = _mm512_setzero_si512();
    }
    __m256i low_bytes = _mm256_set1_epi16(0x00FF);
    int32_t w_sum = 0; /* of the taps read: sum (x - za) w = sum x w - za sum w */
    for (int64_t kh = 0; kh < g->kernel_h; kh++) {
        int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
        if (ih < 0 || ih >= g->height) continue;
        const uint8_t *xr = p->x + ih * g->width + ow * s - g->pad_w;
        for (int64_t kw = 0; kw < g->kernel_w; kw++) {
            const uint8_t *src = xr + kw * g->dilation_w;
            int8_t wk = p->w[kh * g->kernel_w + kw];
            w_sum += wk;
            /* x and w in the low int16 of each lane, 0 above: vpmaddwd gives x * w */
            __m512i wt = _mm512_set1_epi32((uint16_t)(int16_t)wk);
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) {
                if (v >= nv) break;
                __m512i x = s == 1 ? _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m[v], src + 16 * v))
                                   : _mm512_cvtepu16_epi32(
                                         _mm256_and_si256(_mm256_maskz_loadu_epi8(m2[v], src + 32 * v), low_bytes));
                acc[v] = _mm512_add_epi32(acc[v], _mm512_madd_epi16(x, wt));
            }
        }
    }
    __m512i zw = _mm512_set1_epi32(p->za * w_sum);
    __m512 scale = _mm512_set1_ps(p->scale), off = _mm512_set1_ps(p->off), inv = _mm512_set1_ps(p->inv);
    __m512 lo = _mm512_set1_ps(p->lo), hi = _mm512_set1_ps(p->hi);
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) {
        if (v >= nv) break;
        __m512 f = _mm512_mul_ps(_mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[v], zw)), scale, off), inv);
        f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
        int64_t at = oh * g->out_width + ow + 16 * v;
        if (p->out_u8)
            _mm_mask_storeu_epi8((uint8_t *)y + at, m[v],
                                 _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(f), _mm512_set1_epi32(p->zo))));
        else
            _mm512_mask_storeu_ps((float *)y + at, m[v], f);
    }
}

AVX512 static void row_avx512(const dw_plane *p, int64_t oh, void *y) {
    int64_t lo, hi;
    inside_columns(p->g, &lo, &hi);
    row_checked(p, oh, y, 0, lo < hi ? lo : p->g->out_width);
    for (int64_t ow = lo; ow < hi; ow += 64) block_avx512(p, oh, y, ow, hi - ow < 64 ? (int)(hi - ow) : 64);
    if (lo < hi) row_checked(p, oh, y, hi, p->g->out_width);
}

/* 8 columns from ow, all inside the row; stride 2 reads one byte past the last it uses. */
AVX2 static inline void vector_avx2(const dw_plane *p, int64_t oh, void *y, int64_t ow) {
    const conv_s8_geometry *g = p->g;
    int64_t s = g->stride_w;
    __m256i acc = _mm256_setzero_si256();
    __m128i low_bytes = _mm_set1_epi16(0x00FF);
    int32_t w_sum = 0; /* of the taps read: sum (x - za) w = sum x w - za sum w */
    for (int64_t kh = 0; kh < g->kernel_h; kh++) {
        int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
        if (ih < 0 || ih >= g->height) continue;
        const uint8_t *xr = p->x + ih * g->width + ow * s - g->pad_w;
        for (int64_t kw = 0; kw < g->kernel_w; kw++) {
            const uint8_t *src = xr + kw * g->dilation_w;
            __m256i x = s == 1 ? _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)src))
                               : _mm256_cvtepu16_epi32(_mm_and_si128(_mm_loadu_si128((const __m128i *)src), low_bytes));
            int8_t wk = p->w[kh * g->kernel_w + kw];
            w_sum += wk;
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, _mm256_set1_epi32((uint16_t)(int16_t)wk)));
        }
    }
    acc = _mm256_sub_epi32(acc, _mm256_set1_epi32(p->za * w_sum));
    __m256 v = _mm256_mul_ps(_mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(p->scale), _mm256_set1_ps(p->off)),
                             _mm256_set1_ps(p->inv));
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

/* Inside columns 8 at a time; the remainder as one more vector ending at the last inside column (it
 * recomputes a few columns with the same result) where its reads stay in the row, else row_checked. */
AVX2 static void row_avx2(const dw_plane *p, int64_t oh, void *y) {
    const conv_s8_geometry *g = p->g;
    int64_t lo, hi, s = g->stride_w;
    inside_columns(g, &lo, &hi);
    row_checked(p, oh, y, 0, lo < hi ? lo : g->out_width);
    if (lo >= hi) return;
    /* the last byte a vector at ow reads: ow*s - pad + (kw-1)*dil + 8s - 1 */
    int64_t tail_bytes = (g->kernel_w - 1) * g->dilation_w + 8 * s - 1 - g->pad_w;
    int64_t ow = lo;
    for (; ow + 8 <= hi && ow * s + tail_bytes < g->width; ow += 8) vector_avx2(p, oh, y, ow);
    if (ow < hi && hi - 8 >= lo && (hi - 8) * s + tail_bytes < g->width) {
        vector_avx2(p, oh, y, hi - 8);
        ow = hi;
    }
    row_checked(p, oh, y, ow, g->out_width);
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
    uint8_t *scratch; /* per thread CPU_SCRATCH_BYTES, or NULL */
} dw_job;

/* Margin of zero-point bytes right of a padded row: the vectors' reads past their last column stay inside. */
#define PAD_MARGIN 32

/* The plane x copied into dst with its padding made real (a_zero) and a margin, and the geometry of that
 * copy (no padding): every output column then has all its taps inside, so the rows are all vectors.
 * Returns 0 (nothing done) when the copy would not fit `room` bytes. */
static int pad_plane(const conv_s8_geometry *g, const uint8_t *x, uint8_t za, uint8_t *dst, size_t room,
                     conv_s8_geometry *padded) {
    int64_t h = g->height + 2 * g->pad_h, w = g->width + 2 * g->pad_w + PAD_MARGIN;
    if ((size_t)(h * w) > room) return 0;
    memset(dst, za, (size_t)(h * w));
    for (int64_t i = 0; i < g->height; i++)
        memcpy(dst + (i + g->pad_h) * w + g->pad_w, x + i * g->width, (size_t)g->width);
    *padded = *g;
    padded->height = h;
    padded->width = w;
    padded->pad_h = padded->pad_w = 0;
    return 1;
}

static void plane_task(void *arg, int64_t begin, int64_t end, int thread) {
    const dw_job *job = arg;
    const conv_s8_geometry *g = job->g;
    const gemm_s8_epilogue *ep = job->ep;
    int64_t in_plane = g->height * g->width, out_plane = g->out_height * g->out_width;
    size_t elem = ep->out_u8 ? 1 : sizeof(float);
    for (int64_t t = begin; t < end; t++) {
        int64_t c = t % g->channels;
        dw_plane p = { g, job->x + t * in_plane, job->w + c * g->kernel_h * g->kernel_w, ep->a_zero[0],
                       ep->a_scale[0] * ep->w_scale[c], ep->bias ? ep->bias[c] : 0.0f,
                       ep->out_u8 ? 1.0f / ep->out_scale : 1.0f, job->lo, job->hi, ep->out_zero, ep->out_u8 };
        uint8_t *y = job->y + (size_t)(t * out_plane) * elem;
        conv_s8_geometry padded;
        int vectors = job->path != S8_PATH_SCALAR && (g->stride_w == 1 || g->stride_w == 2);
        if (vectors && job->scratch) {
            uint8_t *buf = (uint8_t *)(((uintptr_t)(job->scratch + (size_t)thread * CPU_SCRATCH_BYTES) + 63) & ~(uintptr_t)63);
            if (pad_plane(g, p.x, (uint8_t)p.za, buf, CPU_SCRATCH_BYTES - 64, &padded)) {
                p.g = &padded;
                p.x = buf;
            }
        }
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
    dw_job job = { g, x, w, ep, y, path, ctx->isa, 0.0f, 0.0f, ctx->scratch };
    s8_clamp_range(ep, &job.lo, &job.hi);
    int64_t planes = g->batch * g->channels, work = g->out_height * g->out_width * g->kernel_h * g->kernel_w;
    pool_parallel_for(ctx->threads > 1 ? ctx->pool : NULL, planes, work > 0 ? 65536 / work + 1 : planes, plane_task,
                      &job);
}
