/* gemm_s8.h — the INT8 GEMM of the CUDA linear and conv2d: cuBLASLt IMMA (int8 x int8 -> int32) where it has an
 * algorithm, else the dp4a kernel; and the plan of an INT8 layer (scratch layout, rows or images per pass). */
#ifndef INFER_CUDA_GEMM_S8_H
#define INFER_CUDA_GEMM_S8_H

#include "../../runtime/cuda/cuda_ctx.h"

/* acc[M][N] (row-major i32) = a[M][K4] · w[N][K4]ᵀ, s8 rows of K4 bytes: on cuBLASLt the column-major
 * accᵀ[N][M] = op(w)[N][K4] · aᵀ[K4][M] with w transposed (the TN form IMMA takes), CUBLAS_COMPUTE_32I. */
typedef struct {
    int64_t M, N, K4;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
    int has_algo;                       /* 0: the dp4a kernel runs */
} cuda_s8_gemm;

/* Asks cuBLASLt for an IMMA algorithm for this shape (only when N is a multiple of 4; none: dp4a, with a
 * recorded warning when cuBLASLt failed rather than had none). Fails only on out-of-memory. */
infer_status cuda_s8_gemm_prepare(cuda_ctx *c, cuda_s8_gemm *g, int64_t M, int64_t N, int64_t K4, infer_error *err);
/* Runs the planned GEMM; an M other than the planned one (a last, shorter pass) runs on dp4a. */
infer_status cuda_s8_gemm_run(cuda_ctx *c, const cuda_s8_gemm *g, const int8_t *a, const int8_t *w, int32_t *acc,
                              int64_t M, infer_error *err);
void cuda_s8_gemm_destroy(cuda_s8_gemm *g);

#define CUDA_S8_SCRATCH_TARGET ((size_t)64 << 20) /* an INT8 layer's passes are sized to stay within this */

/* An INT8 linear or conv2d node's plan for one shape. */
typedef struct {
    int conv;            /* conv2d (im2col columns) rather than linear */
    int64_t N, K, K4;
    int64_t rows;        /* linear: rows (M) of x; conv2d: images */
    int64_t per_pass;    /* rows (linear) or images (conv2d) per pass */
    int64_t row_len;     /* conv2d: C * H * W of an image; linear: K */
    int64_t P;           /* conv2d: output positions per image; linear: 1 */
    int64_t C, H, W, OH, OW;
    int kernel[2];
    size_t off_xq, off_cols, off_acc, off_scale, off_zero; /* in cuda_ctx.scratch */
    cuda_s8_gemm gemm;
} cuda_s8_plan;

/* Scratch offsets and passes for `rows` rows (linear) or images (conv2d) of row_len values, each giving P GEMM
 * rows of K4 bytes (linear: the quantized row itself) and N sums; returns the scratch bytes. */
size_t cuda_s8_plan_layout(cuda_s8_plan *p);

#endif
