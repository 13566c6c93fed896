/* sparse_run.c — the threaded sparse x dense product: row chunks x column tiles over the pool, each tile's
 * epilogue applied while it is in cache. */
#include <string.h>
#include "gemm_internal.h"
#include "sparse.h"

#define SPARSE_CHUNK_ROWS 16   /* rows of one task (a multiple of every packed block height) */
#define SPARSE_TILE_COLS 256   /* columns of one task: its rows of B stay in cache across the chunk's rows */

typedef struct {
    cpu_ctx *ctx;
    const sparse_matrix *m;
    int64_t r0, r1, chunks, ldb, ncols, ldc;
    const float *B;
    float *C;
    const gemm_epilogue *ep;
} spmm_job;

/* The epilogue on C rows [r, r + rows) x columns [j, j + nc) at c (ldc). A single column stored contiguously (a
 * linear's one row of x: C is yᵀ) runs as one row of `rows` values, so that it vectorizes. */
static void epilogue(const spmm_job *job, float *c, int64_t rows, int64_t nc, int64_t ldc, int64_t r, int64_t j) {
    const gemm_epilogue *ep = job->ep;
    if (nc == 1 && j == 0 && (ldc == 1 || rows == 1) && (!ep->residual || ep->ld_residual == 1)) {
        gemm_epilogue row = *ep;
        row.bias_per_row = 0; /* bias[r + i] is the bias of column i of the row */
        row.ld_residual = 0;
        cpu_epilogue_isa(job->ctx->isa, c, 1, rows, rows, &row, 0, r);
        return;
    }
    cpu_epilogue_isa(job->ctx->isa, c, rows, nc, ldc, ep, r, j);
}

static void spmm_task(void *arg, int64_t begin, int64_t end, int thread) {
    const spmm_job *job = arg;
    for (int64_t t = begin; t < end; t++) {
        int64_t chunk = t % job->chunks, tile = t / job->chunks;
        int64_t r = job->r0 + chunk * SPARSE_CHUNK_ROWS, r_end = r + SPARSE_CHUNK_ROWS < job->r1 ? r + SPARSE_CHUNK_ROWS : job->r1;
        int64_t j = tile * SPARSE_TILE_COLS, nc = job->ncols - j < SPARSE_TILE_COLS ? job->ncols - j : SPARSE_TILE_COLS;
        float *c = job->C + j;
        if (job->ep && job->ep->residual) {
            /* in a tile of its own: the residual may share the output's storage, read before it is written */
            float *own = (float *)(job->ctx->scratch + (size_t)thread * CPU_SCRATCH_BYTES);
            sparse_matrix rows = *job->m; /* rows r.. as rows 0.. */
            rows.ptr += r / rows.bh;
            sparse_spmm_rows(job->ctx->isa, &rows, 0, r_end - r, job->B + j, job->ldb, nc, own, nc);
            epilogue(job, own, r_end - r, nc, nc, r, j);
            for (int64_t i = r; i < r_end; i++) memcpy(c + i * job->ldc, own + (i - r) * nc, (size_t)nc * sizeof *c);
            continue;
        }
        sparse_spmm_rows(job->ctx->isa, job->m, r, r_end, job->B + j, job->ldb, nc, c, job->ldc);
        if (job->ep) epilogue(job, c + r * job->ldc, r_end - r, nc, job->ldc, r, j);
    }
}

void sparse_spmm(cpu_ctx *ctx, const sparse_matrix *m, int64_t r0, int64_t r1, const float *B, int64_t ldb,
                 int64_t ncols, float *C, int64_t ldc, const gemm_epilogue *ep) {
    if (r1 <= r0 || ncols <= 0) return;
    int64_t chunks = (r1 - r0 + SPARSE_CHUNK_ROWS - 1) / SPARSE_CHUNK_ROWS;
    int64_t tiles = (ncols + SPARSE_TILE_COLS - 1) / SPARSE_TILE_COLS;
    spmm_job job = { ctx, m, r0, r1, chunks, ldb, ncols, ldc, B, C, ep };
    /* few non-zeros per task: fewer, larger tasks */
    int64_t per_task = (m->nnz / (m->rows ? m->rows : 1) + 1) * SPARSE_CHUNK_ROWS * (ncols < SPARSE_TILE_COLS ? ncols : SPARSE_TILE_COLS);
    int64_t grain = per_task >= 4096 ? 1 : 4096 / (per_task + 1) + 1;
    pool_parallel_for(ctx->pool, chunks * tiles, grain, spmm_task, &job);
}
