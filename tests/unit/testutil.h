/* testutil.h — helpers shared by the C tests: seeded random data, relative L2 error, tensor views. */
#ifndef INFER_TESTUTIL_H
#define INFER_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "infer.h"

/* xorshift64*: deterministic across machines. */
typedef struct { uint64_t s; } test_rng;

static inline test_rng rng_seed(uint64_t seed) { test_rng r = { seed * 0x9E3779B97F4A7C15ull + 1 }; return r; }
static inline uint64_t rng_u64(test_rng *r) {
    r->s ^= r->s >> 12; r->s ^= r->s << 25; r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}
/* Uniform in [lo, hi). */
static inline float rng_float(test_rng *r, float lo, float hi) {
    return lo + (hi - lo) * (float)((rng_u64(r) >> 40) * (1.0 / 16777216.0));
}
static inline void rng_fill(test_rng *r, float *x, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) x[i] = rng_float(r, lo, hi);
}
static inline float *rng_array(test_rng *r, int64_t n, float lo, float hi) {
    float *x = malloc((size_t)n * sizeof *x);
    rng_fill(r, x, n, lo, hi);
    return x;
}

/* ||a - b|| / max(||b||, tiny): the tolerance measure used across the project. */
static inline double rel_l2(const float *a, const float *b, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    if (num != num) return INFINITY; /* NaN */
    return sqrt(num) / (den > 1e-30 ? sqrt(den) : 1e-15);
}

static inline infer_tensor tview(infer_dtype dtype, void *data, int ndim, const int64_t *dims) {
    infer_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dtype;
    t.ndim = ndim;
    for (int i = 0; i < ndim; i++) t.dims[i] = dims[i];
    t.data = data;
    return t;
}

#endif
