/* test_shape_ops.c — identity, reshape, transpose, concat, slice and expand against naive index loops. */
#include <criterion/criterion.h>
#include <stdint.h>
#include "testutil.h"
#include "kernel_util.h"
#include "../../kernels/cpu/cpu_kernels.h"
#include "../../runtime/threadpool.h"

/* Random bytes for count elements of esize (no all-zero data). */
static void *random_bytes(test_rng *r, int64_t count, size_t esize) {
    uint8_t *p = malloc((size_t)count * esize + 1);
    for (int64_t i = 0; i < count * (int64_t)esize; i++) p[i] = (uint8_t)(rng_u64(r) >> 56);
    return p;
}

static void unravel(int64_t i, int ndim, const int64_t *dims, int64_t *idx) {
    for (int k = ndim - 1; k >= 0; k--) {
        idx[k] = i % dims[k];
        i /= dims[k];
    }
}

static int64_t ravel(int ndim, const int64_t *dims, const int64_t *idx) {
    int64_t off = 0;
    for (int k = 0; k < ndim; k++) off = off * dims[k] + idx[k];
    return off;
}

Test(shape_ops, identity_and_reshape) {
    cpu_ctx ctx = kernel_ctx(1);
    test_rng r = rng_seed(1);
    int64_t xd[3] = { 3, 5, 7 }, yd[2] = { 15, 7 }, bad[2] = { 15, 6 };
    float *x = rng_array(&r, 105, -1, 1), y[105];
    infer_tensor in = tview(INFER_F32, x, 3, xd), out = tview(INFER_F32, y, 2, yd);
    infer_error err;
    ir_node n = kernel_node(OP_RESHAPE, 1);
    cr_assert_eq(cpu_reshape(&ctx, &n, &in, &out, &err), INFER_OK);
    cr_assert_eq(memcmp(x, y, sizeof y), 0);
    memset(y, 0, sizeof y);
    n.op = OP_IDENTITY;
    cr_assert_eq(cpu_identity(&ctx, &n, &in, &out, &err), INFER_OK);
    cr_assert_eq(memcmp(x, y, sizeof y), 0);
    out.data = x; /* in place: nothing to do, nothing broken */
    cr_assert_eq(cpu_reshape(&ctx, &n, &in, &out, &err), INFER_OK);
    cr_assert_eq(memcmp(x, y, sizeof y), 0);
    out = tview(INFER_F32, y, 2, bad);
    cr_assert_eq(cpu_reshape(&ctx, &n, &in, &out, &err), INFER_ERR_SHAPE);
    free(x);
}

/* ---- transpose ------------------------------------------------------------------------------ */

static void check_transpose(cpu_ctx *ctx, infer_dtype dtype, int ndim, const int64_t *dims, const int *perm,
                            uint64_t seed) {
    test_rng r = rng_seed(seed);
    size_t es = infer_dtype_size(dtype);
    infer_tensor x = tview(dtype, NULL, ndim, dims);
    int64_t count = infer_tensor_elements(&x), yd[INFER_MAX_DIMS];
    for (int k = 0; k < ndim; k++) yd[k] = dims[perm[k]];
    x.data = random_bytes(&r, count, es);
    uint8_t *y = malloc((size_t)count * es + 1), *ref = malloc((size_t)count * es + 1);
    for (int64_t i = 0; i < count; i++) {
        int64_t oidx[INFER_MAX_DIMS], iidx[INFER_MAX_DIMS];
        unravel(i, ndim, yd, oidx);
        for (int k = 0; k < ndim; k++) iidx[perm[k]] = oidx[k];
        memcpy(ref + i * (int64_t)es, (uint8_t *)x.data + ravel(ndim, dims, iidx) * (int64_t)es, es);
    }
    ir_node n = kernel_node(OP_TRANSPOSE, 1);
    n.p.transpose.ndim = ndim;
    memcpy(n.p.transpose.perm, perm, (size_t)ndim * sizeof *perm);
    infer_tensor out = tview(dtype, y, ndim, yd);
    infer_error err;
    cr_assert_eq(cpu_transpose(ctx, &n, &x, &out, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(memcmp(y, ref, (size_t)count * es), 0, "transpose %s ndim %d perm %d,%d,%d,...", infer_dtype_name(dtype),
                 ndim, perm[0], ndim > 1 ? perm[1] : -1, ndim > 2 ? perm[2] : -1);
    free(x.data);
    free(y);
    free(ref);
}

Test(shape_ops, transpose_permutations) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t d2[2] = { 13, 7 }, d3[3] = { 3, 5, 7 }, d4[4] = { 2, 3, 5, 7 }, d3b[3] = { 1, 37, 1 }, d1[1] = { 13 };
    int p2[2] = { 1, 0 }, p1[1] = { 0 };
    int p3[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
    int p4[5][4] = { { 0, 2, 1, 3 }, { 0, 2, 3, 1 }, { 3, 2, 1, 0 }, { 0, 3, 1, 2 }, { 1, 0, 3, 2 } };
    infer_dtype dtypes[4] = { INFER_F32, INFER_U8, INFER_F16, INFER_I64 };
    for (int t = 0; t < 4; t++) {
        check_transpose(&ctx, dtypes[t], 2, d2, p2, 1 + t);
        check_transpose(&ctx, dtypes[t], 1, d1, p1, 5 + t);
        for (int i = 0; i < 6; i++) check_transpose(&ctx, dtypes[t], 3, d3, p3[i], 10 + i);
        for (int i = 0; i < 6; i++) check_transpose(&ctx, dtypes[t], 3, d3b, p3[i], 20 + i);
        for (int i = 0; i < 5; i++) check_transpose(&ctx, dtypes[t], 4, d4, p4[i], 30 + i);
    }
}

Test(shape_ops, transpose_large_tiled_parallel) {
    cpu_ctx ctx = kernel_ctx(2);
    int64_t d[3] = { 2, 301, 257 }, d4[4] = { 3, 67, 5, 131 };
    int p[3] = { 0, 2, 1 }, p4[4] = { 0, 3, 2, 1 }, p4b[4] = { 2, 1, 0, 3 };
    int64_t d2[2] = { 37, 29 }, d2b[2] = { 129, 8 };
    int p2[2] = { 1, 0 };
    int best = ctx.isa;
    for (int isa = CPU_ISA_SCALAR; isa <= best; isa++) { /* 8x8 register blocks and their edges */
        ctx.isa = isa;
        check_transpose(&ctx, INFER_F32, 3, d, p, 40);
        check_transpose(&ctx, INFER_U8, 3, d, p, 41);
        check_transpose(&ctx, INFER_F32, 4, d4, p4, 42);
        check_transpose(&ctx, INFER_I32, 4, d4, p4b, 43);
        check_transpose(&ctx, INFER_F32, 2, d2, p2, 44);
        check_transpose(&ctx, INFER_F32, 2, d2b, p2, 45);
    }
    pool_destroy(ctx.pool);
}

/* ---- concat --------------------------------------------------------------------------------- */

static void check_concat(cpu_ctx *ctx, infer_dtype dtype, int ndim, const int64_t *dims, int axis, const int64_t *lens,
                         int n_in, uint64_t seed) {
    test_rng r = rng_seed(seed);
    size_t es = infer_dtype_size(dtype);
    int a = axis < 0 ? axis + ndim : axis;
    infer_tensor ins[4];
    int64_t yd[INFER_MAX_DIMS], total = 0;
    memcpy(yd, dims, (size_t)ndim * sizeof *yd);
    for (int i = 0; i < n_in; i++) {
        ins[i] = tview(dtype, NULL, ndim, dims);
        ins[i].dims[a] = lens[i];
        ins[i].data = random_bytes(&r, infer_tensor_elements(&ins[i]), es);
        total += lens[i];
    }
    yd[a] = total;
    infer_tensor out = tview(dtype, NULL, ndim, yd);
    int64_t count = infer_tensor_elements(&out);
    uint8_t *y = malloc((size_t)count * es + 1), *ref = malloc((size_t)count * es + 1);
    out.data = y;
    for (int64_t i = 0; i < count; i++) {
        int64_t idx[INFER_MAX_DIMS];
        unravel(i, ndim, yd, idx);
        int src = 0;
        while (idx[a] >= ins[src].dims[a]) idx[a] -= ins[src++].dims[a];
        memcpy(ref + i * (int64_t)es, (uint8_t *)ins[src].data + ravel(ndim, ins[src].dims, idx) * (int64_t)es, es);
    }
    ir_node n = kernel_node(OP_CONCAT, n_in);
    n.p.concat.axis = axis;
    infer_error err;
    cr_assert_eq(cpu_concat(ctx, &n, ins, &out, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(memcmp(y, ref, (size_t)count * es), 0, "concat axis %d", axis);
    for (int i = 0; i < n_in; i++) free(ins[i].data);
    free(y);
    free(ref);
}

Test(shape_ops, concat_axes) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t d[3] = { 3, 5, 7 }, lens[3] = { 2, 0, 5 }, lens1[1] = { 13 };
    for (int axis = -3; axis < 3; axis++) {
        check_concat(&ctx, INFER_F32, 3, d, axis, lens, 3, 50 + (uint64_t)(axis + 3));
        check_concat(&ctx, INFER_U8, 3, d, axis, lens, 3, 60 + (uint64_t)(axis + 3));
    }
    check_concat(&ctx, INFER_I64, 3, d, 1, lens1, 1, 70);
    cpu_ctx par = kernel_ctx(2);
    int64_t big[2] = { 513, 127 }, blens[2] = { 127, 64 };
    check_concat(&par, INFER_F32, 2, big, 1, blens, 2, 71);
    pool_destroy(par.pool);
}

Test(shape_ops, concat_mismatch) {
    cpu_ctx ctx = kernel_ctx(1);
    float a[6], b[6], y[12];
    int64_t ad[2] = { 2, 3 }, bd[2] = { 3, 2 }, yd[2] = { 4, 3 };
    infer_tensor ins[2] = { tview(INFER_F32, a, 2, ad), tview(INFER_F32, b, 2, bd) };
    infer_tensor out = tview(INFER_F32, y, 2, yd);
    ir_node n = kernel_node(OP_CONCAT, 2);
    infer_error err;
    cr_assert_eq(cpu_concat(&ctx, &n, ins, &out, &err), INFER_ERR_SHAPE);
    cr_assert(strstr(err.message, "input 1") != NULL, "%s", err.message);
}

/* ---- slice ---------------------------------------------------------------------------------- */

static void check_slice(cpu_ctx *ctx, infer_dtype dtype, int ndim, const int64_t *dims, int axis, int64_t start,
                        int64_t end, int64_t step, int64_t expect_len, uint64_t seed) {
    test_rng r = rng_seed(seed);
    size_t es = infer_dtype_size(dtype);
    int a = axis < 0 ? axis + ndim : axis;
    infer_tensor x = tview(dtype, NULL, ndim, dims);
    x.data = random_bytes(&r, infer_tensor_elements(&x), es);
    int64_t yd[INFER_MAX_DIMS];
    memcpy(yd, dims, (size_t)ndim * sizeof *yd);
    yd[a] = expect_len;
    infer_tensor out = tview(dtype, NULL, ndim, yd);
    int64_t count = infer_tensor_elements(&out);
    uint8_t *y = malloc((size_t)count * es + 1), *ref = malloc((size_t)count * es + 1);
    out.data = y;
    /* the clamped start, as PyTorch computes it */
    int64_t s0 = start < 0 ? start + dims[a] : start;
    s0 = s0 < 0 ? 0 : s0 > dims[a] ? dims[a] : s0;
    for (int64_t i = 0; i < count; i++) {
        int64_t idx[INFER_MAX_DIMS];
        unravel(i, ndim, yd, idx);
        idx[a] = s0 + idx[a] * step;
        memcpy(ref + i * (int64_t)es, (uint8_t *)x.data + ravel(ndim, dims, idx) * (int64_t)es, es);
    }
    ir_node n = kernel_node(OP_SLICE, 1);
    n.p.slice.axis = axis;
    n.p.slice.start = start;
    n.p.slice.end = end;
    n.p.slice.step = step;
    infer_error err;
    cr_assert_eq(cpu_slice(ctx, &n, &x, &out, &err), INFER_OK, "[%ld:%ld:%ld] %s", (long)start, (long)end, (long)step,
                 err.message);
    cr_assert_eq(memcmp(y, ref, (size_t)count * es), 0, "slice axis %d [%ld:%ld:%ld]", axis, (long)start, (long)end,
                 (long)step);
    free(x.data);
    free(y);
    free(ref);
}

Test(shape_ops, slice_clamping_steps_negatives) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t d[3] = { 5, 13, 7 };
    for (int axis = -1; axis < 3; axis++) {
        int64_t size = d[axis < 0 ? axis + 3 : axis];
        check_slice(&ctx, INFER_F32, 3, d, axis, 1, 4, 1, 3, 80);
        check_slice(&ctx, INFER_F32, 3, d, axis, -3, INT64_MAX, 1, 3, 81);
        check_slice(&ctx, INFER_F32, 3, d, axis, 0, -1, 2, (size - 2) / 2 + 1, 82);
        check_slice(&ctx, INFER_I64, 3, d, axis, -100, 100, 3, (size - 1) / 3 + 1, 83);
        check_slice(&ctx, INFER_U8, 3, d, axis, 4, 2, 1, 0, 84);                   /* empty */
        check_slice(&ctx, INFER_F32, 3, d, axis, 1, INT64_MAX, INT64_MAX, 1, 85);  /* huge step */
        check_slice(&ctx, INFER_F16, 3, d, axis, INT64_MIN, 2, 1, 2, 86);
    }
    cpu_ctx par = kernel_ctx(2);
    int64_t big[2] = { 1031, 257 };
    check_slice(&par, INFER_F32, 2, big, 1, 3, -3, 2, 126, 87);
    check_slice(&par, INFER_F32, 2, big, 0, 7, 1000, 1, 993, 88);
    pool_destroy(par.pool);
}

Test(shape_ops, slice_wrong_output) {
    cpu_ctx ctx = kernel_ctx(1);
    float x[10], y[10];
    int64_t xd[1] = { 10 }, yd[1] = { 4 };
    infer_tensor in = tview(INFER_F32, x, 1, xd), out = tview(INFER_F32, y, 1, yd);
    ir_node n = kernel_node(OP_SLICE, 1);
    n.p.slice.start = 0;
    n.p.slice.end = 10;
    n.p.slice.step = 2; /* 5 elements, not 4 */
    infer_error err;
    cr_assert_eq(cpu_slice(&ctx, &n, &in, &out, &err), INFER_ERR_SHAPE);
}

/* ---- expand --------------------------------------------------------------------------------- */

static void check_expand(cpu_ctx *ctx, infer_dtype dtype, int xnd, const int64_t *xd, int ynd, const int64_t *yd,
                         uint64_t seed) {
    test_rng r = rng_seed(seed);
    size_t es = infer_dtype_size(dtype);
    infer_tensor x = tview(dtype, NULL, xnd, xd), out = tview(dtype, NULL, ynd, yd);
    x.data = random_bytes(&r, infer_tensor_elements(&x), es);
    int64_t count = infer_tensor_elements(&out);
    uint8_t *y = malloc((size_t)count * es + 1), *ref = malloc((size_t)count * es + 1);
    out.data = y;
    for (int64_t i = 0; i < count; i++) {
        int64_t idx[INFER_MAX_DIMS], xi[INFER_MAX_DIMS];
        unravel(i, ynd, yd, idx);
        for (int k = 0; k < xnd; k++) xi[k] = xd[k] == 1 ? 0 : idx[k + ynd - xnd];
        memcpy(ref + i * (int64_t)es, (uint8_t *)x.data + ravel(xnd, xd, xi) * (int64_t)es, es);
    }
    ir_node n = kernel_node(OP_EXPAND, 1);
    infer_error err;
    cr_assert_eq(cpu_expand(ctx, &n, &x, &out, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(memcmp(y, ref, (size_t)count * es), 0, "expand %s", infer_dtype_name(dtype));
    free(x.data);
    free(y);
    free(ref);
}

Test(shape_ops, expand_broadcasts) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t x1[3] = { 3, 1, 5 }, y1[4] = { 2, 3, 7, 5 }, x2[1] = { 1 }, y2[2] = { 13, 7 }, x3[2] = { 7, 1 }, y3[2] = { 7, 13 };
    infer_dtype dtypes[4] = { INFER_F32, INFER_I64, INFER_U8, INFER_F16 };
    for (int t = 0; t < 4; t++) {
        check_expand(&ctx, dtypes[t], 3, x1, 4, y1, 90 + t);
        check_expand(&ctx, dtypes[t], 1, x2, 2, y2, 94 + t);
        check_expand(&ctx, dtypes[t], 2, x3, 2, y3, 98 + t);
        check_expand(&ctx, dtypes[t], 2, y2, 2, y2, 102 + t);
    }
    cpu_ctx par = kernel_ctx(2);
    int64_t xb[2] = { 1, 257 }, yb[3] = { 3, 301, 257 };
    check_expand(&par, INFER_F32, 2, xb, 3, yb, 106);
    pool_destroy(par.pool);
}
