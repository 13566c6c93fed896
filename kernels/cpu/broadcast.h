/* broadcast.h — numpy broadcasting for the elementwise kernels: collapsed shapes, a parallel run walker, dtype-generic element access. */
#ifndef INFER_CPU_BROADCAST_H
#define INFER_CPU_BROADCAST_H

#include <stdint.h>
#include "infer.h"
#include "../../runtime/threadpool.h"

#define BCAST_MAX_INPUTS 3

/* The output's shape with size-1 dims dropped and mergeable neighbours merged, and every input's
 * element strides at that shape (0 along broadcast dims). From bcast_plan_init the innermost
 * stride is 0 or 1; from bcast_plan_strided it may be anything. */
typedef struct {
    int n_in;
    int ndim;                                         /* >= 1 */
    int64_t dims[INFER_MAX_DIMS];
    int64_t stride[BCAST_MAX_INPUTS][INFER_MAX_DIMS];
    int64_t rows;                                     /* product of dims[0 .. ndim-1) */
    int64_t inner;                                    /* dims[ndim-1] */
} bcast_plan;

/* Plans reading ins[0..n_in) at out's dims. INFER_ERR_SHAPE naming `op` when an input has more
 * dims than out or a dim that is neither out's nor 1; INFER_ERR_INTERNAL when out's data is an
 * input's (in place) but its shape or element size differs from that input's. */
infer_status bcast_plan_init(bcast_plan *p, const infer_tensor *out, const infer_tensor *const *ins, int n_in,
                             const char *op, infer_error *err);

/* A plan for reading one input through arbitrary element strides at dims (slices, permutes). */
void bcast_plan_strided(bcast_plan *p, int ndim, const int64_t *dims, const int64_t *strides);

/* One contiguous run of the output: n elements from out_off; input i starts at in_off[i] and
 * advances by p->stride[i][p->ndim-1] per element. */
typedef void (*bcast_run_fn)(void *arg, const int64_t *in_off, int64_t out_off, int64_t n);

/* Calls fn over every run of the output, split over pool's threads for large outputs. */
void bcast_for_each(thread_pool *pool, const bcast_plan *p, bcast_run_fn fn, void *arg);

/* dst (contiguous, the plan's shape) = input 0 of the plan read from src; elements of esize bytes. */
void bcast_copy(thread_pool *pool, const bcast_plan *p, const void *src, void *dst, size_t esize);

/* ---- dtype-generic element access, for the slow paths of mixed-dtype elementwise ops ---- */

/* Element i of data as double (f32, i64, i32, i8, u8, bool). */
static inline double elem_get_f64(const void *data, infer_dtype d, int64_t i) {
    switch (d) {
    case INFER_F32: return ((const float *)data)[i];
    case INFER_I64: return (double)((const int64_t *)data)[i];
    case INFER_I32: return ((const int32_t *)data)[i];
    case INFER_I8: return ((const int8_t *)data)[i];
    case INFER_U8:
    case INFER_BOOL: return ((const uint8_t *)data)[i];
    default: return 0.0;
    }
}

/* Truncation toward zero like a C cast; NaN and out-of-range values give INT64_MIN as on x86. */
static inline int64_t f64_to_i64(double v) {
    return (v >= -9223372036854775808.0 && v < 9223372036854775808.0) ? (int64_t)v : INT64_MIN;
}

/* Element i of an integer or bool tensor as int64. */
static inline int64_t elem_get_i64(const void *data, infer_dtype d, int64_t i) {
    switch (d) {
    case INFER_I64: return ((const int64_t *)data)[i];
    case INFER_I32: return ((const int32_t *)data)[i];
    case INFER_I8: return ((const int8_t *)data)[i];
    case INFER_U8:
    case INFER_BOOL: return ((const uint8_t *)data)[i];
    default: return 0;
    }
}

/* Stores an int64 into element i of an integer or bool tensor (narrowing wraps, bool is v != 0). */
static inline void elem_set_i64(void *data, infer_dtype d, int64_t i, int64_t v) {
    switch (d) {
    case INFER_I64: ((int64_t *)data)[i] = v; break;
    case INFER_I32: ((int32_t *)data)[i] = (int32_t)(uint32_t)(uint64_t)v; break;
    case INFER_I8: ((int8_t *)data)[i] = (int8_t)(uint8_t)(uint64_t)v; break;
    case INFER_U8: ((uint8_t *)data)[i] = (uint8_t)(uint64_t)v; break;
    case INFER_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    default: break;
    }
}

/* 1 for the dtypes the generic paths handle. */
static inline int elem_dtype_supported(infer_dtype d) {
    return d == INFER_F32 || d == INFER_I64 || d == INFER_I32 || d == INFER_I8 || d == INFER_U8 || d == INFER_BOOL;
}

#endif
