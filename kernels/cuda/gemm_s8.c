/* gemm_s8.c — INT8 GEMM on cuBLASLt IMMA (int32 sums) with the dp4a kernel as fallback; INT8 layer scratch plans. */
#include <string.h>
#include "gemm_s8.h"
#include "../../runtime/cuda/cuda_check.h"
#include "cuda_kernels.h"

static size_t up256(size_t n) { return (n + 255) & ~(size_t)255; }

void cuda_s8_gemm_destroy(cuda_s8_gemm *g) {
    if (g->op) cublasLtMatmulDescDestroy(g->op);
    if (g->la) cublasLtMatrixLayoutDestroy(g->la);
    if (g->lb) cublasLtMatrixLayoutDestroy(g->lb);
    if (g->lc) cublasLtMatrixLayoutDestroy(g->lc);
    g->op = NULL;
    g->la = g->lb = g->lc = NULL;
    g->has_algo = 0;
}

/* Descriptors and the heuristic's first algorithm; any cuBLASLt status other than success is returned. */
static cublasStatus_t lt_plan(cuda_ctx *c, cuda_s8_gemm *g) {
    cublasStatus_t s = cublasLtMatmulDescCreate(&g->op, CUBLAS_COMPUTE_32I, CUDA_R_32I);
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    if (s == CUBLAS_STATUS_SUCCESS) s = cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
    if (s == CUBLAS_STATUS_SUCCESS) s = cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatrixLayoutCreate(&g->la, CUDA_R_8I, (uint64_t)g->K4, (uint64_t)g->N, g->K4);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatrixLayoutCreate(&g->lb, CUDA_R_8I, (uint64_t)g->K4, (uint64_t)g->M, g->K4);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatrixLayoutCreate(&g->lc, CUDA_R_32I, (uint64_t)g->N, (uint64_t)g->M, g->N);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    cublasLtMatmulPreference_t pref = NULL;
    s = cublasLtMatmulPreferenceCreate(&pref);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    size_t ws = 0; /* no workspace: the same plan serves linear and conv2d, and nothing to size */
    s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    cublasLtMatmulHeuristicResult_t res;
    int count = 0;
    memset(&res, 0, sizeof res);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulAlgoGetHeuristic(c->lt, g->op, g->la, g->lb, g->lc, g->lc, pref, 1, &res, &count);
    cublasLtMatmulPreferenceDestroy(pref);
    if (s == CUBLAS_STATUS_SUCCESS && count > 0 && res.state == CUBLAS_STATUS_SUCCESS) {
        g->algo = res.algo;
        g->has_algo = 1;
    }
    return s;
}

infer_status cuda_s8_gemm_prepare(cuda_ctx *c, cuda_s8_gemm *g, int64_t M, int64_t N, int64_t K4, infer_error *err) {
    cuda_s8_gemm_destroy(g);
    g->M = M, g->N = N, g->K4 = K4;
    if (M < 1 || N % 4 || K4 % 4 || M > INT32_MAX || N > INT32_MAX) return INFER_OK; /* IMMA's ld rules: dp4a */
    cublasStatus_t s = lt_plan(c, g);
    if (s == CUBLAS_STATUS_ALLOC_FAILED) {
        cuda_s8_gemm_destroy(g);
        return cuda_fail_blas(err, s, "cuBLASLt INT8 GEMM planning", __FILE__, __LINE__);
    }
    if (s != CUBLAS_STATUS_SUCCESS && s != CUBLAS_STATUS_NOT_SUPPORTED)
        cuda_ctx_warn(c, "cuBLASLt INT8 GEMM %lldx%lldx%lld: status %d, the dp4a kernel runs instead", (long long)M,
                      (long long)N, (long long)K4, (int)s);
    if (!g->has_algo) cuda_s8_gemm_destroy(g);
    return INFER_OK;
}

infer_status cuda_s8_gemm_run(cuda_ctx *c, const cuda_s8_gemm *g, const int8_t *a, const int8_t *w, int32_t *acc,
                              int64_t M, infer_error *err) {
    if (M <= 0) return INFER_OK;
    if (!g->has_algo || M != g->M) return cuda_s8_gemm_dp4a(c->stream, a, w, acc, M, g->N, g->K4, err);
    int32_t alpha = 1, beta = 0;
    CUBLAS_CHECK(cublasLtMatmul(c->lt, g->op, &alpha, w, g->la, a, g->lb, &beta, acc, g->lc, acc, g->lc, &g->algo,
                                NULL, 0, c->stream));
    return INFER_OK;
}

size_t cuda_s8_plan_layout(cuda_s8_plan *p) {
    int conv = p->conv;
    /* per row (linear) or image (conv2d): its s8 copy, its columns (conv2d), its sums, its (scale, zero) */
    size_t per = (size_t)p->row_len + (conv ? (size_t)(p->P * p->K4) : 0) + (size_t)(p->P * p->N) * 4 + 8 + 1024;
    if (!conv) per = (size_t)p->K4 + (size_t)p->N * 4 + 8 + 16;
    int64_t k = (int64_t)(CUDA_S8_SCRATCH_TARGET / per);
    p->per_pass = k < 1 ? 1 : (k > p->rows ? p->rows : k);
    if (p->per_pass < 1) p->per_pass = 1;
    size_t n = (size_t)p->per_pass, off = 0;
    p->off_xq = off, off += up256(n * (size_t)(conv ? p->row_len : p->K4));
    p->off_cols = off, off += conv ? up256(n * (size_t)(p->P * p->K4)) : 0;
    p->off_acc = off, off += up256(n * (size_t)(p->P * p->N) * 4);
    p->off_scale = off, off += up256(n * 4);
    p->off_zero = off, off += up256(n * 4);
    return off;
}
