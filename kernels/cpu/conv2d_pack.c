/* conv2d_pack.c — packs convolution columns (im2col rows) straight from the image into GEMM B slivers. */
#include <string.h>
#include "conv2d.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Output positions [0, count) from (oh, ow) of tap (kh, kw) of channel plane xc into d, then zeros up
 * to width. Positions run along output rows, each row one stretch of an input row, and on into the
 * next image (image_stride floats on) past the last row. */
static void pack_tap(const conv_geometry *g, const float *xc, int64_t image_stride, int64_t kh, int64_t kw,
                     int64_t oh, int64_t ow, int count, int width, float *d) {
    int64_t iw_tap = kw * g->dilation_w - g->pad_w;
    for (int done = 0; done < count; ow = 0, oh++) {
        if (oh == g->out_height) {
            oh = 0;
            xc += image_stride;
        }
        int64_t ih = oh * g->stride_h - g->pad_h + kh * g->dilation_h;
        int run = (int)(g->out_width - ow < count - done ? g->out_width - ow : count - done);
        float *o = d + done;
        done += run;
        int row_inside = ih >= 0 && ih < g->height;
        const float *xr = xc + (row_inside ? ih * g->width : 0);
        for (int t = 0; t < run; t++) {
            int64_t iw = (ow + t) * g->stride_w + iw_tap;
            o[t] = row_inside && iw >= 0 && iw < g->width ? xr[iw] : 0.0f;
        }
    }
    for (int t = count; t < width; t++) d[t] = 0.0f;
}

/* x: the group's first channel in the image of the sliver's first column. */
static void pack_portable(const conv_columns *cols, const float *x, int nr, int64_t k0, int64_t kc, int64_t oh,
                          int64_t ow, int count, float *d) {
    const conv_geometry *g = cols->g;
    int64_t taps = g->kernel_h * g->kernel_w, plane = g->height * g->width;
    int64_t c = k0 / taps, kh = k0 % taps / g->kernel_w, kw = k0 % g->kernel_w;
    for (int64_t k = 0; k < kc; k++, d += nr) {
        pack_tap(g, x + c * plane, cols->image_stride, kh, kw, oh, ow, count, nr, d);
        if (++kw == g->kernel_w) {
            kw = 0;
            if (++kh == g->kernel_h) {
                kh = 0;
                c++;
            }
        }
    }
}

#if defined(__x86_64__)
#define AVX512_MAX_KW 16
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
#include "lanes_avx512.h"


/* Masked loads of one run for one kernel column: the inputs of the lanes inside the row. */
typedef struct {
    int64_t offset;        /* input column of lane 0 */
    __mmask16 lo[2], hi[2]; /* per vector of 16 lanes; hi only for stride 2 */
} tap_loads;

static void plan_loads(const conv_geometry *g, int64_t iw0, int64_t len, tap_loads *t) {
    int64_t sw = g->stride_w;
    /* lanes whose input column iw0 + sw*lane is inside the row: [lo, hi) */
    int64_t lo = iw0 >= 0 ? 0 : (-iw0 + sw - 1) / sw;
    int64_t hi = iw0 >= g->width ? 0 : (g->width - 1 - iw0) / sw + 1;
    hi = hi < len ? hi : len;
    t->offset = iw0;
    for (int v = 0; v < 2; v++) {
        int64_t a = lo - 16 * v, b = hi - 16 * v;
        a = a < 0 ? 0 : a;
        b = b > 16 ? 16 : b;
        if (sw == 1) {
            t->lo[v] = lanes(a, b);
            t->hi[v] = 0;
        } else { /* inputs 2a .. 2(b-1) of the vector's 32 */
            t->lo[v] = b > a ? lanes(2 * a, 2 * b - 1) : 0;
            t->hi[v] = b > a ? lanes(2 * a - 16, 2 * b - 17) : 0;
        }
    }
}

/* One sliver of nr <= 32 columns, stride 1 or 2, kernel width <= AVX512_MAX_KW: the sliver splits into
 * runs along output rows (and images); each run's masks are planned once per kernel column and reused
 * for every k. x as in pack_portable. */
AVX512 static void pack_avx512(const conv_columns *cols, const float *x, int nr, int64_t k0, int64_t kc,
                               int64_t oh, int64_t ow, int count, float *d) {
    const conv_geometry *g = cols->g;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t taps = g->kernel_h * g->kernel_w, plane = g->height * g->width;
    for (int start = 0; start < nr;) {
        int pad = start >= count; /* the columns past the matrix's edge: zeros */
        int64_t len = pad ? nr - start : g->out_width - ow < count - start ? g->out_width - ow : count - start;
        __mmask16 store[2] = { lanes(0, len), lanes(0, len - 16) };
        tap_loads loads[AVX512_MAX_KW];
        if (!pad)
            for (int64_t kw = 0; kw < g->kernel_w; kw++)
                plan_loads(g, ow * g->stride_w + kw * g->dilation_w - g->pad_w, len, &loads[kw]);
        int64_t c = k0 / taps, kh = k0 % taps / g->kernel_w, kw = k0 % g->kernel_w;
        int64_t ih0 = oh * g->stride_h - g->pad_h;
        float *o = d + start;
        for (int64_t k = 0; k < kc; k++, o += nr) {
            int64_t ih = ih0 + kh * g->dilation_h;
            __m512 v0 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();
            if (!pad && ih >= 0 && ih < g->height) {
                const tap_loads *t = &loads[kw];
                const float *src = x + c * plane + ih * g->width + t->offset;
                if (g->stride_w == 1) {
                    v0 = _mm512_maskz_loadu_ps(t->lo[0], src);
                    v1 = _mm512_maskz_loadu_ps(t->lo[1], src + 16);
                } else {
                    v0 = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(t->lo[0], src), even,
                                                _mm512_maskz_loadu_ps(t->hi[0], src + 16));
                    v1 = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(t->lo[1], src + 32), even,
                                                _mm512_maskz_loadu_ps(t->hi[1], src + 48));
                }
            }
            _mm512_mask_storeu_ps(o, store[0], v0);
            _mm512_mask_storeu_ps(o + 16, store[1], v1);
            if (++kw == g->kernel_w) {
                kw = 0;
                if (++kh == g->kernel_h) {
                    kh = 0;
                    c++;
                }
            }
        }
        start += (int)len;
        if (!pad && (ow += len) == g->out_width) {
            ow = 0;
            if (++oh == g->out_height && start < count) {
                oh = 0;
                x += cols->image_stride;
            }
        }
    }
}
#endif

#ifndef CONV_PACK_CHANNELS
#define CONV_PACK_CHANNELS 16
#endif

void conv_pack_columns(const void *src, int isa, int nr, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                       float *dst) {
    const conv_columns *cols = src;
    const conv_geometry *g = cols->g;
#if defined(__x86_64__)
    int vector = isa == CPU_ISA_AVX512 && nr <= 32 && g->stride_w <= 2 && g->kernel_w <= AVX512_MAX_KW;
#else
    (void)isa;
#endif
    int64_t ohw = g->out_height * g->out_width;
    /* The rows of k of CONV_PACK_CHANNELS channels at a time across all the slivers: sliver by sliver over all of kc,
     * each sliver read a stretch of every channel plane and each of those reads missed the cache; a chunk reads a few
     * planes front to back, which the hardware prefetcher streams (bench/pack_order_bench: 1.34x on a 1x1 stride-2
     * layer at 56x56, 1.07x on the 3x3 ones there, the same at 14x14 and on the 3-channel stem) */
    int64_t chunk = CONV_PACK_CHANNELS * g->kernel_h * g->kernel_w;
    for (int64_t kb = 0; kb < kc; kb += chunk) {
        int64_t kn = kc - kb < chunk ? kc - kb : chunk;
        for (int64_t j = 0; j < nc; j += nr) {
            int count = (int)(nc - j < nr ? nc - j : nr);
            int64_t image = (j0 + j) / ohw, at = (j0 + j) % ohw, oh = at / g->out_width, ow = at % g->out_width;
            const float *x = cols->x + image * cols->image_stride;
            float *d = dst + j * kc + kb * nr;
#if defined(__x86_64__)
            if (vector) {
                pack_avx512(cols, x, nr, k0 + kb, kn, oh, ow, count, d);
                continue;
            }
#endif
            pack_portable(cols, x, nr, k0 + kb, kn, oh, ow, count, d);
        }
    }
}

void conv_pack_pointwise(const void *src, int isa, int nr, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                         float *dst) {
    const conv_columns *cols = src;
    int64_t plane = cols->g->height * cols->g->width;
    (void)isa;
    for (int64_t j = 0; j < nc; j += nr, dst += nr * kc) {
        int count = (int)(nc - j < nr ? nc - j : nr);
        int64_t first = (j0 + j) / plane, at0 = (j0 + j) % plane;
        for (int64_t k = 0; k < kc; k++) {
            float *d = dst + k * nr;
            int64_t image = first, at = at0;
            for (int done = 0; done < count; image++, at = 0) {
                int run = (int)(plane - at < count - done ? plane - at : count - done);
                memcpy(d + done, cols->x + image * cols->image_stride + (k0 + k) * plane + at, (size_t)run * sizeof *d);
                done += run;
            }
            for (int t = count; t < nr; t++) d[t] = 0.0f;
        }
    }
}
