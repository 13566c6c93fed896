/* spmm_cusparse.c — CSR weight × dense activations on cuSPARSE (generic API, f32), every status checked. */
#include <string.h>
#define DISABLE_CUSPARSE_DEPRECATED /* the header's deprecated legacy API is not used */
#include <cusparse.h>
#include "spmm_cusparse.h"
#include "../../base/error.h"

static infer_status sparse_fail(infer_error *err, cusparseStatus_t s, const char *call, int line) {
    return infer_fail(err, s == CUSPARSE_STATUS_ALLOC_FAILED ? INFER_ERR_MEMORY : INFER_ERR_DEVICE,
                      "cuSPARSE call %s failed at %s:%d: %s (%d)", call, __FILE__, line, cusparseGetErrorString(s), (int)s);
}

#define SPARSE_CHECK(call)                                                        \
    do {                                                                          \
        cusparseStatus_t sparse_check_s_ = (call);                                \
        if (sparse_check_s_ != CUSPARSE_STATUS_SUCCESS)                           \
            return sparse_fail(err, sparse_check_s_, #call, __LINE__);            \
    } while (0)

void cuda_spmm_destroy(cuda_spmm *s) {
    if (s->w) cusparseDestroySpMat((cusparseSpMatDescr_t)s->w);
    if (s->x) cusparseDestroyDnMat((cusparseDnMatDescr_t)s->x);
    if (s->y) cusparseDestroyDnMat((cusparseDnMatDescr_t)s->y);
    memset(s, 0, sizeof *s);
}

infer_status cuda_spmm_prepare(cuda_ctx *c, cuda_spmm *s, int64_t M, int64_t N, int64_t K, int64_t nnz,
                               infer_error *err) {
    cuda_spmm_destroy(s);
    s->M = M, s->N = N, s->K = K, s->nnz = nnz;
    if (M < 1) return INFER_OK; /* nothing to multiply: run does nothing */
    INFER_TRY(cuda_ctx_sparse(c, err));
    /* Planning happens before the buffers exist: the descriptors get a placeholder address (never read; the
     * buffer size depends on sizes only) and each run sets the real ones. */
    void *placeholder = (void *)(uintptr_t)256;
    cusparseSpMatDescr_t w = NULL;
    cusparseDnMatDescr_t x = NULL, y = NULL;
    SPARSE_CHECK(cusparseCreateCsr(&w, N, K, nnz, placeholder, placeholder, placeholder, CUSPARSE_INDEX_32I,
                                   CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
    s->w = w;
    SPARSE_CHECK(cusparseCreateDnMat(&x, K, M, K, placeholder, CUDA_R_32F, CUSPARSE_ORDER_COL));
    s->x = x;
    SPARSE_CHECK(cusparseCreateDnMat(&y, N, M, N, placeholder, CUDA_R_32F, CUSPARSE_ORDER_COL));
    s->y = y;
    float alpha = 1.0f, beta = 0.0f;
    SPARSE_CHECK(cusparseSpMM_bufferSize((cusparseHandle_t)c->sparse, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                         CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, w, x, &beta, y, CUDA_R_32F,
                                         CUSPARSE_SPMM_ALG_DEFAULT, &s->buffer));
    return INFER_OK;
}

infer_status cuda_spmm_run(cuda_ctx *c, cuda_spmm *s, const float *values, const int32_t *col_idx,
                           const int32_t *row_ptr, const float *x, float *y, infer_error *err) {
    if (s->M < 1) return INFER_OK;
    if (!s->w || !c->sparse) return infer_fail(err, INFER_ERR_INTERNAL, "cuSPARSE SpMM run without a plan");
    if (s->buffer && (!c->scratch || c->scratch_bytes < s->buffer))
        return infer_fail(err, INFER_ERR_INTERNAL, "cuSPARSE SpMM: scratch of %zu bytes missing", s->buffer);
    cusparseSpMatDescr_t w = s->w;
    cusparseDnMatDescr_t dx = s->x, dy = s->y;
    SPARSE_CHECK(cusparseCsrSetPointers(w, (void *)row_ptr, (void *)col_idx, (void *)values));
    SPARSE_CHECK(cusparseDnMatSetValues(dx, (void *)x));
    SPARSE_CHECK(cusparseDnMatSetValues(dy, y));
    float alpha = 1.0f, beta = 0.0f;
    SPARSE_CHECK(cusparseSpMM((cusparseHandle_t)c->sparse, CUSPARSE_OPERATION_NON_TRANSPOSE,
                              CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, w, dx, &beta, dy, CUDA_R_32F,
                              CUSPARSE_SPMM_ALG_DEFAULT, s->buffer ? c->scratch : NULL));
    return INFER_OK;
}
