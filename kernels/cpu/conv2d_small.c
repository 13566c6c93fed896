/* conv2d_small.c — convolutions with few output positions (7x7 images at batch 1) as the transposed GEMM
 * Cᵀ[positions, out channels] = columnsᵀ · Wᵀ, then transposed into NCHW with the epilogue. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "conv2d.h"
#include "gemm_internal.h"

/* Why transposed: with the positions as the GEMM's columns, 49 = 32 + 17 and 196 = 6 x 32 + 4 leave the
 * micro-kernel's last column sliver mostly padding (49 columns cost 64), and two threads split the positions, so
 * each streams all the weights. Transposed, the output channels (multiples of 32 in the models) fill the vectors,
 * a partial row sliver costs only its rows, and two threads split the output channels: half the weights each.
 * The weights are prepacked at build as the GEMM's column slivers (Wᵀ); the columns are packed straight from the
 * image as its row slivers (conv_pack_columns with nr = the micro-kernel's mr), once, by all threads. At 14x14 the
 * padding is small and packing plus the transpose cost more than it saves (bench/RESULTS.md): conv_small_takes. */

#define SMALL_MAGIC 0x534d4c4cu /* "SMLL" */

/* In front of the slivers, 64 bytes so that they start on a cache line. */
typedef struct {
    uint32_t magic;
    int32_t isa;
    int64_t out_channels, columns; /* the transposed GEMM's N and K */
    uint8_t pad[40];
} small_header;

int conv_small_takes(const conv_geometry *g) {
    int64_t ohw = g->out_height * g->out_width, positions = g->batch * ohw;
    int pointwise = g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 0 &&
                    g->pad_w == 0; /* packed rows read its image in place: no packing to share, measured 0.83-1.03x */
    return g->groups == 1 && !pointwise && ohw > GEMM_SMALL_M && positions >= CONV_SMALL_MIN_POSITIONS &&
           positions <= CONV_SMALL_MAX_POSITIONS && g->out_channels >= CONV_SMALL_MIN_CHANNELS &&
           g->channels * g->kernel_h * g->kernel_w >= CONV_SMALL_MIN_DEPTH;
}

/* The geometry of a groups-1 convolution with f32 weights; 0 for any other. */
static int geometry_of_node(const ir_node *n, const infer_tensor *in, conv_geometry *g) {
    return n->n_in >= 2 && in[1].data && in[1].dtype == INFER_F32 && conv_geometry_of_inputs(n, in, g) &&
           g->groups == 1 && g->out_channels > 0 && g->channels > 0 && g->kernel_h > 0 && g->kernel_w > 0 &&
           g->batch > 0;
}

size_t conv_small_prepack_size(const ir_node *n, const infer_tensor *in, int isa, int force) {
    conv_geometry g;
    if (!geometry_of_node(n, in, &g) || (!force && !conv_small_takes(&g))) return 0;
    size_t bytes = cpu_sgemm_packed_b_size(isa, g.channels * g.kernel_h * g.kernel_w, g.out_channels);
    return bytes == 0 || bytes == SIZE_MAX || bytes > SIZE_MAX / 2 ? 0 : sizeof(small_header) + bytes;
}

void conv_small_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    conv_geometry g;
    if (!geometry_of_node(n, in, &g)) return; /* the size was 0 */
    small_header *h = dst;
    memset(h, 0, sizeof *h);
    h->magic = SMALL_MAGIC;
    h->isa = isa;
    h->out_channels = g.out_channels;
    h->columns = g.channels * g.kernel_h * g.kernel_w;
    /* Wᵀ [K, out channels]: W [out channels, K] row-major read transposed */
    cpu_sgemm_pack_b(isa, 1, h->columns, h->out_channels, in[1].data, h->columns, (float *)(h + 1));
}

int conv_small_packed(const void *prepacked, int isa) {
    const small_header *h = prepacked;
    return h && h->magic == SMALL_MAGIC && h->isa == isa;
}

int conv_small_describe(const void *packed, char *buf, size_t size) {
    const small_header *h = packed;
    if (!h || h->magic != SMALL_MAGIC) return 0;
    snprintf(buf, size, "small image: transposed GEMM");
    return 1;
}

static const float *small_weights(const void *prepacked, const conv_geometry *g, int isa) {
    const small_header *h = prepacked;
    if (!h || h->magic != SMALL_MAGIC || h->isa != isa || g->groups != 1 || h->out_channels != g->out_channels ||
        h->columns != g->channels * g->kernel_h * g->kernel_w)
        return NULL;
    return (const float *)(h + 1);
}

/* The columns packed whole as the GEMM's row slivers (at most GEMM_MR_MAX rows each), then Cᵀ. */
static int64_t packed_columns_floats(const conv_geometry *g) {
    int64_t positions = g->batch * g->out_height * g->out_width;
    return (positions + GEMM_MR_MAX - 1) / GEMM_MR_MAX * GEMM_MR_MAX * g->channels * g->kernel_h * g->kernel_w;
}

size_t conv_small_workspace(const conv_geometry *g) {
    if (g->groups != 1 || g->batch < 1 || g->out_channels < 1 || g->channels < 1) return 0;
    int64_t positions = g->batch * g->out_height * g->out_width, k = g->channels * g->kernel_h * g->kernel_w;
    if (positions < 1 || k < 1 || positions > (int64_t)(SIZE_MAX / 16) / (g->out_channels + k + GEMM_MR_MAX)) return 0;
    return (size_t)(packed_columns_floats(g) + positions * g->out_channels) * sizeof(float) + 64;
}

typedef struct {
    const conv_columns *cols;
    int isa, mr;
    int64_t k;
    float *dst;
} pack_job;

/* Row slivers [begin, end) of the packed columns: positions mr at a time, all K taps, k-major. */
static void pack_task(void *arg, int64_t begin, int64_t end, int thread) {
    const pack_job *pj = arg;
    const conv_geometry *g = pj->cols->g;
    int64_t positions = g->batch * g->out_height * g->out_width;
    (void)thread;
    for (int64_t s = begin; s < end; s++) {
        int64_t j0 = s * pj->mr, n = positions - j0 < pj->mr ? positions - j0 : pj->mr;
        conv_pack_columns(pj->cols, pj->isa, pj->mr, 0, pj->k, j0, n, pj->dst + s * pj->mr * pj->k);
    }
}

/* Cᵀ [positions, out channels] into y (NCHW), with the residual added and the activation applied when there is a
 * residual (else the GEMM fused it). Each element of the residual is read before that element of y is written, so
 * the residual may share y's storage. */
static void transpose_portable(const conv_geometry *g, const float *ct, const float *residual, const act_params *act,
                               float *y) {
    int64_t ohw = g->out_height * g->out_width, m = g->out_channels;
    for (int64_t i = 0; i < g->batch; i++, ct += ohw * m, y += ohw * m, residual = residual ? residual + ohw * m : NULL)
        for (int64_t o = 0; o < m; o++)
            for (int64_t q = 0; q < ohw; q++) {
                float v = ct[q * m + o];
                y[o * ohw + q] = residual ? act_apply(act, v + residual[o * ohw + q]) : v;
            }
}

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

/* As transpose_portable: 16 positions of one output channel at a time, gathered m floats apart. */
AVX512 static void transpose_avx512(const conv_geometry *g, const float *ct, const float *residual,
                                    const act_params *act, float *y) {
    int64_t ohw = g->out_height * g->out_width, m = g->out_channels;
    __m512i index = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                       _mm512_set1_epi32((int)m));
    int relu = act->kind == ACT_RELU, clip = act->kind == ACT_CLIP, other = !relu && !clip && act->kind != ACT_NONE;
    __m512 lo = _mm512_set1_ps(act->min), hi = _mm512_set1_ps(act->max);
    for (int64_t i = 0; i < g->batch; i++, ct += ohw * m, y += ohw * m, residual = residual ? residual + ohw * m : NULL)
        for (int64_t o = 0; o < m; o++) {
            float *yo = y + o * ohw;
            for (int64_t q = 0; q < ohw; q += 16) {
                __mmask16 k = ohw - q >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (ohw - q)) - 1);
                __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), k, index, ct + q * m + o, 4);
                if (residual) {
                    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, residual + o * ohw + q));
                    if (relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
                    else if (clip) v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));
                }
                _mm512_mask_storeu_ps(yo + q, k, v);
            }
            if (residual && other)
                for (int64_t q = 0; q < ohw; q++) yo[q] = act_apply(act, yo[q]);
        }
}
#endif

static void transpose_out(int isa, const conv_geometry *g, const float *ct, const float *residual,
                          const act_params *act, float *y) {
#if defined(__x86_64__)
    if (isa >= CPU_ISA_AVX512 && g->out_channels <= INT32_MAX / 16) {
        transpose_avx512(g, ct, residual, act, y);
        return;
    }
#endif
    (void)isa;
    transpose_portable(g, ct, residual, act, y);
}

int conv2d_small(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *bias, const float *residual,
                 const act_params *act, float *y) {
    const float *wt = small_weights(ctx->prepacked, g, ctx->isa);
    size_t bytes = conv_small_workspace(g);
    if (!wt || !bytes || !ctx->workspace || ctx->workspace_bytes < bytes) return 0;
    float *packed = (float *)(((uintptr_t)ctx->workspace + 63) & ~(uintptr_t)63), *ct = packed + packed_columns_floats(g);
    int64_t positions = g->batch * g->out_height * g->out_width, k = g->channels * g->kernel_h * g->kernel_w;
    int mr = cpu_sgemm_mr(ctx->isa);
    conv_columns cols = { g, x, g->channels * g->height * g->width };
    pack_job pj = { &cols, ctx->isa, mr, k, packed };
    pool_parallel_for(ctx->pool, (positions + mr - 1) / mr, 1, pack_task, &pj);
    /* bias per output channel: a column of Cᵀ; the activation fused unless a residual comes first */
    gemm_epilogue ep = { bias, 0, NULL, 0, residual ? (act_params){ ACT_NONE, 0, 0 } : *act };
    gemm_packed_ab(ctx, ctx->isa, positions, g->out_channels, k, packed, wt, ct, g->out_channels, &ep);
    transpose_out(ctx->isa, g, ct, residual, act, y);
    return 1;
}
