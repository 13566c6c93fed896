/* gemm_s8.c — the INT8 GEMM: path selection, weight packing, the scalar reference tile and the threaded
 * driver that applies the fused epilogue per output tile. */
#include <string.h>
#include "cpu_features.h"
#include "gemm_internal.h"
#include "gemm_s8_internal.h"

/* ---- paths ------------------------------------------------------------------ */

#define SCALAR_MR 4
#define SCALAR_NR 8

/* Straight loops over the packed quads; the definition the other paths are tested against. */
static void tile_scalar(int rows, int cols, int64_t K, const void *a_rows, int64_t lda, const void *panel,
                        const s8_tile_ep *ep, void *c, int64_t ldc) {
    const uint8_t *a = a_rows;
    const int8_t *b = panel;
    int32_t acc[SCALAR_MR][SCALAR_NR] = { { 0 } };
    for (int64_t k = 0; k < K; k++) {
        const int8_t *bk = b + k / 4 * (SCALAR_NR * 4) + k % 4;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < SCALAR_NR; j++) acc[i][j] += (int32_t)a[i * lda + k] * bk[j * 4];
    }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) s8_ep_scalar(acc[i][j], i, j, ep, c, ldc);
}

static const s8_arch scalar_arch = { SCALAR_MR, SCALAR_NR, 4, 4, tile_scalar, NULL, NULL , NULL, NULL };

static const s8_arch *arch_of(int path) {
    switch (path) {
    case S8_PATH_SCALAR: return &scalar_arch;
    case S8_PATH_AVX2: return s8_arch_avx2();
    case S8_PATH_AVX_VNNI: return s8_arch_avx_vnni(0);
    case S8_PATH_AVX512_VNNI: return s8_arch_avx512_vnni();
    case S8_PATH_AMX: return s8_arch_amx();
    default: return NULL;
    }
}

int s8_path_supported(int path) {
    if (!arch_of(path)) return 0;
    int isa = cpu_detect_isa(), features = path >= S8_PATH_AVX_VNNI ? cpu_detect_features() : 0;
    switch (path) {
    case S8_PATH_SCALAR: return 1;
    case S8_PATH_AVX2: return isa >= CPU_ISA_AVX2;
    case S8_PATH_AVX_VNNI:
        return (isa >= CPU_ISA_AVX2 && (features & CPU_FEAT_AVX_VNNI)) ||
               (isa >= CPU_ISA_AVX512 && (features & CPU_FEAT_AVX512_VNNI));
    case S8_PATH_AVX512_VNNI: return isa >= CPU_ISA_AVX512 && (features & CPU_FEAT_AVX512_VNNI);
    case S8_PATH_AMX: return isa >= CPU_ISA_AVX512 && (features & CPU_FEAT_AMX_INT8);
    default: return 0;
    }
}

int s8_path_best(void) {
    static const int order[] = { S8_PATH_AMX, S8_PATH_AVX512_VNNI, S8_PATH_AVX_VNNI, S8_PATH_AVX2 };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (s8_path_supported(order[i])) return order[i];
    return S8_PATH_SCALAR;
}

const char *s8_path_name(int path) {
    static const char *names[S8_PATH_COUNT] = { "scalar", "avx2", "avx-vnni", "avx512-vnni", "amx" };
    return path >= 0 && path < S8_PATH_COUNT ? names[path] : "?";
}

/* ---- packing ----------------------------------------------------------------- */

#define HEADER_BYTES 64

static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

static int layout(int path, int64_t K, int64_t N, s8_packed_header *h) {
    const s8_arch *arch = arch_of(path);
    if (!arch || K < 0 || N < 0 || K > GEMM_S8_K_MAX || N > (INT64_MAX >> 20)) return 0;
    memset(h, 0, sizeof *h);
    h->path = path;
    h->nr = arch->nr;
    h->k_group = arch->k_group;
    h->k_align = arch->k_align;
    h->K = K;
    h->N = N;
    h->k_padded = round_up(K > 0 ? K : 1, arch->k_align);
    h->n_padded = round_up(N > 0 ? N : 1, arch->nr);
    h->panel_bytes = round_up(h->k_padded * arch->nr * (arch->k_group == 2 ? 2 : 1), 64);
    return 1;
}

static int64_t sums_bytes(const s8_packed_header *h) { return round_up(h->n_padded * 4, 64); }

size_t gemm_s8_packed_size(int path, int64_t K, int64_t N) {
    s8_packed_header h;
    if (!layout(path, K, N, &h)) return SIZE_MAX;
    int64_t panels = h.n_padded / h.nr;
    if (panels > (INT64_MAX - HEADER_BYTES - sums_bytes(&h)) / h.panel_bytes) return SIZE_MAX;
    return (size_t)(HEADER_BYTES + sums_bytes(&h) + panels * h.panel_bytes);
}

static const s8_packed_header *header_of(const void *packed) { return packed; }
static const int32_t *sums_of(const void *packed) { return (const int32_t *)((const uint8_t *)packed + HEADER_BYTES); }
static const uint8_t *panel_of(const void *packed, int64_t p) {
    const s8_packed_header *h = header_of(packed);
    return (const uint8_t *)packed + HEADER_BYTES + sums_bytes(h) + p * h->panel_bytes;
}

/* W's column of packed k: k itself, or with taps > 0 (k = tap * channels + c) the column c * taps + tap. */
static int64_t source_column(int64_t k, int64_t channels, int64_t taps) {
    return taps > 0 ? k % channels * taps + k / channels : k;
}

static void pack_columns(int path, int64_t K, int64_t N, const int8_t *W, int64_t ldw, int64_t channels, int64_t taps,
                         void *dst) {
    s8_packed_header h;
    if (!layout(path, K, N, &h)) return;
    h.evex = path == S8_PATH_AVX_VNNI && !(cpu_detect_features() & CPU_FEAT_AVX_VNNI);
    memset(dst, 0, gemm_s8_packed_size(path, K, N));
    memcpy(dst, &h, sizeof h);
    int32_t *sums = (int32_t *)((uint8_t *)dst + HEADER_BYTES);
    for (int64_t n = 0; n < N; n++) {
        int32_t s = 0;
        for (int64_t k = 0; k < K; k++) s += W[n * ldw + k];
        sums[n] = s;
    }
    for (int64_t p = 0; p < h.n_padded / h.nr; p++) {
        uint8_t *panel = (uint8_t *)dst + HEADER_BYTES + sums_bytes(&h) + p * h.panel_bytes;
        for (int64_t j = 0; j < h.nr && p * h.nr + j < N; j++) {
            const int8_t *w = W + (p * h.nr + j) * ldw;
            /* at = (k / k_group * nr + j) * k_group + k % k_group, stepped without divisions (a build of ResNet-50
             * packs 25M weights) */
            int64_t row_step = h.nr * h.k_group, base = j * h.k_group;
            for (int64_t k0 = 0; k0 < K; k0 += h.k_group, base += row_step)
                for (int64_t r = 0; r < h.k_group && k0 + r < K; r++) {
                    int8_t wk = w[taps > 0 ? source_column(k0 + r, channels, taps) : k0 + r];
                    if (h.k_group == 2) {
                        int16_t v = wk;
                        memcpy(panel + (base + r) * 2, &v, 2);
                    } else {
                        ((int8_t *)panel)[base + r] = wk;
                    }
                }
        }
    }
}

void gemm_s8_pack(int path, int64_t K, int64_t N, const int8_t *W, int64_t ldw, void *dst) {
    pack_columns(path, K, N, W, ldw, 0, 0, dst);
}

void gemm_s8_pack_taps_last(int path, int64_t channels, int64_t taps, int64_t N, const int8_t *W, void *dst) {
    if (channels < 1 || taps < 1) return;
    pack_columns(path, channels * taps, N, W, channels * taps, channels, taps, dst);
}

int gemm_s8_packed_path(const void *packed) { return header_of(packed)->path; }
int64_t gemm_s8_packed_k(const void *packed) { return header_of(packed)->K; }
int64_t gemm_s8_packed_n(const void *packed) { return header_of(packed)->N; }

/* ---- epilogue ---------------------------------------------------------------- */

const char *gemm_s8_epilogue_problem(const gemm_s8_epilogue *ep) {
    if (!ep || !ep->a_scale || !ep->a_zero || !ep->w_scale) return "the activation and weight scales are missing";
    if (ep->out_u8) {
        if (!(ep->out_scale > 0.0f) || isinf(ep->out_scale)) return "the output scale is not a positive number";
        if (ep->out_zero < 0 || ep->out_zero > 255) return "the output zero point is outside [0, 255]";
        if (ep->act.kind != ACT_NONE && ep->act.kind != ACT_RELU && ep->act.kind != ACT_CLIP)
            return "a u8 output takes only relu or clip as its activation";
    }
    return NULL;
}

void s8_clamp_range(const gemm_s8_epilogue *ep, float *lo, float *hi) {
    if (ep->out_u8) {
        float zo = (float)ep->out_zero, qlo = 0.0f, qhi = 255.0f;
        if (ep->act.kind == ACT_RELU) qlo = zo;
        if (ep->act.kind == ACT_CLIP) {
            float inv = 1.0f / ep->out_scale; /* as the quantizer rounds the clipped value */
            qlo = fmaxf(qlo, fminf(nearbyintf(ep->act.min * inv) + zo, 255.0f));
            qhi = fminf(qhi, fmaxf(nearbyintf(ep->act.max * inv) + zo, 0.0f));
        }
        *lo = qlo - zo;
        *hi = qhi - zo;
        return;
    }
    *lo = -INFINITY;
    *hi = INFINITY;
    if (ep->act.kind == ACT_RELU) *lo = 0.0f;
    if (ep->act.kind == ACT_CLIP) {
        *lo = ep->act.min;
        *hi = ep->act.max;
    }
}

int s8_post_activation(const gemm_s8_epilogue *ep) {
    return !ep->out_u8 && ep->act.kind != ACT_NONE && ep->act.kind != ACT_RELU && ep->act.kind != ACT_CLIP;
}

/* ---- driver ------------------------------------------------------------------ */

typedef struct {
    const s8_arch *arch;
    const s8_packed_header *h;
    const void *packed;
    int64_t M;
    const uint8_t *A;
    int64_t lda;
    uint8_t *C;
    int64_t ldc, elem;
    const gemm_s8_epilogue *ep;
    float lo, hi;
    int isa;                   /* for a post activation */
    int transposed;            /* cpu_gemm_s8_nchw: C is f32 Y, tiles stored transposed with residual and post */
    int64_t k_tile;            /* K the tiles run: K, or k_padded when A's rows are readable that far (zero weights) */
    const float *residual;
    act_params post;
    const gemm_s8_residual *res_u8;
    uint8_t *scratch;
    int64_t block_m, panels_per_block, col_blocks;
} s8_job;

static void run_block(const s8_job *job, uint8_t *scratch, int64_t i0, int64_t i1, int64_t p0, int64_t p1) {
    const s8_arch *arch = job->arch;
    const s8_packed_header *h = job->h;
    const gemm_s8_epilogue *ep = job->ep;
    const void *a = job->A + i0 * job->lda;
    int64_t lda = job->lda;
    if (arch->prep_a) {
        uint8_t *buf = (uint8_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
        lda = arch->prep_a(i1 - i0, h->K, job->A + i0 * job->lda, job->lda, buf);
        a = buf;
    }
    float mult[S8_NR_MAX], off[S8_NR_MAX];
    _Alignas(64) float tile_buf[S8_MR_MAX * S8_NR_MAX], res_tile[S8_MR_MAX * S8_NR_MAX];
    for (int64_t p = p0; p < p1; p++) {
        int64_t j0 = p * h->nr, cols = h->N - j0 < h->nr ? h->N - j0 : h->nr;
        for (int64_t j = 0; j < h->nr; j++) {
            int in = j < cols;
            mult[j] = in ? ep->w_scale[j0 + j] : 0.0f;
            off[j] = in && ep->bias ? ep->bias[j0 + j] : 0.0f;
        }
        for (int64_t i = i0; i < i1; i += arch->mr) {
            int rows = (int)(i1 - i < arch->mr ? i1 - i : arch->mr);
            const gemm_s8_residual *res = job->res_u8;
            if (res && res->f32 && !res->f32_rows) s8_load_nchw(job->isa, rows, (int)cols, res->f32 + j0 * res->ld_f32 + i, res->ld_f32,
                                              res_tile, S8_NR_MAX);
            s8_tile_ep te = { .col_sum = sums_of(job->packed) + j0, .mult = mult, .off = off,
                              .inv_out = ep->out_u8 ? 1.0f / ep->out_scale : 1.0f,
                              .res = res && res->q ? res->q + i * res->ld + j0 : NULL, .ld_res = res ? res->ld : 0,
                              .res_scale = res ? res->scale : 0.0f, .res_zero = res ? res->zero : 0,
                              .res_f32 = !res || !res->f32 ? NULL
                                         : res->f32_rows ? res->f32 + i * res->ld_f32 + j0 : res_tile,
                              .ld_res_f32 = res && res->f32_rows ? res->ld_f32 : S8_NR_MAX,
                              .a_scale = ep->a_scale + (ep->a_per_row ? i : 0),
                              .a_zero = ep->a_zero + (ep->a_per_row ? i : 0), .a_step = ep->a_per_row ? 1 : 0,
                              .lo = job->lo, .hi = job->hi, .out_zero = ep->out_zero, .out_u8 = ep->out_u8 };
            const uint8_t *ai = (const uint8_t *)a + (i - i0) * lda;
            uint8_t *c = job->C + (i * job->ldc + j0) * job->elem;
            int64_t ldc = job->ldc;
            if (job->transposed) { /* the tile goes to L1 first, then transposed into C */
                c = (uint8_t *)tile_buf;
                ldc = S8_NR_MAX;
            }
            arch->tile(rows, (int)cols, job->k_tile, ai, lda, panel_of(job->packed, p), &te, c, ldc);
            if (s8_post_activation(ep)) {
                gemm_epilogue act_only;
                memset(&act_only, 0, sizeof act_only);
                act_only.act = ep->act;
                cpu_epilogue_isa(job->isa, (float *)c, rows, cols, ldc, &act_only, 0, 0);
            }
            if (job->transposed) {
                int64_t at = j0 * job->ldc + i;
                s8_store_nchw(job->isa, rows, (int)cols, tile_buf, S8_NR_MAX, (float *)job->C + at, job->ldc,
                              job->residual ? job->residual + at : NULL, &job->post);
            }
        }
    }
}

static void s8_task(void *arg, int64_t begin, int64_t end, int thread) {
    const s8_job *job = arg;
    int64_t panels = job->h->n_padded / job->h->nr;
    if (job->arch->setup) job->arch->setup();
    for (int64_t t = begin; t < end; t++) {
        int64_t i0 = t / job->col_blocks * job->block_m, p0 = t % job->col_blocks * job->panels_per_block;
        int64_t i1 = i0 + job->block_m < job->M ? i0 + job->block_m : job->M;
        int64_t p1 = p0 + job->panels_per_block < panels ? p0 + job->panels_per_block : panels;
        run_block(job, job->scratch + (size_t)thread * CPU_SCRATCH_BYTES, i0, i1, p0, p1);
    }
    if (job->arch->release) job->arch->release();
}

static void gemm_run(cpu_ctx *ctx, int64_t M, const uint8_t *A, int64_t lda, const void *packed, void *C,
                     int64_t ldc, const gemm_s8_epilogue *ep, int transposed, int whole_rows, const float *residual,
                     act_params post, const gemm_s8_residual *res_u8) {
    const s8_packed_header *h = header_of(packed);
    const s8_arch *arch = h->evex ? s8_arch_avx_vnni(1) : arch_of(h->path);
    if (M <= 0 || h->N <= 0 || !arch) return;
    s8_job job = { arch, h, packed, M, A, lda, C, ldc, ep->out_u8 ? 1 : (int64_t)sizeof(float), ep, 0, 0,
                   ctx->isa, transposed, h->K, residual, post, res_u8, ctx->scratch, 0, 0, 0 };
    /* the padding of K multiplies zero weights: whole rows of lda >= k_padded bytes let the tiles skip their edge
     * copies (amx: K not a multiple of 64) */
    if (whole_rows && !arch->prep_a && lda >= h->k_padded) job.k_tile = h->k_padded;
    s8_clamp_range(ep, &job.lo, &job.hi);
    /* blocks of about 64 rows (those whose prepared copy fits the scratch) by 128 columns */
    int64_t rows = (transposed ? 256 : 64) / arch->mr * arch->mr; /* transposed: longer runs of each channel row */
    if (rows < arch->mr) rows = arch->mr;
    if (arch->prep_a && arch->prep_a_bytes(1, h->K) > 0) {
        int64_t fit = ((int64_t)CPU_SCRATCH_BYTES - 64) / arch->prep_a_bytes(1, h->K) / arch->mr * arch->mr;
        if (fit < rows) rows = fit;
    }
    int64_t panels = h->n_padded / h->nr;
    job.block_m = rows;
    job.panels_per_block = 128 / h->nr > 0 ? 128 / h->nr : 1;
    job.col_blocks = (panels + job.panels_per_block - 1) / job.panels_per_block;
    int64_t tasks = (M + rows - 1) / rows * job.col_blocks;
    int threads = ctx->pool ? pool_size(ctx->pool) : 1;
    if (ctx->threads < threads) threads = ctx->threads;
    if (threads <= 1 || M * h->N * h->K < 32 * 32 * 32) s8_task(&job, 0, tasks, 0);
    else pool_parallel_for(ctx->pool, tasks, 1, s8_task, &job);
}

void cpu_gemm_s8(cpu_ctx *ctx, int64_t M, const uint8_t *A, int64_t lda, const void *packed, void *C, int64_t ldc,
                 const gemm_s8_epilogue *ep) {
    gemm_run(ctx, M, A, lda, packed, C, ldc, ep, 0, 0, NULL, (act_params){ ACT_NONE, 0.0f, 0.0f }, NULL);
}

void cpu_gemm_s8_whole_rows(cpu_ctx *ctx, int64_t M, const uint8_t *A, int64_t lda, const void *packed, void *C,
                            int64_t ldc, const gemm_s8_epilogue *ep, const gemm_s8_residual *res) {
    gemm_run(ctx, M, A, lda, packed, C, ldc, ep, 0, 1, NULL, (act_params){ ACT_NONE, 0.0f, 0.0f }, res);
}

void cpu_gemm_s8_nchw(cpu_ctx *ctx, int64_t M, const uint8_t *A, int64_t lda, const void *packed, float *Y,
                      int64_t ldy, const gemm_s8_epilogue *ep, const float *residual, act_params post,
                      const gemm_s8_residual *res_u8) {
    gemm_s8_epilogue e = *ep;
    e.out_u8 = 0;
    gemm_run(ctx, M, A, lda, packed, Y, ldy, &e, 1, 1, residual, post, res_u8);
}
