/* triangle.c — triu / tril: elements of the last two dims on the kept side of the diagonal copied, others zero. */
#include <string.h>
#include "cpu_kernels.h"
#include "../../base/error.h"

typedef struct {
    const uint8_t *x;
    uint8_t *y;
    int64_t rows, cols, diagonal;
    size_t esize;
    int upper;
} triangle_args;

static void triangle_rows(void *arg, int64_t begin, int64_t end, int thread) {
    const triangle_args *A = arg;
    (void)thread;
    size_t row_bytes = (size_t)A->cols * A->esize;
    for (int64_t r = begin; r < end; r++) {
        int64_t i = r % A->rows;
        /* upper keeps columns j >= i + diagonal, lower keeps j <= i + diagonal: [lo, hi) */
        int64_t edge = i + A->diagonal, lo = A->upper ? edge : 0, hi = A->upper ? A->cols : edge + 1;
        lo = lo < 0 ? 0 : lo > A->cols ? A->cols : lo;
        hi = hi < lo ? lo : hi > A->cols ? A->cols : hi;
        const uint8_t *x = A->x + (size_t)r * row_bytes;
        uint8_t *y = A->y + (size_t)r * row_bytes;
        if (x != y) memcpy(y + lo * A->esize, x + lo * A->esize, (size_t)(hi - lo) * A->esize);
        memset(y, 0, (size_t)lo * A->esize);
        memset(y + hi * A->esize, 0, (size_t)(A->cols - hi) * A->esize);
    }
}

CPU_KERNEL(triangle) {
    const infer_tensor *x = &in[0];
    size_t esize = infer_dtype_size(x->dtype);
    if (x->ndim < 2 || esize == 0 || out[0].dtype != x->dtype || infer_tensor_elements(&out[0]) != infer_tensor_elements(x))
        return infer_fail(err, INFER_ERR_SHAPE, "triangle: input must be at least 2-D, output of its shape and dtype");
    triangle_args A = { x->data, out[0].data, x->dims[x->ndim - 2], x->dims[x->ndim - 1], n->p.triangle.diagonal, esize,
                        n->p.triangle.upper };
    if (A.rows == 0 || A.cols == 0) return INFER_OK;
    int64_t grain = 4096 / A.cols;
    pool_parallel_for(ctx->pool, infer_tensor_elements(x) / A.cols, grain > 1 ? grain : 1, triangle_rows, &A);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_triangle[] = {
    { .storages = CPU_DENSE, .run = cpu_triangle },
    { 0 },
};
