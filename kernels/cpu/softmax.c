/* softmax.c — softmax and log-softmax along any axis, max-subtracted, rows or column tiles in parallel. */
#include <math.h>
#include "cpu_kernels.h"
#include "vexp.h"
#include "../../base/error.h"

#define SOFTMAX_TILE 64              /* columns of an inner > 1 layout handled together */
#define SOFTMAX_TASK_ELEMENTS 16384  /* elements a parallel task gets at least */

typedef struct {
    const float *x;
    float *y;
    int64_t len, inner, tiles; /* tiles per outer index (inner > 1) */
    int log, isa;
} softmax_args;

/* A contiguous row. y may alias x. A row of all -inf gives NaN, like PyTorch. */
static void softmax_row(int isa, const float *x, float *y, int64_t len, int log_softmax) {
    float m = vexp_row_max(isa, x, len);
    if (log_softmax) {
        float log_sum = (float)log(vexp_row(isa, x, NULL, len, m));
        for (int64_t i = 0; i < len; i++) y[i] = (x[i] - m) - log_sum;
    } else {
        float scale = (float)(1.0 / vexp_row(isa, x, y, len, m));
        for (int64_t i = 0; i < len; i++) y[i] *= scale;
    }
}

/* Up to SOFTMAX_TILE columns j of a [len, inner] block, each column one softmax. y may alias x. */
static void softmax_columns(const float *x, float *y, int64_t len, int64_t inner, int64_t cols, int log_softmax) {
    float m[SOFTMAX_TILE];
    double sum[SOFTMAX_TILE];
    for (int64_t j = 0; j < cols; j++) {
        m[j] = -INFINITY;
        sum[j] = 0.0;
    }
    for (int64_t a = 0; a < len; a++)
        for (int64_t j = 0; j < cols; j++) m[j] = x[a * inner + j] > m[j] ? x[a * inner + j] : m[j];
    for (int64_t a = 0; a < len; a++)
        for (int64_t j = 0; j < cols; j++) sum[j] += expf(x[a * inner + j] - m[j]);
    float norm[SOFTMAX_TILE]; /* log of the sum, or its reciprocal */
    for (int64_t j = 0; j < cols; j++) norm[j] = (float)(log_softmax ? log(sum[j]) : 1.0 / sum[j]);
    for (int64_t a = 0; a < len; a++)
        for (int64_t j = 0; j < cols; j++) {
            float v = x[a * inner + j];
            y[a * inner + j] = log_softmax ? (v - m[j]) - norm[j] : expf(v - m[j]) * norm[j];
        }
}

static void softmax_chunk(void *arg, int64_t begin, int64_t end, int thread) {
    const softmax_args *A = arg;
    for (int64_t u = begin; u < end; u++) {
        if (A->inner == 1) {
            softmax_row(A->isa, A->x + u * A->len, A->y + u * A->len, A->len, A->log);
            continue;
        }
        int64_t o = u / A->tiles, j0 = (u % A->tiles) * SOFTMAX_TILE;
        int64_t cols = A->inner - j0 < SOFTMAX_TILE ? A->inner - j0 : SOFTMAX_TILE;
        int64_t off = o * A->len * A->inner + j0;
        softmax_columns(A->x + off, A->y + off, A->len, A->inner, cols, A->log);
    }
}

CPU_KERNEL(softmax) {
    const softmax_params *p = &n->p.softmax;
    const infer_tensor *x = &in[0];
    int axis = p->axis < 0 ? p->axis + x->ndim : p->axis;
    if (axis < 0 || axis >= x->ndim)
        return infer_fail(err, INFER_ERR_SHAPE, "softmax: axis %d is out of range for %d dims", p->axis, x->ndim);
    if (x->dtype != INFER_F32) return infer_fail(err, INFER_ERR_DTYPE, "softmax: expects f32, got %s",
                                                 infer_dtype_name(x->dtype));
    int64_t count = infer_tensor_elements(x);
    if (infer_tensor_elements(&out[0]) != count)
        return infer_fail(err, INFER_ERR_SHAPE, "softmax: output has %lld elements, input %lld",
                          (long long)infer_tensor_elements(&out[0]), (long long)count);
    if (count == 0) return INFER_OK;
    int64_t inner = 1;
    for (int k = axis + 1; k < x->ndim; k++) inner *= x->dims[k];
    softmax_args args = { x->data, out[0].data, x->dims[axis], inner, (inner + SOFTMAX_TILE - 1) / SOFTMAX_TILE,
                          p->log, ctx->isa };
    int64_t units = inner == 1 ? count / args.len : count / (args.len * inner) * args.tiles;
    int64_t unit_elements = args.len * (inner < SOFTMAX_TILE ? inner : SOFTMAX_TILE);
    int64_t grain = SOFTMAX_TASK_ELEMENTS / unit_elements;
    pool_parallel_for(ctx->pool, units, grain > 1 ? grain : 1, softmax_chunk, &args);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_softmax[] = {
    { .storages = CPU_DENSE, .run = cpu_softmax },
    { 0 },
};
