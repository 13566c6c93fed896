/* conv2d_sparse.c — 2-D convolution with a sparse weight (CSR, BSR, 2:4): per image and group, the weight's
 * rows times the im2col columns (the image itself for 1x1 convs; else packed per tile by the dense path's
 * packer), or (the densified form) the dense kernel on a copy densified at engine build. */
#include <string.h>
#include "conv2d.h"
#include "gemm_internal.h"
#include "sparse.h"
#include "../../base/error.h"

#define SLIVER 32           /* columns per packed sliver (the packer's vector width) */
#define TILE_MAX 256        /* columns of one task */
#define C_TILE_BYTES ((size_t)64 << 10) /* start of the packed columns in a thread's scratch */

size_t cpu_conv2d_sparse_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    (void)n, (void)in, (void)out, (void)threads;
    return 0; /* the threads' scratch holds the tiles; a densified weight runs with the dense kernel's */
}

static int pointwise(const conv_geometry *g) {
    return g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 0 &&
           g->pad_w == 0;
}

/* Columns of a task for kg rows of packed columns in the scratch; 0 when not even one sliver fits. */
static int64_t tile_cols(int64_t kg) {
    int64_t fit = (int64_t)((CPU_SCRATCH_BYTES - C_TILE_BYTES) / sizeof(float)) / (kg ? kg : 1) / SLIVER * SLIVER;
    int64_t c_fit = (int64_t)(C_TILE_BYTES / sizeof(float)) / 64 / SLIVER * SLIVER; /* 64 rows of C at most */
    fit = fit < c_fit ? fit : c_fit;
    return fit < TILE_MAX ? fit : TILE_MAX;
}

/* Whether the sparse path takes this convolution: not depthwise, groups of whole blocks, columns that fit. */
static int sparse_fits(const ir_graph *g, const ir_node *n, const infer_tensor *in, const infer_tensor *out) {
    const ir_tensor *w = &g->tensors[n->in[1]];
    if (in[0].ndim != 4 || w->ndim != 4 || out[0].ndim != 4 || n->p.conv2d.groups < 1) return 0;
    conv_geometry geo;
    infer_tensor win = in[1];
    win.ndim = 4;
    memcpy(win.dims, w->dims, sizeof win.dims);
    infer_tensor ins[2] = { in[0], win };
    conv_geometry_of(n, ins, out, &geo);
    if (conv_is_depthwise(&geo)) return 0;
    int64_t og = geo.out_channels / geo.groups, kg = w->dims[1] * w->dims[2] * w->dims[3];
    int blocked = w->storage.kind == IR_STORAGE_BSR && w->storage.block_rows == SPARSE_BLOCK;
    if (geo.groups > 1 && blocked && og % SPARSE_BLOCK) return 0;
    return pointwise(&geo) || tile_cols(kg) > 0;
}

/* The plan of node n's weight for run (SPARSE_RUN_*): its output's shape from the input's, and whether the
 * sparse path takes it; returns the packed block's bytes (sparse_plan), 0 when the sparse path does not fit. */
static size_t conv_plan(const ir_graph *g, const ir_node *n, const infer_tensor *in, int run, sparse_packed *plan) {
    const ir_tensor *w = &g->tensors[n->in[1]];
    const conv2d_params *p = &n->p.conv2d;
    if (w->ndim != 4 || in[0].ndim != 4 || p->stride[0] < 1 || p->stride[1] < 1) return 0;
    infer_tensor out = { 0 };
    out.ndim = 4;
    out.dims[0] = in[0].dims[0];
    out.dims[1] = w->dims[0];
    out.dims[2] = (in[0].dims[2] + 2 * p->padding[0] - p->dilation[0] * (w->dims[2] - 1) - 1) / p->stride[0] + 1;
    out.dims[3] = (in[0].dims[3] + 2 * p->padding[1] - p->dilation[1] * (w->dims[3] - 1) - 1) / p->stride[1] + 1;
    if (out.dims[2] < 1 || out.dims[3] < 1) return 0;
    if (run == SPARSE_RUN_SPARSE && !sparse_fits(g, n, in, &out)) return 0;
    return sparse_plan(g, w, run, ir_logical_bytes(w), plan);
}

static void copy_dense(const float *w, void *arg, float *dst) { memcpy(dst, w, *(const size_t *)arg); }

static void conv_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int run, void *dst) {
    const ir_tensor *w = &g->tensors[n->in[1]];
    size_t dense = ir_logical_bytes(w);
    sparse_packed plan;
    conv_plan(g, n, in, run, &plan);
    sparse_fill(g, w, &plan, dst, copy_dense, &dense);
}

size_t cpu_conv2d_sparse_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads) {
    sparse_packed plan;
    (void)isa, (void)threads;
    return conv_plan(g, n, in, SPARSE_RUN_SPARSE, &plan);
}

void cpu_conv2d_sparse_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads,
                            void *dst) {
    (void)isa, (void)threads;
    conv_pack(g, n, in, SPARSE_RUN_SPARSE, dst);
}

size_t cpu_conv2d_densified_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa,
                                      int threads) {
    sparse_packed plan;
    (void)isa, (void)threads;
    return conv_plan(g, n, in, SPARSE_RUN_DENSE, &plan);
}

void cpu_conv2d_densified_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads,
                               void *dst) {
    (void)isa, (void)threads;
    conv_pack(g, n, in, SPARSE_RUN_DENSE, dst);
}

typedef struct {
    cpu_ctx *ctx;
    const conv_geometry *g;
    const sparse_matrix *m;
    const float *x, *bias, *residual;
    act_params act;
    float *y;
    int64_t tile, tiles, chunks, chunk_rows; /* columns per tile, tiles per image, row chunks per group */
} conv_job;

/* Task t: image, group, column tile and row chunk; packs the tile's columns, multiplies, applies the
 * epilogue in the C tile and stores it into the output. */
static void conv_task(void *arg, int64_t begin, int64_t end, int thread) {
    const conv_job *job = arg;
    const conv_geometry *g = job->g;
    int64_t ohw = g->out_height * g->out_width, og = g->out_channels / g->groups, cg = g->channels / g->groups;
    int64_t kg = cg * g->kernel_h * g->kernel_w;
    uint8_t *scratch = job->ctx->scratch + (size_t)thread * CPU_SCRATCH_BYTES;
    float *c_tile = (float *)scratch, *cols = (float *)(scratch + C_TILE_BYTES);
    for (int64_t t = begin; t < end; t++) {
        int64_t chunk = t % job->chunks, rest = t / job->chunks;
        int64_t tile = rest % job->tiles, ig = rest / job->tiles, gi = ig % g->groups, image = ig / g->groups;
        int64_t j0 = tile * job->tile, nc = ohw - j0 < job->tile ? ohw - j0 : job->tile;
        int64_t r0 = gi * og + chunk * job->chunk_rows;
        int64_t r1 = r0 + job->chunk_rows < (gi + 1) * og ? r0 + job->chunk_rows : (gi + 1) * og;
        conv_columns src = { g, job->x + image * g->channels * g->height * g->width + gi * cg * g->height * g->width, 0 };
        conv_pack_columns(&src, job->ctx->isa, SLIVER, 0, kg, j0, nc, cols);
        sparse_matrix rows = *job->m; /* rows r0.. as rows 0.. of the C tile */
        rows.ptr += r0 / rows.bh;
        for (int64_t s = 0; s < nc; s += SLIVER)
            sparse_spmm_rows(job->ctx->isa, &rows, 0, r1 - r0, cols + s * kg, SLIVER,
                             nc - s < SLIVER ? nc - s : SLIVER, c_tile + s, nc);
        int64_t out_image = g->out_channels * ohw;
        gemm_epilogue ep = { job->bias, 1, job->residual ? job->residual + image * out_image : NULL, ohw, job->act };
        cpu_epilogue_isa(job->ctx->isa, c_tile, r1 - r0, nc, nc, &ep, r0, j0);
        float *y = job->y + image * out_image + j0;
        for (int64_t r = r0; r < r1; r++) memcpy(y + r * ohw, c_tile + (r - r0) * nc, (size_t)nc * sizeof *y);
    }
}

infer_status cpu_conv2d_sparse(cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                               infer_error *err) {
    const sparse_packed *p = ctx->prepacked;
    if (!p || !p->run)
        return infer_fail(err, INFER_ERR_MEMORY, "conv2d: the sparse weight was not prepared at engine build "
                          "(out of memory)");
    infer_tensor dense_in[4];
    memcpy(dense_in, in, (size_t)(n->n_in < 4 ? n->n_in : 4) * sizeof *in);
    if (p->run == SPARSE_RUN_DENSE) {
        dense_in[1].data = (void *)p->dense;
        cpu_ctx dense_ctx = *ctx;
        dense_ctx.prepacked = NULL;
        return cpu_conv2d(&dense_ctx, n, dense_in, out, err);
    }
    for (int k = 0; k < n->n_in && k < 4; k++)
        if (in[k].data && in[k].dtype != INFER_F32)
            return infer_fail(err, INFER_ERR_DTYPE, "conv2d: input %d is %s, expected f32", k,
                              infer_dtype_name(in[k].dtype));
    conv_geometry g;
    conv_geometry_of(n, in, out, &g);
    int64_t og = g.groups ? g.out_channels / g.groups : 0, cg = g.groups ? g.channels / g.groups : 0;
    if (in[0].ndim != 4 || out[0].ndim != 4 || g.groups < 1 || og * g.groups != g.out_channels ||
        cg * g.groups != g.channels || p->m.rows != g.out_channels || p->m.cols != cg * g.kernel_h * g.kernel_w ||
        out[0].dims[0] != in[0].dims[0])
        return infer_fail(err, INFER_ERR_SHAPE, "conv2d: input [%lld,%lld,..], output [%lld,%lld,..] and %lld groups "
                          "do not fit the weight", (long long)in[0].dims[0], (long long)in[0].dims[1],
                          (long long)out[0].dims[0], (long long)out[0].dims[1], (long long)g.groups);
    const float *bias = n->n_in > 2 ? in[2].data : NULL, *residual = n->n_in > 3 ? in[3].data : NULL;
    if ((bias && infer_tensor_elements(&in[2]) != g.out_channels) ||
        (residual && infer_tensor_elements(&in[3]) != infer_tensor_elements(&out[0])))
        return infer_fail(err, INFER_ERR_SHAPE, "conv2d: bias or residual does not match the output");
    int64_t ohw = g.out_height * g.out_width, in_image = g.channels * g.height * g.width;
    int64_t out_image = g.out_channels * ohw;
    if (pointwise(&g)) {
        for (int64_t i = 0; i < g.batch; i++)
            for (int64_t gi = 0; gi < g.groups; gi++) {
                gemm_epilogue ep = { bias, 1, residual ? residual + i * out_image : NULL, ohw, n->p.conv2d.act };
                sparse_spmm(ctx, &p->m, gi * og, (gi + 1) * og, (const float *)in[0].data + i * in_image + gi * cg * g.height * g.width,
                            ohw, ohw, (float *)out[0].data + i * out_image, ohw, &ep);
            }
        return INFER_OK;
    }
    int64_t tile = tile_cols(p->m.cols);
    if (tile < 1) return infer_fail(err, INFER_ERR_INTERNAL, "conv2d: %lld weight columns do not fit a tile", (long long)p->m.cols);
    int64_t tiles = (ohw + tile - 1) / tile, outer = g.batch * g.groups * tiles;
    /* rows split into chunks (of whole blocks, at most 64 rows: the C tile) until every thread has work */
    int64_t chunk_rows = og < 64 ? og : 64;
    while (outer * ((og + chunk_rows - 1) / chunk_rows) < 2 * ctx->threads && chunk_rows > 8) chunk_rows /= 2;
    chunk_rows = (chunk_rows + p->m.bh - 1) / p->m.bh * p->m.bh;
    conv_job job = { ctx, &g, &p->m, in[0].data, bias, residual, n->p.conv2d.act, out[0].data, tile, tiles,
                     (og + chunk_rows - 1) / chunk_rows, chunk_rows };
    pool_parallel_for(ctx->pool, outer * job.chunks, 1, conv_task, &job);
    return INFER_OK;
}
