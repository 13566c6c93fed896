/* gemm_bf16.c — BF16 GEMM drivers: FP32 to BF16 conversion and panel packing, tiles into C with the
 * epilogue, threading over panels and row chunks; the choice of the BF16 kernels for a CPU. */
#include <string.h>
#include "gemm_bf16.h"
#include "gemm_internal.h"
#include "cpu_features.h"
#include "../../base/half.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

int cpu_bf16_choose(int isa, int features, infer_cpu_bf16 option) {
    int avx512 = isa >= CPU_ISA_AVX512 && (features & CPU_FEAT_AVX512_BF16);
    int amx = isa >= CPU_ISA_AVX512 && (features & CPU_FEAT_AMX_BF16);
    switch (option) {
    case INFER_CPU_BF16_AUTO: return amx ? (avx512 ? CPU_BF16_AMX_AUTO : CPU_BF16_AMX) : avx512 ? CPU_BF16_AVX512 : -1;
    case INFER_CPU_BF16_AVX512: return avx512 ? CPU_BF16_AVX512 : -1;
    case INFER_CPU_BF16_AMX: return amx ? CPU_BF16_AMX : -1;
    }
    return -1;
}

/* ---- conversion and packing ------------------------------------------------------------------ */

size_t bf16_panels_size(int64_t K, int64_t N) {
    if (K <= 0 || N <= 0) return 0;
    int64_t kp = bf16_round_up(K, BF16_KB), cols = bf16_round_up(N, BF16_NR);
    if (cols > (int64_t)(SIZE_MAX / 4) / kp) return SIZE_MAX;
    return (size_t)(kp * cols) * sizeof(uint16_t);
}

void bf16_pack_panels(int64_t K, int64_t N, const float *b, int64_t k_step, int64_t j_step, uint16_t *dst) {
    int64_t kp = bf16_round_up(K, BF16_KB);
    for (int64_t j0 = 0; j0 < N; j0 += BF16_NR, dst += kp * BF16_NR)
        for (int64_t p = 0; p < kp / 2; p++)
            for (int j = 0; j < BF16_NR; j++)
                for (int h = 0; h < 2; h++) {
                    int64_t k = 2 * p + h, col = j0 + j;
                    dst[p * 2 * BF16_NR + 2 * j + h] = k < K && col < N ? bf16_from_float(b[k * k_step + col * j_step]) : 0;
                }
}

#if defined(__x86_64__)
#include "bf16_round.h"

TARGET512 void bf16_panel_from_sliver(int64_t K, const float *sliver, uint16_t *panel) {
    int64_t kp = bf16_round_up(K, BF16_KB);
    for (int64_t p = 0; p < kp / 2; p++, panel += 2 * BF16_NR) {
        int64_t k = 2 * p;
        for (int v = 0; v < 2; v++) {
            __m512i lo = k < K ? round_bf16_hi(_mm512_loadu_ps(sliver + k * BF16_NR + 16 * v)) : _mm512_setzero_si512();
            __m512i hi = k + 1 < K ? round_bf16_hi(_mm512_loadu_ps(sliver + (k + 1) * BF16_NR + 16 * v))
                                   : _mm512_setzero_si512();
            _mm512_storeu_si512(panel + 32 * v, _mm512_or_si512(_mm512_srli_epi32(lo, 16), hi));
        }
    }
}

TARGET512 void bf16_convert_rows(int64_t rows, int64_t K, const float *src, int64_t ld, uint16_t *dst, int64_t dst_ld) {
    int64_t kp = bf16_round_up(K, BF16_KB);
    for (int64_t i = 0; i < rows; i++, src += ld, dst += dst_ld)
        for (int64_t k = 0; k < kp; k += 16) {
            __mmask16 m = K - k >= 16 ? (__mmask16)0xffff : K - k > 0 ? (__mmask16)((1u << (K - k)) - 1) : 0;
            __m512i r = round_bf16_hi(_mm512_maskz_loadu_ps(m, src + k));
            _mm256_storeu_si256((__m256i *)(dst + k), _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16)));
        }
}
#else
void bf16_panel_from_sliver(int64_t K, const float *sliver, uint16_t *panel) {
    int64_t kp = bf16_round_up(K, BF16_KB);
    for (int64_t p = 0; p < kp / 2; p++)
        for (int j = 0; j < 2 * BF16_NR; j++) {
            int64_t k = 2 * p + (j & 1);
            panel[p * 2 * BF16_NR + j] = k < K ? bf16_from_float(sliver[k * BF16_NR + j / 2]) : 0;
        }
}

void bf16_convert_rows(int64_t rows, int64_t K, const float *src, int64_t ld, uint16_t *dst, int64_t dst_ld) {
    int64_t kp = bf16_round_up(K, BF16_KB);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < kp; k++) dst[i * dst_ld + k] = k < K ? bf16_from_float(src[i * ld + k]) : 0;
}
#endif

/* ---- tiles into C ------------------------------------------------------------------------------ */

/* rows x run of tmp (ld BF16_NR) at C's (row0, pos) of one image: + bias + residual (read before C is written:
 * it may be C's storage), relu or clip, stored to c; other activations are left to the caller (stored to tmp). */
#if defined(__x86_64__)
TARGET512 static int sink_rows(float *tmp, int rows, int run, float *c, int64_t ldc, const float *res, int64_t ldr,
                               const gemm_epilogue *ep, int64_t row0, int64_t pos) {
    int relu = ep && ep->act.kind == ACT_RELU, clip = ep && ep->act.kind == ACT_CLIP;
    int other = ep && !relu && !clip && ep->act.kind != ACT_NONE;
    const float *bias = ep ? ep->bias : NULL;
    int per_row = ep && ep->bias_per_row;
    __m512 lo = _mm512_set1_ps(clip ? ep->act.min : 0.0f), hi = _mm512_set1_ps(clip ? ep->act.max : 0.0f);
    for (int i = 0; i < rows; i++) {
        __m512 row_bias = _mm512_set1_ps(bias && per_row ? bias[row0 + i] : 0.0f);
        for (int j = 0; j < run; j += 16) {
            __mmask16 m = run - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (run - j)) - 1);
            __m512 x = _mm512_maskz_loadu_ps(m, tmp + i * BF16_NR + j);
            if (bias) x = _mm512_add_ps(x, per_row ? row_bias : _mm512_maskz_loadu_ps(m, bias + pos + j));
            if (res) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, res + i * ldr + j));
            if (relu) x = _mm512_max_ps(x, _mm512_setzero_ps());
            else if (clip) x = _mm512_min_ps(hi, _mm512_max_ps(lo, x));
            if (other) _mm512_mask_storeu_ps(tmp + i * BF16_NR + j, m, x);
            else _mm512_mask_storeu_ps(c + i * ldc + j, m, x);
        }
    }
    return other;
}
#else
static int sink_rows(float *tmp, int rows, int run, float *c, int64_t ldc, const float *res, int64_t ldr,
                     const gemm_epilogue *ep, int64_t row0, int64_t pos) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < run; j++) {
            float x = tmp[i * BF16_NR + j];
            if (ep && ep->bias) x += ep->bias_per_row ? ep->bias[row0 + i] : ep->bias[pos + j];
            if (res) x += res[i * ldr + j];
            if (ep) x = act_apply(&ep->act, x);
            c[i * ldc + j] = x;
        }
    return 0;
}
#endif

/* tmp [rows][BF16_NR] at C's (row0, col0), per stretch of columns within one image. */
static void sink_tile(const bf16_sink *s, float *tmp, int64_t row0, int rows, int64_t col0, int ncols) {
    const gemm_epilogue *ep = s->ep;
    for (int j = 0; j < ncols;) {
        int64_t q = col0 + j, image = q / s->image_cols, pos = q % s->image_cols;
        int run = (int)(s->image_cols - pos < ncols - j ? s->image_cols - pos : ncols - j);
        float *t = tmp + j, *c = s->c + image * s->image_stride + row0 * s->ldc + pos;
        const float *res = ep && ep->residual ? ep->residual + image * s->image_stride + row0 * ep->ld_residual + pos : NULL;
        if (sink_rows(t, rows, run, c, s->ldc, res, ep ? ep->ld_residual : 0, ep, row0, pos)) {
            gemm_epilogue act_only = { NULL, 0, NULL, 0, ep->act };
            cpu_epilogue_isa(s->isa, t, rows, run, BF16_NR, &act_only, 0, 0);
            for (int i = 0; i < rows; i++) memcpy(c + i * s->ldc, t + i * BF16_NR, (size_t)run * sizeof(float));
        }
        j += run;
    }
}

void bf16_panel_rows(int mode, int64_t row0, int64_t row1, int64_t kp, const uint16_t *a, int64_t lda,
                     const uint16_t *panels, int64_t col0, int ncols, const bf16_sink *sink) {
    _Alignas(64) float tmp[BF16_MB * BF16_NR];
    for (int64_t i = row0; i < row1; i += BF16_MB) {
        int rows = (int)(row1 - i < BF16_MB ? row1 - i : BF16_MB);
        int amx = mode == CPU_BF16_AMX || (mode == CPU_BF16_AMX_AUTO && rows >= BF16_AMX_MIN_ROWS);
        for (int j = 0; j < ncols; j += BF16_NR) {
            const uint16_t *panel = panels + (int64_t)(j / BF16_NR) * kp * BF16_NR;
            if (amx) bf16_tile_amx(rows, kp, a + i * lda, lda, panel, tmp);
            else bf16_tile_avx512(rows, kp, a + i * lda, lda, panel, tmp);
            sink_tile(sink, tmp, i, rows, col0 + j, ncols - j < BF16_NR ? ncols - j : BF16_NR);
        }
    }
}

static int uses_amx(int mode) { return mode == CPU_BF16_AMX || mode == CPU_BF16_AMX_AUTO; }

/* ---- A converted, B prepacked ------------------------------------------------------------------ */

#define ROW_CHUNK 128 /* rows of C per task (a multiple of BF16_MB) */

size_t bf16_a_workspace(int64_t M, int64_t K) {
    if (M <= 0 || K <= 0) return 0;
    int64_t kp = bf16_round_up(K, BF16_KB), rows = bf16_round_up(M, BF16_ROWS_PAD);
    if (rows > (int64_t)(SIZE_MAX / 4) / kp) return SIZE_MAX;
    return (size_t)(rows * kp) * sizeof(uint16_t);
}

typedef struct {
    cpu_ctx *ctx;
    int mode;
    int64_t M, N, K, kp, lda, row_chunks;
    const float *A;
    uint16_t *a; /* A in bf16 */
    const uint16_t *Bp;
    bf16_sink sink;
} packed_b_job;

static void convert_task(void *arg, int64_t begin, int64_t end, int thread) {
    const packed_b_job *job = arg;
    (void)thread;
    bf16_convert_rows(end - begin, job->K, job->A + begin * job->lda, job->lda, job->a + begin * job->kp, job->kp);
}

/* Panels per task: C is written (and a residual read) a group's width along each row, which the prefetchers
 * follow, rather than one panel's 128 bytes per row down a whole column. */
#define GROUP_PANELS 8

static void packed_b_task(void *arg, int64_t begin, int64_t end, int thread) {
    const packed_b_job *job = arg;
    int mode = job->mode;
    (void)thread;
    if (uses_amx(mode)) bf16_amx_configure();
    for (int64_t t = begin; t < end; t++) {
        int64_t group = t / job->row_chunks, r0 = t % job->row_chunks * ROW_CHUNK;
        int64_t r1 = r0 + ROW_CHUNK < job->M ? r0 + ROW_CHUNK : job->M, col0 = group * GROUP_PANELS * BF16_NR;
        int ncols = (int)(job->N - col0 < GROUP_PANELS * BF16_NR ? job->N - col0 : GROUP_PANELS * BF16_NR);
        bf16_panel_rows(mode, r0, r1, job->kp, job->a, job->kp, job->Bp + col0 * job->kp, col0, ncols, &job->sink);
    }
    if (uses_amx(mode)) bf16_amx_release();
}

void bf16_gemm_packed_b(cpu_ctx *ctx, int mode, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                        const uint16_t *Bp, float *C, int64_t ldc, const gemm_epilogue *ep) {
    if (M <= 0 || N <= 0) return;
    packed_b_job job = { ctx, mode, M, N, K, bf16_round_up(K, BF16_KB), lda, (M + ROW_CHUNK - 1) / ROW_CHUNK, A,
                         ctx->workspace, Bp, { C, ldc, N, 0, ep, ctx->isa } };
    pool_parallel_for(ctx->pool, M, 16, convert_task, &job);
    int64_t pad = bf16_round_up(M, BF16_ROWS_PAD) - M;
    if (pad) memset(job.a + M * job.kp, 0, (size_t)(pad * job.kp) * sizeof(uint16_t));
    int64_t groups = (N + GROUP_PANELS * BF16_NR - 1) / (GROUP_PANELS * BF16_NR);
    pool_parallel_for(ctx->pool, groups * job.row_chunks, 1, packed_b_task, &job);
}

/* ---- A prepacked, B from a packer ----------------------------------------------------------------- */

typedef struct {
    cpu_ctx *ctx;
    int mode;
    int64_t M, N, K, kp, rows_per_task, row_tasks, group_cols;
    const uint16_t *a;
    void (*pack)(const void *src, int isa, int nr, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float *dst);
    const void *src;
    const bf16_sink *sink;
} sourced_job;

static void *align64(uint8_t *p) { return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

/* Tasks: (group of panels, rows); a group's panels are packed into the thread's scratch once per group. */
static void sourced_task(void *arg, int64_t begin, int64_t end, int thread) {
    const sourced_job *job = arg;
    int mode = job->mode;
    uint8_t *scratch = job->ctx->scratch + (size_t)thread * CPU_SCRATCH_BYTES;
    float *sliver = align64(scratch);
    uint16_t *panels = align64((uint8_t *)(sliver + job->K * BF16_NR));
    int64_t packed = -1;
    if (uses_amx(mode)) bf16_amx_configure();
    for (int64_t t = begin; t < end; t++) {
        int64_t group = t / job->row_tasks, r0 = t % job->row_tasks * job->rows_per_task;
        int64_t r1 = r0 + job->rows_per_task < job->M ? r0 + job->rows_per_task : job->M, col0 = group * job->group_cols;
        int ncols = (int)(job->N - col0 < job->group_cols ? job->N - col0 : job->group_cols);
        if (packed != group) {
            for (int j = 0; j < ncols; j += BF16_NR) {
                job->pack(job->src, job->ctx->isa, BF16_NR, 0, job->K, col0 + j, ncols - j < BF16_NR ? ncols - j : BF16_NR,
                          sliver);
                bf16_panel_from_sliver(job->K, sliver, panels + (int64_t)(j / BF16_NR) * job->kp * BF16_NR);
            }
            packed = group;
        }
        bf16_panel_rows(mode, r0, r1, job->kp, job->a, job->kp, panels, col0, ncols, job->sink);
    }
    if (uses_amx(mode)) bf16_amx_release();
}

void bf16_gemm_sourced_b(cpu_ctx *ctx, int mode, int64_t M, int64_t N, int64_t K, const uint16_t *A,
                         void (*pack)(const void *src, int isa, int nr, int64_t k0, int64_t kc, int64_t j0,
                                      int64_t nc, float *dst),
                         const void *src, const bf16_sink *sink) {
    if (M <= 0 || N <= 0) return;
    int64_t kp = bf16_round_up(K, BF16_KB);
    /* as many panels per group as fit the scratch beside the FP32 sliver (at least one: BF16_SOURCED_MAX_K) */
    int64_t fit = ((int64_t)CPU_SCRATCH_BYTES - 256 - K * BF16_NR * 4) / (kp * BF16_NR * 2);
    int64_t group_panels = fit < 1 ? 1 : fit < GROUP_PANELS ? fit : GROUP_PANELS;
    int64_t group_cols = group_panels * BF16_NR, groups = (N + group_cols - 1) / group_cols, row_tasks = 1;
    /* too few groups for the threads: split the rows too (each such task packs its group itself) */
    while (groups * row_tasks < 2 * (int64_t)ctx->threads && row_tasks * 2 * BF16_MB <= M) row_tasks *= 2;
    int64_t rows_per_task = bf16_round_up((M + row_tasks - 1) / row_tasks, BF16_MB);
    row_tasks = (M + rows_per_task - 1) / rows_per_task;
    sourced_job job = { ctx, mode, M, N, K, kp, rows_per_task, row_tasks, group_cols, A, pack, src, sink };
    pool_parallel_for(ctx->pool, groups * row_tasks, 1, sourced_task, &job);
}
