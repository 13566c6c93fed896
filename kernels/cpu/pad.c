/* pad.c — constant, reflect, replicate or circular padding of the trailing dims (f32), one output row at a time. */
#include <string.h>
#include "cpu_kernels.h"
#include "../../base/error.h"

typedef struct {
    const float *x;
    float *y;
    const pad_params *p;
    int ndim;
    const int64_t *xd, *yd;
} pad_job;

/* The input index of output index o along a dim of the given size padded by `before`; -1: the constant. */
static int64_t pad_source(int64_t o, int64_t before, int64_t size, pad_mode mode) {
    int64_t i = o - before;
    if (i >= 0 && i < size) return i;
    switch (mode) {
    case PAD_REFLECT: return i < 0 ? -i : 2 * (size - 1) - i;
    case PAD_REPLICATE: return i < 0 ? 0 : size - 1;
    case PAD_CIRCULAR: return ((i % size) + size) % size;
    default: return -1;
    }
}

static int64_t pad_before(const pad_params *p, int ndim, int d) {
    int k = ndim - 1 - d; /* pads list the last dim first */
    return k < p->npads / 2 ? p->pads[2 * k] : 0;
}

static void pad_rows(void *arg, int64_t begin, int64_t end, int thread) {
    const pad_job *job = arg;
    (void)thread;
    int nd = job->ndim, last = nd - 1;
    int64_t yw = job->yd[last], xw = job->xd[last], before = pad_before(job->p, nd, last);
    for (int64_t r = begin; r < end; r++) {
        float *y = job->y + r * yw;
        int64_t rest = r, src = 0, stride = xw, inside = 1;
        for (int d = last - 1; d >= 0; d--) {
            int64_t o = rest % job->yd[d];
            rest /= job->yd[d];
            int64_t i = pad_source(o, pad_before(job->p, nd, d), job->xd[d], job->p->mode);
            if (i < 0) inside = 0;
            src += i * stride;
            stride *= job->xd[d];
        }
        if (!inside) {
            for (int64_t j = 0; j < yw; j++) y[j] = job->p->value;
            continue;
        }
        const float *x = job->x + src;
        int64_t lo = before > 0 ? before : 0, hi = before + xw < yw ? before + xw : yw; /* the copied middle */
        for (int64_t j = 0; j < lo && j < yw; j++) {
            int64_t i = pad_source(j, before, xw, job->p->mode);
            y[j] = i < 0 ? job->p->value : x[i];
        }
        if (hi > lo) memcpy(y + lo, x + (lo - before), (size_t)(hi - lo) * sizeof *y);
        for (int64_t j = hi > lo ? hi : lo; j < yw; j++) {
            int64_t i = pad_source(j, before, xw, job->p->mode);
            y[j] = i < 0 ? job->p->value : x[i];
        }
    }
}

CPU_KERNEL(pad) {
    const infer_tensor *x = &in[0], *y = &out[0];
    const pad_params *p = &n->p.pad;
    if (x->dtype != INFER_F32 || y->dtype != INFER_F32 || x->ndim != y->ndim || x->ndim < 1 || p->npads / 2 > x->ndim)
        return infer_fail(err, INFER_ERR_SHAPE, "pad: input %d-d %s, output %d-d, %d pads", x->ndim,
                          infer_dtype_name(x->dtype), y->ndim, p->npads);
    int64_t rows = 1;
    for (int d = 0; d < y->ndim - 1; d++) rows *= y->dims[d];
    if (infer_tensor_elements(y) == 0) return INFER_OK;
    pad_job job = { x->data, y->data, p, x->ndim, x->dims, y->dims };
    int64_t width = y->dims[y->ndim - 1];
    pool_parallel_for(ctx->pool, rows, 16384 / (width + 1) + 1, pad_rows, &job);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_pad[] = {
    { .storages = CPU_DENSE, .run = cpu_pad },
    { 0 },
};
