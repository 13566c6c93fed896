/* gemm_cublaslt.h — row-major GEMMs on cuBLASLt with fused epilogues (bias, ReLU, GELU), strided batches, tuning. */
#ifndef INFER_CUDA_GEMM_H
#define INFER_CUDA_GEMM_H

#include "../../runtime/cuda/cuda_ctx.h"

/* Row-major problem: C[M,N] = act(A[M,K] · op(B) + bias + residual) for each of `batch` matrices,
 * op(B) = B[K,N], or B[N,K]ᵀ when trans_b (linear weights). Strides in elements between batch
 * matrices (batch > 1). bias has N values; residual is [M,N] like C. */
typedef struct {
    int64_t M, N, K;
    int trans_b;
    int64_t batch, stride_a, stride_b, stride_c;
    int has_bias, has_residual;
    act_params act;
    unsigned align_a, align_b, align_c; /* bytes every pointer (and batch offset) is aligned to: 16..256 */
} cuda_gemm_desc;

typedef struct {
    cuda_gemm_desc d;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;  /* cuBLAS (column-major) A = our B, B = our A, C = D = our C */
    cublasLtMatmulAlgo_t algo;
    int has_algo;
    int gemmex;                         /* cuBLASLt had no algorithm: cublasGemmEx, epilogue by cuda_epilogue */
    int cached;                         /* the algorithm came from the tuning cache */
    int fused_act;                      /* act applied by cuBLASLt; else by cuda_epilogue afterwards */
    int fused_bias;                     /* bias added by cuBLASLt; else by cuda_epilogue */
    size_t ws_bytes;                    /* the chosen algorithm's workspace */
    char key[256];                      /* tuning cache key */
} cuda_gemm;

infer_status cuda_gemm_prepare(cuda_ctx *c, cuda_gemm *g, const cuda_gemm_desc *d, infer_error *err);
/* Times the heuristic's top candidates on these buffers and keeps the fastest (C is overwritten). */
infer_status cuda_gemm_tune(cuda_ctx *c, cuda_gemm *g, const void *A, const void *B, void *C, const void *bias,
                            const void *residual, infer_error *err);
infer_status cuda_gemm_run(cuda_ctx *c, cuda_gemm *g, const void *A, const void *B, void *C, const void *bias,
                           const void *residual, infer_error *err);
void cuda_gemm_destroy(cuda_gemm *g);

/* Largest power of two <= 256 dividing every value given (byte offsets / addresses). */
unsigned cuda_align_of(uint64_t a);

#endif
