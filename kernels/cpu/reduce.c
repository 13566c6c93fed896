/* reduce.c — mean/sum/max/min over any set of axes: f32 contiguous or strided loops (double sums), other dtypes generically. */
#include <math.h>
#include "cpu_kernels.h"
#include "sum_f64.h"
#include "broadcast.h"
#include "../../base/error.h"

#define REDUCE_TILE 1024          /* output columns accumulated together when the last dim is kept (whole rows: the reads stream) */
#define REDUCE_TASK_ELEMENTS 32768 /* input elements a parallel task reads at least */

/* x seen as collapsed dims: `inner` is the last one (reduced in the contiguous case, kept in the
 * strided case); kept and reduced list the others with their input strides. */
typedef struct {
    reduce_kind kind;
    const float *x;
    float *y;
    int nk, nr;
    int64_t kdims[INFER_MAX_DIMS], kstride[INFER_MAX_DIMS], rdims[INFER_MAX_DIMS], rstride[INFER_MAX_DIMS];
    int64_t inner, combos, count, tiles; /* combos: product of rdims; count: elements per output */
} reduce_args;

static int64_t offset_of(int64_t i, int nd, const int64_t *dims, const int64_t *strides) {
    int64_t off = 0;
    for (int k = nd - 1; k >= 0; k--) {
        off += (i % dims[k]) * strides[k];
        i /= dims[k];
    }
    return off;
}

/* max/min propagate NaN like torch.amax / torch.amin. */
static inline float pick(reduce_kind kind, float a, float b) {
    if (a != a) return a;
    return (kind == RED_MAX ? b > a : b < a) || b != b ? b : a;
}

static float finish(const reduce_args *A, double sum) {
    return (float)(A->kind == RED_MEAN ? sum / (double)A->count : sum);
}

/* The last dim is reduced: one output per unit, contiguous runs of `inner`. */
static void reduce_contiguous(void *arg, int64_t begin, int64_t end, int thread) {
    const reduce_args *A = arg;
    for (int64_t o = begin; o < end; o++) {
        const float *base = A->x + offset_of(o, A->nk, A->kdims, A->kstride);
        double sum = 0;
        float best = base[0];
        for (int64_t r = 0; r < A->combos; r++) {
            const float *run = base + offset_of(r, A->nr, A->rdims, A->rstride);
            if (A->kind == RED_SUM || A->kind == RED_MEAN) {
                sum += cpu_sum_f64(run, A->inner);
            } else {
                for (int64_t i = 0; i < A->inner; i++) best = pick(A->kind, best, run[i]);
            }
        }
        A->y[o] = A->kind == RED_MAX || A->kind == RED_MIN ? best : finish(A, sum);
    }
}

/* The last dim is kept: a unit is a tile of up to REDUCE_TILE output columns of one output row. */
static void reduce_strided(void *arg, int64_t begin, int64_t end, int thread) {
    const reduce_args *A = arg;
    double sum[REDUCE_TILE];
    float best[REDUCE_TILE];
    for (int64_t u = begin; u < end; u++) {
        int64_t o = u / A->tiles, j0 = (u % A->tiles) * REDUCE_TILE;
        int64_t cols = A->inner - j0 < REDUCE_TILE ? A->inner - j0 : REDUCE_TILE;
        const float *base = A->x + offset_of(o, A->nk, A->kdims, A->kstride) + j0;
        int sums = A->kind == RED_SUM || A->kind == RED_MEAN;
        for (int64_t j = 0; j < cols; j++) {
            sum[j] = 0;
            best[j] = base[j];
        }
        for (int64_t r = 0; r < A->combos; r++) {
            const float *run = base + offset_of(r, A->nr, A->rdims, A->rstride);
            if (sums) {
                for (int64_t j = 0; j < cols; j++) sum[j] += run[j];
            } else {
                for (int64_t j = 0; j < cols; j++) best[j] = pick(A->kind, best[j], run[j]);
            }
        }
        float *y = A->y + o * A->inner + j0;
        for (int64_t j = 0; j < cols; j++) y[j] = sums ? finish(A, sum[j]) : best[j];
    }
}

/* Non-f32 input or output, one element at a time: every collapsed dim is in kdims or rdims (nk, nr
 * count all of them, inner is 1). Integer outputs accumulate in int64, f32 outputs in double. */
typedef struct {
    reduce_args dims;
    const infer_tensor *x;
    infer_tensor *y;
} reduce_generic_args;

static void reduce_generic(void *arg, int64_t begin, int64_t end, int thread) {
    const reduce_generic_args *G = arg;
    const reduce_args *A = &G->dims;
    int int_out = G->y->dtype != INFER_F32, sums = A->kind == RED_SUM || A->kind == RED_MEAN;
    for (int64_t o = begin; o < end; o++) {
        int64_t base = offset_of(o, A->nk, A->kdims, A->kstride), isum = 0, ibest = 0;
        double fsum = 0, fbest = 0;
        for (int64_t r = 0; r < A->combos; r++) {
            int64_t at = base + offset_of(r, A->nr, A->rdims, A->rstride);
            if (int_out) {
                int64_t v = elem_get_i64(G->x->data, G->x->dtype, at);
                if (sums) isum = (int64_t)((uint64_t)isum + (uint64_t)v);
                else if (r == 0 || (A->kind == RED_MAX ? v > ibest : v < ibest)) ibest = v;
            } else {
                double v = elem_get_f64(G->x->data, G->x->dtype, at);
                if (sums) fsum += v;
                else if (r == 0 || (fbest == fbest && ((A->kind == RED_MAX ? v > fbest : v < fbest) || v != v))) fbest = v;
            }
        }
        if (int_out) elem_set_i64(G->y->data, G->y->dtype, o, sums ? isum : ibest);
        else ((float *)G->y->data)[o] = sums ? finish(A, fsum) : (float)fbest;
    }
}

/* Reducing over nothing: sum 0, mean NaN; max and min have no identity (an error, as in PyTorch). */
static infer_status reduce_empty(const reduce_params *p, infer_tensor *y, infer_error *err) {
    if (p->kind == RED_MAX || p->kind == RED_MIN)
        return infer_fail(err, INFER_ERR_RUNTIME, "reduce: %s over an empty dimension", p->kind == RED_MAX ? "max" : "min");
    int64_t count = infer_tensor_elements(y);
    for (int64_t i = 0; i < count; i++) {
        if (y->dtype == INFER_F32) ((float *)y->data)[i] = p->kind == RED_SUM ? 0.0f : NAN;
        else elem_set_i64(y->data, y->dtype, i, 0);
    }
    return INFER_OK;
}

CPU_KERNEL(reduce) {
    const reduce_params *p = &n->p.reduce;
    const infer_tensor *x = &in[0];
    if (p->kind < 0 || p->kind >= RED_COUNT) return infer_fail(err, INFER_ERR_UNSUPPORTED, "reduce: unknown kind %d", (int)p->kind);
    if (!elem_dtype_supported(x->dtype) || !elem_dtype_supported(out[0].dtype) ||
        (out[0].dtype != INFER_F32 && p->kind == RED_MEAN))
        return infer_fail(err, INFER_ERR_DTYPE, "reduce: kind %d from %s to %s is not supported", (int)p->kind,
                          infer_dtype_name(x->dtype), infer_dtype_name(out[0].dtype));
    int reduced[INFER_MAX_DIMS] = { 0 };
    for (int i = 0; i < p->naxes; i++) {
        int a = p->axes[i] < 0 ? p->axes[i] + x->ndim : p->axes[i];
        if (a < 0 || a >= x->ndim)
            return infer_fail(err, INFER_ERR_SHAPE, "reduce: axis %d is out of range for %d dims", p->axes[i], x->ndim);
        reduced[a] = 1;
    }
    int64_t kept = 1, count = 1;
    for (int k = 0; k < x->ndim; k++) {
        if (p->naxes == 0) reduced[k] = 1; /* no axes: all of them */
        if (reduced[k]) count *= x->dims[k];
        else kept *= x->dims[k];
    }
    if (infer_tensor_elements(&out[0]) != kept)
        return infer_fail(err, INFER_ERR_SHAPE, "reduce: output has %lld elements, expected %lld",
                          (long long)infer_tensor_elements(&out[0]), (long long)kept);
    if (kept == 0) return INFER_OK;
    if (count == 0) return reduce_empty(p, &out[0], err);

    /* Collapse: drop size-1 dims, merge neighbours of the same kind (x is contiguous). */
    int64_t cdims[INFER_MAX_DIMS], cstride[INFER_MAX_DIMS];
    int cred[INFER_MAX_DIMS], nd = 0;
    for (int k = 0; k < x->ndim; k++) {
        if (x->dims[k] == 1) continue;
        if (nd > 0 && cred[nd - 1] == reduced[k]) {
            cdims[nd - 1] *= x->dims[k];
        } else {
            cdims[nd] = x->dims[k];
            cred[nd++] = reduced[k];
        }
    }
    if (nd == 0) { /* a single element */
        cdims[0] = 1;
        cred[nd++] = 0;
    }
    int64_t s = 1;
    for (int k = nd - 1; k >= 0; k--) {
        cstride[k] = s;
        s *= cdims[k];
    }
    reduce_args A = { .kind = p->kind, .x = x->data, .y = out[0].data, .inner = cdims[nd - 1], .combos = 1, .count = count };
    int generic = x->dtype != INFER_F32 || out[0].dtype != INFER_F32;
    if (generic) A.inner = 1;
    for (int k = 0; k < (generic ? nd : nd - 1); k++) {
        if (cred[k]) {
            A.rdims[A.nr] = cdims[k];
            A.rstride[A.nr++] = cstride[k];
            A.combos *= cdims[k];
        } else {
            A.kdims[A.nk] = cdims[k];
            A.kstride[A.nk++] = cstride[k];
        }
    }
    if (generic) {
        reduce_generic_args G = { A, x, &out[0] };
        int64_t grain = REDUCE_TASK_ELEMENTS / (A.combos * 8);
        pool_parallel_for(ctx->pool, kept, grain > 1 ? grain : 1, reduce_generic, &G);
        return INFER_OK;
    }
    int64_t units, unit_elements;
    pool_fn fn;
    if (cred[nd - 1]) {
        units = kept;
        unit_elements = A.combos * A.inner;
        fn = reduce_contiguous;
    } else {
        A.tiles = (A.inner + REDUCE_TILE - 1) / REDUCE_TILE;
        units = kept / A.inner * A.tiles;
        unit_elements = A.combos * (A.inner < REDUCE_TILE ? A.inner : REDUCE_TILE);
        fn = reduce_strided;
    }
    int64_t grain = REDUCE_TASK_ELEMENTS / unit_elements;
    pool_parallel_for(ctx->pool, units, grain > 1 ? grain : 1, fn, &A);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_reduce[] = {
    { .storages = CPU_DENSE, .run = cpu_reduce },
    { 0 },
};
