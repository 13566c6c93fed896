/* conv2d_s8.c — conv2d (groups 1) with an int8 per-channel weight on CUDA: each image quantized to u8 (static: the
 * node's in_scale and in_zero; dynamic: the image's range), s8 im2col, the INT8 GEMM, one epilogue kernel to NCHW. */
#include <string.h>
#include "cuda_plan.h"
#include "encoded_weights.h"

int cuda_supports_conv2d_s8(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *x = cuda_node_input(g, n, 0), *w = cuda_node_input(g, n, 1);
    cuda_s8_layout l;
    if (!x || !w || x->ndim != 4 || w->ndim != 4) return cuda_refuse(why, len, "conv2d needs 4-D input and weight");
    if (n->p.conv2d.groups != 1) return cuda_refuse(why, len, "the CUDA INT8 conv2d takes groups 1 only");
    if (!cuda_s8_layout_of(g, w, &l))
        return cuda_refuse(why, len, "conv2d weight is not an int8 per-channel weight the CUDA kernel takes");
    return cuda_floats_only(g, n, fp16, 1u << 1, 0, why, len);
}

infer_status cuda_prepare_conv2d_s8(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                    cuda_node_plan *p, infer_error *err) {
    cuda_s8_plan *q = &p->s8;
    const infer_tensor *x = &in[0], *w = &in[1], *y = &out[0];
    memset(q, 0, sizeof *q);
    q->conv = 1;
    q->N = w->dims[0], q->C = x->dims[1], q->H = x->dims[2], q->W = x->dims[3];
    q->kernel[0] = (int)w->dims[2], q->kernel[1] = (int)w->dims[3];
    q->K = q->C * q->kernel[0] * q->kernel[1], q->K4 = (q->K + 3) / 4 * 4;
    q->OH = y->dims[2], q->OW = y->dims[3], q->P = q->OH * q->OW;
    if (w->dims[1] != q->C || y->dims[1] != q->N || y->dims[0] != x->dims[0])
        return infer_fail(err, INFER_ERR_SHAPE, "conv2d '%s': input, int8 weight and output shapes do not match", n->name);
    q->rows = x->dims[0], q->row_len = q->C * q->H * q->W;
    p->scratch = cuda_s8_plan_layout(q);
    return cuda_s8_gemm_prepare(c, &q->gemm, q->per_pass * q->P, q->N, q->K4, err);
}

infer_status cuda_run_conv2d_s8(const cuda_launch *l, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                                const infer_tensor *out, infer_error *err) {
    const cuda_s8_plan *q = &p->s8;
    const conv2d_params *cp = &n->p.conv2d;
    cuda_ctx *c = l->ctx;
    cuda_s8_layout lay;
    cuda_s8_layout_for(q->N, q->K, &lay);
    const uint8_t *wbase = in[1].data;
    uint8_t *s = c->scratch;
    if (!s || c->scratch_bytes < p->scratch)
        return infer_fail(err, INFER_ERR_INTERNAL, "conv2d '%s': INT8 scratch missing", n->name);
    int dil[2] = { cp->dilation[0] < 1 ? 1 : cp->dilation[0], cp->dilation[1] < 1 ? 1 : cp->dilation[1] };
    int64_t images = in[0].dims[0], out_img = q->N * q->P; /* at the batch being run */
    size_t es = cuda_esize(&out[0]);
    const void *bias = n->n_in > 2 ? in[2].data : NULL, *res = n->n_in > 3 ? in[3].data : NULL;
    int8_t *xq = (int8_t *)(s + q->off_xq), *cols = (int8_t *)(s + q->off_cols);
    int32_t *acc = (int32_t *)(s + q->off_acc);
    float *a_scale = (float *)(s + q->off_scale);
    int *a_zero = (int *)(s + q->off_zero);
    for (int64_t i0 = 0; i0 < images; i0 += q->per_pass) {
        int64_t ii = images - i0 < q->per_pass ? images - i0 : q->per_pass;
        INFER_TRY(cuda_s8_quantize(c->stream, in[0].dtype, (const uint8_t *)in[0].data + (size_t)(i0 * q->row_len) * es,
                                   ii, q->row_len, xq, q->row_len, cp->in_q.scale, cp->in_q.zero, a_scale, a_zero, err));
        INFER_TRY(cuda_s8_im2col(c->stream, xq, a_zero, cols, ii, q->C, q->H, q->W, q->OH, q->OW, q->kernel, cp->stride,
                                 cp->padding, dil, q->K4, err));
        INFER_TRY(cuda_s8_gemm_run(c, &q->gemm, cols, (const int8_t *)wbase, acc, ii * q->P, err));
        INFER_TRY(cuda_s8_epilogue(c->stream, out[0].dtype, acc, ii * q->P, q->N, q->P, q->P, a_scale, a_zero,
                                   (const int32_t *)(wbase + lay.off_colsum), (const float *)(wbase + lay.off_scale),
                                   bias, res ? (const uint8_t *)res + (size_t)(i0 * out_img) * es : NULL,
                                   (uint8_t *)out[0].data + (size_t)(i0 * out_img) * es, cp->act, err));
    }
    return INFER_OK;
}
