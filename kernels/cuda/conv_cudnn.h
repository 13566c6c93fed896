/* conv_cudnn.h — conv2d on cuDNN (legacy API, NCHW) with bias, ReLU and residual fused where cuDNN can, or a depthwise kernel. */
#ifndef INFER_CUDA_CONV_H
#define INFER_CUDA_CONV_H

#include "../../runtime/cuda/cuda_ctx.h"
#include "cuda_kernels.h"

#define CUDA_CONV_CANDIDATES 8

typedef struct {
    cudnnConvolutionFwdAlgo_t algo;
    cudnnMathType_t math;
    size_t ws;
} cuda_conv_algo;

typedef struct {
    int depthwise;                      /* the custom depthwise kernel, no cuDNN */
    cuda_dwconv_shape dw;
    int64_t n, c, h, w, o, oh, ow;
    int kh, kw;
    conv2d_params p;
    int has_bias, has_residual;
    cudnnTensorDescriptor_t xd, yd, bd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    cudnnActivationDescriptor_t ad;
    cuda_conv_algo cand[CUDA_CONV_CANDIDATES]; /* usable algorithms, best first */
    int n_cand, cur;                    /* cand[cur] is in use */
    int fusable;                        /* act/bias allow cudnnConvolutionBiasActivationForward */
    int fused;                          /* ... and it is used (cleared when cuDNN refuses it) */
    int validated;                      /* ran once successfully */
    int refuse_fused;                   /* tests: the fused call answers NOT_SUPPORTED (cuda_test_hooks.h) */
    int cached;
    char key[256];
} cuda_conv;

/* x [N,C,H,W], w [O,C/g,kh,kw], y [N,O,oh,ow] (shapes only). ws_limit: the most workspace an algorithm may use. */
infer_status cuda_conv_prepare(cuda_ctx *c, cuda_conv *v, const infer_tensor *x, const infer_tensor *w,
                               const infer_tensor *y, int has_bias, int has_residual, const conv2d_params *p,
                               size_t ws_limit, infer_error *err);
size_t cuda_conv_workspace(const cuda_conv *v);
infer_status cuda_conv_tune(cuda_ctx *c, cuda_conv *v, const void *x, const void *w, void *y, infer_error *err);
infer_status cuda_conv_run(cuda_ctx *c, cuda_conv *v, const void *x, const void *w, const void *bias,
                           const void *residual, void *y, infer_error *err);
void cuda_conv_destroy(cuda_conv *v);

#endif
