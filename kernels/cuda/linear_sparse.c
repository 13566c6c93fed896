/* linear_sparse.c — linear with a CSR or BSR weight on CUDA (FP32/TF32 engines): cuSPARSE SpMM (BSR blocks laid out
 * as CSR at upload, encoded_weights.c), then bias, residual and activation in one epilogue kernel (2:4: linear_sparse24.c). */
#include <string.h>
#include "cuda_plan.h"
#include "encoded_weights.h"

int cuda_supports_linear_csr(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *w = cuda_node_input(g, n, 1);
    cuda_csr_layout l;
    if (fp16) return cuda_refuse(why, len, "the CUDA CSR linear runs in FP32 only");
    if (!w || !cuda_csr_layout_of(g, w, &l)) return cuda_refuse(why, len, "linear weight is not a 2-D CSR weight or BSR one of square blocks");
    return cuda_floats_only(g, n, fp16, 1u << 1, 0, why, len);
}

infer_status cuda_prepare_linear_csr(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                     cuda_node_plan *p, infer_error *err) {
    cuda_csr_layout l;
    if (!p->graph || !cuda_csr_layout_of(p->graph, &p->graph->tensors[n->in[1]], &l))
        return infer_fail(err, INFER_ERR_INTERNAL, "linear '%s': CSR weight not found", n->name);
    const infer_tensor *x = &in[0];
    int64_t K = l.cols, M = K ? cuda_numel(x) / K : 0;
    if (x->ndim < 1 || x->dims[x->ndim - 1] != K || out[0].dims[out[0].ndim - 1] != l.rows)
        return infer_fail(err, INFER_ERR_SHAPE, "linear '%s': input and output do not match the CSR weight [%lld,%lld]",
                          n->name, (long long)l.rows, (long long)K);
    INFER_TRY(cuda_spmm_prepare(c, &p->spmm, M, l.rows, K, l.nnz, err));
    p->scratch = p->spmm.buffer;
    return INFER_OK;
}

infer_status cuda_run_linear_csr(const cuda_launch *l, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                                 const infer_tensor *out, infer_error *err) {
    const cuda_spmm *s = &p->spmm;
    cuda_csr_layout lay;
    cuda_csr_layout_for(s->N, s->K, s->nnz, &lay);
    const uint8_t *w = in[1].data;
    INFER_TRY(cuda_spmm_run(l->ctx, &p->spmm, (const float *)w, (const int32_t *)(w + lay.off_idx),
                            (const int32_t *)(w + lay.off_ptr), in[0].data, out[0].data, err));
    return cuda_epilogue(l->stream, INFER_F32, out[0].data, s->M * s->N, n->n_in > 2 ? in[2].data : NULL, s->N, 1,
                         n->n_in > 3 ? in[3].data : NULL, n->p.linear.act, err);
}
