/* conv2d_bf16_nhwc.c — groups-1 conv2d at BF16 precision over NHWC rows: out[position][cout] = A · W with A the
 * BF16 NHWC input rows (1x1 stride 1: read in place) or their taps gathered per block of 32 positions, W prepacked
 * once as BF16 pair panels in (tap, channel) order; FP32 sums, bias, residual and activation on the FP32 tile, stored
 * as BF16 NHWC for the next chained convolution (runtime/cpu_bf16_chain.c) or as f32 NCHW. A tensor the backend passes
 * as BF16 NHWC has dtype INFER_BF16 here and positions cpu_bf16_nhwc_stride(C) values apart, the padding zeros. */
#include <string.h>
#include "conv2d.h"
#include "gemm_bf16.h"
#include "gemm_internal.h"
#include "bf16_round.h"
#include "../../base/error.h"
#include "../../base/half.h"

int64_t cpu_bf16_nhwc_stride(int64_t channels) { return bf16_round_up(channels, BF16_KB); }

static int64_t taps_k(const infer_tensor *w) { return w->dims[1] * w->dims[2] * w->dims[3]; }

/* The A block of 32 rows x kp BF16 fits a thread's scratch. */
static int k_fits(int64_t k) { return k > 0 && bf16_round_up(k, BF16_KB) * BF16_MB * 2 + 256 <= (int64_t)CPU_SCRATCH_BYTES; }

int cpu_conv2d_bf16_nhwc_takes(const ir_graph *g, const ir_node *n) {
    if (!cpu_conv2d_bf16_takes(g, n) || n->p.conv2d.groups != 1) return 0;
    const ir_tensor *x = &g->tensors[n->in[0]], *w = &g->tensors[n->in[1]];
    return x->dims[1] == w->dims[1] && k_fits(w->dims[1] * w->dims[2] * w->dims[3]);
}

static int prepacks_weight(const ir_node *n, int k) {
    (void)n;
    return k == 1;
}

static size_t prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    (void)n, (void)isa;
    return bf16_panels_size(taps_k(&in[1]), in[1].dims[0]);
}

/* B[k][o] = w[o][c][i][j] with k = (i * kw + j) * C + c, as BF16 pair panels (gemm_bf16.h). */
static void prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    (void)n, (void)isa;
    const float *w = in[1].data;
    int64_t N = in[1].dims[0], C = in[1].dims[1], kh = in[1].dims[2], kw = in[1].dims[3], K = C * kh * kw;
    int64_t kp = bf16_round_up(K, BF16_KB);
    uint16_t *d = dst;
    for (int64_t o0 = 0; o0 < N; o0 += BF16_NR, d += kp * BF16_NR)
        for (int64_t k = 0; k < kp; k++) {
            int64_t c = K ? k % C : 0, tap = K ? k / C : 0, i = tap / kw, j = tap % kw;
            for (int jj = 0; jj < BF16_NR; jj++) {
                int64_t o = o0 + jj;
                float v = k < K && o < N ? w[((o * C + c) * kh + i) * kw + j] : 0.0f;
                d[k / 2 * 2 * BF16_NR + 2 * jj + k % 2] = bf16_from_float(v);
            }
        }
}

static int is_pointwise(const conv_geometry *g) {
    return g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 0 &&
           g->pad_w == 0;
}

/* The f32 NCHW input converted to BF16 NHWC (the chain's edge inside the kernel). */
static size_t workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    (void)n, (void)out, (void)threads;
    const infer_tensor *x = &in[0];
    if (x->ndim != 4) return 0;
    return (size_t)(x->dims[0] * x->dims[2] * x->dims[3] * cpu_bf16_nhwc_stride(x->dims[1])) * 2 + 64;
}

typedef struct {
    cpu_ctx *ctx;
    const conv_geometry *g;
    int mode;
    const uint16_t *x; /* BF16 NHWC input, positions xs apart */
    int64_t xs;
    const float *xf;   /* the f32 NCHW input being converted into x */
    const uint16_t *w; /* panels */
    int64_t K, kp;
    const float *bias;
    const void *res;   /* NULL, BF16 NHWC (rs apart) or f32 NCHW */
    int res_bf16;
    int64_t rs;
    act_params act;
    void *y;           /* BF16 NHWC (ys apart) or f32 NCHW */
    int y_bf16;
    int64_t ys;
    int64_t M, N, ohw, rows_per_task, groups, group_panels;
    int native;        /* the CPU has AVX512-BF16: BF16 outputs rounded by vcvtne2ps2bf16 in the one-pass epilogue */
} nhwc_job;

#if defined(__x86_64__)
/* One input row of W positions (f32 NCHW: channel c at src[c * plane]) into BF16 NHWC (positions xs apart, zeros in
 * the padding channels [C, xs)): per position, 16 channels gathered at a time (the row's lines stay in L1). */
TARGET512 static void convert_row(const float *src, int64_t C, int64_t W, int64_t plane, int64_t xs, uint16_t *dst) {
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32((int)plane));
    for (int64_t c0 = 0; c0 < xs; c0 += 16) {
        int64_t have = C - c0 < 0 ? 0 : C - c0 < 16 ? C - c0 : 16, room = xs - c0 < 16 ? xs - c0 : 16;
        __mmask16 load = (__mmask16)((1u << have) - 1), store = (__mmask16)((1u << room) - 1);
        const float *s = src + (have ? c0 * plane : 0);
        for (int64_t w = 0; w < W; w++) {
            __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), load, idx, s + w, 4);
            _mm256_mask_storeu_epi16(dst + w * xs + c0, store, round_bf16_16(v));
        }
    }
}
#else
static void convert_row(const float *src, int64_t C, int64_t W, int64_t plane, int64_t xs, uint16_t *dst) {
    for (int64_t c = 0; c < C; c++)
        for (int64_t w = 0; w < W; w++) dst[w * xs + c] = bf16_from_float(src[c * plane + w]);
    if (xs > C)
        for (int64_t w = 0; w < W; w++) memset(dst + w * xs + C, 0, (size_t)(xs - C) * 2);
}
#endif

/* Channels x a plane's positions past what one gather's 32-bit indices reach: the plain loop. */
static int gathers_reach(int64_t C, int64_t plane) { return C * plane < ((int64_t)1 << 31) - 16; }

/* f32 NCHW rows (image, input row) [begin, end) into BF16 NHWC, padding channels zero. */
static void convert_task(void *arg, int64_t begin, int64_t end, int thread) {
    const nhwc_job *job = arg;
    const conv_geometry *g = job->g;
    int64_t C = g->channels, W = g->width, H = g->height, xs = job->xs;
    uint16_t *x = (uint16_t *)job->x;
    (void)thread;
    for (int64_t r = begin; r < end; r++) {
        int64_t b = r / H, h = r % H;
        uint16_t *dst = x + r * W * xs;
        const float *src = job->xf + (b * C * H + h) * W;
        if (gathers_reach(C, H * W)) {
            convert_row(src, C, W, H * W, xs, dst);
            continue;
        }
        for (int64_t c = 0; c < C; c++)
            for (int64_t w = 0; w < W; w++) dst[w * xs + c] = bf16_from_float(src[c * H * W + w]);
        if (xs > C)
            for (int64_t w = 0; w < W; w++) memset(dst + w * xs + C, 0, (size_t)(xs - C) * 2);
    }
}

/* Rows [m0, m0 + rows) of A into a (kp wide, zero rows after them up to a multiple of 16): each position's taps as
 * runs of C channels in (i, j) order, zeros in the padding and past K; a kernel row's taps inside the image are one
 * run when they are adjacent in x (dilation 1, positions C apart). */
static void gather(const nhwc_job *job, int64_t m0, int rows, uint16_t *a) {
    const conv_geometry *g = job->g;
    int64_t C = g->channels, kw = g->kernel_w, kp = job->kp, xs = job->xs, dw = g->dilation_w;
    int runs = dw == 1 && xs == C, short_rows = runs && kw * C <= 32 && (g->kernel_h - 1) * kw * C + 32 <= kp;
    const uint16_t *x_end = job->x + g->batch * g->height * g->width * xs;
    /* the first row's position; the next ones counted on (no divisions per row) */
    int64_t b = m0 / job->ohw, p = m0 % job->ohw, oh = p / g->out_width, ow = p % g->out_width;
    for (int r = 0; r < rows; r++) {
        int64_t iw0 = ow * g->stride_w - g->pad_w;
        /* taps j in [j_lo, j_hi) fall inside the row: iw0 + j * dw in [0, width) */
        int64_t j_lo = iw0 >= 0 ? 0 : dw == 1 ? -iw0 : (-iw0 + dw - 1) / dw;
        int64_t j_hi = g->width - iw0 <= 0 ? 0 : dw == 1 ? g->width - iw0 : (g->width - iw0 - 1) / dw + 1;
        if (j_hi > kw) j_hi = kw;
        if (j_lo > j_hi) j_lo = j_hi;
        uint16_t *dst = a + r * kp;
        for (int64_t i = 0; i < g->kernel_h; i++) {
            int64_t ih = oh * g->stride_h - g->pad_h + i * g->dilation_h;
            uint16_t *d = dst + i * kw * C;
            if (ih < 0 || ih >= g->height || j_lo == j_hi) {
                memset(d, 0, (size_t)(kw * C) * 2);
                continue;
            }
            const uint16_t *src = job->x + ((b * g->height + ih) * g->width + iw0) * xs;
            if (short_rows && j_lo == 0 && j_hi == kw && src + 32 <= x_end) {
                /* a whole kernel row of at most 32 values (the stem's 7 x 3): one fixed-size copy; its tail lands on
                 * the next kernel row's values (written after it) or past K (zeroed below) */
                memcpy(d, src, 64);
                continue;
            }
            if (j_lo) memset(d, 0, (size_t)(j_lo * C) * 2);
            if (runs) memcpy(d + j_lo * C, src + j_lo * C, (size_t)((j_hi - j_lo) * C) * 2);
            else
                for (int64_t j = j_lo; j < j_hi; j++) memcpy(d + j * C, src + j * dw * xs, (size_t)C * 2);
            if (j_hi < kw) memset(d + j_hi * C, 0, (size_t)((kw - j_hi) * C) * 2);
        }
        if (kp > job->K) memset(dst + job->K, 0, (size_t)(kp - job->K) * 2);
        if (++ow == g->out_width) {
            ow = 0;
            if (++oh == g->out_height) oh = 0, b++;
        }
    }
    int padded = (int)bf16_round_up(rows, BF16_ROWS_PAD);
    if (padded > rows) memset(a + rows * kp, 0, (size_t)((padded - rows) * kp) * 2);
}

/* f32 NCHW residual added into tmp (rows of positions m0.., 32 columns from col0). */
static void add_nchw_residual(const nhwc_job *job, float *tmp, int64_t m0, int rows, int64_t col0, int ncols) {
    const float *res = job->res;
    for (int i = 0; i < rows; i++) {
        int64_t m = m0 + i, base = m / job->ohw * job->N * job->ohw + m % job->ohw;
        for (int j = 0; j < ncols; j++) tmp[i * BF16_NR + j] += res[base + (col0 + j) * job->ohw];
    }
}

#if defined(__x86_64__)
/* tmp's rows (positions m0..) into f32 NCHW: per run of positions within one image, each column's 16 rows gathered
 * (stride BF16_NR) and stored as one contiguous piece of its channel plane. */
TARGET512 static void store_nchw(const nhwc_job *job, const float *tmp, int64_t m0, int rows, int64_t col0, int ncols) {
    float *y = job->y;
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32(BF16_NR));
    for (int i0 = 0; i0 < rows;) {
        int64_t m = m0 + i0, p = m % job->ohw, base = m / job->ohw * job->N * job->ohw + p;
        int run = (int)(job->ohw - p < rows - i0 ? job->ohw - p : rows - i0);
        for (int i = 0; i < run; i += 16) {
            int n = run - i < 16 ? run - i : 16;
            __mmask16 k = (__mmask16)((1u << n) - 1);
            for (int j = 0; j < ncols; j++)
                _mm512_mask_storeu_ps(y + base + (col0 + j) * job->ohw + i, k,
                                      _mm512_mask_i32gather_ps(_mm512_setzero_ps(), k, idx, tmp + (i0 + i) * BF16_NR + j, 4));
        }
        i0 += run;
    }
}
#else
static void store_nchw(const nhwc_job *job, const float *tmp, int64_t m0, int rows, int64_t col0, int ncols) {
    float *y = job->y;
    for (int i = 0; i < rows; i++) {
        int64_t m = m0 + i, base = m / job->ohw * job->N * job->ohw + m % job->ohw;
        for (int j = 0; j < ncols; j++) y[base + (col0 + j) * job->ohw] = tmp[i * BF16_NR + j];
    }
}
#endif

#if defined(__x86_64__)
/* bias, BF16 residual, relu / clip on tmp in place. */
TARGET512 static void epilogue_rows(const nhwc_job *job, float *tmp, int64_t m0, int rows, int64_t col0, int ncols) {
    int relu = job->act.kind == ACT_RELU, clip = job->act.kind == ACT_CLIP;
    const uint16_t *res = job->res && job->res_bf16 ? (const uint16_t *)job->res : NULL;
    __m512 lo = _mm512_set1_ps(clip ? job->act.min : 0.0f), hi = _mm512_set1_ps(clip ? job->act.max : 0.0f);
    for (int h = 0; h < BF16_NR; h += 16) {
        int valid = ncols - h;
        __mmask16 m = valid >= 16 ? (__mmask16)0xffff : valid > 0 ? (__mmask16)((1u << valid) - 1) : 0;
        __m512 bias = job->bias ? _mm512_maskz_loadu_ps(m, job->bias + col0 + h) : _mm512_setzero_ps();
        for (int i = 0; i < rows; i++) {
            __m512 x = _mm512_add_ps(_mm512_loadu_ps(tmp + i * BF16_NR + h), bias);
            if (res) x = _mm512_add_ps(x, widen_bf16_16(_mm256_maskz_loadu_epi16(m, res + (m0 + i) * job->rs + col0 + h)));
            if (relu) x = _mm512_max_ps(x, _mm512_setzero_ps());
            else if (clip) x = _mm512_min_ps(hi, _mm512_max_ps(lo, x));
            _mm512_storeu_ps(tmp + i * BF16_NR + h, x);
        }
    }
}

/* tmp rows rounded into the BF16 NHWC output: 32 columns (zeros past N: the padding channels). */
TARGET512 static void store_bf16(const nhwc_job *job, const float *tmp, int64_t m0, int rows, int64_t col0, int ncols) {
    uint16_t *y = job->y;
    for (int h = 0; h < BF16_NR; h += 16) {
        int valid = ncols - h;
        __mmask16 m = valid >= 16 ? (__mmask16)0xffff : valid > 0 ? (__mmask16)((1u << valid) - 1) : 0;
        for (int i = 0; i < rows; i++)
            _mm256_storeu_si256((__m256i *)(y + (m0 + i) * job->ys + col0 + h),
                                round_bf16_16(_mm512_maskz_loadu_ps(m, tmp + i * BF16_NR + h)));
    }
}
#define TARGET512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* The whole epilogue of a tile in one pass for BF16 NHWC outputs: bias, BF16 residual, relu / clip, two 16-lane halves
 * rounded to nearest even by one vcvtne2ps2bf16 and stored as the position's 32 channels (zeros past N). */
TARGET512_BF16 static void finish_bf16_native(const nhwc_job *job, const float *tmp, int64_t m0, int rows,
                                              int64_t col0, int ncols) {
    int relu = job->act.kind == ACT_RELU, clip = job->act.kind == ACT_CLIP;
    const uint16_t *res = job->res && job->res_bf16 ? (const uint16_t *)job->res : NULL;
    __mmask16 k0 = ncols >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << ncols) - 1);
    __mmask16 k1 = ncols >= 32 ? (__mmask16)0xffff : ncols > 16 ? (__mmask16)((1u << (ncols - 16)) - 1) : 0;
    __m512 b0 = job->bias ? _mm512_maskz_loadu_ps(k0, job->bias + col0) : _mm512_setzero_ps();
    __m512 b1 = job->bias ? _mm512_maskz_loadu_ps(k1, job->bias + col0 + 16) : _mm512_setzero_ps();
    __m512 lo = _mm512_set1_ps(clip ? job->act.min : 0.0f), hi = _mm512_set1_ps(clip ? job->act.max : 0.0f);
    uint16_t *y = job->y;
    for (int i = 0; i < rows; i++) {
        __m512 x0 = _mm512_add_ps(_mm512_loadu_ps(tmp + i * BF16_NR), b0);
        __m512 x1 = _mm512_add_ps(_mm512_loadu_ps(tmp + i * BF16_NR + 16), b1);
        if (res) {
            const uint16_t *r = res + (m0 + i) * job->rs + col0;
            x0 = _mm512_add_ps(x0, widen_bf16_16(_mm256_maskz_loadu_epi16(k0, r)));
            x1 = _mm512_add_ps(x1, widen_bf16_16(_mm256_maskz_loadu_epi16(k1, r + 16)));
        }
        if (relu) {
            x0 = _mm512_max_ps(x0, _mm512_setzero_ps());
            x1 = _mm512_max_ps(x1, _mm512_setzero_ps());
        } else if (clip) {
            x0 = _mm512_min_ps(hi, _mm512_max_ps(lo, x0));
            x1 = _mm512_min_ps(hi, _mm512_max_ps(lo, x1));
        }
        __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_mov_ps(k1, x1), _mm512_maskz_mov_ps(k0, x0));
        _mm512_storeu_si512((void *)(y + (m0 + i) * job->ys + col0), (__m512i)v);
    }
}
#else
static void finish_bf16_native(const nhwc_job *job, const float *tmp, int64_t m0, int rows, int64_t col0, int ncols) {
    (void)job, (void)tmp, (void)m0, (void)rows, (void)col0, (void)ncols;
}

static void epilogue_rows(const nhwc_job *job, float *tmp, int64_t m0, int rows, int64_t col0, int ncols) {
    const uint16_t *res = job->res && job->res_bf16 ? (const uint16_t *)job->res : NULL;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < ncols; j++) {
            float x = tmp[i * BF16_NR + j] + (job->bias ? job->bias[col0 + j] : 0.0f);
            if (res) x += bf16_to_float(res[(m0 + i) * job->rs + col0 + j]);
            if (job->act.kind == ACT_RELU || job->act.kind == ACT_CLIP) x = act_apply(&job->act, x);
            tmp[i * BF16_NR + j] = x;
        }
}

static void store_bf16(const nhwc_job *job, const float *tmp, int64_t m0, int rows, int64_t col0, int ncols) {
    uint16_t *y = job->y;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < BF16_NR; j++)
            y[(m0 + i) * job->ys + col0 + j] = j < ncols ? bf16_from_float(tmp[i * BF16_NR + j]) : 0;
}
#endif

/* The finished tile tmp [rows][32] of positions m0.. and columns col0..: epilogue, then stored. */
static void finish_tile(const nhwc_job *job, float *tmp, int64_t m0, int rows, int64_t col0) {
    int ncols = (int)(job->N - col0 < BF16_NR ? job->N - col0 : BF16_NR);
    if (job->res && !job->res_bf16) add_nchw_residual(job, tmp, m0, rows, col0, ncols);
    if (job->native && job->y_bf16 && (job->act.kind == ACT_NONE || job->act.kind == ACT_RELU || job->act.kind == ACT_CLIP)) {
        finish_bf16_native(job, tmp, m0, rows, col0, ncols);
        return;
    }
    epilogue_rows(job, tmp, m0, rows, col0, ncols);
    if (job->act.kind != ACT_NONE && job->act.kind != ACT_RELU && job->act.kind != ACT_CLIP) {
        gemm_epilogue act_only = { NULL, 0, NULL, 0, job->act };
        cpu_epilogue_isa(job->ctx->isa, tmp, rows, ncols, BF16_NR, &act_only, 0, 0);
    }
    if (job->y_bf16) store_bf16(job, tmp, m0, rows, col0, ncols);
    else store_nchw(job, tmp, m0, rows, col0, ncols);
}

#define ROWS_PER_TASK 128 /* positions per task at most: each panel loaded once for them */

static int uses_amx(int mode) { return mode == CPU_BF16_AMX || mode == CPU_BF16_AMX_AUTO; }

/* Tasks (block of rows_per_task positions, group of panels): each panel of the group is loaded once for the whole
 * block, 32 rows at a time; a thread's consecutive tasks of one block share its gathered A. */
static void conv_task(void *arg, int64_t begin, int64_t end, int thread) {
    const nhwc_job *job = arg;
    uint16_t *block = (uint16_t *)(((uintptr_t)(job->ctx->scratch + (size_t)thread * CPU_SCRATCH_BYTES) + 63) & ~(uintptr_t)63);
    _Alignas(64) float tmp[BF16_MB * BF16_NR];
    int in_place = is_pointwise(job->g), mode = job->mode;
    int64_t have = -1, kp = job->kp, panels = (job->N + BF16_NR - 1) / BF16_NR;
    const uint16_t *a = NULL;
    if (uses_amx(mode)) bf16_amx_configure();
    for (int64_t t = begin; t < end; t++) {
        int64_t blk = t / job->groups, group = t % job->groups, m0 = blk * job->rows_per_task;
        int64_t m1 = m0 + job->rows_per_task < job->M ? m0 + job->rows_per_task : job->M;
        if (blk != have) {
            if (!in_place) {
                for (int64_t c = m0; c < m1; c += BF16_MB)
                    gather(job, c, (int)(m1 - c < BF16_MB ? m1 - c : BF16_MB), block + (c - m0) * kp);
                a = block;
            } else {
                a = job->x + m0 * job->xs;
            }
            have = blk;
        }
        int64_t p0 = group * job->group_panels, p1 = p0 + job->group_panels < panels ? p0 + job->group_panels : panels;
        for (int64_t p = p0; p < p1; p++) {
            const uint16_t *panel = job->w + p * kp * BF16_NR;
            for (int64_t c = m0; c < m1; c += BF16_MB) {
                int rows = (int)(m1 - c < BF16_MB ? m1 - c : BF16_MB);
                const uint16_t *ac = a + (c - m0) * kp;
                if (in_place && c + bf16_round_up(rows, BF16_ROWS_PAD) > job->M) {
                    /* the last rows: the tile reads whole 16-row tiles; copied into the scratch with zero rows */
                    int padded = (int)bf16_round_up(rows, BF16_ROWS_PAD);
                    memcpy(block, ac, (size_t)(rows * kp) * 2);
                    memset(block + rows * kp, 0, (size_t)((padded - rows) * kp) * 2);
                    ac = block;
                }
                int amx = mode == CPU_BF16_AMX || (mode == CPU_BF16_AMX_AUTO && rows >= BF16_AMX_MIN_ROWS);
                if (amx) bf16_tile_amx(rows, kp, ac, kp, panel, tmp);
                else bf16_tile_avx512(rows, kp, ac, kp, panel, tmp);
                finish_tile(job, tmp, c, rows, p * BF16_NR);
            }
        }
    }
    if (uses_amx(mode)) bf16_amx_release();
}

static int layout_ok(const infer_tensor *t) { return t->dtype == INFER_F32 || t->dtype == INFER_BF16; }

static int fits(const cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, const infer_tensor *out) {
    const infer_tensor *x = &in[0], *w = &in[1], *y = &out[0];
    const conv2d_params *p = &n->p.conv2d;
    if (!ctx->prepacked || !layout_ok(x) || !layout_ok(y) || x->ndim != 4 || w->ndim != 4 || y->ndim != 4 ||
        p->groups != 1 || x->dims[1] != w->dims[1] || y->dims[1] != w->dims[0] || y->dims[0] != x->dims[0] ||
        !k_fits(taps_k(w)))
        return 0;
    if (p->stride[0] < 1 || p->stride[1] < 1 || p->dilation[0] < 1 || p->dilation[1] < 1 || p->padding[0] < 0 ||
        p->padding[1] < 0)
        return 0;
    if (n->n_in > 2 && in[2].data && (in[2].dtype != INFER_F32 || infer_tensor_elements(&in[2]) != y->dims[1])) return 0;
    if (n->n_in > 3 && in[3].data && (!layout_ok(&in[3]) || infer_tensor_elements(&in[3]) != infer_tensor_elements(y)))
        return 0;
    return 1;
}

static infer_status run(cpu_ctx *ctx, int mode, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                        infer_error *err) {
    if (!fits(ctx, n, in, out)) {
        if (in[0].dtype == INFER_BF16 || out[0].dtype == INFER_BF16 || (n->n_in > 3 && in[3].dtype == INFER_BF16))
            return infer_fail(err, INFER_ERR_INTERNAL, "conv2d (BF16 NHWC): the shapes or weights changed since build");
        cpu_ctx fp32 = *ctx; /* the FP32 kernel names what is wrong */
        fp32.prepacked = NULL;
        return cpu_conv2d(&fp32, n, in, out, err);
    }
    conv_geometry g;
    conv_geometry_of(n, in, out, &g);
    int64_t ohw = g.out_height * g.out_width, M = g.batch * ohw, N = g.out_channels;
    if (M == 0 || N == 0) return INFER_OK;
    int pointwise = is_pointwise(&g), in_bf16 = in[0].dtype == INFER_BF16;
    nhwc_job job = { ctx, &g, mode, in[0].data, cpu_bf16_nhwc_stride(g.channels), NULL, ctx->prepacked, 0, 0,
                     n->n_in > 2 ? in[2].data : NULL, n->n_in > 3 ? in[3].data : NULL,
                     n->n_in > 3 && in[3].data && in[3].dtype == INFER_BF16, cpu_bf16_nhwc_stride(N), n->p.conv2d.act,
                     out[0].data, out[0].dtype == INFER_BF16, cpu_bf16_nhwc_stride(N), M, N, ohw, BF16_MB, 1, 1, 0 };
    job.native = mode != CPU_BF16_AMX; /* cpu_bf16_choose: the other modes only where the CPU has AVX512-BF16 */
    job.K = g.channels * g.kernel_h * g.kernel_w;
    job.kp = bf16_round_up(job.K, BF16_KB);
    thread_pool *pool = ctx->threads > 1 ? ctx->pool : NULL;
    if (!in_bf16) { /* the chain's edge: f32 NCHW into BF16 NHWC rows in the workspace */
        job.xf = in[0].data;
        job.xs = pointwise ? cpu_bf16_nhwc_stride(g.channels) : g.channels;
        job.x = (const uint16_t *)(((uintptr_t)ctx->workspace + 63) & ~(uintptr_t)63);
        pool_parallel_for(pool, g.batch * g.height, 1 + 4096 / (g.width * g.channels + 1), convert_task, &job);
    }
    /* blocks of up to ROWS_PER_TASK positions (as many as the scratch holds gathered) x groups of panels: enough
     * tasks for the threads, each panel loaded once per block */
    int64_t fit = ((int64_t)CPU_SCRATCH_BYTES - 256) / (job.kp * 2) / BF16_MB * BF16_MB;
    int64_t rows = bf16_round_up(M, BF16_MB) < ROWS_PER_TASK ? bf16_round_up(M, BF16_MB) : ROWS_PER_TASK;
    job.rows_per_task = pointwise ? rows : rows < fit ? rows : fit;
    int64_t chunks = (M + job.rows_per_task - 1) / job.rows_per_task, panels = (N + BF16_NR - 1) / BF16_NR;
    job.group_panels = panels;
    while (chunks * ((panels + job.group_panels - 1) / job.group_panels) < 4 * (int64_t)ctx->threads &&
           job.group_panels > 1)
        job.group_panels = (job.group_panels + 1) / 2;
    job.groups = (panels + job.group_panels - 1) / job.group_panels;
    pool_parallel_for(pool, chunks * job.groups, 1, conv_task, &job);
    return INFER_OK;
}

/* one kernel per BF16 mode (gemm_bf16.h) */
BF16_KERNELS(cpu_conv2d_bf16_nhwc_kernels, run,
             .workspace = workspace,
             .prepack_input = prepacks_weight,
             .prepack_size = prepack_size,
             .prepack = prepack)
