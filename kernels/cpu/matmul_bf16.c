/* matmul_bf16.c — matmul at BF16 precision when b is a constant matrix shared by every batch item: b prepacked as
 * BF16 panels at engine build, a's rows rounded to BF16 per run, FP32 sums (gemm_bf16.h). */
#include "gemm_bf16.h"
#include "../../base/error.h"

int cpu_matmul_bf16_takes(const ir_graph *g, const ir_node *n) {
    if (!cpu_bf16_constant_weight(g, n, 1) || g->tensors[n->in[0]].dtype != INFER_F32) return 0;
    const ir_tensor *a = &g->tensors[n->in[0]], *b = &g->tensors[n->in[1]];
    if (b->ndim < 2 || a->ndim < 2 || a->ndim < b->ndim || b->dims[b->ndim - 1] < 1 || b->dims[b->ndim - 2] < 1)
        return 0;
    for (int d = 0; d < b->ndim - 2; d++)
        if (b->dims[d] != 1) return 0;
    return 1;
}

static int prepacks_b(const ir_node *n, int k) {
    (void)n;
    return k == 1;
}

static int64_t k_of(const infer_tensor *b) { return b->dims[b->ndim - 2]; }
static int64_t n_of(const infer_tensor *b) { return b->dims[b->ndim - 1]; }

static size_t prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    (void)n, (void)isa;
    size_t bytes = bf16_panels_size(k_of(&in[1]), n_of(&in[1]));
    return bytes == SIZE_MAX ? 0 : bytes;
}

static void prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    (void)n, (void)isa;
    bf16_pack_panels(k_of(&in[1]), n_of(&in[1]), in[1].data, n_of(&in[1]), 1, dst);
}

static size_t workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    (void)n, (void)out, (void)threads;
    if (in[1].ndim < 2 || k_of(&in[1]) < 1) return 0;
    size_t bytes = bf16_a_workspace(infer_tensor_elements(&in[0]) / k_of(&in[1]), k_of(&in[1]));
    return bytes == SIZE_MAX ? 0 : bytes;
}

static infer_status run(cpu_ctx *ctx, int mode, const ir_node *n, const infer_tensor *in, infer_tensor *out, infer_error *err) {
    const infer_tensor *a = &in[0], *b = &in[1], *y = &out[0];
    int64_t k_dim = k_of(b), n_dim = n_of(b);
    int fits = ctx->prepacked && a->dtype == INFER_F32 && a->ndim >= 2 && y->ndim >= 2 && a->dims[a->ndim - 1] == k_dim &&
               y->dims[y->ndim - 1] == n_dim && y->dims[y->ndim - 2] == a->dims[a->ndim - 2] &&
               infer_tensor_elements(y) / n_dim == infer_tensor_elements(a) / k_dim;
    int64_t rows = fits ? infer_tensor_elements(a) / k_dim : 0;
    if (!fits || ctx->workspace_bytes < bf16_a_workspace(rows, k_dim)) {
        cpu_ctx fp32 = *ctx; /* the FP32 kernel names what is wrong */
        fp32.prepacked = NULL;
        return cpu_matmul(&fp32, n, in, out, err);
    }
    bf16_gemm_packed_b(ctx, mode, rows, n_dim, k_dim, a->data, k_dim, ctx->prepacked, y->data, n_dim, NULL);
    return INFER_OK;
}

/* one kernel per BF16 mode (gemm_bf16.h) */
BF16_KERNELS(cpu_matmul_bf16_kernels, run,
             .workspace = workspace,
             .prepack_input = prepacks_b,
             .prepack_size = prepack_size,
             .prepack = prepack)
