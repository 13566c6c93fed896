/* cuda_plan.h — a node's plan for the library-backed CUDA ops (cuBLASLt, cuDNN): host C only, no CUDA C++. */
#ifndef INFER_CUDA_PLAN_H
#define INFER_CUDA_PLAN_H

#include "cuda_ops.h"
#include "../../runtime/cuda/cuda_ctx.h"
#include "../../runtime/cuda/cuda_check.h"
#include "conv_cudnn.h"
#include "gemm_cublaslt.h"

/* Made by cuda_node_prepare for every node the GPU runs; the op's prepare fills its part. */
struct cuda_node_plan {
    const cuda_kernel *kernel;
    op_code op;        /* for the test hooks (cuda_test_hooks.c) */
    size_t scratch;  /* bytes of cuda_ctx.scratch it needs */
    cuda_gemm gemm;  /* linear, matmul */
    int matmul_loop; /* matmul: one GEMM per broadcast batch instead of one (strided or folded) GEMM */
    cuda_conv conv;  /* conv2d */
    cuda_gemm *lstm; /* lstm, per layer: the input projection */
    int lstm_layers;
};

#endif
