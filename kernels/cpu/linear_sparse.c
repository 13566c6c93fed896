/* linear_sparse.c — linear with a sparse weight (CSR, BSR, 2:4): y = act(x · wᵀ + b + residual) as the sparse
 * product yᵀ = w · xᵀ, or (the densified form) the dense GEMM on a copy densified at engine build. */
#include <string.h>
#include "gemm_internal.h"
#include "sparse.h"
#include "../../base/error.h"

#define LINEAR_PREPACK_MIN_N 5 /* as linear.c: fewer output columns stay unpacked */

static int64_t rows_of_x(const infer_tensor *x, int64_t k) { return k ? infer_tensor_elements(x) / k : 0; }

/* M > 1: xᵀ [K, M8] and yᵀ [N, M8], M8 the rows of x rounded up to 8 (whole vectors; the extra columns zero). */
static int64_t padded(int64_t m) { return (m + 7) / 8 * 8; }


size_t cpu_linear_sparse_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    (void)threads;
    if (n->n_in < 2 || in[1].ndim != 2) return 0;
    int64_t k = in[1].dims[1], nn = in[1].dims[0], m = rows_of_x(&in[0], k);
    if (m <= 1 || k < 1 || nn < 1 || m > INT32_MAX || k + nn > INT32_MAX) return 0;
    return (size_t)(padded(m) * (k + nn)) * sizeof(float);
}

static size_t dense_bytes(int isa, int64_t n_dim, int64_t k_dim) {
    if (n_dim < LINEAR_PREPACK_MIN_N) return (size_t)(n_dim * k_dim) * sizeof(float);
    return cpu_sgemm_packed_b_size(isa, k_dim, n_dim);
}

static size_t plan(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int run,
                   sparse_packed *p) {
    const ir_tensor *w = &g->tensors[n->in[1]];
    if (w->ndim != 2 || w->dims[0] < 1 || w->dims[1] < 1 || in[0].ndim < 1) return 0;
    size_t dense = dense_bytes(isa, w->dims[0], w->dims[1]);
    return dense == SIZE_MAX ? 0 : sparse_plan(g, w, run, dense, p);
}

typedef struct {
    int isa;
    int64_t n, k;
} dense_form;

static void fill_dense(const float *w, void *arg, float *dst) {
    const dense_form *f = arg;
    if (f->n < LINEAR_PREPACK_MIN_N) memcpy(dst, w, (size_t)(f->n * f->k) * sizeof *dst);
    else cpu_sgemm_pack_b(f->isa, 1, f->k, f->n, w, f->k, dst);
}

static void pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int run, void *dst) {
    const ir_tensor *w = &g->tensors[n->in[1]];
    sparse_packed p;
    plan(g, n, in, isa, run, &p);
    dense_form form = { isa, w->dims[0], w->dims[1] };
    sparse_fill(g, w, &p, dst, fill_dense, &form);
}

size_t cpu_linear_sparse_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads) {
    sparse_packed p;
    (void)threads;
    return plan(g, n, in, isa, SPARSE_RUN_SPARSE, &p);
}

void cpu_linear_sparse_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads,
                            void *dst) {
    (void)threads;
    pack(g, n, in, isa, SPARSE_RUN_SPARSE, dst);
}

size_t cpu_linear_densified_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa,
                                      int threads) {
    sparse_packed p;
    (void)threads;
    return plan(g, n, in, isa, SPARSE_RUN_DENSE, &p);
}

void cpu_linear_densified_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads,
                               void *dst) {
    (void)threads;
    pack(g, n, in, isa, SPARSE_RUN_DENSE, dst);
}

typedef struct {
    const float *src;
    float *dst;
    int64_t rows, cols; /* of src */
    int64_t ld_src, ld_dst;
    const gemm_epilogue *ep;
    int isa;
} transpose_job;

/* dst rows [begin, end) = src columns (dst is [cols, rows]) plus the residual (read before it is overwritten
 * when it shares dst's storage); then the rest of the epilogue on those rows. */
static void transpose_task(void *arg, int64_t begin, int64_t end, int thread) {
    const transpose_job *t = arg;
    const float *res = t->ep ? t->ep->residual : NULL;
    (void)thread;
    for (int64_t i = begin; i < end; i++)
        for (int64_t j = 0; j < t->rows; j++)
            t->dst[i * t->ld_dst + j] = t->src[j * t->ld_src + i] + (res ? res[i * t->ep->ld_residual + j] : 0.0f);
    for (int64_t i = begin; i < end; i++)
        for (int64_t j = t->rows; j < t->ld_dst; j++) t->dst[i * t->ld_dst + j] = 0.0f;
    if (t->ep) {
        gemm_epilogue rest = *t->ep;
        rest.residual = NULL;
        cpu_epilogue_isa(t->isa, t->dst + begin * t->ld_dst, end - begin, t->rows, t->ld_dst, &rest, begin, 0);
    }
}

/* dst [cols, ld_dst] = srcᵀ (src [rows, cols] with ld_src), columns past rows zero. */
static void transpose(cpu_ctx *ctx, const float *src, int64_t rows, int64_t cols, int64_t ld_src, float *dst,
                      int64_t ld_dst, const gemm_epilogue *ep) {
    transpose_job job = { src, dst, rows, cols, ld_src, ld_dst, ep, ctx->isa };
    pool_parallel_for(ctx->pool, cols, 4096 / (rows + 1) + 1, transpose_task, &job);
}

infer_status cpu_linear_sparse(cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                               infer_error *err) {
    const sparse_packed *p = ctx->prepacked;
    if (!p || !p->run)
        return infer_fail(err, INFER_ERR_MEMORY, "linear: the sparse weight was not prepared at engine build "
                          "(out of memory)");
    const infer_tensor *x = &in[0];
    int64_t k_dim = in[1].dims[1], n_dim = in[1].dims[0];
    if (p->run == SPARSE_RUN_DENSE) { /* the dense kernel on the densified copy */
        infer_tensor dense_in[4];
        memcpy(dense_in, in, (size_t)(n->n_in < 4 ? n->n_in : 4) * sizeof *in);
        cpu_ctx dense_ctx = *ctx;
        dense_ctx.prepacked = n_dim >= LINEAR_PREPACK_MIN_N ? p->dense : NULL;
        dense_in[1].data = (void *)p->dense;
        return cpu_linear(&dense_ctx, n, dense_in, out, err);
    }
    if (x->ndim < 1 || in[1].ndim != 2 || out[0].ndim != x->ndim || x->dims[x->ndim - 1] != k_dim ||
        out[0].dims[out[0].ndim - 1] != n_dim)
        return infer_fail(err, INFER_ERR_SHAPE, "linear: input [..,%lld] and output [..,%lld] do not match weight "
                          "[%lld,%lld]", (long long)x->dims[x->ndim - 1], (long long)out[0].dims[out[0].ndim - 1],
                          (long long)n_dim, (long long)k_dim);
    for (int k = 0; k < n->n_in && k < 4; k++)
        if (in[k].data && in[k].dtype != INFER_F32)
            return infer_fail(err, INFER_ERR_DTYPE, "linear: input %d is %s, expected f32", k,
                              infer_dtype_name(in[k].dtype));
    const float *bias = n->n_in > 2 ? in[2].data : NULL, *residual = n->n_in > 3 ? in[3].data : NULL;
    if ((bias && infer_tensor_elements(&in[2]) != n_dim) ||
        (residual && infer_tensor_elements(&in[3]) != infer_tensor_elements(&out[0])))
        return infer_fail(err, INFER_ERR_SHAPE, "linear: bias or residual does not match the output");
    int64_t m_dim = rows_of_x(x, k_dim);
    if (m_dim == 0) return INFER_OK;
    if (m_dim == 1) { /* y viewed as [N, 1]: the bias runs along its rows */
        gemm_epilogue ep = { bias, 1, residual, 1, n->p.linear.act };
        sparse_spmm(ctx, &p->m, 0, n_dim, x->data, 1, 1, out[0].data, 1, &ep);
        return INFER_OK;
    }
    int64_t m8 = padded(m_dim);
    if (!ctx->workspace || ctx->workspace_bytes < (size_t)(m8 * (k_dim + n_dim)) * sizeof(float))
        return infer_fail(err, INFER_ERR_INTERNAL, "linear: workspace too small for %lld rows", (long long)m_dim);
    float *xt = ctx->workspace, *yt = xt + m8 * k_dim;
    gemm_epilogue ep = { bias, 0, residual, n_dim, n->p.linear.act };
    transpose(ctx, x->data, m_dim, k_dim, k_dim, xt, m8, NULL);
    sparse_spmm(ctx, &p->m, 0, n_dim, xt, m8, m8, yt, m8, NULL);
    transpose(ctx, yt, n_dim, m_dim, m8, out[0].data, n_dim, &ep);
    return INFER_OK;
}
