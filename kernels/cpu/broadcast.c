/* broadcast.c — planning numpy broadcasts and walking the output in parallel contiguous runs. */
#include <string.h>
#include "broadcast.h"
#include "../../base/error.h"

#define BCAST_RUN 16384      /* elements of one run at most */
#define BCAST_TASK 65536     /* elements a parallel task gets at least, when there are enough for every thread */
#define BCAST_SPLIT 16384    /* fewer elements than this run on one thread */

/* Strides of t right-aligned at out's dims: 0 along broadcast dims. 0 when t does not broadcast. */
static int input_strides(const infer_tensor *t, const infer_tensor *out, int64_t *stride) {
    int nd = out->ndim, lead = out->ndim - t->ndim;
    if (lead < 0) return 0;
    int64_t s = 1;
    for (int k = nd - 1; k >= 0; k--) {
        int64_t d = k >= lead ? t->dims[k - lead] : 1;
        if (d != 1 && d != out->dims[k]) return 0;
        stride[k] = d == 1 ? 0 : s;
        s *= d;
    }
    return 1;
}

/* Drops size-1 dims, merges neighbours that are contiguous for every input, sets rows and inner. */
static void collapse(bcast_plan *p, int ndim, const int64_t *dims, int64_t st[][INFER_MAX_DIMS], int n_in) {
    p->n_in = n_in;
    p->ndim = 0;
    for (int k = 0; k < ndim; k++) {
        int64_t d = dims[k];
        if (d == 1) continue;
        int merge = p->ndim > 0;
        for (int i = 0; i < n_in && merge; i++) merge = p->stride[i][p->ndim - 1] == st[i][k] * d;
        if (!merge) p->dims[p->ndim++] = 1;
        p->dims[p->ndim - 1] *= d;
        for (int i = 0; i < n_in; i++) p->stride[i][p->ndim - 1] = st[i][k];
    }
    if (p->ndim == 0) {
        p->ndim = 1;
        p->dims[0] = 1;
        for (int i = 0; i < n_in; i++) p->stride[i][0] = 0;
    }
    p->rows = 1;
    for (int k = 0; k < p->ndim - 1; k++) p->rows *= p->dims[k];
    p->inner = p->dims[p->ndim - 1];
}

infer_status bcast_plan_init(bcast_plan *p, const infer_tensor *out, const infer_tensor *const *ins, int n_in,
                             const char *op, infer_error *err) {
    int64_t st[BCAST_MAX_INPUTS][INFER_MAX_DIMS];
    for (int i = 0; i < n_in; i++) {
        if (!input_strides(ins[i], out, st[i]))
            return infer_fail(err, INFER_ERR_SHAPE, "%s: input %d (%d dims) does not broadcast to the output (%d dims)",
                              op, i, ins[i]->ndim, out->ndim);
        /* In place, element i is read before element i is written: only when both have the same layout. */
        int same = ins[i]->ndim == out->ndim && infer_dtype_size(ins[i]->dtype) == infer_dtype_size(out->dtype) &&
                   !memcmp(ins[i]->dims, out->dims, (size_t)out->ndim * sizeof *out->dims);
        if (out->data && ins[i]->data == out->data && !same)
            return infer_fail(err, INFER_ERR_INTERNAL, "%s: the output shares input %d's storage but not its shape "
                              "and element size", op, i);
    }
    collapse(p, out->ndim, out->dims, st, n_in);
    return INFER_OK;
}

void bcast_plan_strided(bcast_plan *p, int ndim, const int64_t *dims, const int64_t *strides) {
    int64_t st[1][INFER_MAX_DIMS];
    for (int k = 0; k < ndim; k++) st[0][k] = strides[k];
    collapse(p, ndim, dims, st, 1);
}

/* Position in the outer dims (all but the innermost) and the inputs' offsets there. */
typedef struct {
    int64_t idx[INFER_MAX_DIMS];
    int64_t off[BCAST_MAX_INPUTS];
} row_cursor;

static void cursor_seek(const bcast_plan *p, row_cursor *c, int64_t row) {
    for (int i = 0; i < p->n_in; i++) c->off[i] = 0;
    for (int k = p->ndim - 2; k >= 0; k--) {
        c->idx[k] = row % p->dims[k];
        row /= p->dims[k];
        for (int i = 0; i < p->n_in; i++) c->off[i] += c->idx[k] * p->stride[i][k];
    }
}

static void cursor_next(const bcast_plan *p, row_cursor *c) {
    for (int k = p->ndim - 2; k >= 0; k--) {
        for (int i = 0; i < p->n_in; i++) c->off[i] += p->stride[i][k];
        if (++c->idx[k] < p->dims[k]) return;
        for (int i = 0; i < p->n_in; i++) c->off[i] -= p->dims[k] * p->stride[i][k];
        c->idx[k] = 0;
    }
}

typedef struct {
    const bcast_plan *p;
    bcast_run_fn fn;
    void *arg;
    int64_t run, runs_per_row;
} walk_args;

static void walk_runs(void *arg, int64_t begin, int64_t end, int thread) {
    const walk_args *w = arg;
    const bcast_plan *p = w->p;
    int64_t row = begin / w->runs_per_row, part = begin % w->runs_per_row;
    int64_t offs[BCAST_MAX_INPUTS];
    row_cursor c;
    cursor_seek(p, &c, row);
    for (int64_t u = begin; u < end; u++) {
        int64_t start = part * w->run;
        int64_t n = p->inner - start < w->run ? p->inner - start : w->run;
        for (int i = 0; i < p->n_in; i++) offs[i] = c.off[i] + start * p->stride[i][p->ndim - 1];
        w->fn(w->arg, offs, row * p->inner + start, n);
        if (++part == w->runs_per_row) {
            part = 0;
            row++;
            if (u + 1 < end) cursor_next(p, &c);
        }
    }
}

void bcast_for_each(thread_pool *pool, const bcast_plan *p, bcast_run_fn fn, void *arg) {
    if (p->rows == 0 || p->inner == 0) return;
    walk_args w = { p, fn, arg, p->inner < BCAST_RUN ? p->inner : BCAST_RUN, 0 };
    w.runs_per_row = (p->inner + w.run - 1) / w.run;
    /* Tasks of at least BCAST_TASK elements; fewer elements than threads x BCAST_TASK are shared evenly, so that
     * every thread works (an SE block's channel scale on a 7x7 map: 1152 runs of 49), unless below BCAST_SPLIT. */
    int64_t units = p->rows * w.runs_per_row, threads = pool_size(pool);
    int64_t grain = BCAST_TASK / w.run, even = (units + threads - 1) / threads;
    if (units * w.run < BCAST_SPLIT) grain = units;
    else if (even < grain) grain = even;
    pool_parallel_for(pool, units, grain > 1 ? grain : 1, walk_runs, &w);
}

typedef struct {
    const bcast_plan *p;
    const uint8_t *src;
    uint8_t *dst;
    size_t esize;
} copy_args;

#define GATHER(T) for (int64_t i = 0; i < n; i++) ((T *)y)[i] = ((const T *)x)[i * stride]

static void copy_run(void *arg, const int64_t *in_off, int64_t out_off, int64_t n) {
    const copy_args *A = arg;
    int64_t stride = A->p->stride[0][A->p->ndim - 1];
    const uint8_t *x = A->src + in_off[0] * (int64_t)A->esize;
    uint8_t *y = A->dst + out_off * (int64_t)A->esize;
    if (stride == 1) {
        memcpy(y, x, (size_t)n * A->esize);
        return;
    }
    switch (A->esize) {
    case 1: GATHER(uint8_t); break;
    case 2: GATHER(uint16_t); break;
    case 4: GATHER(uint32_t); break;
    case 8: GATHER(uint64_t); break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(y + i * (int64_t)A->esize, x + i * stride * (int64_t)A->esize, A->esize);
        break;
    }
}

void bcast_copy(thread_pool *pool, const bcast_plan *p, const void *src, void *dst, size_t esize) {
    copy_args args = { p, src, dst, esize };
    bcast_for_each(pool, p, copy_run, &args);
}
