/* flip.c — reverses the order along listed dims, any dtype: each output row is its source row, reversed when the last dim flips. */
#include <string.h>
#include "row_remap.h"

static void flip_rows(void *arg, int64_t begin, int64_t end, int thread) {
    const row_remap *j = arg;
    (void)thread;
    int last = j->ndim - 1;
    int64_t w = j->dims[last];
    size_t es = j->esize, row_bytes = (size_t)w * es;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *x = j->x + (size_t)row_remap_source(j, r) * row_bytes;
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
    row_remap j;
    INFER_TRY(row_remap_init(&j, "flip", &in[0], &out[0], err));
    for (int i = 0; i < p->n; i++) {
        int d;
        INFER_TRY(row_remap_dim(&j, "flip", p->dims[i], &d, err));
        j.flipped[d] = 1;
    }
    row_remap_run(ctx->pool, &j, flip_rows);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_flip[] = {
    { .storages = CPU_DENSE, .run = cpu_flip },
    { 0 },
};
