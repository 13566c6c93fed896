/* roll.c — circular shifts along listed dims, any dtype: each output row is copied from its source row in two pieces. */
#include <string.h>
#include "row_remap.h"

static void roll_rows(void *arg, int64_t begin, int64_t end, int thread) {
    const row_remap *j = arg;
    (void)thread;
    int last = j->ndim - 1;
    int64_t w = j->dims[last], s = j->shift[last];
    size_t row_bytes = (size_t)w * j->esize;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *x = j->x + (size_t)row_remap_source(j, r) * row_bytes;
        uint8_t *y = j->y + (size_t)r * row_bytes;
        /* y[k] = x[k - s]: y[s..w) from x[0..w-s), y[0..s) from x[w-s..w) */
        memcpy(y + (size_t)s * j->esize, x, (size_t)(w - s) * j->esize);
        memcpy(y, x + (size_t)(w - s) * j->esize, (size_t)s * j->esize);
    }
}

CPU_KERNEL(roll) {
    const roll_params *p = &n->p.roll;
    const infer_tensor *x = &in[0];
    row_remap j;
    INFER_TRY(row_remap_init(&j, "roll", x, &out[0], err));
    if (infer_tensor_elements(x) == 0) return INFER_OK; /* before the shifts: modulo a zero dim */
    for (int i = 0; i < p->n; i++) {
        int d;
        INFER_TRY(row_remap_dim(&j, "roll", p->dims[i], &d, err));
        int64_t s = (j.shift[d] + p->shifts[i] % x->dims[d]) % x->dims[d];
        j.shift[d] = s < 0 ? s + x->dims[d] : s;
    }
    row_remap_run(ctx->pool, &j, roll_rows);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_roll[] = {
    { .storages = CPU_DENSE, .run = cpu_roll },
    { 0 },
};
