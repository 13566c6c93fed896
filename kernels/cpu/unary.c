/* unary.c — elementwise neg/exp/log/sqrt/rsqrt/abs/reciprocal on f32, in parallel chunks. */
#include <math.h>
#include "cpu_kernels.h"
#include "../../runtime/error.h"

#define UNARY_GRAIN 16384

typedef struct {
    unary_kind kind;
    const float *x;
    float *y;
} unary_args;

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
    default: break;
    }
}

CPU_KERNEL(unary) {
    unary_kind kind = n->p.unary.kind;
    if (kind < 0 || kind >= UN_COUNT) return infer_fail(err, INFER_ERR_UNSUPPORTED, "unary: unknown kind %d", (int)kind);
    if (in[0].dtype != INFER_F32 || out[0].dtype != INFER_F32)
        return infer_fail(err, INFER_ERR_DTYPE, "unary: expects f32, got %s", infer_dtype_name(in[0].dtype));
    int64_t count = infer_tensor_elements(&in[0]);
    if (infer_tensor_elements(&out[0]) != count)
        return infer_fail(err, INFER_ERR_SHAPE, "unary: output has %lld elements, input %lld",
                          (long long)infer_tensor_elements(&out[0]), (long long)count);
    unary_args args = { kind, in[0].data, out[0].data };
    pool_parallel_for(ctx->pool, count, UNARY_GRAIN, unary_chunk, &args);
    return INFER_OK;
}
