/* test_embedding_reduce.c — embedding lookups and range errors; mean/sum/max/min over axis sets. */
#include <criterion/criterion.h>
#include <math.h>
#include "testutil.h"
#include "kernel_util.h"
#include "../../kernels/cpu/cpu_kernels.h"
#include "../../runtime/threadpool.h"

/* ---- embedding ------------------------------------------------------------------------------ */

static void check_embedding(cpu_ctx *ctx, int ids_i64, int nd, const int64_t *id_dims, int64_t vocab, int64_t d,
                            uint64_t seed) {
    test_rng r = rng_seed(seed);
    infer_tensor ids = tview(ids_i64 ? INFER_I64 : INFER_I32, NULL, nd, id_dims);
    int64_t count = infer_tensor_elements(&ids), wd[2] = { vocab, d }, yd[INFER_MAX_DIMS];
    ids.data = malloc((size_t)count * 8);
    for (int64_t i = 0; i < count; i++) {
        int64_t id = (int64_t)(rng_u64(&r) % (uint64_t)vocab);
        if (ids_i64) ((int64_t *)ids.data)[i] = id;
        else ((int32_t *)ids.data)[i] = (int32_t)id;
    }
    float *w = rng_array(&r, vocab * d, -1, 1), *y = malloc((size_t)(count * d) * sizeof *y + 1);
    memcpy(yd, id_dims, (size_t)nd * sizeof *yd);
    yd[nd] = d;
    infer_tensor in[2] = { ids, tview(INFER_F32, w, 2, wd) }, out = tview(INFER_F32, y, nd + 1, yd);
    ir_node n = kernel_node(OP_EMBEDDING, 2);
    infer_error err;
    cr_assert_eq(cpu_embedding(ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
    for (int64_t i = 0; i < count; i++) {
        int64_t id = ids_i64 ? ((int64_t *)ids.data)[i] : ((int32_t *)ids.data)[i];
        cr_assert_eq(memcmp(y + i * d, w + id * d, (size_t)d * sizeof *w), 0, "row %ld (id %ld)", (long)i, (long)id);
    }
    free(ids.data);
    free(w);
    free(y);
}

Test(embedding_reduce, embedding_lookups) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t d1[1] = { 7 }, d2[2] = { 3, 13 }, d0[1] = { 1 };
    check_embedding(&ctx, 1, 1, d1, 13, 5, 1);
    check_embedding(&ctx, 0, 1, d1, 13, 5, 2);
    check_embedding(&ctx, 1, 2, d2, 127, 1, 3);
    check_embedding(&ctx, 0, 1, d0, 1, 127, 4);
    cpu_ctx par = kernel_ctx(2);
    int64_t big[2] = { 4, 509 };
    check_embedding(&par, 1, 2, big, 1000, 64, 5);
    check_embedding(&par, 0, 2, big, 7, 257, 6);
    pool_destroy(par.pool);
}

Test(embedding_reduce, embedding_out_of_range_ids) {
    cpu_ctx ctx = kernel_ctx(1);
    float w[5 * 3] = { 1 }, y[4 * 3];
    int64_t wd[2] = { 5, 3 }, idd[1] = { 4 }, yd[2] = { 4, 3 };
    int64_t bad64[3][4] = { { 0, 1, 5, 2 }, { -1, 0, 0, 0 }, { 0, 0, 0, INT64_MAX } };
    const char *names[3] = { "id 5 ", "id -1 ", "id 9223372036854775807 " };
    ir_node n = kernel_node(OP_EMBEDDING, 2);
    infer_error err;
    for (int c = 0; c < 3; c++) {
        infer_tensor in[2] = { tview(INFER_I64, bad64[c], 1, idd), tview(INFER_F32, w, 2, wd) };
        infer_tensor out = tview(INFER_F32, y, 2, yd);
        cr_assert_eq(cpu_embedding(&ctx, &n, in, &out, &err), INFER_ERR_RUNTIME);
        cr_assert(strstr(err.message, names[c]) && strstr(err.message, "[0, 5)"), "%s", err.message);
    }
    int32_t bad32[4] = { 0, 1, 2, 5 };
    infer_tensor in[2] = { tview(INFER_I32, bad32, 1, idd), tview(INFER_F32, w, 2, wd) };
    infer_tensor out = tview(INFER_F32, y, 2, yd);
    cr_assert_eq(cpu_embedding(&ctx, &n, in, &out, &err), INFER_ERR_RUNTIME);
    cr_assert(strstr(err.message, "id 5 ") && strstr(err.message, "position 3"), "%s", err.message);
}

/* ---- reduce --------------------------------------------------------------------------------- */

/* Reduces x [dims] over the listed axes vs a double loop; keepdim only changes the output's dims. */
static void check_reduce(cpu_ctx *ctx, reduce_kind kind, int ndim, const int64_t *dims, int naxes, const int *axes,
                         int keepdim, uint64_t seed) {
    test_rng r = rng_seed(seed);
    infer_tensor x = tview(INFER_F32, NULL, ndim, dims);
    int64_t count = infer_tensor_elements(&x);
    x.data = rng_array(&r, count, -1, 1);
    int red[INFER_MAX_DIMS] = { 0 };
    for (int i = 0; i < naxes; i++) red[axes[i] < 0 ? axes[i] + ndim : axes[i]] = 1;
    int64_t yd[INFER_MAX_DIMS], kd[INFER_MAX_DIMS];
    int ynd = 0, knd = 0;
    for (int k = 0; k < ndim; k++) {
        if (!red[k]) kd[knd++] = dims[k];
        if (!red[k] || keepdim) yd[ynd++] = red[k] ? 1 : dims[k];
    }
    int64_t kept = 1;
    for (int k = 0; k < knd; k++) kept *= kd[k];
    double *acc = calloc((size_t)kept, sizeof *acc);
    int64_t *seen = calloc((size_t)kept, sizeof *seen);
    for (int64_t i = 0; i < count; i++) {
        int64_t rest = i, o = 0, mul = 1;
        for (int k = ndim - 1; k >= 0; k--) {
            int64_t idx = rest % dims[k];
            rest /= dims[k];
            if (!red[k]) {
                o += idx * mul;
                mul *= dims[k];
            }
        }
        double v = ((float *)x.data)[i];
        if (kind == RED_SUM || kind == RED_MEAN) acc[o] += v;
        else if (!seen[o]) acc[o] = v;
        else acc[o] = kind == RED_MAX ? fmax(acc[o], v) : fmin(acc[o], v);
        seen[o]++;
    }
    float *ref = malloc((size_t)kept * sizeof *ref), *y = malloc((size_t)kept * sizeof *y);
    for (int64_t o = 0; o < kept; o++) ref[o] = (float)(kind == RED_MEAN ? acc[o] / (double)seen[o] : acc[o]);
    ir_node n = kernel_node(OP_REDUCE, 1);
    n.p.reduce.kind = kind;
    n.p.reduce.naxes = naxes;
    memcpy(n.p.reduce.axes, axes, (size_t)naxes * sizeof *axes);
    n.p.reduce.keepdim = keepdim;
    infer_tensor out = tview(INFER_F32, y, ynd, yd);
    infer_error err;
    cr_assert_eq(cpu_reduce(ctx, &n, &x, &out, &err), INFER_OK, "%s", err.message);
    /* Sums accumulate in double: only the final rounding to float differs from the reference. */
    double e = rel_l2(y, ref, kept);
    cr_assert(e <= 1e-7, "reduce kind %d axes %d..., %d axes: rel_l2 %g", kind, axes[0], naxes, e);
    if (kind == RED_MAX || kind == RED_MIN) cr_assert_eq(e, 0.0);
    free(x.data);
    free(acc);
    free(seen);
    free(ref);
    free(y);
}

Test(embedding_reduce, reduce_axis_sets) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t d[4] = { 3, 5, 7, 13 }, d1[2] = { 1, 127 }, d2[3] = { 7, 1, 13 };
    int sets[9][4] = { { -1 }, { 0 }, { 1 }, { 2 }, { 0, 2 }, { 1, 3 }, { 0, 1, 2, 3 }, { 1, 2 }, { 3, 0 } };
    int counts[9] = { 1, 1, 1, 1, 2, 2, 4, 2, 2 };
    for (int k = 0; k < RED_COUNT; k++) {
        for (int s = 0; s < 9; s++) {
            check_reduce(&ctx, k, 4, d, counts[s], sets[s], 0, (uint64_t)(10 * k + s));
            check_reduce(&ctx, k, 4, d, counts[s], sets[s], 1, (uint64_t)(10 * k + s + 100));
        }
        int a1[1] = { 1 }, a0[1] = { 0 };
        check_reduce(&ctx, k, 2, d1, 1, a1, 0, 200 + (uint64_t)k);
        check_reduce(&ctx, k, 2, d1, 1, a0, 1, 210 + (uint64_t)k); /* over a size-1 dim */
        check_reduce(&ctx, k, 3, d2, 1, a1, 0, 220 + (uint64_t)k);
        check_reduce(&ctx, k, 3, d2, 2, (int[]){ 0, 1 }, 1, 230 + (uint64_t)k);
    }
}

Test(embedding_reduce, reduce_parallel_and_wide) {
    cpu_ctx ctx = kernel_ctx(2);
    int64_t d[3] = { 4, 301, 517 };
    int a1[1] = { 1 }, a2[1] = { 2 }, a02[2] = { 0, 2 };
    for (int k = 0; k < RED_COUNT; k++) {
        check_reduce(&ctx, k, 3, d, 1, a1, 0, 300 + (uint64_t)k);
        check_reduce(&ctx, k, 3, d, 1, a2, 1, 310 + (uint64_t)k);
        check_reduce(&ctx, k, 3, d, 2, a02, 0, 320 + (uint64_t)k);
        int64_t wide[3] = { 3, 5, 2053 }; /* kept rows longer than one column tile */
        check_reduce(&ctx, k, 3, wide, 1, a1, 0, 330 + (uint64_t)k);
    }
    pool_destroy(ctx.pool);
}

Test(embedding_reduce, reduce_nan_and_empty) {
    cpu_ctx ctx = kernel_ctx(1);
    float x[2][3] = { { 1, NAN, 3 }, { 4, 5, 6 } }, y[3];
    int64_t xd[2] = { 2, 3 }, y1[1] = { 2 }, y3[1] = { 3 };
    ir_node n = kernel_node(OP_REDUCE, 1);
    n.p.reduce.kind = RED_MAX;
    n.p.reduce.naxes = 1;
    n.p.reduce.axes[0] = 1;
    infer_tensor in = tview(INFER_F32, x, 2, xd), out = tview(INFER_F32, y, 1, y1);
    infer_error err;
    cr_assert_eq(cpu_reduce(&ctx, &n, &in, &out, &err), INFER_OK);
    cr_assert(isnan(y[0]) && y[1] == 6.0f, "max propagates NaN");
    n.p.reduce.kind = RED_MIN;
    n.p.reduce.axes[0] = 0;
    out = tview(INFER_F32, y, 1, y3);
    cr_assert_eq(cpu_reduce(&ctx, &n, &in, &out, &err), INFER_OK);
    cr_assert(y[0] == 1.0f && isnan(y[1]) && y[2] == 3.0f);
    int64_t ed[2] = { 0, 3 };
    in = tview(INFER_F32, x, 2, ed);
    n.p.reduce.kind = RED_SUM;
    cr_assert_eq(cpu_reduce(&ctx, &n, &in, &out, &err), INFER_OK);
    cr_assert(y[0] == 0.0f && y[1] == 0.0f && y[2] == 0.0f);
    n.p.reduce.kind = RED_MEAN;
    cr_assert_eq(cpu_reduce(&ctx, &n, &in, &out, &err), INFER_OK);
    cr_assert(isnan(y[0]));
    n.p.reduce.kind = RED_MAX;
    cr_assert_eq(cpu_reduce(&ctx, &n, &in, &out, &err), INFER_ERR_RUNTIME);
}

Test(embedding_reduce, reduce_integer_dtypes) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t x[2][3][2] = { { { 1, -2 }, { 3, 4 }, { 5, -6 } }, { { 7, 8 }, { -9, 10 }, { 11, 12 } } };
    int64_t xd[3] = { 2, 3, 2 }, y[4], yd[2] = { 2, 2 };
    ir_node n = kernel_node(OP_REDUCE, 1);
    n.p.reduce.naxes = 1;
    n.p.reduce.axes[0] = 1;
    infer_tensor in = tview(INFER_I64, x, 3, xd), out = tview(INFER_I64, y, 2, yd);
    infer_error err;
    int64_t want[3][4] = { { 9, -4, 9, 30 }, { 5, 4, 11, 12 }, { 1, -6, -9, 8 } };
    reduce_kind kinds[3] = { RED_SUM, RED_MAX, RED_MIN };
    for (int k = 0; k < 3; k++) {
        n.p.reduce.kind = kinds[k];
        cr_assert_eq(cpu_reduce(&ctx, &n, &in, &out, &err), INFER_OK, "%s", err.message);
        for (int i = 0; i < 4; i++) cr_assert_eq(y[i], want[k][i], "kind %d [%d]: %ld", kinds[k], i, (long)y[i]);
    }
    n.p.reduce.kind = RED_MEAN; /* mean of integers into an integer: refused, as PyTorch does */
    cr_assert_eq(cpu_reduce(&ctx, &n, &in, &out, &err), INFER_ERR_DTYPE);

    uint8_t mask[2][5] = { { 1, 1, 0, 1, 0 }, { 0, 0, 0, 0, 1 } }; /* lengths of a padding mask */
    int64_t md[2] = { 2, 5 }, lens[2], ld[1] = { 2 };
    n.p.reduce.kind = RED_SUM;
    n.p.reduce.axes[0] = -1;
    in = tview(INFER_BOOL, mask, 2, md);
    out = tview(INFER_I64, lens, 1, ld);
    cr_assert_eq(cpu_reduce(&ctx, &n, &in, &out, &err), INFER_OK, "%s", err.message);
    cr_assert(lens[0] == 3 && lens[1] == 1);
    float mean[2];
    n.p.reduce.kind = RED_MEAN; /* integers into f32: mean allowed */
    out = tview(INFER_F32, mean, 1, ld);
    cr_assert_eq(cpu_reduce(&ctx, &n, &in, &out, &err), INFER_OK, "%s", err.message);
    cr_assert(mean[0] == 0.6f && mean[1] == 0.2f, "%g %g", mean[0], mean[1]);
}
