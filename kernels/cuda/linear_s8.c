/* linear_s8.c — linear with an int8 per-channel weight on CUDA: x quantized to u8 (static: the node's in_scale and
 * in_zero; dynamic: per row), the INT8 GEMM (cuBLASLt IMMA or dp4a), one epilogue kernel to f32 or f16. */
#include <string.h>
#include "cuda_plan.h"
#include "encoded_weights.h"

int cuda_supports_linear_s8(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *w = cuda_node_input(g, n, 1);
    cuda_s8_layout l;
    if (!w || w->ndim != 2 || !cuda_s8_layout_of(g, w, &l))
        return cuda_refuse(why, len, "linear weight is not an int8 per-channel weight the CUDA kernel takes");
    return cuda_floats_only(g, n, fp16, 1u << 1, 0, why, len);
}

infer_status cuda_prepare_linear_s8(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                    cuda_node_plan *p, infer_error *err) {
    cuda_s8_plan *q = &p->s8;
    const infer_tensor *x = &in[0], *w = &in[1];
    memset(q, 0, sizeof *q);
    q->N = w->dims[0], q->K = w->dims[1], q->K4 = (q->K + 3) / 4 * 4;
    if (x->ndim < 1 || x->dims[x->ndim - 1] != q->K || out[0].dims[out[0].ndim - 1] != q->N)
        return infer_fail(err, INFER_ERR_SHAPE, "linear '%s': input and output do not match the int8 weight [%lld,%lld]",
                          n->name, (long long)q->N, (long long)q->K);
    q->rows = cuda_numel(x) / q->K, q->row_len = q->K, q->P = 1;
    p->scratch = cuda_s8_plan_layout(q);
    return cuda_s8_gemm_prepare(c, &q->gemm, q->per_pass, q->N, q->K4, err);
}

infer_status cuda_run_linear_s8(const cuda_launch *l, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                                const infer_tensor *out, infer_error *err) {
    const cuda_s8_plan *q = &p->s8;
    cuda_ctx *c = l->ctx;
    cuda_s8_layout lay;
    cuda_s8_layout_for(q->N, q->K, &lay);
    const uint8_t *wbase = in[1].data;
    const int8_t *wq = (const int8_t *)wbase;
    const int32_t *colsum = (const int32_t *)(wbase + lay.off_colsum);
    const float *w_scale = (const float *)(wbase + lay.off_scale);
    uint8_t *s = c->scratch;
    if (!s || c->scratch_bytes < p->scratch)
        return infer_fail(err, INFER_ERR_INTERNAL, "linear '%s': INT8 scratch missing", n->name);
    int64_t rows = cuda_numel(&in[0]) / q->K; /* at the batch being run */
    size_t es = cuda_esize(&out[0]);
    const void *bias = n->n_in > 2 ? in[2].data : NULL, *res = n->n_in > 3 ? in[3].data : NULL;
    const act_quant *aq = &n->p.linear.in_q;
    for (int64_t r0 = 0; r0 < rows; r0 += q->per_pass) {
        int64_t rr = rows - r0 < q->per_pass ? rows - r0 : q->per_pass;
        int8_t *xq = (int8_t *)(s + q->off_xq);
        int32_t *acc = (int32_t *)(s + q->off_acc);
        float *a_scale = (float *)(s + q->off_scale);
        int *a_zero = (int *)(s + q->off_zero);
        INFER_TRY(cuda_s8_quantize(c->stream, in[0].dtype, (const uint8_t *)in[0].data + (size_t)(r0 * q->K) * es, rr,
                                   q->K, xq, q->K4, aq->scale, aq->zero, a_scale, a_zero, err));
        INFER_TRY(cuda_s8_gemm_run(c, &q->gemm, xq, wq, acc, rr, err));
        INFER_TRY(cuda_s8_epilogue(c->stream, out[0].dtype, acc, rr, q->N, 1, 1, a_scale, a_zero, colsum, w_scale, bias,
                                   res ? (const uint8_t *)res + (size_t)(r0 * q->N) * es : NULL,
                                   (uint8_t *)out[0].data + (size_t)(r0 * q->N) * es, n->p.linear.act, err));
    }
    return INFER_OK;
}
