/* spmm_cusparselt.c — 2:4 weight × dense activations on cuSPARSELt (FP16 in and out, f32 accumulation), every
 * status checked; compiled out without INFER_HAVE_CUSPARSELT (the Makefile's detection), then 2:4 weights densify. */
#include <stdlib.h>
#include <string.h>
#include "spmm_cusparselt.h"
#include "../../base/error.h"

#define SPLT_ALIGN 16u /* bytes: every pointer is 256-aligned, every leading dimension a multiple of 16 halves */

#ifdef INFER_HAVE_CUSPARSELT
#define DISABLE_CUSPARSE_DEPRECATED /* cusparse.h, included by cusparseLt.h: its legacy API is not used */
#include <cusparseLt.h>

static size_t up256(size_t n) { return (n + 255) & ~(size_t)255; }

typedef struct {
    cusparseLtMatDescriptor_t a, b, d;
    cusparseLtMatmulDescriptor_t mm;
    cusparseLtMatmulAlgSelection_t alg;
    cusparseLtMatmulPlan_t plan;
    int made_a, made_b, made_d, made_alg, made_plan;
} splt_plan;

static infer_status splt_fail(infer_error *err, cusparseStatus_t s, const char *call, int line) {
    return infer_fail(err, s == CUSPARSE_STATUS_ALLOC_FAILED ? INFER_ERR_MEMORY : INFER_ERR_DEVICE,
                      "cuSPARSELt call %s failed at %s:%d: %s (%d); --sparse dense runs 2:4 weights densified",
                      call, __FILE__, line, cusparseLtGetErrorString(s), (int)s);
}

#define SPLT_CHECK(call)                                                        \
    do {                                                                        \
        cusparseStatus_t splt_check_s_ = (call);                                \
        if (splt_check_s_ != CUSPARSE_STATUS_SUCCESS)                           \
            return splt_fail(err, splt_check_s_, #call, __LINE__);              \
    } while (0)

static infer_status sparselt_handle(cuda_ctx *c, const cusparseLtHandle_t **out, infer_error *err) {
    if (!c->sparselt) {
        cusparseLtHandle_t *h = calloc(1, sizeof *h);
        if (!h) return infer_fail(err, INFER_ERR_MEMORY, "out of memory for the cuSPARSELt handle");
        cusparseStatus_t s = cusparseLtInit(h);
        if (s != CUSPARSE_STATUS_SUCCESS) {
            free(h);
            return splt_fail(err, s, "cusparseLtInit", __LINE__);
        }
        c->sparselt = h;
    }
    *out = c->sparselt;
    return INFER_OK;
}

void cuda_ctx_sparselt_release(cuda_ctx *c) {
    if (c->sparselt) cusparseLtDestroy((cusparseLtHandle_t *)c->sparselt);
    free(c->sparselt);
    c->sparselt = NULL;
}

/* A: the weight [N][K] row-major read as column-major [K, N] (ld K), 2:4 along K, used transposed. */
static cusparseStatus_t weight_descriptor(const cusparseLtHandle_t *h, cusparseLtMatDescriptor_t *a, int64_t N,
                                          int64_t K) {
    return cusparseLtStructuredDescriptorInit(h, a, K, N, K, SPLT_ALIGN, CUDA_R_16F, CUSPARSE_ORDER_COL,
                                              CUSPARSELT_SPARSITY_50_PERCENT);
}

infer_status cuda_24_compress(cuda_ctx *c, int64_t N, int64_t K, const void *weight, void *compressed, size_t room,
                              infer_error *err) {
    const cusparseLtHandle_t *h = NULL;
    INFER_TRY(sparselt_handle(c, &h, err));
    cusparseLtMatDescriptor_t a;
    SPLT_CHECK(weight_descriptor(h, &a, N, K));
    size_t size = 0, buffer = 0;
    cusparseStatus_t s = cusparseLtSpMMACompressedSize2(h, &a, &size, &buffer);
    if (s != CUSPARSE_STATUS_SUCCESS) {
        cusparseLtMatDescriptorDestroy(&a);
        return splt_fail(err, s, "cusparseLtSpMMACompressedSize2", __LINE__);
    }
    if (size > room) {
        cusparseLtMatDescriptorDestroy(&a);
        return infer_fail(err, INFER_ERR_INTERNAL, "2:4 weight [%lld,%lld]: cuSPARSELt's compressed form needs %zu bytes, "
                          "%zu reserved (cuda_24_layout_for)", (long long)N, (long long)K, size, room);
    }
    void *tmp = NULL;
    infer_status st = buffer ? cuda_alloc(&tmp, buffer, "cuSPARSELt compression buffer", err) : INFER_OK;
    if (st == INFER_OK) {
        s = cusparseLtSpMMACompress2(h, &a, 1, CUSPARSE_OPERATION_TRANSPOSE, weight, compressed, tmp, c->stream);
        if (s != CUSPARSE_STATUS_SUCCESS) st = splt_fail(err, s, "cusparseLtSpMMACompress2", __LINE__);
    }
    if (st == INFER_OK) {
        cudaError_t ce = cudaStreamSynchronize(c->stream);
        if (ce != cudaSuccess)
            st = infer_fail(err, INFER_ERR_DEVICE, "2:4 compression: %s", cudaGetErrorString(ce));
    }
    if (tmp) cudaFree(tmp);
    cusparseLtMatDescriptorDestroy(&a);
    return st;
}

void cuda_spmm24_destroy(cuda_spmm24 *s) {
    splt_plan *p = s->lt;
    if (p) {
        if (p->made_plan) cusparseLtMatmulPlanDestroy(&p->plan);
        if (p->made_alg) cusparseLtMatmulAlgSelectionDestroy(&p->alg);
        if (p->made_d) cusparseLtMatDescriptorDestroy(&p->d);
        if (p->made_b) cusparseLtMatDescriptorDestroy(&p->b);
        if (p->made_a) cusparseLtMatDescriptorDestroy(&p->a);
        free(p);
    }
    memset(s, 0, sizeof *s);
}

infer_status cuda_spmm24_prepare(cuda_ctx *c, cuda_spmm24 *s, int64_t M, int64_t N, int64_t K, infer_error *err) {
    cuda_spmm24_destroy(s);
    s->M = M, s->N = N, s->K = K, s->Mp = (M + 15) / 16 * 16;
    if (M < 1) return INFER_OK; /* nothing to multiply: run does nothing */
    if (N % 16 || K % 16)
        return infer_fail(err, INFER_ERR_INTERNAL, "2:4 weight [%lld,%lld]: cuSPARSELt needs multiples of 16",
                          (long long)N, (long long)K);
    const cusparseLtHandle_t *h = NULL;
    INFER_TRY(sparselt_handle(c, &h, err));
    splt_plan *p = calloc(1, sizeof *p);
    if (!p) return infer_fail(err, INFER_ERR_MEMORY, "out of memory planning a 2:4 linear");
    s->lt = p;
    SPLT_CHECK(weight_descriptor(h, &p->a, N, K));
    p->made_a = 1;
    SPLT_CHECK(cusparseLtDenseDescriptorInit(h, &p->b, K, s->Mp, K, SPLT_ALIGN, CUDA_R_16F, CUSPARSE_ORDER_COL));
    p->made_b = 1;
    SPLT_CHECK(cusparseLtDenseDescriptorInit(h, &p->d, N, s->Mp, N, SPLT_ALIGN, CUDA_R_16F, CUSPARSE_ORDER_COL));
    p->made_d = 1;
    SPLT_CHECK(cusparseLtMatmulDescriptorInit(h, &p->mm, CUSPARSE_OPERATION_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                              &p->a, &p->b, &p->d, &p->d, CUSPARSE_COMPUTE_32F));
    SPLT_CHECK(cusparseLtMatmulAlgSelectionInit(h, &p->alg, &p->mm, CUSPARSELT_MATMUL_ALG_DEFAULT));
    p->made_alg = 1;
    SPLT_CHECK(cusparseLtMatmulPlanInit(h, &p->plan, &p->mm, &p->alg));
    p->made_plan = 1;
    SPLT_CHECK(cusparseLtMatmulGetWorkspace(h, &p->plan, &s->workspace));
    s->scratch = up256(s->workspace);
    if (s->Mp != M) {
        s->off_x = s->scratch;
        s->off_y = s->off_x + up256((size_t)(s->Mp * K) * 2);
        s->scratch = s->off_y + up256((size_t)(s->Mp * N) * 2);
    }
    return INFER_OK;
}

infer_status cuda_spmm24_run(cuda_ctx *c, const cuda_spmm24 *s, const void *compressed, const void *x, void *y,
                             infer_error *err) {
    if (s->M < 1) return INFER_OK;
    const splt_plan *p = s->lt;
    if (!p || !c->sparselt) return infer_fail(err, INFER_ERR_INTERNAL, "cuSPARSELt matmul run without a plan");
    if (s->scratch && (!c->scratch || c->scratch_bytes < s->scratch))
        return infer_fail(err, INFER_ERR_INTERNAL, "cuSPARSELt matmul: scratch of %zu bytes missing", s->scratch);
    uint8_t *scratch = c->scratch;
    const void *b = x;
    void *d = y;
    size_t x_bytes = (size_t)(s->M * s->K) * 2, y_bytes = (size_t)(s->M * s->N) * 2;
    if (s->Mp != s->M) { /* the extra columns of b are whatever scratch holds: they reach only d's extra columns */
        b = scratch + s->off_x, d = scratch + s->off_y;
        cudaError_t ce = cudaMemcpyAsync((void *)b, x, x_bytes, cudaMemcpyDeviceToDevice, c->stream);
        if (ce != cudaSuccess) return infer_fail(err, INFER_ERR_DEVICE, "2:4 linear, input copy: %s", cudaGetErrorString(ce));
    }
    float alpha = 1.0f, beta = 0.0f;
    cudaStream_t stream = c->stream;
    SPLT_CHECK(cusparseLtMatmul((const cusparseLtHandle_t *)c->sparselt, &p->plan, &alpha, compressed, b, &beta, d, d,
                                s->workspace ? scratch : NULL, &stream, 1));
    if (d != y) {
        cudaError_t ce = cudaMemcpyAsync(y, d, y_bytes, cudaMemcpyDeviceToDevice, c->stream);
        if (ce != cudaSuccess) return infer_fail(err, INFER_ERR_DEVICE, "2:4 linear, output copy: %s", cudaGetErrorString(ce));
    }
    return INFER_OK;
}

#else /* no cuSPARSELt: cuda_keeps_encoded densifies every 2:4 weight, so none of these is reached */

static infer_status not_built(infer_error *err) {
    return infer_fail(err, INFER_ERR_UNSUPPORTED, "2:4 needs cuSPARSELt, not built in (scripts/install-deps, then rebuild)");
}
infer_status cuda_24_compress(cuda_ctx *c, int64_t N, int64_t K, const void *weight, void *compressed, size_t room,
                              infer_error *err) {
    return not_built(err);
}
infer_status cuda_spmm24_prepare(cuda_ctx *c, cuda_spmm24 *s, int64_t M, int64_t N, int64_t K, infer_error *err) {
    return not_built(err);
}
infer_status cuda_spmm24_run(cuda_ctx *c, const cuda_spmm24 *s, const void *compressed, const void *x, void *y,
                             infer_error *err) {
    return not_built(err);
}
void cuda_spmm24_destroy(cuda_spmm24 *s) { memset(s, 0, sizeof *s); }
void cuda_ctx_sparselt_release(cuda_ctx *c) { c->sparselt = NULL; }

#endif
