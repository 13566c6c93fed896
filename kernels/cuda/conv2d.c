/* conv2d.c — conv2d on CUDA: cuDNN with the fused epilogue, or the depthwise kernel (depthwise_conv2d.cu); int8
 * weights: conv2d_s8.c. */
#include "cuda_plan.h"

static int supports_conv2d(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const ir_tensor *x = cuda_node_input(g, n, 0), *w = cuda_node_input(g, n, 1);
    if (!x || !w || x->ndim != 4 || w->ndim != 4) return cuda_refuse(why, len, "conv2d needs 4-D input and weight");
    if (n->p.conv2d.groups < 1) return cuda_refuse(why, len, "groups %d", n->p.conv2d.groups);
    return cuda_floats_only(g, n, fp16, 0, 0, why, len);
}

static infer_status prepare_conv2d(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                   cuda_node_plan *p, infer_error *err) {
    int has_bias = n->n_in > 2 && n->in[2] != IR_NONE, has_res = n->n_in > 3 && n->in[3] != IR_NONE;
    INFER_TRY(cuda_conv_prepare(c, &p->conv, &in[0], &in[1], &out[0], has_bias, has_res, &n->p.conv2d, c->scratch_bytes,
                                err));
    p->scratch = cuda_conv_workspace(&p->conv);
    return INFER_OK;
}

static infer_status tune_conv2d(cuda_ctx *c, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                                const infer_tensor *out, infer_error *err) {
    infer_status s = cuda_conv_tune(c, &p->conv, in[0].data, in[1].data, out[0].data, err);
    p->scratch = cuda_conv_workspace(&p->conv); /* the tuned choice may want more than the heuristic's */
    return s;
}

static infer_status run_conv2d(const cuda_launch *l, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                               const infer_tensor *out, infer_error *err) {
    return cuda_conv_run(l->ctx, &p->conv, in[0].data, in[1].data, n->n_in > 2 ? in[2].data : NULL,
                         n->n_in > 3 ? in[3].data : NULL, out[0].data, err);
}

const cuda_kernel cuda_kernels_conv2d[] = {
    { CUDA_DENSE, supports_conv2d, prepare_conv2d, tune_conv2d, run_conv2d, 0, NULL },
    { CUDA_DENSE | IR_STORAGE_BIT(IR_STORAGE_INT8_CHANNEL), cuda_supports_conv2d_s8, cuda_prepare_conv2d_s8, NULL,
      cuda_run_conv2d_s8, 0, NULL },
    { 0, NULL, NULL, NULL, NULL, 0, NULL },
};
