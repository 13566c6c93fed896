/* spmm_cusparselt.h — a linear with a 2:4 weight on cuSPARSELt (FP16): compression at engine build, plan per batch. */
#ifndef INFER_CUDA_SPMM_LT_H
#define INFER_CUDA_SPMM_LT_H

#include "../../runtime/cuda/cuda_ctx.h"

/* Y[M,N] = X[M,K] · Wᵀ with W 2:4 [N,K], as the column-major Yᵀ[N,M] = op(A) · Xᵀ[K,M] where A is W read
 * column-major as [K,N] and op(A) = Aᵀ (cuBLAS's "TN"). M is planned rounded up to 16 (Mp, cuSPARSELt's rule):
 * when M < Mp, x is copied into scratch first and the product is copied out of it. */
typedef struct {
    int64_t M, Mp, N, K;
    size_t workspace;       /* cuSPARSELt's workspace, at scratch offset 0 */
    size_t off_x, off_y;    /* padded x [Mp][K] and y [Mp][N] (f16) in scratch, when M < Mp */
    size_t scratch;         /* bytes of cuda_ctx.scratch in all */
    void *lt;               /* descriptors and plan (cusparseLt.h stays out of the shared headers) */
} cuda_spmm24;

/* Compresses the dense half weight [N][K] at `weight` into `compressed` (at most `room` bytes), on c's stream,
 * synchronously; engine build only (it allocates cuSPARSELt's temporary buffer). */
infer_status cuda_24_compress(cuda_ctx *c, int64_t N, int64_t K, const void *weight, void *compressed, size_t room,
                              infer_error *err);
/* Descriptors and plan for M rows (no pointers: the run passes them), and the scratch the run needs. */
infer_status cuda_spmm24_prepare(cuda_ctx *c, cuda_spmm24 *s, int64_t M, int64_t N, int64_t K, infer_error *err);
/* y[M,N] = x[M,K] · Wᵀ (f16) from the compressed weight; scratch is cuda_ctx.scratch (s->scratch bytes). */
infer_status cuda_spmm24_run(cuda_ctx *c, const cuda_spmm24 *s, const void *compressed, const void *x, void *y,
                             infer_error *err);
void cuda_spmm24_destroy(cuda_spmm24 *s);
/* Releases c's cuSPARSELt handle (cuda_ctx_destroy). */
void cuda_ctx_sparselt_release(cuda_ctx *c);

#endif
