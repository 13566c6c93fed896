/* linear.c — linear on CUDA: one cuBLASLt GEMM with the bias, residual and activation epilogue (int8, CSR/BSR
 * and 2:4 weights: linear_s8.c, linear_sparse.c, linear_sparse24.c). */
#include <string.h>
#include "cuda_plan.h"

static int supports_linear(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *w = cuda_node_input(g, n, 1);
    if (!w || w->ndim != 2) return cuda_refuse(why, len, "linear weight is not 2-D");
    return cuda_floats_only(g, n, fp16, 0, 0, why, len);
}

static infer_status prepare_linear(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                   cuda_node_plan *p, infer_error *err) {
    const infer_tensor *x = &in[0], *w = &in[1];
    cuda_gemm_desc d;
    memset(&d, 0, sizeof d);
    d.K = x->dims[x->ndim - 1];
    d.M = d.K ? cuda_numel(x) / d.K : cuda_prod(x->dims, 0, x->ndim - 1);
    d.N = w->dims[0];
    d.trans_b = 1, d.batch = 1;
    /* before allocation the data pointers are NULL: presence comes from the node */
    d.has_bias = n->n_in > 2 && n->in[2] != IR_NONE;
    d.has_residual = n->n_in > 3 && n->in[3] != IR_NONE;
    d.act = n->p.linear.act;
    d.align_a = d.align_b = d.align_c = 256;
    return cuda_gemm_prepare(c, &p->gemm, &d, err);
}

static infer_status tune_linear(cuda_ctx *c, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                                const infer_tensor *out, infer_error *err) {
    return cuda_gemm_tune(c, &p->gemm, in[0].data, in[1].data, out[0].data, n->n_in > 2 ? in[2].data : NULL,
                          n->n_in > 3 ? in[3].data : NULL, err);
}

static infer_status run_linear(const cuda_launch *l, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                               const infer_tensor *out, infer_error *err) {
    return cuda_gemm_run(l->ctx, &p->gemm, in[0].data, in[1].data, out[0].data, n->n_in > 2 ? in[2].data : NULL,
                         n->n_in > 3 ? in[3].data : NULL, err);
}

const cuda_kernel cuda_kernels_linear[] = {
    { CUDA_DENSE, supports_linear, prepare_linear, tune_linear, run_linear, 0, NULL },
    { CUDA_DENSE | IR_STORAGE_BIT(IR_STORAGE_INT8_CHANNEL), cuda_supports_linear_s8, cuda_prepare_linear_s8, NULL,
      cuda_run_linear_s8, 0, NULL },
    { CUDA_DENSE | IR_STORAGE_BIT(IR_STORAGE_CSR) | IR_STORAGE_BIT(IR_STORAGE_BSR), cuda_supports_linear_csr,
      cuda_prepare_linear_csr, NULL, cuda_run_linear_csr, 0, NULL },
    { CUDA_DENSE | IR_STORAGE_BIT(IR_STORAGE_SPARSE_2_4), cuda_supports_linear_24, cuda_prepare_linear_24, NULL,
      cuda_run_linear_24, 0, NULL },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
