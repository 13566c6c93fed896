/* matmul.c — batched a[..., M, K] · b[..., K, N] with torch.matmul's broadcasting of the batch dims. */
#include "cpu_kernels.h"
#include "../../base/error.h"

typedef struct {
    const infer_tensor *a, *b, *y;
    int64_t m, n, k;
    cpu_ctx *ctx;
} matmul_job;

/* Offset of the matrix of batch item `item` (over y's batch dims) inside t, broadcasting size-1 dims. */
static int64_t batch_offset(const infer_tensor *t, const infer_tensor *y, int64_t item) {
    int64_t offset = 0, stride = t->dims[t->ndim - 2] * t->dims[t->ndim - 1];
    for (int d = y->ndim - 3, td = t->ndim - 3; d >= 0; d--, td--) {
        int64_t idx = item % y->dims[d];
        item /= y->dims[d];
        if (td < 0) continue;
        if (t->dims[td] != 1) offset += idx * stride;
        stride *= t->dims[td];
    }
    return offset;
}

static void item_gemm(const matmul_job *job, int64_t item, uint8_t *scratch) {
    const float *a = (const float *)job->a->data + batch_offset(job->a, job->y, item);
    const float *b = (const float *)job->b->data + batch_offset(job->b, job->y, item);
    float *y = (float *)job->y->data + item * job->m * job->n;
    if (scratch)
        cpu_sgemm_serial(scratch, job->ctx->isa, 0, 0, job->m, job->n, job->k, a, job->k, b, job->n, y, job->n, NULL);
    else cpu_sgemm(job->ctx, 0, 0, job->m, job->n, job->k, a, job->k, b, job->n, y, job->n, NULL);
}

static void items_task(void *arg, int64_t begin, int64_t end, int thread) {
    const matmul_job *job = arg;
    for (int64_t i = begin; i < end; i++) item_gemm(job, i, job->ctx->scratch + (size_t)thread * CPU_SCRATCH_BYTES);
}

static infer_status check_shapes(const infer_tensor *a, const infer_tensor *b, const infer_tensor *y,
                                 infer_error *err) {
    if (a->dtype != INFER_F32 || b->dtype != INFER_F32)
        return infer_fail(err, INFER_ERR_DTYPE, "matmul: inputs are %s and %s, expected f32",
                          infer_dtype_name(a->dtype), infer_dtype_name(b->dtype));
    if (a->ndim < 2 || b->ndim < 2 || y->ndim < a->ndim || y->ndim < b->ndim)
        return infer_fail(err, INFER_ERR_SHAPE, "matmul: inputs of %d and %d dims (at least 2 each) give %d dims",
                          a->ndim, b->ndim, y->ndim);
    int64_t k = a->dims[a->ndim - 1];
    if (b->dims[b->ndim - 2] != k || y->dims[y->ndim - 2] != a->dims[a->ndim - 2] ||
        y->dims[y->ndim - 1] != b->dims[b->ndim - 1])
        return infer_fail(err, INFER_ERR_SHAPE, "matmul: [%lld,%lld] x [%lld,%lld] does not give [%lld,%lld]",
                          (long long)a->dims[a->ndim - 2], (long long)k, (long long)b->dims[b->ndim - 2],
                          (long long)b->dims[b->ndim - 1], (long long)y->dims[y->ndim - 2],
                          (long long)y->dims[y->ndim - 1]);
    for (int d = 0; d < y->ndim - 2; d++) {
        int ad = d - (y->ndim - a->ndim), bd = d - (y->ndim - b->ndim);
        int64_t as = ad >= 0 ? a->dims[ad] : 1, bs = bd >= 0 ? b->dims[bd] : 1;
        if ((as != 1 && as != y->dims[d]) || (bs != 1 && bs != y->dims[d]))
            return infer_fail(err, INFER_ERR_SHAPE, "matmul: batch dim %d: %lld and %lld do not broadcast to %lld", d,
                              (long long)as, (long long)bs, (long long)y->dims[d]);
    }
    return INFER_OK;
}

/* True when b is one matrix shared by every item and a's items are all distinct: one tall GEMM. */
static int fold_batch_into_rows(const infer_tensor *a, const infer_tensor *b, const infer_tensor *y) {
    for (int d = 0; d < b->ndim - 2; d++)
        if (b->dims[d] != 1) return 0;
    int64_t a_items = 1, y_items = 1;
    for (int d = 0; d < a->ndim - 2; d++) a_items *= a->dims[d];
    for (int d = 0; d < y->ndim - 2; d++) y_items *= y->dims[d];
    return a_items == y_items;
}

CPU_KERNEL(matmul) {
    (void)n;
    const infer_tensor *a = &in[0], *b = &in[1], *y = &out[0];
    infer_status s = check_shapes(a, b, y, err);
    if (s != INFER_OK) return s;
    matmul_job job = { a, b, y, a->dims[a->ndim - 2], b->dims[b->ndim - 1], a->dims[a->ndim - 1], ctx };
    int64_t items = 1;
    for (int d = 0; d < y->ndim - 2; d++) items *= y->dims[d];
    if (items == 0 || job.m == 0 || job.n == 0) return INFER_OK;
    if (fold_batch_into_rows(a, b, y)) {
        cpu_sgemm(ctx, 0, 0, items * job.m, job.n, job.k, a->data, job.k, b->data, job.n, y->data, job.n, NULL);
        return INFER_OK;
    }
    if (ctx->pool && ctx->threads > 1 && items >= ctx->threads) {
        pool_parallel_for(ctx->pool, items, 1, items_task, &job);
        return INFER_OK;
    }
    for (int64_t i = 0; i < items; i++) item_gemm(&job, i, NULL);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_matmul[] = {
    { .storages = CPU_DENSE, .run = cpu_matmul },
    { 0 },
};
