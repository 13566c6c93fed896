/* test_gemm.c — cpu_sgemm / cpu_sgemm_serial against a naive triple loop: every transpose combination,
 * odd sizes, padded leading dimensions, each epilogue, each ISA path this CPU has, serial and threaded. */
#include <criterion/criterion.h>
#include "testutil.h"
#include "../../kernels/cpu/cpu_kernels.h"
#include "../../kernels/cpu/gemm_internal.h"

typedef struct { int64_t m, n, k; } gemm_size;

/* Tiny, small-M, small-N, single-block and multi-block (K > 256, M > 144, N > 1536) problems. */
static const gemm_size sizes[] = {
    { 1, 1, 1 },    { 3, 7, 13 },    { 1, 127, 65 },  { 2, 33, 300 },  { 4, 65, 17 },   { 5, 17, 31 },
    { 13, 31, 33 }, { 17, 65, 7 },   { 31, 33, 127 }, { 33, 127, 1 },  { 65, 13, 129 }, { 127, 17, 65 },
    { 7, 300, 40 }, { 200, 3, 300 }, { 129, 257, 19 }, { 200, 70, 260 }, { 9, 1600, 21 }, { 127, 4, 65 },
    { 17, 1, 33 },  { 40, 2, 500 },  { 3, 5, 0 },
};

enum { EP_NONE, EP_BIAS_COL_RELU, EP_BIAS_ROW_CLIP, EP_RESIDUAL_GELU, EP_BIAS_RESIDUAL, EP_BIAS_ROW_SIGMOID,
       EP_COUNT };

typedef struct {
    int64_t m, n, k;
    float *a_logical, *b_logical; /* op(A) [m,k], op(B) [k,n] */
    double *product;              /* op(A) op(B) */
    float *bias_col, *bias_row, *residual;
    int64_t ld_residual;
} problem;

static problem make_problem(const gemm_size *s, uint64_t seed) {
    test_rng r = rng_seed(seed);
    problem p = { s->m, s->n, s->k, NULL, NULL, NULL, NULL, NULL, NULL, s->n + 3 };
    p.a_logical = rng_array(&r, s->m * s->k + 1, -1, 1);
    p.b_logical = rng_array(&r, s->k * s->n + 1, -1, 1);
    p.bias_col = rng_array(&r, s->n, -1, 1);
    p.bias_row = rng_array(&r, s->m, -1, 1);
    p.residual = rng_array(&r, s->m * p.ld_residual, -1, 1);
    p.product = calloc((size_t)s->m * (size_t)s->n + 1, sizeof(double));
    for (int64_t i = 0; i < s->m; i++)
        for (int64_t j = 0; j < s->n; j++) {
            double acc = 0;
            for (int64_t q = 0; q < s->k; q++) acc += (double)p.a_logical[i * s->k + q] * p.b_logical[q * s->n + j];
            p.product[i * s->n + j] = acc;
        }
    return p;
}

static void free_problem(problem *p) {
    free(p->a_logical);
    free(p->b_logical);
    free(p->product);
    free(p->bias_col);
    free(p->bias_row);
    free(p->residual);
}

static gemm_epilogue make_epilogue(const problem *p, int kind) {
    gemm_epilogue ep;
    memset(&ep, 0, sizeof ep);
    switch (kind) {
    case EP_BIAS_COL_RELU: ep.bias = p->bias_col; ep.act.kind = ACT_RELU; break;
    case EP_BIAS_ROW_CLIP:
        ep.bias = p->bias_row;
        ep.bias_per_row = 1;
        ep.act = (act_params){ ACT_CLIP, -0.5f, 0.75f };
        break;
    case EP_RESIDUAL_GELU:
        ep.residual = p->residual;
        ep.ld_residual = p->ld_residual;
        ep.act.kind = ACT_GELU;
        break;
    case EP_BIAS_RESIDUAL:
        ep.bias = p->bias_col;
        ep.residual = p->residual;
        ep.ld_residual = p->ld_residual;
        break;
    case EP_BIAS_ROW_SIGMOID:
        ep.bias = p->bias_row;
        ep.bias_per_row = 1;
        ep.act.kind = ACT_SIGMOID;
        break;
    default: break;
    }
    return ep;
}

static void reference(const problem *p, const gemm_epilogue *ep, float *want) {
    for (int64_t i = 0; i < p->m; i++)
        for (int64_t j = 0; j < p->n; j++) {
            double v = p->product[i * p->n + j];
            if (ep->bias) v += ep->bias[ep->bias_per_row ? i : j];
            if (ep->residual) v += ep->residual[i * ep->ld_residual + j];
            want[i * p->n + j] = act_apply(&ep->act, (float)v);
        }
}

/* Stores op(X) = logical [rows, cols] in memory as X (transposed when trans) with leading dim ld. */
static float *layout(const float *logical, int64_t rows, int64_t cols, int trans, int64_t ld) {
    int64_t stored_rows = trans ? cols : rows;
    float *x = malloc((size_t)(stored_rows * ld + 1) * sizeof *x);
    for (int64_t i = 0; i < stored_rows * ld + 1; i++) x[i] = 1e30f; /* poison the padding */
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) x[trans ? j * ld + i : i * ld + j] = logical[i * cols + j];
    return x;
}

static int available_isa(void) { return cpu_detect_isa(); }

#define SENTINEL -12345.0f

/* Runs every ISA, serial and threaded, for one problem, layout and epilogue. */
static void check_all(const problem *p, int ta, int tb, int ep_kind, thread_pool *pool, uint8_t *scratch) {
    int64_t lda = (ta ? p->m : p->k) + 5, ldb = (tb ? p->k : p->n) + 2, ldc = p->n + 7;
    float *a = layout(p->a_logical, p->m, p->k, ta, lda);
    float *b = layout(p->b_logical, p->k, p->n, tb, ldb);
    float *c = malloc((size_t)(p->m * ldc) * sizeof *c);
    float *got = malloc((size_t)(p->m * p->n + 1) * sizeof *got);
    float *want = malloc((size_t)(p->m * p->n + 1) * sizeof *want);
    gemm_epilogue ep = make_epilogue(p, ep_kind);
    reference(p, &ep, want);
    for (int isa = CPU_ISA_SCALAR; isa <= available_isa(); isa++) {
        for (int threaded = 0; threaded < 2; threaded++) {
            for (int64_t i = 0; i < p->m * ldc; i++) c[i] = SENTINEL;
            if (threaded) {
                cpu_ctx ctx = { .pool = pool, .threads = pool_size(pool), .isa = isa, .scratch = scratch };
                cpu_sgemm(&ctx, ta, tb, p->m, p->n, p->k, a, lda, b, ldb, c, ldc, &ep);
            } else {
                cpu_sgemm_serial(scratch, isa, ta, tb, p->m, p->n, p->k, a, lda, b, ldb, c, ldc, &ep);
            }
            for (int64_t i = 0; i < p->m; i++) {
                memcpy(got + i * p->n, c + i * ldc, (size_t)p->n * sizeof *got);
                for (int64_t j = p->n; j < ldc; j++)
                    cr_assert_eq(c[i * ldc + j], SENTINEL, "padding of C written at (%ld,%ld)", (long)i, (long)j);
            }
            double err = rel_l2(got, want, p->m * p->n);
            cr_assert(err <= 1e-6, "M=%ld N=%ld K=%ld ta=%d tb=%d epilogue %d isa %d threaded %d: rel L2 %g",
                      (long)p->m, (long)p->n, (long)p->k, ta, tb, ep_kind, isa, threaded, err);
        }
        if (ta || tb || p->k == 0) continue;
        /* A prepacked into the ISA's row slivers (a convolution's weights), serial and threaded */
        size_t bytes = cpu_sgemm_packed_a_size(isa, p->m, p->k);
        float *ap = aligned_alloc(64, (bytes + 63) / 64 * 64);
        cpu_sgemm_pack_a(isa, p->m, p->k, a, lda, ap);
        for (int threaded = 0; threaded < 2; threaded++) {
            for (int64_t i = 0; i < p->m * ldc; i++) c[i] = SENTINEL;
            cpu_ctx ctx = { .pool = pool, .threads = pool_size(pool), .isa = isa, .scratch = scratch };
            gemm_packed_a(&ctx, threaded ? NULL : scratch, isa, p->m, p->n, p->k, ap, b, ldb, NULL, c, ldc, &ep);
            for (int64_t i = 0; i < p->m; i++) {
                memcpy(got + i * p->n, c + i * ldc, (size_t)p->n * sizeof *got);
                for (int64_t j = p->n; j < ldc; j++)
                    cr_assert_eq(c[i * ldc + j], SENTINEL, "packed A: padding of C written at (%ld,%ld)", (long)i, (long)j);
            }
            double err = rel_l2(got, want, p->m * p->n);
            cr_assert(err <= 1e-6, "packed A: M=%ld N=%ld K=%ld epilogue %d isa %d threaded %d: rel L2 %g", (long)p->m,
                      (long)p->n, (long)p->k, ep_kind, isa, threaded, err);
        }
        free(ap);
    }
    free(a);
    free(b);
    free(c);
    free(got);
    free(want);
}

Test(gemm, all_layouts_sizes_epilogues_and_isas) {
    thread_pool *pool;
    infer_error e;
    cr_assert_eq(pool_create(2, &pool, &e), INFER_OK);
    uint8_t *scratch = malloc(2 * CPU_SCRATCH_BYTES);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        problem p = make_problem(&sizes[s], 100 + s);
        for (int t = 0; t < 4; t++) check_all(&p, t >> 1, t & 1, (int)((s + t) % EP_COUNT), pool, scratch);
        for (int ep = 0; ep < EP_COUNT; ep++) check_all(&p, (int)s & 1, 1, ep, pool, scratch);
        free_problem(&p);
    }
    free(scratch);
    pool_destroy(pool);
}

Test(gemm, large_k_threaded_square) {
    /* K = 1000: float accumulation error grows like sqrt(K) * 2^-24 relative, still far below 1e-6
     * for the summation-order differences here; 2e-6 leaves room for the blocked K split. */
    gemm_size s = { 96, 160, 1000 };
    problem p = make_problem(&s, 7);
    thread_pool *pool;
    infer_error e;
    cr_assert_eq(pool_create(2, &pool, &e), INFER_OK);
    uint8_t *scratch = malloc(2 * CPU_SCRATCH_BYTES);
    float *got = malloc((size_t)(s.m * s.n) * sizeof *got), *want = malloc((size_t)(s.m * s.n) * sizeof *want);
    gemm_epilogue ep = make_epilogue(&p, EP_BIAS_COL_RELU);
    reference(&p, &ep, want);
    cpu_ctx ctx = { .pool = pool, .threads = 2, .isa = cpu_detect_isa(), .scratch = scratch };
    cpu_sgemm(&ctx, 0, 0, s.m, s.n, s.k, p.a_logical, s.k, p.b_logical, s.n, got, s.n, &ep);
    cr_assert(rel_l2(got, want, s.m * s.n) <= 2e-6, "rel L2 %g", rel_l2(got, want, s.m * s.n));
    free(got);
    free(want);
    free(scratch);
    free_problem(&p);
    pool_destroy(pool);
}

Test(gemm, apply_epilogue_on_a_sub_block_uses_offsets) {
    test_rng r = rng_seed(3);
    int64_t rows = 5, cols = 9, ldc = 11, row0 = 2, col0 = 3, ld_res = 14;
    float *bias = rng_array(&r, 20, -1, 1), *res = rng_array(&r, 10 * ld_res, -1, 1);
    float *c = rng_array(&r, rows * ldc, -2, 2), *orig = malloc((size_t)(rows * ldc) * sizeof *orig);
    memcpy(orig, c, (size_t)(rows * ldc) * sizeof *c);
    for (int per_row = 0; per_row < 2; per_row++) {
        memcpy(c, orig, (size_t)(rows * ldc) * sizeof *c);
        gemm_epilogue ep = { bias, per_row, res, ld_res, { ACT_HARDSWISH, 0, 0 } };
        cpu_apply_epilogue(c, rows, cols, ldc, &ep, row0, col0);
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < ldc; j++) {
                float want = orig[i * ldc + j];
                if (j < cols) {
                    float v = want + bias[per_row ? row0 + i : col0 + j] + res[(row0 + i) * ld_res + col0 + j];
                    want = act_apply(&ep.act, v);
                }
                cr_assert_float_eq(c[i * ldc + j], want, 1e-6f, "(%ld,%ld) per_row %d", (long)i, (long)j, per_row);
            }
    }
    free(bias);
    free(res);
    free(c);
    free(orig);
}

Test(gemm, detected_isa_is_valid) {
    int isa = cpu_detect_isa();
    cr_assert(isa >= CPU_ISA_SCALAR && isa <= CPU_ISA_AVX512);
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) cr_assert_eq(isa, CPU_ISA_AVX512);
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) cr_assert_eq(isa, CPU_ISA_AVX2);
#endif
}

/* The vectorized epilogue against act_apply, element by element, over [-15, 15] and special values.
 * The SIMD exp/tanh/erfc are within a few ulp; where act_apply itself cancels (gelu, gelu_tanh for
 * x << 0, results below 1e-6) the two differ by at most a few 1e-7 in absolute terms. */
Test(gemm, vector_epilogue_matches_act_apply) {
    int64_t n = 20011; /* odd: exercises the tail */
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    float *bias = malloc((size_t)n * sizeof *bias), *res = malloc((size_t)n * sizeof *res);
    test_rng r = rng_seed(9);
    for (int64_t i = 0; i < n; i++) {
        x[i] = -15.0f + 30.0f * (float)i / (float)(n - 1);
        bias[i] = rng_float(&r, -0.5f, 0.5f);
        res[i] = rng_float(&r, -0.5f, 0.5f);
    }
    const float special[] = { NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-30f, -1e-7f, 100.0f, -100.0f, 88.9f, -88.9f };
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) x[i * 97] = special[i];
    for (int isa = CPU_ISA_AVX2; isa <= cpu_detect_isa(); isa++)
        for (int kind = ACT_NONE; kind < ACT_COUNT; kind++)
            for (int terms = 0; terms < 2; terms++) {
                gemm_epilogue ep = { terms ? bias : NULL, 0, terms ? res : NULL, 0, { kind, -0.5f, 0.75f } };
                memcpy(y, x, (size_t)n * sizeof *y);
                cpu_epilogue_isa(isa, y, 1, n, n, &ep, 0, 0);
                for (int64_t i = 0; i < n; i++) {
                    float v = x[i];
                    if (terms) v = v + bias[i] + res[i];
                    float want = act_apply(&ep.act, v);
                    if (isnan(want)) {
                        cr_assert(isnan(y[i]), "%s(%g) isa %d: %g, want NaN", act_name(kind), v, isa, y[i]);
                        continue;
                    }
                    if (y[i] == want) continue; /* also infinities */
                    double diff = fabs((double)y[i] - want);
                    cr_assert(diff <= 1e-6 * fabs(want) || diff <= 1e-6, "%s(%g) isa %d: %.9g, want %.9g",
                              act_name(kind), v, isa, y[i], want);
                }
            }
    free(x);
    free(y);
    free(bias);
    free(res);
}
