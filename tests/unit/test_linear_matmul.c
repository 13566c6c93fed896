/* test_linear_matmul.c — linear (bias, residual, activations) and broadcast-batched matmul against naive
 * loops, serial and threaded, on every ISA this CPU has. */
#include <criterion/criterion.h>
#include <stdio.h>
#include "testutil.h"
#include "../../kernels/cpu/cpu_kernels.h"

/* Runs fn's kernel for threads 1 and 2 and every ISA, comparing against want. */
typedef infer_status (*kernel_fn)(cpu_ctx *, const ir_node *, const infer_tensor *, infer_tensor *, infer_error *);

static void run_everywhere(kernel_fn fn, const ir_node *node, const infer_tensor *in, infer_tensor *out,
                           const float *want, const char *what) {
    int64_t count = infer_tensor_elements(out);
    for (int threads = 1; threads <= 2; threads++) {
        thread_pool *pool = NULL;
        infer_error err;
        if (threads > 1) cr_assert_eq(pool_create(threads, &pool, &err), INFER_OK);
        uint8_t *scratch = malloc(CPU_SCRATCH_BYTES * (size_t)threads);
        for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++) {
            cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = isa, .scratch = scratch };
            float *y = out->data;
            for (int64_t i = 0; i < count; i++) y[i] = NAN;
            cr_assert_eq(fn(&ctx, node, in, out, &err), INFER_OK, "%s: %s", what, err.message);
            double e = rel_l2(y, want, count);
            cr_assert(e <= 1e-6, "%s threads %d isa %d: rel L2 %g", what, threads, isa, e);
        }
        free(scratch);
        pool_destroy(pool);
    }
}

/* Weights packed at engine build (cpu_prepack) against the unpacked kernel and a naive loop, at odd sizes,
 * on every ISA, serially and on 2 threads; and the packed GEMM itself (bias + relu), also for the column
 * counts linear leaves unpacked. */
Test(linear, prepacked_matches_unpacked_and_naive) {
    static const int64_t ms[] = { 1, 3, 8, 13, 64 }, ns[] = { 1, 7, 33, 1000 }, ks[] = { 1, 17, 256 };
    uint64_t seed = 900;
    for (size_t mi = 0; mi < 5; mi++)
        for (size_t ni = 0; ni < 4; ni++)
            for (size_t ki = 0; ki < 3; ki++) {
                int64_t m = ms[mi], n = ns[ni], k = ks[ki];
                test_rng r = rng_seed(seed++);
                float *x = rng_array(&r, m * k, -1, 1), *w = rng_array(&r, n * k, -1, 1), *b = rng_array(&r, n, -1, 1);
                float *want = malloc((size_t)(m * n) * sizeof *want), *want_relu = malloc((size_t)(m * n) * sizeof *want);
                float *y = malloc((size_t)(m * n) * sizeof *y), *b_up = malloc((size_t)n * sizeof *b_up);
                /* the relu pass's bias is shifted up: with K = 1 the few positive outputs of b alone can be
                 * cancellations too small for a relative measure */
                for (int64_t j = 0; j < n; j++) b_up[j] = b[j] + 1.5f;
                for (int64_t i = 0; i < m; i++)
                    for (int64_t j = 0; j < n; j++) {
                        double acc = 0;
                        for (int64_t q = 0; q < k; q++) acc += (double)x[i * k + q] * w[j * k + q];
                        want[i * n + j] = (float)(acc + b[j]);
                        want_relu[i * n + j] = acc + b_up[j] > 0 ? (float)(acc + b_up[j]) : 0.0f;
                    }
                int64_t x_dims[2] = { m, k }, w_dims[2] = { n, k }, b_dims[1] = { n }, y_dims[2] = { m, n };
                ir_node node;
                memset(&node, 0, sizeof node);
                node.op = OP_LINEAR;
                node.n_in = 3;
                node.n_out = 1;
                infer_tensor in[3] = { tview(INFER_F32, x, 2, x_dims), tview(INFER_F32, w, 2, w_dims),
                                       tview(INFER_F32, b, 1, b_dims) };
                infer_tensor out = tview(INFER_F32, y, 2, y_dims);
                for (int threads = 1; threads <= 2; threads++) {
                    thread_pool *pool = NULL;
                    infer_error err;
                    if (threads > 1) cr_assert_eq(pool_create(threads, &pool, &err), INFER_OK);
                    uint8_t *scratch = malloc(CPU_SCRATCH_BYTES * (size_t)threads);
                    for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++) {
                        cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = isa, .scratch = scratch };
                        size_t bytes = cpu_prepack_size(&node, in, isa);
                        cr_assert_eq(bytes != 0, n >= 5, "prepack of %lld columns: %zu bytes", (long long)n, bytes);
                        size_t gemm_bytes = cpu_sgemm_packed_b_size(isa, k, n);
                        float *packed = aligned_alloc(64, (gemm_bytes + 63) & ~(size_t)63);
                        for (int pass = 0; pass < 3; pass++) {
                            for (int64_t i = 0; i < m * n; i++) y[i] = NAN;
                            const float *ref = want;
                            if (pass == 0) { /* unpacked */
                                cr_assert_eq(cpu_linear(&ctx, &node, in, &out, &err), INFER_OK, "%s", err.message);
                            } else if (pass == 1) { /* the engine's prepacked weights */
                                if (!bytes) continue;
                                cr_assert_eq(bytes, gemm_bytes);
                                cpu_prepack(&node, in, isa, packed);
                                ctx.prepacked = packed;
                                cr_assert_eq(cpu_linear(&ctx, &node, in, &out, &err), INFER_OK, "%s", err.message);
                                ctx.prepacked = NULL;
                            } else { /* the packed GEMM with a fused relu */
                                cpu_sgemm_pack_b(isa, 1, k, n, w, k, packed);
                                gemm_epilogue ep = { b_up, 0, NULL, 0, { ACT_RELU, 0, 0 } };
                                cpu_sgemm_packed(&ctx, m, n, k, x, k, packed, y, n, &ep);
                                ref = want_relu;
                            }
                            double e = rel_l2(y, ref, m * n);
                            cr_assert(e <= 1e-6, "M %lld N %lld K %lld isa %d threads %d pass %d: rel L2 %g",
                                      (long long)m, (long long)n, (long long)k, isa, threads, pass, e);
                        }
                        free(packed);
                    }
                    free(scratch);
                    pool_destroy(pool);
                }
                free(x), free(w), free(b), free(b_up), free(want), free(want_relu), free(y);
            }
}

typedef struct { int64_t lead0, lead1, k, n; int bias, residual; act_kind act; } linear_case;

Test(linear, matches_naive_loop) {
    static const linear_case cases[] = {
        { 1, 1, 1, 1, 1, 0, ACT_NONE },     { 1, 1, 127, 65, 1, 0, ACT_RELU },  { 2, 3, 13, 17, 1, 1, ACT_GELU },
        { 1, 13, 7, 3, 0, 1, ACT_CLIP },    { 3, 7, 65, 127, 1, 0, ACT_SILU },  { 1, 4, 33, 31, 0, 0, ACT_TANH },
        { 13, 5, 127, 13, 1, 1, ACT_NONE }, { 1, 2, 300, 70, 1, 0, ACT_GELU_TANH },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const linear_case *lc = &cases[c];
        test_rng r = rng_seed(50 + c);
        int64_t m = lc->lead0 * lc->lead1;
        int64_t x_dims[3] = { lc->lead0, lc->lead1, lc->k }, w_dims[2] = { lc->n, lc->k }, b_dims[1] = { lc->n };
        int64_t y_dims[3] = { lc->lead0, lc->lead1, lc->n };
        float *x = rng_array(&r, m * lc->k, -1, 1), *w = rng_array(&r, lc->n * lc->k, -1, 1);
        float *b = lc->bias ? rng_array(&r, lc->n, -1, 1) : NULL;
        float *res = lc->residual ? rng_array(&r, m * lc->n, -1, 1) : NULL;
        float *y = malloc((size_t)(m * lc->n) * sizeof *y), *want = malloc((size_t)(m * lc->n) * sizeof *want);
        act_params act = { lc->act, -0.3f, 0.4f };
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < lc->n; j++) {
                double acc = b ? b[j] : 0.0;
                for (int64_t q = 0; q < lc->k; q++) acc += (double)x[i * lc->k + q] * w[j * lc->k + q];
                if (res) acc += res[i * lc->n + j];
                want[i * lc->n + j] = act_apply(&act, (float)acc);
            }
        ir_node node;
        memset(&node, 0, sizeof node);
        node.op = OP_LINEAR;
        node.n_in = lc->residual ? 4 : lc->bias ? 3 : 2;
        node.n_out = 1;
        node.p.linear.act = act;
        infer_tensor in[4] = { tview(INFER_F32, x, 3, x_dims), tview(INFER_F32, w, 2, w_dims),
                               tview(INFER_F32, b, 1, b_dims), tview(INFER_F32, res, 3, y_dims) };
        infer_tensor out = tview(INFER_F32, y, 3, y_dims);
        char what[64];
        snprintf(what, sizeof what, "linear case %zu", c);
        run_everywhere(cpu_linear, &node, in, &out, want, what);
        free(x);
        free(w);
        free(b);
        free(res);
        free(y);
        free(want);
    }
}

typedef struct { int a_nd, b_nd; int64_t a_dims[4], b_dims[4]; } matmul_case;

Test(matmul, broadcast_batches_match_naive_loop) {
    static const matmul_case cases[] = {
        { 2, 2, { 13, 7 }, { 7, 17 } },
        { 3, 2, { 5, 13, 33 }, { 33, 3 } },             /* shared b: folded into one GEMM */
        { 3, 3, { 3, 17, 13 }, { 3, 13, 65 } },
        { 4, 3, { 2, 1, 7, 31 }, { 3, 31, 13 } },       /* -> [2,3,7,13] */
        { 2, 3, { 13, 7 }, { 5, 7, 1 } },               /* a broadcast over b's batch */
        { 3, 4, { 1, 1, 127 }, { 3, 1, 127, 65 } },     /* -> [3,1,1,65] */
        { 4, 4, { 2, 3, 17, 9 }, { 2, 1, 9, 13 } },
        { 3, 3, { 1, 65, 40 }, { 1, 40, 70 } },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const matmul_case *mc = &cases[c];
        test_rng r = rng_seed(70 + c);
        int y_nd = mc->a_nd > mc->b_nd ? mc->a_nd : mc->b_nd;
        int64_t y_dims[4], m = mc->a_dims[mc->a_nd - 2], k = mc->a_dims[mc->a_nd - 1], n = mc->b_dims[mc->b_nd - 1];
        int64_t items = 1;
        for (int d = 0; d < y_nd - 2; d++) {
            int ad = d - (y_nd - mc->a_nd), bd = d - (y_nd - mc->b_nd);
            int64_t as = ad >= 0 ? mc->a_dims[ad] : 1, bs = bd >= 0 ? mc->b_dims[bd] : 1;
            y_dims[d] = as > bs ? as : bs;
            items *= y_dims[d];
        }
        y_dims[y_nd - 2] = m;
        y_dims[y_nd - 1] = n;
        infer_tensor a = tview(INFER_F32, NULL, mc->a_nd, mc->a_dims), b = tview(INFER_F32, NULL, mc->b_nd, mc->b_dims);
        a.data = rng_array(&r, infer_tensor_elements(&a), -1, 1);
        b.data = rng_array(&r, infer_tensor_elements(&b), -1, 1);
        float *y = malloc((size_t)(items * m * n) * sizeof *y), *want = malloc((size_t)(items * m * n) * sizeof *want);
        /* naive: decompose each item index over y's batch dims, broadcasting size-1 dims */
        for (int64_t it = 0; it < items; it++) {
            int64_t a_item = 0, b_item = 0, a_stride = 1, b_stride = 1, rest = it;
            for (int d = y_nd - 3; d >= 0; d--) {
                int64_t idx = rest % y_dims[d];
                rest /= y_dims[d];
                int ad = d - (y_nd - mc->a_nd), bd = d - (y_nd - mc->b_nd);
                if (ad >= 0) {
                    a_item += (mc->a_dims[ad] == 1 ? 0 : idx) * a_stride;
                    a_stride *= mc->a_dims[ad];
                }
                if (bd >= 0) {
                    b_item += (mc->b_dims[bd] == 1 ? 0 : idx) * b_stride;
                    b_stride *= mc->b_dims[bd];
                }
            }
            const float *am = (const float *)a.data + a_item * m * k, *bm = (const float *)b.data + b_item * k * n;
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) {
                    double acc = 0;
                    for (int64_t q = 0; q < k; q++) acc += (double)am[i * k + q] * bm[q * n + j];
                    want[(it * m + i) * n + j] = (float)acc;
                }
        }
        ir_node node;
        memset(&node, 0, sizeof node);
        node.op = OP_MATMUL;
        node.n_in = 2;
        node.n_out = 1;
        infer_tensor in[2] = { a, b }, out = tview(INFER_F32, y, y_nd, y_dims);
        char what[64];
        snprintf(what, sizeof what, "matmul case %zu", c);
        run_everywhere(cpu_matmul, &node, in, &out, want, what);
        free(a.data);
        free(b.data);
        free(y);
        free(want);
    }
}

Test(matmul, mismatched_shapes_are_refused) {
    float a[6] = { 1, 2, 3, 4, 5, 6 }, b[6] = { 1, 2, 3, 4, 5, 6 }, y[9];
    int64_t a_dims[2] = { 2, 3 }, b_dims[2] = { 2, 3 }, y_dims[2] = { 2, 3 };
    ir_node node;
    memset(&node, 0, sizeof node);
    node.op = OP_MATMUL;
    infer_tensor in[2] = { tview(INFER_F32, a, 2, a_dims), tview(INFER_F32, b, 2, b_dims) };
    infer_tensor out = tview(INFER_F32, y, 2, y_dims);
    uint8_t *scratch = malloc(CPU_SCRATCH_BYTES);
    cpu_ctx ctx = { .threads = 1, .isa = cpu_detect_isa(), .scratch = scratch };
    infer_error err;
    cr_assert_eq(cpu_matmul(&ctx, &node, in, &out, &err), INFER_ERR_SHAPE);
    cr_assert(strstr(err.message, "[2,3] x [2,3]") != NULL, "%s", err.message);
    free(scratch);
}
