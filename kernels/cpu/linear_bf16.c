/* linear_bf16.c — linear at BF16 precision: w prepacked as BF16 panels at engine build, x rounded to BF16 per
 * run, FP32 sums and epilogue (gemm_bf16.h). */
#include "gemm_bf16.h"
#include "../../base/error.h"

int cpu_linear_bf16_takes(const ir_graph *g, const ir_node *n) {
    if (!cpu_bf16_constant_weight(g, n, 1) || g->tensors[n->in[0]].dtype != INFER_F32) return 0;
    const ir_tensor *w = &g->tensors[n->in[1]];
    return w->ndim == 2 && w->dims[0] > 0 && w->dims[1] > 0;
}

static int prepacks_weight(const ir_node *n, int k) {
    (void)n;
    return k == 1;
}

static size_t prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    (void)n, (void)isa;
    size_t bytes = bf16_panels_size(in[1].dims[1], in[1].dims[0]);
    return bytes == SIZE_MAX ? 0 : bytes;
}

/* op(B) = wᵀ: element (k, j) is w[j, k]. */
static void prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    (void)n, (void)isa;
    bf16_pack_panels(in[1].dims[1], in[1].dims[0], in[1].data, 1, in[1].dims[1], dst);
}

static int64_t rows_of(const infer_tensor *x, int64_t k_dim) { return infer_tensor_elements(x) / k_dim; }

static size_t workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    (void)n, (void)out, (void)threads;
    if (in[0].ndim < 1 || in[1].ndim != 2 || in[1].dims[1] < 1) return 0;
    size_t bytes = bf16_a_workspace(rows_of(&in[0], in[1].dims[1]), in[1].dims[1]);
    return bytes == SIZE_MAX ? 0 : bytes;
}

static infer_status run(cpu_ctx *ctx, int mode, const ir_node *n, const infer_tensor *in, infer_tensor *out, infer_error *err) {
    const infer_tensor *x = &in[0], *w = &in[1];
    int64_t k_dim = w->dims[1], n_dim = w->dims[0];
    const float *bias = n->n_in > 2 ? in[2].data : NULL, *residual = n->n_in > 3 ? in[3].data : NULL;
    int fits = ctx->prepacked && x->dtype == INFER_F32 && x->ndim >= 1 && out[0].ndim == x->ndim &&
               x->dims[x->ndim - 1] == k_dim && out[0].dims[out[0].ndim - 1] == n_dim &&
               (!bias || (in[2].dtype == INFER_F32 && infer_tensor_elements(&in[2]) == n_dim)) &&
               (!residual || (in[3].dtype == INFER_F32 && infer_tensor_elements(&in[3]) == infer_tensor_elements(&out[0])));
    int64_t m_dim = fits ? rows_of(x, k_dim) : 0;
    if (!fits || ctx->workspace_bytes < bf16_a_workspace(m_dim, k_dim)) {
        cpu_ctx fp32 = *ctx; /* the FP32 kernel names what is wrong (or runs what cannot be packed) */
        fp32.prepacked = NULL;
        return cpu_linear(&fp32, n, in, out, err);
    }
    gemm_epilogue ep = { bias, 0, residual, n_dim, n->p.linear.act };
    bf16_gemm_packed_b(ctx, mode, m_dim, n_dim, k_dim, x->data, k_dim, ctx->prepacked, out[0].data, n_dim, &ep);
    return INFER_OK;
}

/* one kernel per BF16 mode (gemm_bf16.h) */
BF16_KERNELS(cpu_linear_bf16_kernels, run,
             .workspace = workspace,
             .prepack_input = prepacks_weight,
             .prepack_size = prepack_size,
             .prepack = prepack)
