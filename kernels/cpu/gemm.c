/* gemm.c — the GEMM driver: cache blocking, packing, edge tiles, fused epilogue and threading. */
#include <math.h>
#include <string.h>
#include "gemm_internal.h"

/* Products with at most this many multiply-adds skip packing; below PARALLEL_MIN threads do not pay. */
#define GEMM_TINY_MACS 4096
#define GEMM_PARALLEL_MIN_MACS (64 * 64 * 64)
/* k blocks up to this long run their tiles along the rows of C (gemm_blocked): bench/conv_bench, one thread,
 * 1x1 16->96 at 112x112 and 64->256 at 56x56 9-15% faster; with k up to 256 the 1x1 layers of k 144-480 at
 * 7x7-56x56 were 20-40% slower (the B sliver no longer stays in L1) */
#define GEMM_SHORT_K 64

typedef struct {
    int isa;
    int trans_a, trans_b;
    int64_t M, N, K;
    const float *A, *B;
    int64_t lda, ldb;
    float *C;
    int64_t ldc;
    const gemm_epilogue *ep;
    const gemm_b_source *b_source; /* when set, B is packed by it (and B, ldb, trans_b are unused) */
    const float *b_packed;         /* when set, op(B) packed whole by cpu_sgemm_pack_b (B, ldb, trans_b unused) */
    const float *a_packed;         /* when set, A packed whole by cpu_sgemm_pack_a (A, lda, trans_a unused) */
} gemm_problem;

/* ---- portable micro-kernel ---------------------------------------------- */

#define SCALAR_MR 4
#define SCALAR_NR 8

static void ukernel_scalar(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int accumulate,
                           const gemm_tile_ep *ep) {
    float acc[SCALAR_MR][SCALAR_NR] = { { 0 } };
    for (int64_t k = 0; k < kc; k++, a += SCALAR_MR, b += SCALAR_NR)
        for (int i = 0; i < SCALAR_MR; i++)
            for (int j = 0; j < SCALAR_NR; j++) acc[i][j] += a[i] * b[j];
    for (int i = 0; i < SCALAR_MR; i++) {
        for (int j = 0; j < SCALAR_NR; j++) {
            float v = acc[i][j] + (accumulate ? c[i * ldc + j] : 0.0f);
            if (ep && ep->bias) v += ep->bias_per_row ? ep->bias[i] : ep->bias[j];
            if (ep && ep->residual) v += ep->residual[i * ep->ld_residual + j];
            if (ep && ep->clamp == GEMM_CLAMP_RELU) v = v > 0.0f ? v : 0.0f;
            if (ep && ep->clamp == GEMM_CLAMP_CLIP) v = v < ep->lo ? ep->lo : (v > ep->hi ? ep->hi : v);
            c[i * ldc + j] = v;
        }
    }
}

static void small_m_scalar(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, int trans_b,
                           const float *b, int64_t ldb, float *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        const float *ai = a + i * lda;
        if (trans_b) {
            for (int64_t j = 0; j < n; j++) {
                float s = 0.0f;
                for (int64_t p = 0; p < k; p++) s += ai[p] * b[j * ldb + p];
                ci[j] = s;
            }
        } else {
            for (int64_t j = 0; j < n; j++) ci[j] = 0.0f;
            for (int64_t p = 0; p < k; p++)
                for (int64_t j = 0; j < n; j++) ci[j] += ai[p] * b[p * ldb + j];
        }
    }
}

const gemm_arch *gemm_arch_scalar(void) {
    static const gemm_arch arch = { SCALAR_MR, SCALAR_NR, 256, 144, 1536, ukernel_scalar, NULL, small_m_scalar, NULL,
                                    NULL, 0 };
    return &arch;
}

static const gemm_arch *arch_for(int isa) {
    const gemm_arch *arch = NULL;
    if (isa >= CPU_ISA_AVX512) arch = gemm_arch_avx512();
    if (!arch && isa >= CPU_ISA_AVX2) arch = gemm_arch_avx2();
    return arch ? arch : gemm_arch_scalar();
}

/* ---- serial blocked GEMM ------------------------------------------------- */

static const float *a_at(const gemm_problem *p, int64_t i, int64_t k) {
    return p->trans_a ? p->A + k * p->lda + i : p->A + i * p->lda + k;
}

static const float *b_at(const gemm_problem *p, int64_t k, int64_t j) {
    return p->trans_b ? p->B + j * p->ldb + k : p->B + k * p->ldb + j;
}

/* The fused part of the epilogue for the full tile at (row, col); *post_act: an activation that
 * the micro-kernel cannot apply remains. Returns NULL when nothing is fused. */
static const gemm_tile_ep *tile_ep(const gemm_arch *arch, const gemm_epilogue *ep, int64_t row, int64_t col,
                                   gemm_tile_ep *te, int *post_act) {
    *post_act = 0;
    if (!ep) return NULL;
    memset(te, 0, sizeof *te);
    if (ep->bias) {
        te->bias = ep->bias + (ep->bias_per_row ? row : col);
        te->bias_per_row = ep->bias_per_row;
    }
    if (ep->residual) {
        te->residual = ep->residual + row * ep->ld_residual + col;
        te->ld_residual = ep->ld_residual;
    }
    if (ep->act.kind == ACT_RELU) te->clamp = GEMM_CLAMP_RELU;
    else if (ep->act.kind == ACT_CLIP) {
        te->clamp = GEMM_CLAMP_CLIP;
        te->lo = ep->act.min;
        te->hi = ep->act.max;
    } else if (ep->act.kind == ACT_SILU && arch->fuses_sigmoid) te->clamp = GEMM_CLAMP_SILU;
    else if (ep->act.kind == ACT_SIGMOID && arch->fuses_sigmoid) te->clamp = GEMM_CLAMP_SIGMOID;
    else if (ep->act.kind != ACT_NONE) *post_act = 1;
    return te;
}

static void apply_post_act(int isa, float *c, int64_t rows, int64_t cols, int64_t ldc, const gemm_epilogue *ep) {
    gemm_epilogue act_only;
    memset(&act_only, 0, sizeof act_only);
    act_only.act = ep->act;
    cpu_epilogue_isa(isa, c, rows, cols, ldc, &act_only, 0, 0);
}

/* One MR x NR (or smaller, at the edges) tile of C from the B sliver b and the A sliver a: packed
 * (lda 0) or MR rows of A read in place, lda apart (never fewer: no row past A's edge is read). */
static void run_tile(const gemm_arch *arch, const gemm_problem *p, int64_t kc, const float *a, int64_t lda,
                     const float *b, int64_t row, int64_t col, int64_t m, int64_t n, int accumulate, int last) {
    float *c = p->C + row * p->ldc + col;
    /* fewer than MR rows read in place (lda set) go through kernel_m, which reads and writes only those */
    if (n == arch->nr && (m == arch->mr || lda)) {
        gemm_tile_ep te;
        int post_act = 0;
        const gemm_tile_ep *ep = last ? tile_ep(arch, p->ep, row, col, &te, &post_act) : NULL;
        if (m < arch->mr) arch->kernel_m((int)m, kc, a, lda, b, c, p->ldc, accumulate, ep);
        else if (lda) arch->kernel_rows(kc, a, lda, b, c, p->ldc, accumulate, ep);
        else arch->kernel(kc, a, b, c, p->ldc, accumulate, ep);
        if (post_act) apply_post_act(p->isa, c, m, n, p->ldc, p->ep);
        return;
    }
    if (arch->kernel_edge) { /* masked: straight into C with the epilogue fused, as for a whole tile */
        gemm_tile_ep te;
        int post_act = 0;
        const gemm_tile_ep *ep = last ? tile_ep(arch, p->ep, row, col, &te, &post_act) : NULL;
        arch->kernel_edge((int)m, (int)n, kc, a, lda, b, c, p->ldc, accumulate, ep);
        if (post_act) apply_post_act(p->isa, c, m, n, p->ldc, p->ep);
        return;
    }
    float tmp[GEMM_MR_MAX * GEMM_NR_MAX];
    if (lda && m < arch->mr) arch->kernel_m((int)m, kc, a, lda, b, tmp, arch->nr, 0, NULL);
    else if (lda) arch->kernel_rows(kc, a, lda, b, tmp, arch->nr, 0, NULL);
    else arch->kernel(kc, a, b, tmp, arch->nr, 0, NULL);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
            c[i * p->ldc + j] = tmp[i * arch->nr + j] + (accumulate ? c[i * p->ldc + j] : 0.0f);
    if (last) cpu_epilogue_isa(p->isa, c, m, n, p->ldc, p->ep, row, col);
}

/* Rows of A read in place (a convolution's weights) come from memory when a block's first column sliver
 * reads them (a model's other layers evicted them), in streams of kc floats per row: too short for the
 * hardware prefetcher, so the tiles waited for memory (bench/conv_bench "cold": a 1x1 512->2048 layer at
 * 7x7 took 1.5x its time with the weights in cache). The next block's rows are fetched into L2 instead, a
 * share with each tile of this block, so that the reads spread over the whole block. */
typedef struct {
    const char *base;          /* the next block's first row at its k offset; NULL: no next block */
    int64_t row_bytes, ld;     /* bytes of each row to fetch, bytes between rows */
    int64_t lines_per_row, lines, per_tile, done;
    int64_t row, col; /* where line `done` is: no division per line */
} a_prefetch;

static void a_prefetch_plan(const gemm_problem *p, const gemm_arch *arch, int64_t ic, int64_t mc, int64_t i0,
                            int64_t i1, int64_t pc, int64_t kc_even, int64_t nc, a_prefetch *f) {
    int64_t row = ic + mc, k = pc, rows;
    if (row >= i1) {
        row = i0;
        k = pc + kc_even;
    }
    f->base = NULL;
    if (k >= p->K || p->trans_a) return;
    rows = i1 - row < arch->mc ? i1 - row : arch->mc;
    int64_t kc = p->K - k < kc_even ? p->K - k : kc_even;
    f->base = (const char *)a_at(p, row, k);
    f->row_bytes = kc * (int64_t)sizeof(float);
    f->ld = p->lda * (int64_t)sizeof(float);
    f->lines_per_row = (f->row_bytes + 63) / 64;
    f->lines = rows * f->lines_per_row;
    int64_t tiles = (nc + arch->nr - 1) / arch->nr * ((mc + arch->mr - 1) / arch->mr);
    f->per_tile = (f->lines + tiles - 1) / tiles;
    f->done = 0;
    f->row = 0;
    f->col = 0;
}

static void a_prefetch_step(a_prefetch *f) {
    if (!f->base) return;
    int64_t end = f->done + f->per_tile < f->lines ? f->done + f->per_tile : f->lines;
    for (int64_t l = f->done; l < end; l++) {
        __builtin_prefetch(f->base + f->row * f->ld + f->col * 64, 0, 2);
        if (++f->col == f->lines_per_row) {
            f->col = 0;
            f->row++;
        }
    }
    f->done = end;
}

/* With both operands packed (conv2d_small.c's transposed GEMM), a B sliver (the weights) comes from memory when the
 * first tile of its column reads it: share `part` of `parts` of the next sliver's floats is fetched into L2 with each
 * tile of this one (3-5% on a 7x7 3x3 layer at one thread; GEMM_B_PREFETCH 0 turns it off for such A/Bs). */
#ifndef GEMM_B_PREFETCH
#define GEMM_B_PREFETCH 1
#endif
static void b_prefetch_share(const float *next, int64_t floats, int64_t part, int64_t parts) {
    int64_t lines = (floats + 15) / 16, from = lines * part / parts, to = lines * (part + 1) / parts;
    for (int64_t l = from; l < to; l++) __builtin_prefetch(next + l * 16, 0, 2);
}

static float *align64(uint8_t *p) { return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

/* C[i0:i1, j0:j1] by the Goto loop nest: B block kc x nc and A block mc x kc packed into scratch (B not
 * at all when prepacked: j0 is then a multiple of NR); a row-major A is read in place where the ISA has a
 * kernel for it (all its rows with kernel_m, else whole slivers). */
static void gemm_blocked(const gemm_arch *arch, uint8_t *scratch, const gemm_problem *p, int64_t i0,
                         int64_t i1, int64_t j0, int64_t j1) {
    int direct_a = arch->kernel_rows && !p->trans_a && !p->a_packed;
    float *ap = align64(scratch);
    float *bp = align64((uint8_t *)(ap + (size_t)arch->mc * arch->kc));
    int64_t b_step = p->b_packed ? p->K : 0; /* floats between B slivers' columns: kc when packed here */
    int64_t k_blocks = (p->K + arch->kc - 1) / arch->kc, kc_even = (p->K + k_blocks - 1) / k_blocks;
    for (int64_t jc = j0; jc < j1; jc += arch->nc) {
        int64_t nc = j1 - jc < arch->nc ? j1 - jc : arch->nc;
        for (int64_t pc = 0; pc < p->K; pc += kc_even) {
            int64_t kc = p->K - pc < kc_even ? p->K - pc : kc_even;
            int last = pc + kc == p->K;
            const float *b_block = bp;
            if (p->b_packed) b_block = p->b_packed + jc * p->K + pc * arch->nr;
            else if (p->b_source) p->b_source->pack(p->b_source->src, p->isa, arch->nr, pc, kc, jc, nc, bp);
            else gemm_pack_b(p->isa, arch->nr, kc, nc, b_at(p, pc, jc), p->ldb, p->trans_b, bp);
            for (int64_t ic = i0; ic < i1; ic += arch->mc) {
                int64_t mc = i1 - ic < arch->mc ? i1 - ic : arch->mc;
                /* rows read in place: whole slivers; the rest is packed (at ap) */
                int64_t in_place = !direct_a ? 0 : arch->kernel_m ? mc : mc / arch->mr * arch->mr;
                if (in_place < mc && !p->a_packed)
                    gemm_pack_a(p->isa, arch->mr, mc - in_place, kc, a_at(p, ic + in_place, pc), p->lda, p->trans_a,
                                ap);
                a_prefetch pf = { NULL, 0, 0, 0, 0, 0, 0, 0, 0 };
                if (in_place) a_prefetch_plan(p, arch, ic, mc, i0, i1, pc, kc_even, nc, &pf);
                /* Tiles column sliver by column sliver (the B sliver stays in L1 while A streams from L2), but
                 * row sliver by row sliver when k is short: then a tile is mostly its stores, and going along
                 * the rows of C keeps mr write streams instead of one per row of the block */
                int64_t slivers_j = (nc + arch->nr - 1) / arch->nr, slivers_i = (mc + arch->mr - 1) / arch->mr;
                int rows_outer = kc <= GEMM_SHORT_K;
                for (int64_t t = 0; t < slivers_j * slivers_i; t++) {
                    int64_t jr = (rows_outer ? t % slivers_j : t / slivers_i) * arch->nr;
                    int64_t ir = (rows_outer ? t / slivers_j : t % slivers_i) * arch->mr;
                    int64_t n = nc - jr < arch->nr ? nc - jr : arch->nr;
                    int64_t m = mc - ir < arch->mr ? mc - ir : arch->mr;
                    int direct = ir < in_place;
                    if (direct) a_prefetch_step(&pf); /* a share of the next block's rows of A */
                    const float *a = direct ? a_at(p, ic + ir, pc)
                                     : p->a_packed ? p->a_packed + (ic + ir) * p->K + pc * arch->mr
                                                   : ap + (ir - in_place) * kc;
                    if (GEMM_B_PREFETCH && p->b_packed && p->a_packed && !rows_outer && jr + arch->nr < nc)
                        b_prefetch_share(b_block + (jr + arch->nr) * b_step, kc * arch->nr, ir / arch->mr, slivers_i);
                    run_tile(arch, p, kc, a, direct ? p->lda : 0, b_block + jr * (b_step ? b_step : kc), ic + ir,
                             jc + jr, m, n, pc > 0, last);
                }
            }
        }
    }
}

/* Straight loops for products too small to amortize packing. */
static void gemm_tiny(const gemm_problem *p, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < j1; j++) {
            float s = 0.0f;
            for (int64_t k = 0; k < p->K; k++) s += *a_at(p, i, k) * *b_at(p, k, j);
            p->C[i * p->ldc + j] = s;
        }
    cpu_epilogue_isa(p->isa, p->C + i0 * p->ldc + j0, i1 - i0, j1 - j0, p->ldc, p->ep, i0, j0);
}

/* Few columns (n <= GEMM_SMALL_M): as Cᵀ = op(B)ᵀ · op(A)ᵀ through the small-M kernel, which streams
 * A unpacked instead of packing it for a handful of columns. Uses scratch for op(B)ᵀ and Cᵀ; returns 0
 * (doing nothing) when they do not fit. */
static int gemm_small_n(const gemm_arch *arch, uint8_t *scratch, const gemm_problem *p, int64_t i0, int64_t i1,
                        int64_t j0, int64_t j1) {
    int64_t m = i1 - i0, n = j1 - j0, k_dim = p->K;
    size_t floats = (size_t)(n * k_dim) * (p->b_source ? 2 : 1) + (size_t)(n * m) + 48;
    if (floats * sizeof(float) > CPU_SCRATCH_BYTES) return 0;
    float *bt = align64(scratch), *ct = bt + ((n * k_dim + 15) & ~(int64_t)15);
    if (p->b_source) { /* op(B) [K, n] row-major from the packer, then transposed */
        float *b = ct + ((n * m + 15) & ~(int64_t)15);
        p->b_source->pack(p->b_source->src, p->isa, (int)n, 0, k_dim, j0, n, b);
        for (int64_t j = 0; j < n; j++)
            for (int64_t k = 0; k < k_dim; k++) bt[j * k_dim + k] = b[k * n + j];
    } else {
        for (int64_t j = 0; j < n; j++)
            for (int64_t k = 0; k < k_dim; k++) bt[j * k_dim + k] = *b_at(p, k, j0 + j);
    }
    /* op(A)ᵀ as the small kernel's right-hand side: rows of op(A) are A's rows unless A is transposed */
    arch->small_m(n, m, k_dim, bt, k_dim, !p->trans_a, a_at(p, i0, 0), p->lda, ct, m);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) p->C[(i0 + i) * p->ldc + j0 + j] = ct[j * m + i];
    cpu_epilogue_isa(p->isa, p->C + i0 * p->ldc + j0, m, n, p->ldc, p->ep, i0, j0);
    return 1;
}

/* Serial GEMM of the block C[i0:i1, j0:j1], choosing the method by shape. */
static void gemm_range(uint8_t *scratch, const gemm_problem *p, int64_t i0, int64_t i1, int64_t j0,
                       int64_t j1) {
    int64_t m = i1 - i0, n = j1 - j0;
    if (m <= 0 || n <= 0) return;
    if (p->K == 0) {
        for (int64_t i = i0; i < i1; i++) memset(p->C + i * p->ldc + j0, 0, (size_t)n * sizeof(float));
        cpu_epilogue_isa(p->isa, p->C + i0 * p->ldc + j0, m, n, p->ldc, p->ep, i0, j0);
        return;
    }
    const gemm_arch *arch = arch_for(p->isa);
    if (p->b_packed || p->a_packed) { /* a packed A's blocks start on whole slivers (gemm_parallel) */
        gemm_blocked(arch, scratch, p, i0, i1, j0, j1);
        return;
    }
    if (n <= GEMM_SMALL_M && m > GEMM_SMALL_M && gemm_small_n(arch, scratch, p, i0, i1, j0, j1)) return;
    if (p->b_source) {
        gemm_blocked(arch, scratch, p, i0, i1, j0, j1);
        return;
    }
    if (m * n * p->K <= GEMM_TINY_MACS) {
        gemm_tiny(p, i0, i1, j0, j1);
        return;
    }
    if (m <= GEMM_SMALL_M && !p->trans_a) {
        float *c = p->C + i0 * p->ldc + j0;
        arch->small_m(m, n, p->K, a_at(p, i0, 0), p->lda, p->trans_b, b_at(p, 0, j0), p->ldb, c, p->ldc);
        cpu_epilogue_isa(p->isa, c, m, n, p->ldc, p->ep, i0, j0);
        return;
    }
    gemm_blocked(arch, scratch, p, i0, i1, j0, j1);
}

void cpu_sgemm_serial(uint8_t *scratch, int isa, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                      const gemm_epilogue *ep) {
    gemm_problem p = { isa, trans_a, trans_b, M, N, K, A, B, lda, ldb, C, ldc, ep, NULL, NULL, NULL };
    gemm_range(scratch, &p, 0, M, 0, N);
}

/* ---- threading ----------------------------------------------------------- */

typedef struct {
    const gemm_problem *p;
    uint8_t *scratch;
    int64_t grid_n;            /* blocks across N */
    int64_t block_m, block_n;  /* rows and columns per block */
} gemm_job;

static void gemm_task(void *arg, int64_t begin, int64_t end, int thread) {
    const gemm_job *job = arg;
    uint8_t *scratch = job->scratch + (size_t)thread * CPU_SCRATCH_BYTES;
    for (int64_t t = begin; t < end; t++) {
        int64_t i0 = t / job->grid_n * job->block_m, j0 = t % job->grid_n * job->block_n;
        int64_t i1 = i0 + job->block_m < job->p->M ? i0 + job->block_m : job->p->M;
        int64_t j1 = j0 + job->block_n < job->p->N ? j0 + job->block_n : job->p->N;
        gemm_range(scratch, job->p, i0, i1, j0, j1);
    }
}

static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/* Splits C into a grid_m x grid_n grid (grid_m * grid_n <= threads) minimizing each thread's tile
 * area plus the panels it packs; blocks are whole micro-tiles wide. */
static void plan_grid(const gemm_problem *p, const gemm_arch *arch, int threads, gemm_job *job) {
    int small_m = p->M <= GEMM_SMALL_M && !p->trans_a && !p->b_source && !p->b_packed && !p->a_packed;
    int64_t best_cost = INT64_MAX;
    for (int gm = 1; gm <= threads; gm++) {
        int gn = threads / gm;
        if (small_m && gm > 1) break;
        int64_t bm = round_up((p->M + gm - 1) / gm, small_m ? 1 : arch->mr);
        int64_t bn = round_up((p->N + gn - 1) / gn, small_m ? 16 : arch->nr);
        int64_t cost = bm * bn + 4 * (bm + bn);
        if (cost < best_cost) {
            best_cost = cost;
            job->block_m = bm;
            job->block_n = bn;
            job->grid_n = (p->N + bn - 1) / bn;
        }
    }
}

/* Each block of the grid is cut into up to GEMM_SUBBLOCKS pieces of columns, claimed by whichever thread is free
 * (threadpool.c): a thread slowed by a shared core hands the pieces it has not reached to the others instead of
 * making them wait for its whole share. Only across columns, and only where B's block is the larger operand: each
 * piece reads the block's rows of A again (in place or prepacked: no packing), while pieces of rows would each
 * pack B again (a convolution's im2col columns). Pieces keep GEMM_SUBBLOCK_MIN_COLS columns and
 * GEMM_SUBBLOCK_MIN_MACS of work. */
#define GEMM_SUBBLOCKS 4
#define GEMM_SUBBLOCK_MIN_COLS 256
#define GEMM_SUBBLOCK_MIN_MACS ((int64_t)1 << 22)

static void split_blocks(const gemm_problem *p, const gemm_arch *arch, gemm_job *job) {
    int64_t bm = job->block_m, bn = job->block_n;
    if (bn <= bm) return;
    int64_t piece = round_up((bn + GEMM_SUBBLOCKS - 1) / GEMM_SUBBLOCKS, arch->nr);
    if (piece < GEMM_SUBBLOCK_MIN_COLS) piece = round_up(GEMM_SUBBLOCK_MIN_COLS, arch->nr);
    if (piece < bn && piece * bm * p->K >= GEMM_SUBBLOCK_MIN_MACS) {
        job->block_n = piece;
        job->grid_n = (p->N + piece - 1) / piece;
    }
}

/* Runs p on the pool in a grid of blocks, or serially when threads or work are few. */
static void gemm_parallel(cpu_ctx *ctx, const gemm_problem *p) {
    int threads = ctx->pool ? pool_size(ctx->pool) : 1;
    if (ctx->threads < threads) threads = ctx->threads;
    if (threads <= 1 || p->M * p->N * p->K < GEMM_PARALLEL_MIN_MACS) {
        gemm_range(ctx->scratch, p, 0, p->M, 0, p->N);
        return;
    }
    gemm_job job = { p, ctx->scratch, 1, p->M, p->N };
    plan_grid(p, arch_for(ctx->isa), threads, &job);
    if (!(p->M <= GEMM_SMALL_M && !p->trans_a && !p->b_source && !p->b_packed && !p->a_packed))
        split_blocks(p, arch_for(ctx->isa), &job);
    int64_t blocks = ((p->M + job.block_m - 1) / job.block_m) * job.grid_n;
    pool_parallel_for(ctx->pool, blocks, 1, gemm_task, &job);
}

void cpu_sgemm(cpu_ctx *ctx, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, const float *A,
               int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc, const gemm_epilogue *ep) {
    gemm_problem p = { ctx->isa, trans_a, trans_b, M, N, K, A, B, lda, ldb, C, ldc, ep, NULL, NULL, NULL };
    gemm_parallel(ctx, &p);
}

void gemm_sourced_b(cpu_ctx *ctx, uint8_t *scratch, int isa, int64_t M, int64_t N, int64_t K, const float *A,
                    int64_t lda, const gemm_b_source *b, float *C, int64_t ldc, const gemm_epilogue *ep) {
    gemm_problem p = { isa, 0, 0, M, N, K, A, NULL, lda, 0, C, ldc, ep, b, NULL, NULL };
    if (scratch) gemm_range(scratch, &p, 0, M, 0, N);
    else gemm_parallel(ctx, &p);
}

/* ---- prepacked B ----------------------------------------------------------- */

size_t cpu_sgemm_packed_b_size(int isa, int64_t K, int64_t N) {
    if (K <= 0 || N <= 0) return 0;
    int64_t nr = arch_for(isa)->nr, cols = (N + nr - 1) / nr * nr;
    if (cols > (int64_t)(SIZE_MAX / sizeof(float)) / K) return SIZE_MAX;
    return (size_t)(cols * K) * sizeof(float);
}

void cpu_sgemm_pack_b(int isa, int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst) {
    if (K <= 0 || N <= 0) return;
    gemm_pack_b(isa, arch_for(isa)->nr, K, N, B, ldb, trans_b, dst);
}

void cpu_sgemm_packed(cpu_ctx *ctx, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *Bp,
                      float *C, int64_t ldc, const gemm_epilogue *ep) {
    gemm_problem p = { ctx->isa, 0, 0, M, N, K, A, NULL, lda, 0, C, ldc, ep, NULL, Bp, NULL };
    gemm_parallel(ctx, &p);
}

void cpu_sgemm_packed_cols(uint8_t *scratch, int isa, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                           const float *Bp, float *C, int64_t ldc, const gemm_epilogue *ep, int64_t j0, int64_t j1) {
    gemm_problem p = { isa, 0, 0, M, N, K, A, NULL, lda, 0, C, ldc, ep, NULL, Bp, NULL };
    if (j1 > N) j1 = N;
    gemm_range(scratch, &p, 0, M, j0, j1);
}

int cpu_sgemm_nr(int isa) { return arch_for(isa)->nr; }

/* ---- prepacked A ----------------------------------------------------------- */

/* A packed whole into MR-row slivers, each K long (k-major): the micro-kernel reads one contiguous stream per
 * tile instead of MR rows lda apart (a convolution's weights, packed once at engine build). */
size_t cpu_sgemm_packed_a_size(int isa, int64_t M, int64_t K) {
    if (M <= 0 || K <= 0) return 0;
    int64_t mr = arch_for(isa)->mr, rows = (M + mr - 1) / mr * mr;
    if (rows > (int64_t)(SIZE_MAX / sizeof(float)) / K) return SIZE_MAX;
    return (size_t)(rows * K) * sizeof(float);
}

void cpu_sgemm_pack_a(int isa, int64_t M, int64_t K, const float *A, int64_t lda, float *dst) {
    if (M <= 0 || K <= 0) return;
    gemm_pack_a(isa, arch_for(isa)->mr, M, K, A, lda, 0, dst);
}

void gemm_packed_a(cpu_ctx *ctx, uint8_t *scratch, int isa, int64_t M, int64_t N, int64_t K, const float *Ap,
                   const float *B, int64_t ldb, const gemm_b_source *b, float *C, int64_t ldc, const gemm_epilogue *ep) {
    gemm_problem p = { isa, 0, 0, M, N, K, NULL, B, 0, ldb, C, ldc, ep, b, NULL, Ap };
    if (scratch) gemm_range(scratch, &p, 0, M, 0, N);
    else gemm_parallel(ctx, &p);
}

/* ---- A and B both packed ------------------------------------------------------ */

void gemm_packed_ab(cpu_ctx *ctx, int isa, int64_t M, int64_t N, int64_t K, const float *Ap, const float *Bp, float *C,
                    int64_t ldc, const gemm_epilogue *ep) {
    gemm_problem p = { isa, 0, 0, M, N, K, NULL, NULL, 0, 0, C, ldc, ep, NULL, Bp, Ap };
    gemm_parallel(ctx, &p);
}

int cpu_sgemm_mr(int isa) { return arch_for(isa)->mr; }
