/* test_elementwise.c — binary, activation, unary, cast, compare, where, masked_fill against naive loops. */
#include <criterion/criterion.h>
#include <math.h>
#include "testutil.h"
#include "kernel_util.h"
#include "../../kernels/cpu/cpu_kernels.h"
#include "../../runtime/threadpool.h"

/* Offset into t of the output multi-index idx (out_ndim dims), numpy broadcasting. */
static int64_t bcast_offset(const infer_tensor *t, const int64_t *idx, int out_ndim) {
    int64_t off = 0;
    int lead = out_ndim - t->ndim;
    for (int k = 0; k < t->ndim; k++) off = off * t->dims[k] + (t->dims[k] == 1 ? 0 : idx[k + lead]);
    return off;
}

static void unravel(int64_t i, const infer_tensor *out, int64_t *idx) {
    for (int k = out->ndim - 1; k >= 0; k--) {
        idx[k] = i % out->dims[k];
        i /= out->dims[k];
    }
}

static float ref_binary(binary_kind kind, float u, float v) {
    switch (kind) {
    case BIN_ADD: return u + v;
    case BIN_SUB: return u - v;
    case BIN_MUL: return u * v;
    case BIN_DIV: return u / v;
    case BIN_POW: return (float)pow(u, v);
    case BIN_MAX: return u > v ? u : v;
    case BIN_MIN: return u < v ? u : v;
    default: return NAN;
    }
}

/* Runs binary on shapes a and b (b_ndim < 0: scalar) at out's shape; checks against a naive loop. */
static void check_binary(cpu_ctx *ctx, binary_kind kind, int reverse, int a_nd, const int64_t *a_dims, int b_nd,
                         const int64_t *b_dims, int o_nd, const int64_t *o_dims, uint64_t seed) {
    test_rng r = rng_seed(seed);
    infer_tensor a = tview(INFER_F32, NULL, a_nd, a_dims), o = tview(INFER_F32, NULL, o_nd, o_dims);
    infer_tensor b = b_nd >= 0 ? tview(INFER_F32, NULL, b_nd, b_dims) : tview(INFER_F32, NULL, 0, NULL);
    int64_t na = infer_tensor_elements(&a), nb = infer_tensor_elements(&b), no = infer_tensor_elements(&o);
    float lo = kind == BIN_POW ? 0.1f : -2.0f;
    a.data = rng_array(&r, na, lo, 2.0f);
    b.data = rng_array(&r, nb, kind == BIN_DIV ? 0.5f : lo, 2.0f);
    o.data = malloc((size_t)no * sizeof(float));
    float *ref = malloc((size_t)no * sizeof(float));
    ir_node n = kernel_node(OP_BINARY, b_nd >= 0 ? 2 : 1);
    n.p.binary.kind = kind;
    n.p.binary.scalar = 1.75f;
    n.p.binary.reverse = reverse;
    infer_tensor in[2] = { a, b };
    infer_error err;
    cr_assert_eq(cpu_binary(ctx, &n, in, &o, &err), INFER_OK, "%s", err.message);
    for (int64_t i = 0; i < no; i++) {
        int64_t idx[INFER_MAX_DIMS];
        unravel(i, &o, idx);
        float u = ((float *)a.data)[bcast_offset(&a, idx, o_nd)];
        float v = b_nd >= 0 ? ((float *)b.data)[bcast_offset(&b, idx, o_nd)] : 1.75f;
        ref[i] = reverse ? ref_binary(kind, v, u) : ref_binary(kind, u, v);
    }
    /* pow goes through powf (<= 1 ulp) against double pow; the others are exact. */
    double tol = kind == BIN_POW ? 1e-6 : 0.0;
    cr_assert(rel_l2(o.data, ref, no) <= tol, "kind %d: rel_l2 %g", kind, rel_l2(o.data, ref, no));
    free(a.data);
    free(b.data);
    free(o.data);
    free(ref);
}

Test(elementwise, binary_same_shape_all_kinds) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t d[3] = { 7, 13, 5 };
    for (int k = 0; k < BIN_COUNT; k++) check_binary(&ctx, k, 0, 3, d, 3, d, 3, d, 10 + k);
    int64_t one[1] = { 1 };
    for (int k = 0; k < BIN_COUNT; k++) check_binary(&ctx, k, 0, 1, one, 1, one, 1, one, 20 + k);
}

Test(elementwise, binary_broadcasting) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t a1[3] = { 3, 1, 5 }, b1[2] = { 7, 1 }, o1[3] = { 3, 7, 5 };
    int64_t a2[4] = { 2, 13, 7, 3 }, b2[1] = { 3 };                  /* bias along the last dim */
    int64_t a3[4] = { 2, 13, 7, 3 }, b3[3] = { 13, 1, 1 };           /* per-channel, NCHW */
    int64_t a4[2] = { 1, 127 }, b4[2] = { 13, 1 }, o4[2] = { 13, 127 }; /* outer product */
    for (int k = 0; k < BIN_COUNT; k++) {
        check_binary(&ctx, k, 0, 3, a1, 2, b1, 3, o1, 30 + k);
        check_binary(&ctx, k, 0, 2, b1, 3, a1, 3, o1, 40 + k);
        check_binary(&ctx, k, 0, 4, a2, 1, b2, 4, a2, 50 + k);
        check_binary(&ctx, k, 0, 4, a3, 3, b3, 4, a3, 60 + k);
        check_binary(&ctx, k, 0, 2, a4, 2, b4, 2, o4, 70 + k);
        check_binary(&ctx, k, 0, 4, a3, 0, NULL, 4, a3, 80 + k);  /* 0-d tensor operand */
    }
}

Test(elementwise, binary_scalar_and_reverse) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t d[2] = { 13, 7 };
    for (int k = 0; k < BIN_COUNT; k++) {
        check_binary(&ctx, k, 0, 2, d, -1, NULL, 2, d, 90 + k);
        check_binary(&ctx, k, 1, 2, d, -1, NULL, 2, d, 100 + k);
    }
}

Test(elementwise, binary_parallel) {
    cpu_ctx ctx = kernel_ctx(2);
    int64_t a[3] = { 3, 301, 517 }, b[2] = { 301, 1 }, s[1] = { 517 };
    check_binary(&ctx, BIN_ADD, 0, 3, a, 3, a, 3, a, 110);
    check_binary(&ctx, BIN_MUL, 0, 3, a, 2, b, 3, a, 111);
    check_binary(&ctx, BIN_SUB, 0, 1, s, 3, a, 3, a, 112);
    check_binary(&ctx, BIN_DIV, 1, 3, a, -1, NULL, 3, a, 113);
    pool_destroy(ctx.pool);
}

Test(elementwise, binary_in_place) {
    cpu_ctx ctx = kernel_ctx(2);
    test_rng r = rng_seed(5);
    int64_t d[2] = { 257, 301 }, bd[1] = { 301 };
    int64_t count = d[0] * d[1];
    float *x = rng_array(&r, count, -1, 1), *b = rng_array(&r, 301, -1, 1);
    float *ref = malloc((size_t)count * sizeof *ref);
    for (int64_t i = 0; i < count; i++) ref[i] = x[i] * b[i % 301];
    ir_node n = kernel_node(OP_BINARY, 2);
    n.p.binary.kind = BIN_MUL;
    infer_tensor in[2] = { tview(INFER_F32, x, 2, d), tview(INFER_F32, b, 1, bd) };
    infer_tensor out = tview(INFER_F32, x, 2, d);
    infer_error err;
    cr_assert_eq(cpu_binary(&ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
    cr_assert_eq(rel_l2(x, ref, count), 0.0);
    free(x);
    free(b);
    free(ref);
    pool_destroy(ctx.pool);
}

Test(elementwise, binary_nan_and_integers_and_errors) {
    cpu_ctx ctx = kernel_ctx(1);
    float a[3] = { NAN, 1.0f, 2.0f }, b[3] = { 0.0f, NAN, 1.0f }, y[3];
    int64_t d3[1] = { 3 };
    ir_node n = kernel_node(OP_BINARY, 2);
    n.p.binary.kind = BIN_MAX;
    infer_tensor in[2] = { tview(INFER_F32, a, 1, d3), tview(INFER_F32, b, 1, d3) };
    infer_tensor out = tview(INFER_F32, y, 1, d3);
    infer_error err;
    cr_assert_eq(cpu_binary(&ctx, &n, in, &out, &err), INFER_OK);
    cr_assert(isnan(y[0]) && isnan(y[1]) && y[2] == 2.0f, "max propagates NaN: %g %g %g", y[0], y[1], y[2]);

    int64_t ia[3] = { 5, -7, 1000000000000LL }, ib[3] = { 3, 2, 7 }, iy[3];
    n.p.binary.kind = BIN_MUL;
    in[0] = tview(INFER_I64, ia, 1, d3);
    in[1] = tview(INFER_I64, ib, 1, d3);
    out = tview(INFER_I64, iy, 1, d3);
    cr_assert_eq(cpu_binary(&ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
    cr_assert(iy[0] == 15 && iy[1] == -14 && iy[2] == 7000000000000LL);

    int32_t ic[3] = { 1, 2, 3 };
    float fy[3];
    n.p.binary.kind = BIN_DIV; /* int tensor / scalar gives f32 */
    n.n_in = 1;
    n.p.binary.scalar = 2.0f;
    in[0] = tview(INFER_I32, ic, 1, d3);
    out = tview(INFER_F32, fy, 1, d3);
    cr_assert_eq(cpu_binary(&ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
    cr_assert(fy[0] == 0.5f && fy[1] == 1.0f && fy[2] == 1.5f);

    int64_t pa[4] = { 3, -2, 1, -1 }, pe[4] = { 3, 5, -2, -3 }, py[4], d4[1] = { 4 };
    n.n_in = 2;
    n.p.binary.kind = BIN_POW; /* integer powers; negative exponents give 0 unless the base is +-1 */
    in[0] = tview(INFER_I64, pa, 1, d4);
    in[1] = tview(INFER_I64, pe, 1, d4);
    out = tview(INFER_I64, py, 1, d4);
    cr_assert_eq(cpu_binary(&ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
    cr_assert(py[0] == 27 && py[1] == -32 && py[2] == 1 && py[3] == -1, "%ld %ld %ld %ld", (long)py[0], (long)py[1],
              (long)py[2], (long)py[3]);
    n.p.binary.kind = BIN_DIV;
    cr_assert_eq(cpu_binary(&ctx, &n, in, &out, &err), INFER_ERR_UNSUPPORTED);

    n.p.binary.kind = BIN_ADD;
    in[0] = tview(INFER_F32, a, 1, d3);
    in[1] = tview(INFER_F32, b, 1, d4);
    out = tview(INFER_F32, y, 1, d3);
    cr_assert_eq(cpu_binary(&ctx, &n, in, &out, &err), INFER_ERR_SHAPE);
    cr_assert(strstr(err.message, "broadcast") != NULL, "%s", err.message);
}

Test(elementwise, activation_all_kinds) {
    cpu_ctx ctx = kernel_ctx(2);
    test_rng r = rng_seed(7);
    int64_t sizes[4] = { 1, 7, 127, 70001 };
    for (int si = 0; si < 4; si++) {
        int64_t count = sizes[si];
        float *x = rng_array(&r, count, -6, 6), *y = malloc((size_t)count * sizeof *y), *ref = malloc((size_t)count * 4);
        for (int k = 0; k < ACT_COUNT; k++) {
            ir_node n = kernel_node(OP_ACTIVATION, 1);
            n.p.activation.kind = k;
            n.p.activation.min = -1.5f;
            n.p.activation.max = 2.5f;
            for (int64_t i = 0; i < count; i++) ref[i] = act_apply(&n.p.activation, x[i]);
            infer_tensor in = tview(INFER_F32, x, 1, &count), out = tview(INFER_F32, y, 1, &count);
            infer_error err;
            cr_assert_eq(cpu_activation(&ctx, &n, &in, &out, &err), INFER_OK, "%s", err.message);
            /* The same formulas as act_apply; 1e-6 leaves room for the compiler's vector forms. */
            cr_assert(rel_l2(y, ref, count) <= 1e-6, "%s n=%ld: %g", act_name(k), (long)count, rel_l2(y, ref, count));
            if (k == ACT_RELU || k == ACT_CLIP) cr_assert_eq(rel_l2(y, ref, count), 0.0);
        }
        free(x);
        free(y);
        free(ref);
    }
    pool_destroy(ctx.pool);
}

Test(elementwise, unary_all_kinds) {
    cpu_ctx ctx = kernel_ctx(1);
    test_rng r = rng_seed(8);
    int64_t count = 127;
    float x[127], y[127], ref[127];
    for (int k = 0; k < UN_COUNT; k++) {
        int positive = k == UN_LOG || k == UN_SQRT || k == UN_RSQRT;
        rng_fill(&r, x, count, positive ? 0.1f : -4.0f, 4.0f);
        if (!positive) x[0] = k == UN_RECIPROCAL ? 0.5f : 0.0f, x[1] = 2.5f, x[2] = -1.5f; /* sign of 0; halves */
        for (int64_t i = 0; i < count; i++) {
            double v = x[i];
            double e[UN_COUNT] = { -v, exp(v), log(v), sqrt(v), 1 / sqrt(v), fabs(v), 1 / v, erf(v), (v > 0) - (v < 0),
                                   nearbyint(v), floor(v), ceil(v), trunc(v) };
            ref[i] = (float)e[k];
        }
        ir_node n = kernel_node(OP_UNARY, 1);
        n.p.unary.kind = k;
        infer_tensor in = tview(INFER_F32, x, 1, &count), out = tview(INFER_F32, y, 1, &count);
        infer_error err;
        cr_assert_eq(cpu_unary(&ctx, &n, &in, &out, &err), INFER_OK, "%s", err.message);
        /* libm float functions are within 1-2 ulp of the double results. */
        cr_assert(rel_l2(y, ref, count) <= 1e-6, "unary %d: %g", k, rel_l2(y, ref, count));
    }
}

Test(elementwise, unary_integer_dtypes) {
    cpu_ctx ctx = kernel_ctx(1);
    int64_t x[4] = { 3, -7, 0, INT64_MIN }, y[4], d[1] = { 4 };
    int32_t xi[4] = { 0, 1, -2, 3 };
    float f[4];
    ir_node n = kernel_node(OP_UNARY, 1);
    infer_tensor in = tview(INFER_I64, x, 1, d), out = tview(INFER_I64, y, 1, d);
    infer_error err;
    n.p.unary.kind = UN_NEG;
    cr_assert_eq(cpu_unary(&ctx, &n, &in, &out, &err), INFER_OK, "%s", err.message);
    cr_assert(y[0] == -3 && y[1] == 7 && y[2] == 0 && y[3] == INT64_MIN, "neg wraps like PyTorch");
    n.p.unary.kind = UN_ABS;
    cr_assert_eq(cpu_unary(&ctx, &n, &in, &out, &err), INFER_OK);
    cr_assert(y[0] == 3 && y[1] == 7 && y[2] == 0);
    n.p.unary.kind = UN_EXP;
    cr_assert_eq(cpu_unary(&ctx, &n, &in, &out, &err), INFER_ERR_DTYPE); /* exp into an integer */
    in = tview(INFER_I32, xi, 1, d);
    out = tview(INFER_F32, f, 1, d);
    cr_assert_eq(cpu_unary(&ctx, &n, &in, &out, &err), INFER_OK, "%s", err.message);
    for (int i = 0; i < 4; i++) cr_assert_eq(f[i], expf((float)xi[i]));
}

/* ---- cast --------------------------------------------------------------------------------- */

static const infer_dtype cast_dtypes[] = { INFER_F32, INFER_F16, INFER_BF16, INFER_I64, INFER_I32,
                                           INFER_I8, INFER_U8, INFER_BOOL };
#define N_CAST_DTYPES 8

/* The value a test element of dtype d holds, exactly representable in it. */
static double cast_value(infer_dtype d, int64_t i) {
    /* exact in bf16 and f16 (at most 8 significant bits, inside f16's range) */
    static const double floats[] = { 0.0, -0.0, 1.5, -2.75, 3.0, 100.5, -128.0, 127.5, 0.5, 7.0, 255.0, -1.0, 0x1p-10 };
    static const double ints[] = { 0, 1, -1, 127, -128, 255, 100, -3, 42, 7, 1 << 14, -4352, 3 };
    double v = d == INFER_BOOL ? (double)(i % 3 != 0) : (d == INFER_F32 || d == INFER_F16 || d == INFER_BF16) ? floats[i % 13] : ints[i % 13];
    if (d == INFER_U8 && v < 0) v = -v;
    if ((d == INFER_U8 || d == INFER_I8) && fabs(v) > 127) v = 100;
    return v;
}

static void store_test_value(void *p, infer_dtype d, int64_t i, double v) {
    switch (d) {
    case INFER_F32: ((float *)p)[i] = (float)v; break;
    case INFER_F16: { /* exact values only: normal halves built from float bits */
        float f = (float)v;
        uint32_t x;
        memcpy(&x, &f, 4);
        uint16_t h = (uint16_t)(((x >> 16) & 0x8000) | ((x & 0x7fffffff) ? ((((x >> 23) & 0xff) - 112) << 10) | ((x >> 13) & 0x3ff) : 0));
        ((uint16_t *)p)[i] = h;
    } break;
    case INFER_BF16: { float f = (float)v; uint32_t x; memcpy(&x, &f, 4); ((uint16_t *)p)[i] = (uint16_t)(x >> 16); } break;
    case INFER_I64: ((int64_t *)p)[i] = (int64_t)v; break;
    case INFER_I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case INFER_I8: ((int8_t *)p)[i] = (int8_t)v; break;
    case INFER_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case INFER_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    default: break;
    }
}

/* PyTorch's result of casting v to d: floats keep it, integers truncate then wrap, bool is != 0. */
static double cast_expect(double v, infer_dtype d) {
    if (d == INFER_BOOL) return v != 0;
    if (d == INFER_F32 || d == INFER_F16 || d == INFER_BF16) return v;
    int64_t t = (int64_t)v;
    if (d == INFER_I32) return (int32_t)t;
    if (d == INFER_I8) return (int8_t)(uint8_t)(uint64_t)t;
    if (d == INFER_U8) return (uint8_t)(uint64_t)t;
    return (double)t;
}

static double load_test_value(const void *p, infer_dtype d, int64_t i) {
    switch (d) {
    case INFER_F32: return ((const float *)p)[i];
    case INFER_F16: {
        uint16_t h = ((const uint16_t *)p)[i];
        double m = (h >> 10) & 0x1f ? 1024 + (h & 0x3ff) : (h & 0x3ff);
        int e = (h >> 10) & 0x1f ? ((h >> 10) & 0x1f) : 1;
        return (h & 0x8000 ? -1 : 1) * ldexp(m, e - 25);
    }
    case INFER_BF16: { uint32_t x = (uint32_t)((const uint16_t *)p)[i] << 16; float f; memcpy(&f, &x, 4); return f; }
    case INFER_I64: return (double)((const int64_t *)p)[i];
    case INFER_I32: return ((const int32_t *)p)[i];
    case INFER_I8: return ((const int8_t *)p)[i];
    case INFER_U8: case INFER_BOOL: return ((const uint8_t *)p)[i];
    default: return NAN;
    }
}

Test(elementwise, cast_every_pair) {
    int64_t count = 1031; /* more than two stack chunks and a tail */
    for (int isa = 0; isa <= 1; isa++) {
        cpu_ctx ctx = kernel_ctx(1);
        if (!isa) ctx.isa = CPU_ISA_SCALAR;
        for (int s = 0; s < N_CAST_DTYPES; s++) {
            for (int t = 0; t < N_CAST_DTYPES; t++) {
                infer_dtype from = cast_dtypes[s], to = cast_dtypes[t];
                void *x = malloc((size_t)count * 8), *y = malloc((size_t)count * 8);
                for (int64_t i = 0; i < count; i++) store_test_value(x, from, i, cast_value(from, i));
                ir_node n = kernel_node(OP_CAST, 1);
                n.p.cast.dtype = to;
                infer_tensor in = tview(from, x, 1, &count), out = tview(to, y, 1, &count);
                infer_error err;
                cr_assert_eq(cpu_cast(&ctx, &n, &in, &out, &err), INFER_OK, "%s", err.message);
                for (int64_t i = 0; i < count; i++) {
                    double want = cast_expect(load_test_value(x, from, i), to), got = load_test_value(y, to, i);
                    cr_assert(want == got, "%s -> %s [%ld]: %g, expected %g", infer_dtype_name(from),
                              infer_dtype_name(to), (long)i, got, want);
                }
                free(x);
                free(y);
            }
        }
    }
}

static uint16_t cast_one_to_f16(cpu_ctx *ctx, float v) {
    int64_t one = 1;
    uint16_t h;
    ir_node n = kernel_node(OP_CAST, 1);
    infer_tensor in = tview(INFER_F32, &v, 1, &one), out = tview(INFER_F16, &h, 1, &one);
    infer_error err;
    cr_assert_eq(cpu_cast(ctx, &n, &in, &out, &err), INFER_OK);
    return h;
}

Test(elementwise, cast_f16_rounding_and_specials) {
    cpu_ctx scalar = kernel_ctx(1), simd = kernel_ctx(1);
    scalar.isa = CPU_ISA_SCALAR;
    struct { float f; uint16_t h; } cases[] = {
        { 1.0f, 0x3c00 }, { 65504.0f, 0x7bff }, { 65519.0f, 0x7bff }, { 65520.0f, 0x7c00 }, { 1e6f, 0x7c00 },
        { -INFINITY, 0xfc00 }, { 0x1p-24f, 0x0001 }, { 0x1p-25f, 0x0000 }, { 0x1.0001p-25f, 0x0001 },
        { 0x1.8p-24f, 0x0002 }, { 0x1p-14f, 0x0400 }, { 1.0f + 0x1p-11f, 0x3c00 }, /* tie to even */
        { 1.0f + 0x3p-11f, 0x3c02 }, { -0.0f, 0x8000 }, { 0x1.ffcp-15f, 0x0400 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(cast_one_to_f16(&scalar, cases[i].f), cases[i].h, "portable %a", cases[i].f);
        if (simd.isa >= CPU_ISA_AVX2) cr_assert_eq(cast_one_to_f16(&simd, cases[i].f), cases[i].h, "f16c %a", cases[i].f);
    }
    cr_assert_eq(cast_one_to_f16(&scalar, NAN) & 0x7e00, 0x7e00, "NaN stays a quiet NaN");
    if (simd.isa < CPU_ISA_AVX2) return;
    /* Random bit patterns, NaNs included: the portable path matches F16C bit for bit, both ways. */
    test_rng r = rng_seed(9);
    int64_t count = 100003;
    uint32_t *bits = malloc((size_t)count * 4);
    for (int64_t i = 0; i < count; i++) bits[i] = (uint32_t)rng_u64(&r) >> (i % 5 == 0 ? 0 : 2) ^ (i % 3 ? 0x38000000u : 0);
    uint16_t *h1 = malloc((size_t)count * 2), *h2 = malloc((size_t)count * 2);
    float *f1 = malloc((size_t)count * 4), *f2 = malloc((size_t)count * 4);
    ir_node n = kernel_node(OP_CAST, 1);
    infer_error err;
    infer_tensor in = tview(INFER_F32, bits, 1, &count), o1 = tview(INFER_F16, h1, 1, &count), o2 = tview(INFER_F16, h2, 1, &count);
    cr_assert_eq(cpu_cast(&scalar, &n, &in, &o1, &err), INFER_OK);
    cr_assert_eq(cpu_cast(&simd, &n, &in, &o2, &err), INFER_OK);
    cr_assert_eq(memcmp(h1, h2, (size_t)count * 2), 0, "f32 -> f16 differs between paths");
    for (int64_t i = 0; i < 65536 && i < count; i++) h1[i] = (uint16_t)i; /* every half */
    infer_tensor hin = tview(INFER_F16, h1, 1, &count), p1 = tview(INFER_F32, f1, 1, &count), p2 = tview(INFER_F32, f2, 1, &count);
    cr_assert_eq(cpu_cast(&scalar, &n, &hin, &p1, &err), INFER_OK);
    cr_assert_eq(cpu_cast(&simd, &n, &hin, &p2, &err), INFER_OK);
    cr_assert_eq(memcmp(f1, f2, (size_t)count * 4), 0, "f16 -> f32 differs between paths");
    for (int64_t i = 0; i < 65536; i++) {
        if ((i & 0x7c00) == 0x7c00) continue; /* inf and NaN: compared between the paths above */
        cr_assert_eq(load_test_value(h1, INFER_F16, i), f1[i], "half %04lx", (long)i);
    }
    free(bits);
    free(h1);
    free(h2);
    free(f1);
    free(f2);
}

/* ---- compare, where, masked_fill ----------------------------------------------------------- */

Test(elementwise, compare_broadcast_and_scalar) {
    cpu_ctx ctx = kernel_ctx(1);
    test_rng r = rng_seed(11);
    int64_t ad[3] = { 3, 1, 5 }, bd[2] = { 7, 1 }, od[3] = { 3, 7, 5 };
    infer_tensor a = tview(INFER_F32, rng_array(&r, 15, -1, 1), 3, ad), b = tview(INFER_F32, rng_array(&r, 7, -1, 1), 2, bd);
    ((float *)b.data)[2] = ((float *)a.data)[3]; /* some equal pairs */
    ((float *)a.data)[0] = ((float *)b.data)[1] = 0.0f; /* falsy operands for and/or/xor */
    uint8_t y[105];
    infer_tensor out = tview(INFER_BOOL, y, 3, od);
    for (int k = 0; k < CMP_COUNT; k++) {
        for (int scalar = 0; scalar <= 1; scalar++) {
            ir_node n = kernel_node(OP_COMPARE, scalar ? 1 : 2);
            n.p.compare.kind = k;
            n.p.compare.scalar = ((float *)a.data)[4];
            infer_tensor in[2] = { a, b };
            infer_error err;
            cr_assert_eq(cpu_compare(&ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
            for (int64_t i = 0; i < 105; i++) {
                int64_t idx[3];
                unravel(i, &out, idx);
                float u = ((float *)a.data)[bcast_offset(&a, idx, 3)];
                float v = scalar ? n.p.compare.scalar : ((float *)b.data)[bcast_offset(&b, idx, 3)];
                int want[CMP_COUNT] = { u == v, u != v, u < v, u <= v, u > v, u >= v, u != 0 && v != 0, u != 0 || v != 0,
                                        (u != 0) != (v != 0) };
                cr_assert_eq(y[i], want[k], "kind %d scalar %d at %ld", k, scalar, (long)i);
            }
        }
    }
    /* i64 against a float scalar */
    int64_t ids[4] = { 0, 3, 5, -2 }, d4[1] = { 4 };
    ir_node n = kernel_node(OP_COMPARE, 1);
    n.p.compare.kind = CMP_GE;
    n.p.compare.scalar = 3.0f;
    infer_tensor in = tview(INFER_I64, ids, 1, d4), o4 = tview(INFER_BOOL, y, 1, d4);
    infer_error err;
    cr_assert_eq(cpu_compare(&ctx, &n, &in, &o4, &err), INFER_OK);
    cr_assert(y[0] == 0 && y[1] == 1 && y[2] == 1 && y[3] == 0);
    free(a.data);
    free(b.data);
}

Test(elementwise, where_broadcast) {
    cpu_ctx ctx = kernel_ctx(2);
    test_rng r = rng_seed(12);
    int64_t cd[2] = { 13, 1 }, xd[3] = { 2, 13, 127 }, yd[1] = { 127 }, od[3] = { 2, 13, 127 };
    uint8_t cond[13];
    for (int i = 0; i < 13; i++) cond[i] = rng_u64(&r) & 1;
    float *x = rng_array(&r, 2 * 13 * 127, -1, 1), *y = rng_array(&r, 127, -1, 1), *z = malloc(2 * 13 * 127 * 4);
    infer_tensor in[3] = { tview(INFER_BOOL, cond, 2, cd), tview(INFER_F32, x, 3, xd), tview(INFER_F32, y, 1, yd) };
    infer_tensor out = tview(INFER_F32, z, 3, od);
    ir_node n = kernel_node(OP_WHERE, 3);
    infer_error err;
    cr_assert_eq(cpu_where(&ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
    for (int64_t i = 0; i < 2 * 13 * 127; i++) {
        int64_t row = (i / 127) % 13;
        cr_assert_eq(z[i], cond[row] ? x[i] : y[i % 127], "at %ld", (long)i);
    }
    /* i64 values */
    int64_t xi[3] = { 1, 2, 3 }, yi[1] = { -9 }, zi[3], d3[1] = { 3 }, d1[1] = { 1 };
    uint8_t c3[3] = { 1, 0, 1 };
    infer_tensor in2[3] = { tview(INFER_BOOL, c3, 1, d3), tview(INFER_I64, xi, 1, d3), tview(INFER_I64, yi, 1, d1) };
    infer_tensor out2 = tview(INFER_I64, zi, 1, d3);
    cr_assert_eq(cpu_where(&ctx, &n, in2, &out2, &err), INFER_OK, "%s", err.message);
    cr_assert(zi[0] == 1 && zi[1] == -9 && zi[2] == 3);
    free(x);
    free(y);
    free(z);
    pool_destroy(ctx.pool);
}

Test(elementwise, masked_fill_causal_in_place) {
    cpu_ctx ctx = kernel_ctx(1);
    test_rng r = rng_seed(13);
    int64_t xd[4] = { 3, 2, 7, 7 }, md[4] = { 1, 1, 7, 7 };
    int64_t count = 3 * 2 * 7 * 7;
    float *x = rng_array(&r, count, -1, 1), *orig = malloc((size_t)count * 4);
    memcpy(orig, x, (size_t)count * 4);
    uint8_t mask[49];
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 7; j++) mask[i * 7 + j] = j > i;
    ir_node n = kernel_node(OP_MASKED_FILL, 2);
    n.p.masked_fill.value = -INFINITY;
    infer_tensor in[2] = { tview(INFER_F32, x, 4, xd), tview(INFER_BOOL, mask, 4, md) };
    infer_tensor out = tview(INFER_F32, x, 4, xd);
    infer_error err;
    cr_assert_eq(cpu_masked_fill(&ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
    for (int64_t i = 0; i < count; i++) {
        if (mask[i % 49]) cr_assert(isinf(x[i]) && x[i] < 0, "at %ld", (long)i);
        else cr_assert_eq(x[i], orig[i], "at %ld", (long)i);
    }
    int64_t md_bad[2] = { 6, 7 };
    in[1] = tview(INFER_BOOL, mask, 2, md_bad);
    cr_assert_eq(cpu_masked_fill(&ctx, &n, in, &out, &err), INFER_ERR_SHAPE);
    free(x);
    free(orig);
}

/* In place is only safe when the output has the input's shape: element i is read before it is written.
 * The kernels refuse an output sharing an input's storage with another shape (a planner bug) instead of
 * reading rows they already overwrote. */
Test(elementwise, in_place_with_another_shape_refused) {
    cpu_ctx ctx = kernel_ctx(1);
    float buf[12] = { 1, 2, 3, 4 }, c[12] = { 0 };
    uint8_t mask[12] = { 0 };
    int64_t row[2] = { 1, 4 }, full[2] = { 3, 4 };
    infer_error err;
    ir_node n = kernel_node(OP_BINARY, 2);
    n.p.binary.kind = BIN_ADD;
    infer_tensor in[3] = { tview(INFER_F32, buf, 2, row), tview(INFER_F32, c, 2, full) };
    infer_tensor out = tview(INFER_F32, buf, 2, full);
    cr_assert_eq(cpu_binary(&ctx, &n, in, &out, &err), INFER_ERR_INTERNAL);
    cr_assert(strstr(err.message, "binary: the output shares input 0's storage"), "%s", err.message);
    in[0] = tview(INFER_F32, buf, 2, full); /* same shape: fine */
    cr_assert_eq(cpu_binary(&ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
    cr_assert(buf[0] == 1 && buf[3] == 4 && buf[4] == 0);
    in[0] = tview(INFER_I32, buf, 2, full); /* same shape, same element size: reads before it writes */
    out = tview(INFER_F32, buf, 2, full);
    cr_assert_eq(cpu_binary(&ctx, &n, in, &out, &err), INFER_OK, "%s", err.message);
    in[0] = tview(INFER_I64, c, 1, (const int64_t[]){ 6 }); /* wider elements under the output */
    out = tview(INFER_F32, c, 1, (const int64_t[]){ 6 });
    in[1] = tview(INFER_F32, buf, 1, (const int64_t[]){ 6 });
    cr_assert_eq(cpu_binary(&ctx, &n, in, &out, &err), INFER_ERR_INTERNAL);

    ir_node m = kernel_node(OP_MASKED_FILL, 2);
    in[0] = tview(INFER_F32, buf, 2, row);
    in[1] = tview(INFER_BOOL, mask, 2, full);
    out = tview(INFER_F32, buf, 2, full);
    cr_assert_eq(cpu_masked_fill(&ctx, &m, in, &out, &err), INFER_ERR_INTERNAL);
    cr_assert(strstr(err.message, "masked_fill: the output shares input 0's storage"), "%s", err.message);

    ir_node w = kernel_node(OP_WHERE, 3);
    in[0] = tview(INFER_BOOL, mask, 2, full);
    in[1] = tview(INFER_F32, buf, 2, row);
    in[2] = tview(INFER_F32, c, 2, full);
    out = tview(INFER_F32, buf, 2, full);
    cr_assert_eq(cpu_where(&ctx, &w, in, &out, &err), INFER_ERR_INTERNAL);
    cr_assert(strstr(err.message, "where: the output shares input 1's storage"), "%s", err.message);
}
