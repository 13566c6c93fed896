/* spmm_cusparse.h — a linear with a CSR weight on cuSPARSE's generic SpMM: descriptors and buffer size made when planning. */
#ifndef INFER_CUDA_SPMM_H
#define INFER_CUDA_SPMM_H

#include "../../runtime/cuda/cuda_ctx.h"

/* Y[M,N] = X[M,K] · Wᵀ with W CSR [N,K], as the column-major Yᵀ[N,M] = W · Xᵀ[K,M] (no transposes). */
typedef struct {
    int64_t M, N, K, nnz;
    void *w;                            /* cusparseSpMatDescr_t (cusparse.h stays out of the shared headers) */
    void *x, *y;                        /* cusparseDnMatDescr_t */
    size_t buffer;                      /* SpMM's buffer, in cuda_ctx.scratch */
} cuda_spmm;

/* Descriptors for these sizes (pointers are set at each run) and the buffer SpMM needs. */
infer_status cuda_spmm_prepare(cuda_ctx *c, cuda_spmm *s, int64_t M, int64_t N, int64_t K, int64_t nnz,
                               infer_error *err);
/* y = x · Wᵀ (f32) from the CSR arrays on the device; buffer is cuda_ctx.scratch (s->buffer bytes). */
infer_status cuda_spmm_run(cuda_ctx *c, cuda_spmm *s, const float *values, const int32_t *col_idx,
                           const int32_t *row_ptr, const float *x, float *y, infer_error *err);
void cuda_spmm_destroy(cuda_spmm *s);

#endif
