/* roll.c — circular shifts along listed dims, any dtype: each output row is copied from its source row in two pieces. */
#include <string.h>
#include "cpu_kernels.h"
#include "../../base/error.h"

typedef struct {
    const uint8_t *x;
    uint8_t *y;
    int ndim;
    const int64_t *dims;
    int64_t shift[INFER_MAX_DIMS]; /* in [0, dims[d]) */
    size_t esize;
} roll_job;

static void roll_rows(void *arg, int64_t begin, int64_t end, int thread) {
    const roll_job *j = arg;
    (void)thread;
    int last = j->ndim - 1;
    int64_t w = j->dims[last], s = j->shift[last];
    size_t row_bytes = (size_t)w * j->esize;
    for (int64_t r = begin; r < end; r++) {
        int64_t rest = r, src = 0, stride = 1;
        for (int d = last - 1; d >= 0; d--) {
            int64_t o = rest % j->dims[d], i = o - j->shift[d];
            rest /= j->dims[d];
            src += (i < 0 ? i + j->dims[d] : i) * stride;
            stride *= j->dims[d];
        }
        const uint8_t *x = j->x + (size_t)src * row_bytes;
        uint8_t *y = j->y + (size_t)r * row_bytes;
        /* y[k] = x[k - s]: y[s..w) from x[0..w-s), y[0..s) from x[w-s..w) */
        memcpy(y + (size_t)s * j->esize, x, (size_t)(w - s) * j->esize);
        memcpy(y, x + (size_t)(w - s) * j->esize, (size_t)s * j->esize);
    }
}

CPU_KERNEL(roll) {
    const roll_params *p = &n->p.roll;
    const infer_tensor *x = &in[0];
    roll_job j = { x->data, out[0].data, x->ndim, x->dims, { 0 }, infer_dtype_size(x->dtype) };
    if (x->ndim < 1 || out[0].ndim != x->ndim || j.esize == 0)
        return infer_fail(err, INFER_ERR_SHAPE, "roll: input %d-d, output %d-d", x->ndim, out[0].ndim);
    if (infer_tensor_elements(x) == 0) return INFER_OK;
    for (int i = 0; i < p->n; i++) {
        int d = p->dims[i] < 0 ? p->dims[i] + x->ndim : p->dims[i];
        if (d < 0 || d >= x->ndim) return infer_fail(err, INFER_ERR_SHAPE, "roll: dim %d of a %d-d input", p->dims[i], x->ndim);
        int64_t s = (j.shift[d] + p->shifts[i] % x->dims[d]) % x->dims[d];
        j.shift[d] = s < 0 ? s + x->dims[d] : s;
    }
    int64_t w = x->dims[x->ndim - 1], rows = infer_tensor_elements(x) / w;
    pool_parallel_for(ctx->pool, rows, 65536 / (w * (int64_t)j.esize + 1) + 1, roll_rows, &j);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_roll[] = {
    { .storages = CPU_DENSE, .run = cpu_roll },
    { 0 },
};
