/* row_remap.h — what flip and roll share: each output row (all dims but the last) is one input row, found by a
 * per-dim map of the outer indices (reversed for flip, shifted circularly for roll), rows copied in parallel. */
#ifndef INFER_CPU_ROW_REMAP_H
#define INFER_CPU_ROW_REMAP_H

#include "cpu_kernels.h"
#include "../../base/error.h"

typedef struct {
    const uint8_t *x;
    uint8_t *y;
    int ndim;
    const int64_t *dims;
    int flipped[INFER_MAX_DIMS];   /* flip: output index o reads dims[d] - 1 - o */
    int64_t shift[INFER_MAX_DIMS]; /* roll: output index o reads o - shift[d], circularly; in [0, dims[d]) */
    size_t esize;
} row_remap;

/* The input row of output row r (rows of the last dim). */
static inline int64_t row_remap_source(const row_remap *m, int64_t r) {
    int64_t src = 0, stride = 1;
    for (int d = m->ndim - 2; d >= 0; d--) {
        int64_t o = r % m->dims[d], i = m->flipped[d] ? m->dims[d] - 1 - o : o - m->shift[d];
        r /= m->dims[d];
        src += (i < 0 ? i + m->dims[d] : i) * stride;
        stride *= m->dims[d];
    }
    return src;
}

/* The map for input x (into y's data) before its dims are listed; fails naming op when the output does not
 * have x's rank or the dtype has no size. */
static inline infer_status row_remap_init(row_remap *m, const char *op, const infer_tensor *x, const infer_tensor *y,
                                          infer_error *err) {
    *m = (row_remap){ .x = x->data, .y = y->data, .ndim = x->ndim, .dims = x->dims, .esize = infer_dtype_size(x->dtype) };
    if (x->ndim < 1 || y->ndim != x->ndim || m->esize == 0)
        return infer_fail(err, INFER_ERR_SHAPE, "%s: input %d-d, output %d-d", op, x->ndim, y->ndim);
    return INFER_OK;
}

/* A listed dim of the op's attribute normalized against the rank; fails naming op when out of range. */
static inline infer_status row_remap_dim(const row_remap *m, const char *op, int dim, int *out, infer_error *err) {
    *out = dim < 0 ? dim + m->ndim : dim;
    if (*out < 0 || *out >= m->ndim)
        return infer_fail(err, INFER_ERR_SHAPE, "%s: dim %d of a %d-d input", op, dim, m->ndim);
    return INFER_OK;
}

/* Runs rows(m, begin, end) over every row in parallel, about 64 KiB a task. */
static inline void row_remap_run(thread_pool *pool, row_remap *m, pool_fn rows) {
    int64_t w = m->dims[m->ndim - 1], n = 1;
    for (int d = 0; d < m->ndim; d++) n *= m->dims[d];
    if (n == 0) return;
    pool_parallel_for(pool, n / w, 65536 / (w * (int64_t)m->esize + 1) + 1, rows, m);
}

#endif
