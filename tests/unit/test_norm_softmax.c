/* test_norm_softmax.c — layernorm and (log-)softmax against double-precision naive loops. */
#include <criterion/criterion.h>
#include <math.h>
#include "testutil.h"
#include "kernel_util.h"
#include "../../kernels/cpu/cpu_kernels.h"
#include "../../kernels/cpu/vexp.h"
#include "../../runtime/threadpool.h"

/* LayerNorm of x [dims] over the trailing `axes` dims, optional weight/bias, vs a double loop.
 * offset shifts the data (a large mean with a small spread). */
static void check_layernorm(cpu_ctx *ctx, int ndim, const int64_t *dims, int axes, int use_w, int use_b, float offset,
                            int in_place, uint64_t seed) {
    test_rng r = rng_seed(seed);
    infer_tensor x = tview(INFER_F32, NULL, ndim, dims);
    int64_t count = infer_tensor_elements(&x), d = 1;
    for (int k = ndim - axes; k < ndim; k++) d *= dims[k];
    float *xd = rng_array(&r, count, offset - 1.0f, offset + 1.0f);
    float *w = rng_array(&r, d, 0.5f, 1.5f), *b = rng_array(&r, d, -1, 1);
    float *y = in_place ? xd : malloc((size_t)count * sizeof *y), *ref = malloc((size_t)count * sizeof *ref);
    const float eps = 1e-5f;
    for (int64_t row = 0; row < count / d; row++) {
        const float *xr = xd + row * d;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < d; i++) mean += xr[i];
        mean /= (double)d;
        for (int64_t i = 0; i < d; i++) var += (xr[i] - mean) * (xr[i] - mean);
        var /= (double)d;
        for (int64_t i = 0; i < d; i++) {
            double v = (xr[i] - mean) / sqrt(var + eps);
            ref[row * d + i] = (float)(v * (use_w ? w[i] : 1.0) + (use_b ? b[i] : 0.0));
        }
    }
    int64_t wd[INFER_MAX_DIMS];
    memcpy(wd, dims + ndim - axes, (size_t)axes * sizeof *wd);
    ir_node n = kernel_node(OP_LAYERNORM, 3);
    n.p.layernorm.axes = axes;
    n.p.layernorm.eps = eps;
    infer_tensor in[3] = { tview(INFER_F32, xd, ndim, dims), tview(INFER_F32, use_w ? w : NULL, axes, wd),
                           tview(INFER_F32, use_b ? b : NULL, axes, wd) };
    infer_tensor out = tview(INFER_F32, y, ndim, dims);
    infer_error err;
    cr_assert_eq(cpu_layernorm(ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
    double e = rel_l2(y, ref, count);
    cr_assert(e <= 1e-6, "layernorm d=%ld w=%d b=%d offset=%g: rel_l2 %g", (long)d, use_w, use_b, offset, e);
    if (!in_place) free(y);
    free(xd);
    free(w);
    free(b);
    free(ref);
}

Test(norm_softmax, layernorm_shapes_and_affine) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t d1[2] = { 7, 13 }, d2[3] = { 3, 5, 127 }, d3[1] = { 1 }, d4[2] = { 13, 1 };
    for (int wb = 0; wb < 4; wb++) {
        check_layernorm(&ctx, 2, d1, 1, wb & 1, wb >> 1, 0.0f, 0, 1 + wb);
        check_layernorm(&ctx, 3, d2, 2, wb & 1, wb >> 1, 0.0f, 0, 5 + wb);
        check_layernorm(&ctx, 3, d2, 1, wb & 1, wb >> 1, 0.0f, 1, 9 + wb);
    }
    check_layernorm(&ctx, 3, d2, 3, 1, 1, 0.0f, 0, 13);
    check_layernorm(&ctx, 1, d3, 1, 1, 1, 0.0f, 0, 14); /* one element: y = b */
    check_layernorm(&ctx, 2, d4, 1, 1, 1, 0.0f, 0, 15);
}

Test(norm_softmax, layernorm_large_mean) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t d[2] = { 7, 1031 };
    check_layernorm(&ctx, 2, d, 1, 1, 1, 1000.0f, 0, 20);
    check_layernorm(&ctx, 2, d, 1, 0, 0, 1000.0f, 0, 21);
}

Test(norm_softmax, layernorm_parallel) {
    cpu_ctx ctx = kernel_ctx(2);
    int64_t d[3] = { 3, 171, 257 };
    check_layernorm(&ctx, 3, d, 1, 1, 1, 0.5f, 0, 30);
    check_layernorm(&ctx, 3, d, 1, 1, 0, 0.0f, 1, 31);
    pool_destroy(ctx.pool);
}

/* Softmax of x [dims] along axis vs a double loop. */
static void check_softmax(cpu_ctx *ctx, int ndim, const int64_t *dims, int axis, int log_softmax, int in_place,
                          uint64_t seed) {
    test_rng r = rng_seed(seed);
    infer_tensor x = tview(INFER_F32, NULL, ndim, dims);
    int64_t count = infer_tensor_elements(&x);
    float *xd = rng_array(&r, count, -8, 8);
    float *y = in_place ? xd : malloc((size_t)count * sizeof *y), *ref = malloc((size_t)count * sizeof *ref);
    int a = axis < 0 ? axis + ndim : axis;
    int64_t len = dims[a], inner = 1;
    for (int k = a + 1; k < ndim; k++) inner *= dims[k];
    for (int64_t o = 0; o < count / (len * inner); o++) {
        for (int64_t j = 0; j < inner; j++) {
            const float *xr = xd + o * len * inner + j;
            double m = -INFINITY, s = 0;
            for (int64_t i = 0; i < len; i++) m = fmax(m, xr[i * inner]);
            for (int64_t i = 0; i < len; i++) s += exp(xr[i * inner] - m);
            for (int64_t i = 0; i < len; i++) {
                double v = xr[i * inner] - m;
                ref[o * len * inner + j + i * inner] = (float)(log_softmax ? v - log(s) : exp(v) / s);
            }
        }
    }
    ir_node n = kernel_node(OP_SOFTMAX, 1);
    n.p.softmax.axis = axis;
    n.p.softmax.log = log_softmax;
    infer_tensor in = tview(INFER_F32, xd, ndim, dims), out = tview(INFER_F32, y, ndim, dims);
    infer_error err;
    cr_assert_eq(cpu_softmax(ctx, &n, &in, &out, &err), INFER_OK, "%s", err.message);
    /* expf is within 1 ulp; sums are in double: a few float ulps at most. */
    double e = rel_l2(y, ref, count);
    cr_assert(e <= 1e-6, "softmax axis %d log %d: rel_l2 %g", axis, log_softmax, e);
    if (!in_place) free(y);
    free(xd);
    free(ref);
}

Test(norm_softmax, softmax_axes_and_log) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t d[3] = { 3, 13, 127 }, d1[1] = { 7 }, d2[2] = { 1, 1 };
    for (int lg = 0; lg <= 1; lg++) {
        for (int axis = -3; axis < 3; axis++) check_softmax(&ctx, 3, d, axis, lg, 0, 40 + (uint64_t)axis + 3 * (uint64_t)lg);
        check_softmax(&ctx, 3, d, 1, lg, 1, 50 + lg);
        check_softmax(&ctx, 3, d, -1, lg, 1, 52 + lg);
        check_softmax(&ctx, 1, d1, 0, lg, 0, 54 + lg);
        check_softmax(&ctx, 2, d2, 1, lg, 0, 56 + lg);
    }
}

Test(norm_softmax, softmax_parallel) {
    cpu_ctx ctx = kernel_ctx(2);
    int64_t d[3] = { 5, 257, 131 };
    check_softmax(&ctx, 3, d, -1, 0, 0, 60);
    check_softmax(&ctx, 3, d, 1, 1, 0, 61);
    check_softmax(&ctx, 3, d, 0, 0, 1, 62);
    pool_destroy(ctx.pool);
}

Test(norm_softmax, softmax_every_isa) {
    cpu_ctx ctx = kernel_ctx(1);
    int best = ctx.isa;
    int64_t d[2] = { 5, 1031 }, d1[2] = { 3, 7 };
    for (int isa = CPU_ISA_SCALAR; isa <= best; isa++) {
        ctx.isa = isa;
        check_softmax(&ctx, 2, d, -1, 0, 0, 70 + (uint64_t)isa);
        check_softmax(&ctx, 2, d, -1, 1, 1, 73 + (uint64_t)isa);
        check_softmax(&ctx, 2, d1, 1, 0, 1, 76 + (uint64_t)isa);
    }
}

/* The SIMD exp against double exp: every element within 4 ulp, specials exact. */
Test(norm_softmax, vexp_accuracy_and_specials) {
    int best = cpu_detect_isa();
    test_rng r = rng_seed(80);
    int64_t n = 4099;
    float *x = rng_array(&r, n, -90.0f, 1.0f), *y = malloc((size_t)n * sizeof *y);
    x[0] = 0.0f, x[1] = -INFINITY, x[2] = -87.0f, x[3] = -88.0f, x[4] = -1e-8f, x[5] = 88.0f;
    for (int isa = CPU_ISA_SCALAR; isa <= best; isa++) {
        double sum = vexp_row(isa, x, y, n, 0.0f), ref_sum = 0;
        for (int64_t i = 0; i < n; i++) {
            double want = exp((double)x[i]);
            ref_sum += y[i];
            if (want < 1.1754943508222875e-38) { /* below FLT_MIN: 0, or expf's subnormal */
                cr_assert(y[i] >= 0.0f && y[i] <= 1.2e-38f, "isa %d: exp(%g) = %g", isa, x[i], y[i]);
                continue;
            }
            cr_assert(fabs(y[i] - want) <= 4 * 5.97e-8 * want, "isa %d: exp(%.9g) = %.9g, expected %.9g", isa, x[i],
                      y[i], want);
        }
        cr_assert(y[0] == 1.0f && y[1] == 0.0f, "isa %d: exp(0) = %g, exp(-inf) = %g", isa, y[0], y[1]);
        cr_assert(fabs(sum - ref_sum) <= 1e-12 * ref_sum, "isa %d: sum %.17g vs %.17g", isa, sum, ref_sum);
        cr_assert_eq(vexp_row(isa, x, NULL, n, 0.0f), sum, "isa %d: the sum alone matches", isa);
        float nan_in[3] = { NAN, 0.0f, -1.0f }, nan_out[3];
        cr_assert(isnan(vexp_row(isa, nan_in, nan_out, 3, 0.0f)) && isnan(nan_out[0]), "isa %d: NaN stays", isa);
        float maxes[19];
        for (int k = 0; k < 19; k++) maxes[k] = (float)(k % 5) - (k == 17 ? -10.0f : 0.0f);
        maxes[3] = NAN;
        for (int len = 1; len <= 19; len++) {
            float want = -INFINITY;
            for (int k = 0; k < len; k++) want = maxes[k] > want ? maxes[k] : want;
            cr_assert_eq(vexp_row_max(isa, maxes, len), want, "isa %d: max of %d", isa, len);
        }
    }
    free(x);
    free(y);
}

Test(norm_softmax, softmax_masked_rows) {
    cpu_ctx ctx = kernel_ctx(1);
    int best = ctx.isa;
    for (int isa = CPU_ISA_SCALAR; isa <= best; isa++) {
        ctx.isa = isa;
        float x[2][4] = { { -INFINITY, 1.0f, -INFINITY, 1.0f }, { -INFINITY, -INFINITY, -INFINITY, -INFINITY } };
        float y[2][4];
        int64_t d[2] = { 2, 4 };
        ir_node n = kernel_node(OP_SOFTMAX, 1);
        n.p.softmax.axis = -1;
        infer_tensor in = tview(INFER_F32, x, 2, d), out = tview(INFER_F32, y, 2, d);
        infer_error err;
        cr_assert_eq(cpu_softmax(&ctx, &n, &in, &out, &err), INFER_OK);
        cr_assert(y[0][0] == 0.0f && y[0][1] == 0.5f && y[0][2] == 0.0f && y[0][3] == 0.5f, "isa %d", isa);
        for (int i = 0; i < 4; i++) cr_assert(isnan(y[1][i]), "a fully masked row is NaN, like PyTorch");
        n.p.softmax.axis = 2;
        cr_assert_eq(cpu_softmax(&ctx, &n, &in, &out, &err), INFER_ERR_SHAPE);
    }
}
