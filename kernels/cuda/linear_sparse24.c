/* linear_sparse24.c — linear with a 2:4 weight on CUDA (FP16 engines): cuSPARSELt on the weight compressed at
 * engine build, then bias, residual and activation in one epilogue kernel. */
#include <string.h>
#include "cuda_plan.h"
#include "encoded_weights.h"

int cuda_supports_linear_24(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *w = cuda_node_input(g, n, 1);
    cuda_24_layout l;
#ifndef INFER_HAVE_CUSPARSELT
    return cuda_refuse(why, len, "2:4 needs cuSPARSELt, not built in");
#endif
    if (!fp16) return cuda_refuse(why, len, "the CUDA 2:4 linear (cuSPARSELt) runs in FP16 only");
    if (!w || !cuda_24_layout_of(g, w, &l)) return cuda_refuse(why, len, "linear weight is not a 2-D 2:4 weight of N, K multiples of 16");
    return cuda_floats_only(g, n, fp16, 1u << 1, 0, why, len);
}

infer_status cuda_prepare_linear_24(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                    cuda_node_plan *p, infer_error *err) {
    cuda_24_layout l;
    if (!p->graph || !cuda_24_layout_of(p->graph, &p->graph->tensors[n->in[1]], &l))
        return infer_fail(err, INFER_ERR_INTERNAL, "linear '%s': 2:4 weight not found", n->name);
    const infer_tensor *x = &in[0];
    int64_t M = cuda_numel(x) / l.K;
    if (x->ndim < 1 || x->dims[x->ndim - 1] != l.K || out[0].dims[out[0].ndim - 1] != l.N)
        return infer_fail(err, INFER_ERR_SHAPE, "linear '%s': input and output do not match the 2:4 weight [%lld,%lld]",
                          n->name, (long long)l.N, (long long)l.K);
    INFER_TRY(cuda_spmm24_prepare(c, &p->spmm24, M, l.N, l.K, err));
    p->scratch = p->spmm24.scratch;
    return INFER_OK;
}

infer_status cuda_run_linear_24(const cuda_launch *l, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                                const infer_tensor *out, infer_error *err) {
    const cuda_spmm24 *s = &p->spmm24;
    cuda_24_layout lay;
    cuda_24_layout_for(s->N, s->K, &lay);
    const uint8_t *w = in[1].data;
    INFER_TRY(cuda_spmm24_run(l->ctx, s, w + lay.off_comp, in[0].data, out[0].data, err));
    return cuda_epilogue(l->stream, out[0].dtype, out[0].data, s->M * s->N, n->n_in > 2 ? in[2].data : NULL, s->N, 1,
                         n->n_in > 3 ? in[3].data : NULL, n->p.linear.act, err);
}
