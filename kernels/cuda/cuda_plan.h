/* cuda_plan.h — a node's plan for the library-backed CUDA ops (cuBLASLt, cuDNN): host C only, no CUDA C++. */
#ifndef INFER_CUDA_PLAN_H
#define INFER_CUDA_PLAN_H

#include "cuda_ops.h"
#include "../../runtime/cuda/cuda_ctx.h"
#include "../../runtime/cuda/cuda_check.h"
#include "conv_cudnn.h"
#include "gemm_cublaslt.h"
#include "gemm_s8.h"
#include "spmm_cusparse.h"
#include "spmm_cusparselt.h"

/* Made by cuda_node_prepare for every node the GPU runs; the op's prepare fills its part. */
struct cuda_node_plan {
    const cuda_kernel *kernel;
    op_code op;        /* for the test hooks (cuda_test_hooks.c) */
    const ir_graph *graph; /* the node's graph, for prepare rules that read a weight's encoding (CSR) */
    size_t scratch;  /* bytes of cuda_ctx.scratch it needs */
    cuda_gemm gemm;  /* linear, matmul */
    int matmul_loop; /* matmul: one GEMM per broadcast batch instead of one (strided or folded) GEMM */
    cuda_conv conv;  /* conv2d */
    cuda_gemm *lstm; /* lstm, per layer: the input projection */
    int lstm_layers;
    cuda_s8_plan s8;   /* linear, conv2d with an int8 weight */
    cuda_spmm spmm;    /* linear with a CSR (or BSR) weight */
    cuda_spmm24 spmm24; /* linear with a 2:4 weight */
};

/* The INT8 and sparse entries of the linear and conv2d kernel lists (linear_s8.c, conv2d_s8.c, linear_sparse.c,
 * linear_sparse24.c). */
int cuda_supports_linear_s8(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len);
infer_status cuda_prepare_linear_s8(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                    cuda_node_plan *p, infer_error *err);
infer_status cuda_run_linear_s8(const cuda_launch *l, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                                const infer_tensor *out, infer_error *err);
int cuda_supports_conv2d_s8(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len);
infer_status cuda_prepare_conv2d_s8(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                    cuda_node_plan *p, infer_error *err);
infer_status cuda_run_conv2d_s8(const cuda_launch *l, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                                const infer_tensor *out, infer_error *err);
int cuda_supports_linear_csr(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len);
infer_status cuda_prepare_linear_csr(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                     cuda_node_plan *p, infer_error *err);
infer_status cuda_run_linear_csr(const cuda_launch *l, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                                 const infer_tensor *out, infer_error *err);
int cuda_supports_linear_24(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len);
infer_status cuda_prepare_linear_24(cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                                    cuda_node_plan *p, infer_error *err);
infer_status cuda_run_linear_24(const cuda_launch *l, const ir_node *n, cuda_node_plan *p, const infer_tensor *in,
                                const infer_tensor *out, infer_error *err);

#endif
