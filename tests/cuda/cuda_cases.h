/* cuda_cases.h — building host tensors and nodes for the CUDA op tests (seeded data, odd sizes). */
#ifndef INFER_CUDA_CASES_H
#define INFER_CUDA_CASES_H

#include "cuda_testutil.h"

#define SHAPE(...) (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (const int64_t[]){ __VA_ARGS__ }

static inline infer_tensor t_shape(infer_dtype dt, int nd, const int64_t *d) {
    infer_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = nd;
    for (int i = 0; i < nd; i++) t.dims[i] = d[i];
    return t;
}

/* Uniform f32 in [lo, hi). */
static inline infer_tensor t_rand(test_rng *r, int nd, const int64_t *d, float lo, float hi) {
    infer_tensor t = t_shape(INFER_F32, nd, d);
    int64_t n = ct_count(&t);
    t.data = rng_array(r, n ? n : 1, lo, hi);
    return t;
}

/* Multiples of 1/4 in [-range, range]: exact in half, so comparisons agree at any precision. */
static inline infer_tensor t_quarters(test_rng *r, int nd, const int64_t *d, int range) {
    infer_tensor t = t_shape(INFER_F32, nd, d);
    int64_t n = ct_count(&t);
    float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = (float)((int64_t)(rng_u64(r) % (uint64_t)(8 * range + 1)) - 4 * range) / 4.0f;
    t.data = x;
    return t;
}

static inline infer_tensor t_bool(test_rng *r, int nd, const int64_t *d, int percent_true) {
    infer_tensor t = t_shape(INFER_BOOL, nd, d);
    int64_t n = ct_count(&t);
    uint8_t *x = malloc((size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) x[i] = (int)(rng_u64(r) % 100) < percent_true;
    t.data = x;
    return t;
}

static inline infer_tensor t_ids(test_rng *r, int nd, const int64_t *d, int64_t vocab, infer_dtype dt) {
    infer_tensor t = t_shape(dt, nd, d);
    int64_t n = ct_count(&t);
    void *x = malloc((size_t)(n ? n : 1) * 8);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = (int64_t)(rng_u64(r) % (uint64_t)vocab);
        if (dt == INFER_I64) ((int64_t *)x)[i] = v;
        else ((int32_t *)x)[i] = (int32_t)v;
    }
    t.data = x;
    return t;
}

static inline infer_tensor t_none(void) {
    infer_tensor t;
    memset(&t, 0, sizeof t);
    return t;
}

static inline ir_node t_node(op_code op, int n_in, int n_out) {
    ir_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.name = "test";
    n.n_in = n_in;
    n.n_out = n_out;
    for (int i = 0; i < n_in; i++) n.in[i] = i;
    for (int i = 0; i < n_out; i++) n.out[i] = n_in + i;
    return n;
}

static inline void t_free(infer_tensor *t, int n) {
    for (int i = 0; i < n; i++) {
        free(t[i].data);
        t[i].data = NULL;
    }
}

/* Marks absent optional inputs in the node as IR_NONE (in[k].data == NULL). */
static inline void t_absent(ir_node *n, const infer_tensor *in) {
    for (int k = 0; k < n->n_in; k++)
        if (!in[k].data) n->in[k] = IR_NONE;
}

#endif
