/* unary.c — elementwise neg/exp/log/sqrt/rsqrt/abs/reciprocal/erf/sign/rounding: f32 loops, a generic path for
 * other dtypes. */
#include <math.h>
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../base/error.h"

#define UNARY_GRAIN 16384

typedef struct {
    unary_kind kind;
    const float *x;
    float *y;
} unary_args;

typedef struct {
    unary_kind kind;
    const infer_tensor *x;
    infer_tensor *y;
} unary_generic_args;

#define UNARY_LOOP(EXPR)                                                   \
    for (int64_t i = begin; i < end; i++) { float v = x[i]; y[i] = (EXPR); }

/* y may alias x: each element is read before it is written. */
static void unary_chunk(void *arg, int64_t begin, int64_t end, int thread) {
    const unary_args *A = arg;
    const float *x = A->x;
    float *y = A->y;
    switch (A->kind) {
    case UN_NEG: UNARY_LOOP(-v); break;
    case UN_EXP: UNARY_LOOP(expf(v)); break;
    case UN_LOG: UNARY_LOOP(logf(v)); break;
    case UN_SQRT: UNARY_LOOP(sqrtf(v)); break;
    case UN_RSQRT: UNARY_LOOP(1.0f / sqrtf(v)); break;
    case UN_ABS: UNARY_LOOP(fabsf(v)); break;
    case UN_RECIPROCAL: UNARY_LOOP(1.0f / v); break;
    case UN_ERF: UNARY_LOOP(erff(v)); break;
    case UN_SIGN: UNARY_LOOP((float)((v > 0.0f) - (v < 0.0f))); break; /* NaN gives 0 (torch gives NaN) */
    case UN_ROUND: UNARY_LOOP(rintf(v)); break;                         /* half to even in the default mode */
    case UN_FLOOR: UNARY_LOOP(floorf(v)); break;
    case UN_CEIL: UNARY_LOOP(ceilf(v)); break;
    case UN_TRUNC: UNARY_LOOP(truncf(v)); break;
    default: break;
    }
}

/* An integer kept in its dtype: neg, abs, sign; the roundings leave it as it is. */
static int64_t unary_integer(unary_kind kind, int64_t v) {
    switch (kind) {
    case UN_NEG: return (int64_t)(0 - (uint64_t)v);
    case UN_ABS: return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
    case UN_SIGN: return (v > 0) - (v < 0);
    default: return v;
    }
}

/* Other dtypes, one element at a time: f32 outputs compute in float, integer outputs in int64. */
static void unary_chunk_generic(void *arg, int64_t begin, int64_t end, int thread) {
    const unary_generic_args *A = arg;
    for (int64_t i = begin; i < end; i++) {
        if (A->y->dtype == INFER_F32) {
            float v = (float)elem_get_f64(A->x->data, A->x->dtype, i);
            unary_args one = { A->kind, &v, &((float *)A->y->data)[i] };
            unary_chunk(&one, 0, 1, thread);
        } else {
            elem_set_i64(A->y->data, A->y->dtype, i, unary_integer(A->kind, elem_get_i64(A->x->data, A->x->dtype, i)));
        }
    }
}

CPU_KERNEL(unary) {
    unary_kind kind = n->p.unary.kind;
    if (kind < 0 || kind >= UN_COUNT) return infer_fail(err, INFER_ERR_UNSUPPORTED, "unary: unknown kind %d", (int)kind);
    infer_dtype from = in[0].dtype, to = out[0].dtype;
    if (!elem_dtype_supported(from) || !elem_dtype_supported(to) ||
        (to != INFER_F32 && !UNARY_KEEPS_DTYPE(kind)))
        return infer_fail(err, INFER_ERR_DTYPE, "unary: kind %d from %s to %s is not supported", (int)kind,
                          infer_dtype_name(from), infer_dtype_name(to));
    int64_t count = infer_tensor_elements(&in[0]);
    if (infer_tensor_elements(&out[0]) != count)
        return infer_fail(err, INFER_ERR_SHAPE, "unary: output has %lld elements, input %lld",
                          (long long)infer_tensor_elements(&out[0]), (long long)count);
    if (from == INFER_F32 && to == INFER_F32) {
        unary_args args = { kind, in[0].data, out[0].data };
        pool_parallel_for(ctx->pool, count, UNARY_GRAIN, unary_chunk, &args);
    } else {
        unary_generic_args args = { kind, &in[0], &out[0] };
        pool_parallel_for(ctx->pool, count, UNARY_GRAIN, unary_chunk_generic, &args);
    }
    return INFER_OK;
}

const cpu_kernel cpu_kernels_unary[] = {
    { .storages = CPU_DENSE, .run = cpu_unary },
    { 0 },
};
