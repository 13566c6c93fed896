/* test_pool_bn.c — batchnorm, maxpool2d, avgpool2d and adaptive_avgpool2d against naive loops following
 * PyTorch's definitions (ceil_mode, count_include_pad, dilation, adaptive bins), serial and threaded. */
#include <criterion/criterion.h>
#include <stdio.h>
#include "testutil.h"
#include "../../kernels/cpu/cpu_kernels.h"

typedef infer_status (*kernel_fn)(cpu_ctx *, const ir_node *, const infer_tensor *, infer_tensor *, infer_error *);

/* Runs the kernel with 1 and 2 threads on every ISA and checks rel L2 against want. */
static void run_both(kernel_fn fn, const ir_node *node, const infer_tensor *in, infer_tensor *out, const float *want,
                     double tol, const char *what) {
    int64_t count = infer_tensor_elements(out);
    for (int threads = 1; threads <= 2; threads++) {
        thread_pool *pool = NULL;
        infer_error err;
        if (threads > 1) cr_assert_eq(pool_create(threads, &pool, &err), INFER_OK);
        for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++) {
            cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = isa };
            float *y = out->data;
            for (int64_t i = 0; i < count; i++) y[i] = -777.0f;
            cr_assert_eq(fn(&ctx, node, in, out, &err), INFER_OK, "%s: %s", what, err.message);
            double e = rel_l2(y, want, count);
            cr_assert(e <= tol, "%s threads %d isa %d: rel L2 %g", what, threads, isa, e);
        }
        pool_destroy(pool);
    }
}

static int64_t pool_out(int64_t in, int k, int s, int p, int d, int ceil_mode) {
    int64_t span = in + 2 * p - (int64_t)d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
    int64_t out = span / s + 1;
    if (ceil_mode && (out - 1) * s >= in + p) out--;
    return out;
}

Test(batchnorm, per_channel_affine_in_and_out_of_place) {
    int64_t shapes[2][4] = { { 3, 5, 7, 13 }, { 2, 13, 1, 1 } };
    int ndims[2] = { 4, 2 };
    for (int s = 0; s < 2; s++) {
        test_rng r = rng_seed(11 + s);
        int64_t c = shapes[s][1], count = 1, cdims[1] = { c };
        for (int d = 0; d < ndims[s]; d++) count *= shapes[s][d];
        float *x = rng_array(&r, count, -2, 2), *w = rng_array(&r, c, 0.5f, 1.5f), *b = rng_array(&r, c, -1, 1);
        float *mean = rng_array(&r, c, -0.5f, 0.5f), *var = rng_array(&r, c, 0.1f, 2.0f);
        float *want = malloc((size_t)count * sizeof *want), *y = malloc((size_t)count * sizeof *y);
        int64_t plane = count / (shapes[s][0] * c);
        for (int64_t i = 0; i < count; i++) {
            int64_t ch = i / plane % c;
            want[i] = (float)(((double)x[i] - mean[ch]) / sqrt((double)var[ch] + 1e-5) * w[ch] + b[ch]);
        }
        ir_node node;
        memset(&node, 0, sizeof node);
        node.op = OP_BATCHNORM;
        node.n_in = 5;
        node.p.batchnorm.eps = 1e-5f;
        infer_tensor in[5] = { tview(INFER_F32, x, ndims[s], shapes[s]), tview(INFER_F32, w, 1, cdims),
                               tview(INFER_F32, b, 1, cdims), tview(INFER_F32, mean, 1, cdims),
                               tview(INFER_F32, var, 1, cdims) };
        infer_tensor out = tview(INFER_F32, y, ndims[s], shapes[s]);
        run_both(cpu_batchnorm, &node, in, &out, want, 1e-6, "batchnorm");
        /* in place: output aliases the input */
        cpu_ctx ctx = { .threads = 1, .isa = cpu_detect_isa() };
        infer_error err;
        out.data = x;
        cr_assert_eq(cpu_batchnorm(&ctx, &node, in, &out, &err), INFER_OK);
        cr_assert(rel_l2(x, want, count) <= 1e-6);
        free(x); free(w); free(b); free(mean); free(var); free(want); free(y);
    }
}

typedef struct { int64_t n, c, h, w; int kh, kw, sh, sw, ph, pw, dh, dw, ceil_mode, count_include_pad; } pool_case;

static const pool_case pool_cases[] = {
    /* n c  h   w  kh kw sh sw ph pw dh dw ceil incl */
    { 1, 3, 13, 13, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1 },
    { 3, 5, 7, 7, 2, 2, 2, 2, 0, 0, 1, 1, 1, 1 },
    { 1, 13, 17, 13, 3, 3, 1, 1, 1, 1, 2, 2, 0, 0 },
    { 1, 3, 17, 17, 5, 5, 3, 3, 2, 2, 1, 1, 1, 0 },
    { 3, 3, 13, 7, 3, 2, 2, 1, 1, 0, 1, 2, 1, 1 },
    { 1, 5, 7, 13, 7, 3, 2, 3, 3, 1, 1, 1, 1, 0 },
    { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1 },
};

static void make_pool_node(const pool_case *pc, int op, ir_node *node) {
    memset(node, 0, sizeof *node);
    node->op = op;
    node->n_in = 1;
    node->p.pool2d = (pool2d_params){ { pc->kh, pc->kw }, { pc->sh, pc->sw }, { pc->ph, pc->pw },
                                      { op == OP_MAXPOOL2D ? pc->dh : 1, op == OP_MAXPOOL2D ? pc->dw : 1 },
                                      pc->ceil_mode, pc->count_include_pad };
}

Test(maxpool2d, matches_naive_with_padding_dilation_ceil_mode_and_nan) {
    for (size_t t = 0; t < sizeof pool_cases / sizeof pool_cases[0]; t++) {
        const pool_case *pc = &pool_cases[t];
        test_rng r = rng_seed(30 + t);
        int64_t oh = pool_out(pc->h, pc->kh, pc->sh, pc->ph, pc->dh, pc->ceil_mode);
        int64_t ow = pool_out(pc->w, pc->kw, pc->sw, pc->pw, pc->dw, pc->ceil_mode);
        int64_t x_dims[4] = { pc->n, pc->c, pc->h, pc->w }, y_dims[4] = { pc->n, pc->c, oh, ow };
        int64_t planes = pc->n * pc->c, count = planes * oh * ow;
        float *x = rng_array(&r, planes * pc->h * pc->w, -1, 1);
        if (planes * pc->h * pc->w > 20) x[17] = NAN;
        float *want = malloc((size_t)count * sizeof *want), *y = malloc((size_t)count * sizeof *y);
        for (int64_t p = 0; p < planes; p++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    float m = -INFINITY;
                    int nan = 0;
                    for (int a = 0; a < pc->kh; a++)
                        for (int b = 0; b < pc->kw; b++) {
                            int64_t ih = i * pc->sh - pc->ph + a * pc->dh, iw = j * pc->sw - pc->pw + b * pc->dw;
                            if (ih < 0 || ih >= pc->h || iw < 0 || iw >= pc->w) continue;
                            float v = x[(p * pc->h + ih) * pc->w + iw];
                            if (isnan(v)) nan = 1;
                            else if (v > m) m = v;
                        }
                    want[(p * oh + i) * ow + j] = nan ? NAN : m;
                }
        ir_node node;
        make_pool_node(pc, OP_MAXPOOL2D, &node);
        infer_tensor in = tview(INFER_F32, x, 4, x_dims), out = tview(INFER_F32, y, 4, y_dims);
        for (int threads = 1; threads <= 2; threads++) {
            thread_pool *pool = NULL;
            infer_error err;
            if (threads > 1) cr_assert_eq(pool_create(threads, &pool, &err), INFER_OK);
            for (int isa = CPU_ISA_SCALAR; isa <= cpu_detect_isa(); isa++) {
                cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = isa };
                for (int64_t i = 0; i < count; i++) y[i] = -777.0f;
                cr_assert_eq(cpu_maxpool2d(&ctx, &node, &in, &out, &err), INFER_OK, "%s", err.message);
                for (int64_t i = 0; i < count; i++) {
                    if (isnan(want[i])) cr_assert(isnan(y[i]), "case %zu: NaN not propagated at %ld", t, (long)i);
                    else cr_assert_eq(y[i], want[i], "case %zu threads %d isa %d at %ld: %g vs %g", t, threads, isa,
                                      (long)i, y[i], want[i]);
                }
            }
            pool_destroy(pool);
        }
        free(x); free(want); free(y);
    }
}

Test(avgpool2d, matches_pytorch_divisor_rules) {
    for (size_t t = 0; t < sizeof pool_cases / sizeof pool_cases[0]; t++) {
        for (int incl = 0; incl < 2; incl++) {
            pool_case pc = pool_cases[t];
            pc.count_include_pad = incl;
            if (pc.ph * 2 > pc.kh || pc.pw * 2 > pc.kw) continue; /* PyTorch requires pad <= kernel / 2 */
            test_rng r = rng_seed(60 + t);
            int64_t oh = pool_out(pc.h, pc.kh, pc.sh, pc.ph, 1, pc.ceil_mode);
            int64_t ow = pool_out(pc.w, pc.kw, pc.sw, pc.pw, 1, pc.ceil_mode);
            int64_t x_dims[4] = { pc.n, pc.c, pc.h, pc.w }, y_dims[4] = { pc.n, pc.c, oh, ow };
            int64_t planes = pc.n * pc.c, count = planes * oh * ow;
            float *x = rng_array(&r, planes * pc.h * pc.w, -1, 1);
            float *want = malloc((size_t)count * sizeof *want), *y = malloc((size_t)count * sizeof *y);
            for (int64_t p = 0; p < planes; p++)
                for (int64_t i = 0; i < oh; i++)
                    for (int64_t j = 0; j < ow; j++) {
                        int64_t hs = i * pc.sh - pc.ph, ws = j * pc.sw - pc.pw;
                        int64_t he = hs + pc.kh < pc.h + pc.ph ? hs + pc.kh : pc.h + pc.ph;
                        int64_t we = ws + pc.kw < pc.w + pc.pw ? ws + pc.kw : pc.w + pc.pw;
                        double sum = 0;
                        int64_t inside = 0;
                        for (int64_t ih = hs; ih < he; ih++)
                            for (int64_t iw = ws; iw < we; iw++)
                                if (ih >= 0 && ih < pc.h && iw >= 0 && iw < pc.w) {
                                    sum += x[(p * pc.h + ih) * pc.w + iw];
                                    inside++;
                                }
                        int64_t divisor = incl ? (he - hs) * (we - ws) : inside;
                        want[(p * oh + i) * ow + j] = (float)(sum / (double)divisor);
                    }
            ir_node node;
            make_pool_node(&pc, OP_AVGPOOL2D, &node);
            infer_tensor in = tview(INFER_F32, x, 4, x_dims), out = tview(INFER_F32, y, 4, y_dims);
            char what[64];
            snprintf(what, sizeof what, "avgpool case %zu include_pad %d", t, incl);
            run_both(cpu_avgpool2d, &node, &in, &out, want, 1e-6, what);
            free(x); free(want); free(y);
        }
    }
}

Test(adaptive_avgpool2d, bins_follow_floor_and_ceil) {
    int64_t cases[][4] = { { 7, 7, 1, 1 }, { 13, 17, 5, 3 }, { 7, 13, 7, 13 }, { 5, 5, 7, 3 }, { 17, 13, 4, 6 } };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int64_t h = cases[t][0], w = cases[t][1], oh = cases[t][2], ow = cases[t][3], planes = 3 * 5;
        test_rng r = rng_seed(90 + t);
        int64_t x_dims[4] = { 3, 5, h, w }, y_dims[4] = { 3, 5, oh, ow };
        float *x = rng_array(&r, planes * h * w, -1, 1);
        float *want = malloc((size_t)(planes * oh * ow) * sizeof *want), *y = malloc((size_t)(planes * oh * ow) * sizeof *y);
        for (int64_t p = 0; p < planes; p++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    int64_t hs = (int64_t)floor((double)i * h / oh), he = (int64_t)ceil((double)(i + 1) * h / oh);
                    int64_t ws = (int64_t)floor((double)j * w / ow), we = (int64_t)ceil((double)(j + 1) * w / ow);
                    double sum = 0;
                    for (int64_t ih = hs; ih < he; ih++)
                        for (int64_t iw = ws; iw < we; iw++) sum += x[(p * h + ih) * w + iw];
                    want[(p * oh + i) * ow + j] = (float)(sum / (double)((he - hs) * (we - ws)));
                }
        ir_node node;
        memset(&node, 0, sizeof node);
        node.op = OP_ADAPTIVE_AVGPOOL2D;
        node.n_in = 1;
        node.p.adaptive_pool = (adaptive_pool_params){ { (int)oh, (int)ow } };
        infer_tensor in = tview(INFER_F32, x, 4, x_dims), out = tview(INFER_F32, y, 4, y_dims);
        char what[64];
        snprintf(what, sizeof what, "adaptive case %zu", t);
        run_both(cpu_adaptive_avgpool2d, &node, &in, &out, want, 1e-6, what);
        free(x); free(want); free(y);
    }
}

Test(pooling, bad_parameters_are_refused) {
    float x[16], y[4];
    int64_t x_dims[4] = { 1, 1, 4, 4 }, y_dims[4] = { 1, 1, 2, 2 };
    pool_case pc = { 1, 1, 4, 4, 2, 2, 0, 2, 0, 0, 1, 1, 0, 1 }; /* stride 0 */
    ir_node node;
    make_pool_node(&pc, OP_MAXPOOL2D, &node);
    infer_tensor in = tview(INFER_F32, x, 4, x_dims), out = tview(INFER_F32, y, 4, y_dims);
    cpu_ctx ctx = { .threads = 1, .isa = cpu_detect_isa() };
    infer_error err;
    cr_assert_eq(cpu_maxpool2d(&ctx, &node, &in, &out, &err), INFER_ERR_ARGUMENT);
    cr_assert(strstr(err.message, "stride (0,2)") != NULL, "%s", err.message);
    node.op = OP_AVGPOOL2D;
    cr_assert_eq(cpu_avgpool2d(&ctx, &node, &in, &out, &err), INFER_ERR_ARGUMENT);
}
