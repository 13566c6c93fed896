/* plan.c — planning and running one graph node on the GPU through its op's entry in the CUDA kernel table. */
#include <stdlib.h>
#include <string.h>
#include "../../runtime/cuda/cuda_ctx.h"
#include "cuda_plan.h"

void cuda_node_plan_free(cuda_node_plan *p) {
    if (!p) return;
    cuda_gemm_destroy(&p->gemm);
    cuda_conv_destroy(&p->conv);
    cuda_s8_gemm_destroy(&p->s8.gemm);
    cuda_spmm_destroy(&p->spmm);
    cuda_spmm24_destroy(&p->spmm24);
    for (int l = 0; l < p->lstm_layers; l++) cuda_gemm_destroy(&p->lstm[l]);
    free(p->lstm);
    free(p);
}

size_t cuda_node_scratch(const cuda_node_plan *p) { return p ? p->scratch : 0; }

int cuda_node_force_gemmex(cuda_ctx *c, cuda_node_plan *p) {
    if (!p || (p->op != OP_LINEAR && p->op != OP_MATMUL && p->op != OP_LSTM)) return 0;
    infer_error err;
    if (cuda_ctx_blas(c, &err) != INFER_OK) return 0;
    int n = 0;
    cuda_gemm *gs = p->op == OP_LSTM ? p->lstm : &p->gemm;
    for (int i = 0; i < (p->op == OP_LSTM ? p->lstm_layers : 1); i++, n++) {
        gs[i].gemmex = 1;
        gs[i].fused_act = gs[i].fused_bias = 0;
    }
    return n > 0;
}

int cuda_node_refuse_fused(cuda_node_plan *p) {
    if (!p || p->op != OP_CONV2D || !p->conv.fused) return 0;
    p->conv.refuse_fused = 1;
    p->conv.validated = 0;
    return 1;
}

infer_status cuda_node_prepare(cuda_ctx *c, const ir_graph *g, const ir_node *n, const infer_tensor *in,
                               const infer_tensor *out, cuda_node_plan **plan, infer_error *err) {
    *plan = NULL;
    char why[256];
    const cuda_kernel *kernel = cuda_kernel_lookup(g, n, c->fp16, why, sizeof why);
    if (!kernel) return infer_fail(err, INFER_ERR_UNSUPPORTED, "no CUDA kernel: %s", why);
    cuda_node_plan *p = calloc(1, sizeof *p);
    if (!p) return infer_fail(err, INFER_ERR_MEMORY, "out of memory planning a node");
    p->kernel = kernel;
    p->op = n->op;
    p->graph = g;
    infer_status s = kernel->prepare ? kernel->prepare(c, n, in, out, p, err) : INFER_OK;
    if (s != INFER_OK) {
        cuda_node_plan_free(p);
        return s;
    }
    *plan = p;
    return INFER_OK;
}

infer_status cuda_node_tune(cuda_ctx *c, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                            const infer_tensor *out, infer_error *err) {
    return p && p->kernel->tune ? p->kernel->tune(c, n, p, in, out, err) : INFER_OK;
}

infer_status cuda_node_run(cuda_ctx *c, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                           const infer_tensor *out, unsigned long long code, infer_error *err) {
    if (!p) return infer_fail(err, INFER_ERR_INTERNAL, "%s node without a plan", op_name(n->op));
    cuda_launch launch = { c, c->stream, c->err_flag, code };
    return p->kernel->run(&launch, n, p, in, out, err);
}
