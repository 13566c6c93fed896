/* linear_s8.c — linear with an int8 per-channel weight: x quantized to u8 per tensor with the node's calibrated
 * (in_scale, in_zero) (static) or per row at run time (dynamic), the INT8 GEMM, f32 out with bias and act. */
#include <string.h>
#include "s8_layer.h"
#include "../../base/error.h"

static int64_t q_stride(int64_t k) { return (k + 63) / 64 * 64; }

size_t cpu_linear_s8_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    (void)out, (void)threads;
    if (n->n_in < 2 || in[1].ndim != 2 || in[1].dims[1] < 1) return 0;
    int64_t k = in[1].dims[1], m = infer_tensor_elements(&in[0]) / k;
    if (n->p.linear.in_q.scale > 0.0f) return (size_t)(m * q_stride(k) + 64);
    return cpu_linear_s8_dynamic_workspace(m, k);
}

size_t cpu_linear_s8_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads) {
    (void)in, (void)threads;
    const ir_tensor *w = &g->tensors[n->in[1]];
    return w->ndim == 2 ? s8_weights_size(g, w, isa, 0, 1) : 0;
}

void cpu_linear_s8_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads, void *dst) {
    (void)in, (void)threads;
    s8_weights_pack(g, &g->tensors[n->in[1]], isa, 0, 1, n->p.linear.in_q.scale > 0.0f, dst);
}

CPU_KERNEL(linear_s8) {
    const s8_weights *w = ctx->prepacked;
    if (!w || w->depthwise) return s8_weights_missing(n, err);
    const infer_tensor *x = &in[0];
    int64_t k = w->k, nn = w->n;
    if (x->dtype != INFER_F32 || out[0].dtype != INFER_F32)
        return infer_fail(err, INFER_ERR_DTYPE, "linear '%s': the int8 kernel takes f32 input and output", n->name);
    if (x->ndim < 1 || x->dims[x->ndim - 1] != k || out[0].dims[out[0].ndim - 1] != nn)
        return infer_fail(err, INFER_ERR_SHAPE, "linear '%s': input [..,%lld] and output [..,%lld] do not match the "
                          "int8 weight [%lld,%lld]", n->name, (long long)x->dims[x->ndim - 1],
                          (long long)out[0].dims[out[0].ndim - 1], (long long)nn, (long long)k);
    const float *bias = n->n_in > 2 ? in[2].data : NULL, *residual = n->n_in > 3 ? in[3].data : NULL;
    if ((bias && (in[2].dtype != INFER_F32 || infer_tensor_elements(&in[2]) != nn)) ||
        (residual && (in[3].dtype != INFER_F32 || infer_tensor_elements(&in[3]) != infer_tensor_elements(&out[0]))))
        return infer_fail(err, INFER_ERR_SHAPE, "linear '%s': bias or residual does not match the output", n->name);
    int64_t m = k ? infer_tensor_elements(x) / k : 0;
    if (m == 0) return INFER_OK;
    if (ctx->workspace_bytes < cpu_linear_s8_workspace(n, in, out, ctx->threads))
        return infer_fail(err, INFER_ERR_INTERNAL, "linear '%s': workspace too small", n->name);
    act_params act = residual ? (act_params){ ACT_NONE, 0, 0 } : n->p.linear.act;
    const act_quant *q = &n->p.linear.in_q;
    if (q->scale > 0.0f) {
        uint8_t *xq = (uint8_t *)(((uintptr_t)ctx->workspace + 63) & ~(uintptr_t)63);
        s8_quantize_rows(ctx, m, k, x->data, k, q->scale, q->zero, xq, q_stride(k));
        int32_t zero = q->zero;
        gemm_s8_epilogue ep = { &q->scale, &zero, 0, w->w_scale, bias, 0, 0.0f, 0, act };
        cpu_gemm_s8(ctx, m, xq, q_stride(k), w->gemm, out[0].data, nn, &ep);
    } else {
        cpu_linear_s8_dynamic(ctx, m, x->data, k, w->gemm, w->w_scale, bias, &act, out[0].data, nn, ctx->workspace);
    }
    if (residual) {
        gemm_epilogue ep = { NULL, 0, residual, nn, n->p.linear.act };
        cpu_apply_epilogue(out[0].data, m, nn, nn, &ep, 0, 0);
    }
    return INFER_OK;
}
