/* flip.c — reverses the order along listed dims, any dtype: each output row is its source row, reversed when the last dim flips. */
#include <string.h>
#include "cpu_kernels.h"
#include "../../base/error.h"

typedef struct {
    const uint8_t *x;
    uint8_t *y;
    int ndim;
    const int64_t *dims;
    int flipped[INFER_MAX_DIMS];
    size_t esize;
} flip_job;

static void flip_rows(void *arg, int64_t begin, int64_t end, int thread) {
    const flip_job *j = arg;
    (void)thread;
    int last = j->ndim - 1;
    int64_t w = j->dims[last];
    size_t es = j->esize, row_bytes = (size_t)w * es;
    for (int64_t r = begin; r < end; r++) {
        int64_t rest = r, src = 0, stride = 1;
        for (int d = last - 1; d >= 0; d--) {
            int64_t o = rest % j->dims[d];
            rest /= j->dims[d];
            src += (j->flipped[d] ? j->dims[d] - 1 - o : o) * stride;
            stride *= j->dims[d];
        }
        const uint8_t *x = j->x + (size_t)src * row_bytes;
        uint8_t *y = j->y + (size_t)r * row_bytes;
        if (!j->flipped[last]) {
            memcpy(y, x, row_bytes);
        } else if (es == 4) {
            const uint32_t *x4 = (const uint32_t *)x;
            uint32_t *y4 = (uint32_t *)y;
            for (int64_t k = 0; k < w; k++) y4[k] = x4[w - 1 - k];
        } else {
            for (int64_t k = 0; k < w; k++) memcpy(y + (size_t)k * es, x + (size_t)(w - 1 - k) * es, es);
        }
    }
}

CPU_KERNEL(flip) {
    const flip_params *p = &n->p.flip;
    const infer_tensor *x = &in[0];
    flip_job j = { x->data, out[0].data, x->ndim, x->dims, { 0 }, infer_dtype_size(x->dtype) };
    if (x->ndim < 1 || out[0].ndim != x->ndim || j.esize == 0)
        return infer_fail(err, INFER_ERR_SHAPE, "flip: input %d-d, output %d-d", x->ndim, out[0].ndim);
    for (int i = 0; i < p->n; i++) {
        int d = p->dims[i] < 0 ? p->dims[i] + x->ndim : p->dims[i];
        if (d < 0 || d >= x->ndim) return infer_fail(err, INFER_ERR_SHAPE, "flip: dim %d of a %d-d input", p->dims[i], x->ndim);
        j.flipped[d] = 1;
    }
    if (infer_tensor_elements(x) == 0) return INFER_OK;
    int64_t w = x->dims[x->ndim - 1], rows = infer_tensor_elements(x) / w;
    pool_parallel_for(ctx->pool, rows, 65536 / (w * (int64_t)j.esize + 1) + 1, flip_rows, &j);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_flip[] = {
    { .storages = CPU_DENSE, .run = cpu_flip },
    { 0 },
};
