/* gemm_cublaslt.c — cuBLASLt GEMMs: row-major C = A·op(B) computed as the column-major Cᵀ = op(B)ᵀ·Aᵀ, fused epilogues, tuning. */
#include <stdio.h>
#include <string.h>
#include "gemm_cublaslt.h"
#include "../../runtime/cuda/cuda_check.h"
#include "cuda_kernels.h"

#define GEMM_CANDIDATES 8

unsigned cuda_align_of(uint64_t a) {
    unsigned al = 256;
    while (al > 1 && (a % al) != 0) al >>= 1;
    return al;
}

static cublasComputeType_t compute_type(const cuda_ctx *c) {
    return c->precision == INFER_PRECISION_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

void cuda_gemm_destroy(cuda_gemm *g) {
    if (g->op) cublasLtMatmulDescDestroy(g->op);
    if (g->la) cublasLtMatrixLayoutDestroy(g->la);
    if (g->lb) cublasLtMatrixLayoutDestroy(g->lb);
    if (g->lc) cublasLtMatrixLayoutDestroy(g->lc);
    memset(g, 0, sizeof *g);
}

static infer_status set_batch(cublasLtMatrixLayout_t l, int64_t batch, int64_t stride, infer_error *err) {
    if (batch <= 1) return INFER_OK;
    int32_t count = (int32_t)batch;
    CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
    CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
    return INFER_OK;
}

/* Descriptors and layouts for the epilogue chosen by fuse (0: plain GEMM, epilogue by kernel). */
static infer_status build(cuda_ctx *c, cuda_gemm *g, int fuse, infer_error *err) {
    const cuda_gemm_desc *d = &g->d;
    cudaDataType_t dt = c->fp16 ? CUDA_R_16F : CUDA_R_32F;
    if (g->op) cublasLtMatmulDescDestroy(g->op);
    if (g->la) cublasLtMatrixLayoutDestroy(g->la);
    if (g->lb) cublasLtMatrixLayoutDestroy(g->lb);
    if (g->lc) cublasLtMatrixLayoutDestroy(g->lc);
    g->op = NULL;
    g->la = g->lb = g->lc = NULL;
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&g->op, compute_type(c), CUDA_R_32F));
    cublasOperation_t ta = d->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));

    /* cuBLASLt's GELU is the tanh approximation: fused only for gelu_tanh, and only in fp16 where
     * its own tanh is within tolerance; relu is exact. A residual is added through beta*C, so the
     * activation then runs after it in our kernel. */
    int act_ok = fuse && !d->has_residual &&
                 (d->act.kind == ACT_RELU || (d->act.kind == ACT_GELU_TANH && c->fp16));
    g->fused_act = act_ok;
    g->fused_bias = fuse && d->has_bias;
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (g->fused_bias && act_ok) epi = d->act.kind == ACT_RELU ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_GELU_BIAS;
    else if (g->fused_bias) epi = CUBLASLT_EPILOGUE_BIAS;
    else if (act_ok) epi = d->act.kind == ACT_RELU ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_GELU;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));

    if (d->trans_b) CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&g->la, dt, (uint64_t)d->K, (uint64_t)d->N, d->K));
    else CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&g->la, dt, (uint64_t)d->N, (uint64_t)d->K, d->N));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&g->lb, dt, (uint64_t)d->K, (uint64_t)d->M, d->K));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&g->lc, dt, (uint64_t)d->N, (uint64_t)d->M, d->N));
    INFER_TRY(set_batch(g->la, d->batch, d->stride_b, err));
    INFER_TRY(set_batch(g->lb, d->batch, d->stride_a, err));
    INFER_TRY(set_batch(g->lc, d->batch, d->stride_c, err));
    snprintf(g->key, sizeof g->key, "gemm|%s|%lld,%lld,%lld|tb%d|b%lld,%lld,%lld,%lld|epi%d|al%u,%u,%u",
             infer_precision_name(c->precision), (long long)d->M, (long long)d->N, (long long)d->K, d->trans_b,
             (long long)d->batch, (long long)d->stride_a, (long long)d->stride_b, (long long)d->stride_c, (int)epi,
             d->align_a, d->align_b, d->align_c);
    return INFER_OK;
}

static infer_status heuristics(cuda_ctx *c, cuda_gemm *g, cublasLtMatmulHeuristicResult_t *res, int *count,
                               infer_error *err) {
    cublasLtMatmulPreference_t pref = NULL;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    size_t ws = CUDA_LT_WORKSPACE;
    uint32_t aa = g->d.align_b, ab = g->d.align_a, ac = g->d.align_c;
    cublasStatus_t s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &aa, sizeof aa);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &ab, sizeof ab);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &ac, sizeof ac);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &ac, sizeof ac);
    *count = 0;
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulAlgoGetHeuristic(c->lt, g->op, g->la, g->lb, g->lc, g->lc, pref, GEMM_CANDIDATES, res, count);
    cublasLtMatmulPreferenceDestroy(pref);
    /* NOT_SUPPORTED here means no algorithm fits: the caller tries a plainer epilogue */
    if (s == CUBLAS_STATUS_NOT_SUPPORTED) {
        *count = 0;
        return INFER_OK;
    }
    CUBLAS_CHECK(s);
    return INFER_OK;
}

static void algo_to_hex(const cublasLtMatmulAlgo_t *a, char *out, size_t n) {
    size_t used = 0;
    for (int i = 0; i < 8 && used + 17 <= n; i++)
        used += (size_t)snprintf(out + used, n - used, "%016llx", (unsigned long long)a->data[i]);
}

static int algo_from_hex(const char *s, cublasLtMatmulAlgo_t *a) {
    if (strlen(s) != 128) return 0;
    for (int i = 0; i < 8; i++) {
        unsigned long long v = 0;
        for (int j = 0; j < 16; j++) {
            char ch = s[i * 16 + j];
            int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            if (d < 0) return 0;
            v = (v << 4) | (unsigned)d;
        }
        a->data[i] = v;
    }
    return 1;
}

/* A cached algorithm, checked by cuBLASLt against this problem before it is trusted. */
static int from_cache(cuda_ctx *c, cuda_gemm *g) {
    if (!c->cache_used) return 0;
    const char *v = tune_cache_get(&c->cache, g->key);
    if (!v) return 0;
    cublasLtMatmulAlgo_t algo;
    cublasLtMatmulHeuristicResult_t r;
    memset(&r, 0, sizeof r);
    if (!algo_from_hex(v, &algo) ||
        cublasLtMatmulAlgoCheck(c->lt, g->op, g->la, g->lb, g->lc, g->lc, &algo, &r) != CUBLAS_STATUS_SUCCESS ||
        r.workspaceSize > CUDA_LT_WORKSPACE) {
        cuda_ctx_warn(c, "tuning cache entry for %s is not valid here; using the heuristic", g->key);
        return 0;
    }
    g->algo = algo;
    g->ws_bytes = r.workspaceSize;
    g->has_algo = 1;
    g->cached = 1;
    return 1;
}

infer_status cuda_gemm_prepare(cuda_ctx *c, cuda_gemm *g, const cuda_gemm_desc *d, infer_error *err) {
    memset(g, 0, sizeof *g);
    g->d = *d;
    if (g->d.batch < 1) g->d.batch = 1;
    if (d->M <= 0 || d->N <= 0 || d->K <= 0) return INFER_OK; /* empty: run does the epilogue only */
    if (d->M > INT32_MAX || d->N > INT32_MAX || d->K > INT32_MAX || d->batch > INT32_MAX)
        return infer_fail(err, INFER_ERR_UNSUPPORTED, "GEMM %lldx%lldx%lld (batch %lld) is too large for cuBLASLt",
                          (long long)d->M, (long long)d->N, (long long)d->K, (long long)d->batch);
    cublasLtMatmulHeuristicResult_t res[GEMM_CANDIDATES];
    for (int fuse = 1; fuse >= 0; fuse--) {
        INFER_TRY(build(c, g, fuse, err));
        if (from_cache(c, g)) return INFER_OK;
        int count = 0;
        INFER_TRY(heuristics(c, g, res, &count, err));
        if (count > 0) {
            g->algo = res[0].algo;
            g->ws_bytes = res[0].workspaceSize;
            g->has_algo = 1;
            return INFER_OK;
        }
    }
    /* no cuBLASLt algorithm, even without a fused epilogue: plain cuBLAS, which takes any shape */
    INFER_TRY(cuda_ctx_blas(c, err));
    g->gemmex = 1;
    g->fused_act = g->fused_bias = 0;
    cuda_ctx_warn(c, "cuBLASLt has no algorithm for GEMM M=%lld N=%lld K=%lld batch=%lld (%s, alignments %u/%u/%u); "
                  "using cublasGemmEx", (long long)d->M, (long long)d->N, (long long)d->K, (long long)d->batch,
                  infer_precision_name(c->precision), d->align_a, d->align_b, d->align_c);
    return INFER_OK;
}

/* The same product through cublasGemmStridedBatchedEx (column-major Cᵀ = op(B)ᵀ·Aᵀ, as for cuBLASLt);
 * bias, residual and activation then by cuda_epilogue. */
static infer_status run_gemmex(cuda_ctx *c, cuda_gemm *g, const void *A, const void *B, void *C, const void *bias,
                               const void *residual, infer_error *err) {
    const cuda_gemm_desc *d = &g->d;
    cudaDataType_t dt = c->fp16 ? CUDA_R_16F : CUDA_R_32F;
    cublasComputeType_t ct = compute_type(c);
    float alpha = 1.0f, beta = 0.0f;
    if (c->lt_ws) CUBLAS_CHECK(cublasSetWorkspace(c->blas, c->lt_ws, c->lt_ws_bytes)); /* no allocation in a capture */
    cublasOperation_t ta = d->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    int lda = (int)(d->trans_b ? d->K : d->N);
    int64_t batch = d->batch < 1 ? 1 : d->batch;
    CUBLAS_CHECK(cublasGemmStridedBatchedEx(c->blas, ta, CUBLAS_OP_N, (int)d->N, (int)d->M, (int)d->K, &alpha, B, dt,
                                            lda, d->stride_b, A, dt, (int)d->K, d->stride_a, &beta, C, dt, (int)d->N,
                                            d->stride_c, (int)batch, ct, CUBLAS_GEMM_DEFAULT));
    return cuda_epilogue(c->stream, c->fp16 ? INFER_F16 : INFER_F32, C, d->M * d->N * batch, d->has_bias ? bias : NULL, d->N, 1,
                         d->has_residual ? residual : NULL, d->act, err);
}

static cublasStatus_t matmul(cuda_ctx *c, cuda_gemm *g, const cublasLtMatmulAlgo_t *algo, const void *A,
                             const void *B, void *C, const void *bias, const void *residual) {
    float alpha = 1.0f, beta = residual ? 1.0f : 0.0f;
    if (g->fused_bias) {
        cublasStatus_t s = cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
        if (s != CUBLAS_STATUS_SUCCESS) return s;
    }
    return cublasLtMatmul(c->lt, g->op, &alpha, B, g->la, A, g->lb, &beta, residual ? residual : C, g->lc, C, g->lc,
                          algo, c->lt_ws, c->lt_ws_bytes, c->stream);
}

infer_status cuda_gemm_run(cuda_ctx *c, cuda_gemm *g, const void *A, const void *B, void *C, const void *bias,
                           const void *residual, infer_error *err) {
    const cuda_gemm_desc *d = &g->d;
    int64_t n = d->M * d->N * d->batch;
    if (n <= 0) return INFER_OK;
    if (d->K <= 0) { /* empty sum: C = epilogue(0) */
        CUDA_CHECK(cudaMemsetAsync(C, 0, (size_t)n * (c->fp16 ? 2 : 4), c->stream));
        return cuda_epilogue(c->stream, c->fp16 ? INFER_F16 : INFER_F32, C, n, d->has_bias ? bias : NULL, d->N, 1,
                             d->has_residual ? residual : NULL, d->act, err);
    }
    if (g->gemmex) return run_gemmex(c, g, A, B, C, bias, residual, err);
    if (!g->has_algo) return infer_fail(err, INFER_ERR_INTERNAL, "GEMM run without a plan");
    if (g->ws_bytes > c->lt_ws_bytes)
        return infer_fail(err, INFER_ERR_INTERNAL, "GEMM algorithm needs %zu bytes of workspace, %zu allocated",
                          g->ws_bytes, c->lt_ws_bytes);
    cublasStatus_t s = matmul(c, g, &g->algo, A, B, C, d->has_bias ? bias : NULL, d->has_residual ? residual : NULL);
    if (s != CUBLAS_STATUS_SUCCESS)
        return cuda_fail_blas(err, s, "cublasLtMatmul", __FILE__, __LINE__);
    const void *eb = (d->has_bias && !g->fused_bias) ? bias : NULL;
    act_params act = d->act;
    if (g->fused_act) act.kind = ACT_NONE;
    return cuda_epilogue(c->stream, c->fp16 ? INFER_F16 : INFER_F32, C, n, eb, d->N, 1, NULL, act, err);
}

infer_status cuda_gemm_tune(cuda_ctx *c, cuda_gemm *g, const void *A, const void *B, void *C, const void *bias,
                            const void *residual, infer_error *err) {
    const cuda_gemm_desc *d = &g->d;
    if (!g->has_algo || d->M * d->N * d->K <= 0) return INFER_OK;
    if (g->cached) return INFER_OK; /* already chosen, from the cache */
    cublasLtMatmulHeuristicResult_t res[GEMM_CANDIDATES];
    int count = 0;
    INFER_TRY(heuristics(c, g, res, &count, err));
    if (count <= 1) return INFER_OK;
    cudaEvent_t e0 = NULL, e1 = NULL;
    CUDA_CHECK(cudaEventCreate(&e0));
    cudaError_t ce = cudaEventCreate(&e1);
    if (ce != cudaSuccess) {
        cudaEventDestroy(e0);
        return cuda_fail_rt(err, ce, "cudaEventCreate (GEMM tuning)", __FILE__, __LINE__);
    }
    float best = 1e30f;
    int best_i = -1;
    const void *bb = d->has_bias ? bias : NULL, *rr = d->has_residual ? residual : NULL;
    for (int i = 0; i < count; i++) {
        if (res[i].workspaceSize > c->lt_ws_bytes) continue;
        if (matmul(c, g, &res[i].algo, A, B, C, bb, rr) != CUBLAS_STATUS_SUCCESS) continue; /* warm-up */
        cudaEventRecord(e0, c->stream);
        int ok = 1;
        for (int r = 0; r < 5 && ok; r++) ok = matmul(c, g, &res[i].algo, A, B, C, bb, rr) == CUBLAS_STATUS_SUCCESS;
        cudaEventRecord(e1, c->stream);
        float ms = 0;
        if (ok && cudaEventSynchronize(e1) == cudaSuccess && cudaEventElapsedTime(&ms, e0, e1) == cudaSuccess &&
            ms < best) {
            best = ms;
            best_i = i;
        }
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaError_t e = cudaStreamSynchronize(c->stream);
    if (e != cudaSuccess) return cuda_fail_rt(err, e, "cudaStreamSynchronize (GEMM tuning)", __FILE__, __LINE__);
    if (best_i >= 0) {
        g->algo = res[best_i].algo;
        g->ws_bytes = res[best_i].workspaceSize;
        if (c->cache_used) {
            char hex[160];
            algo_to_hex(&g->algo, hex, sizeof hex);
            tune_cache_put(&c->cache, g->key, hex);
        }
    }
    return INFER_OK;
}
