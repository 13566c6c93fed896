/* pw_dw_bench.c — a 1x1 convolution and the depthwise convolution after it: run apart (cpu_conv2d twice) against
 * run together (cpu_pw_dw_run) in strips of several heights; best time of many interleaved runs, ms. */
/* build: make benches (build/bench-bin/pw_dw_bench)
 * usage: ./pw_dw_bench BATCH C_IN C_EXPANDED SIZE STRIDE [RUNS [THREADS]]   (e.g. 1 24 144 56 1: mobilenet_v2's
 * second block). 16 MiB are written between runs, as the other layers of a model would, so that the input is not
 * in the cache either way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../kernels/cpu/conv2d_pw_dw.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static float *filled(int64_t n) {
    float *a = aligned_alloc(64, (size_t)(n * 4 + 63) / 64 * 64);
    for (int64_t i = 0; i < n; i++) a[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    return a;
}

static infer_tensor view(float *data, int ndim, const int64_t *dims) {
    infer_tensor t = { .dtype = INFER_F32, .ndim = ndim, .data = data };
    memcpy(t.dims, dims, (size_t)ndim * sizeof *dims);
    return t;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: pw_dw_bench BATCH C_IN C_EXPANDED SIZE STRIDE [RUNS [THREADS]]\n");
        return 2;
    }
    int64_t n = atoi(argv[1]), c = atoi(argv[2]), e = atoi(argv[3]), h = atoi(argv[4]), s = atoi(argv[5]);
    int runs = argc > 6 ? atoi(argv[6]) : 200, threads = argc > 7 ? atoi(argv[7]) : 2;
    int64_t o = (h - 1) / s + 1;
    thread_pool *pool = NULL;
    infer_error err;
    if (pool_create(threads, &pool, &err) != INFER_OK) return 1;
    cpu_ctx ctx = { .pool = pool, .threads = pool_size(pool), .isa = cpu_detect_isa(),
                    .scratch = aligned_alloc(256, CPU_SCRATCH_BYTES * (size_t)threads) };
    ir_node pw, dw;
    memset(&pw, 0, sizeof pw);
    memset(&dw, 0, sizeof dw);
    pw.op = dw.op = OP_CONV2D;
    pw.n_in = dw.n_in = 3;
    pw.n_out = dw.n_out = 1;
    for (int k = 0; k < 3; k++) pw.in[k] = k, dw.in[k] = 3 + k;
    pw.out[0] = 3;
    dw.out[0] = 6;
    act_params relu6 = { ACT_CLIP, 0.0f, 6.0f };
    pw.p.conv2d = (conv2d_params){ { 1, 1 }, { 0, 0 }, { 1, 1 }, 1, relu6, { 0, 0 }, INFER_WINOGRAD_AUTO };
    dw.p.conv2d = (conv2d_params){ { s, s }, { 1, 1 }, { 1, 1 }, e, relu6, { 0, 0 }, INFER_WINOGRAD_AUTO };
    float *mid = filled(n * e * h * h);
    infer_tensor pin[3] = { view(filled(n * c * h * h), 4, (int64_t[]){ n, c, h, h }),
                            view(filled(e * c), 4, (int64_t[]){ e, c, 1, 1 }), view(filled(e), 1, (int64_t[]){ e }) };
    infer_tensor din[3] = { view(mid, 4, (int64_t[]){ n, e, h, h }), view(filled(e * 9), 4, (int64_t[]){ e, 1, 3, 3 }),
                            view(filled(e), 1, (int64_t[]){ e }) };
    infer_tensor pout = din[0], dout = view(filled(n * e * o * o), 4, (int64_t[]){ n, e, o, o });
    int64_t evict = 4 << 20;
    float *other = filled(evict);
    int l2_rows = cpu_pw_dw_strip_rows(&dw, din, &dout, 0);
    int rows[] = { 0, l2_rows, 4, 8, 16, (int)o }; /* 0: apart */
    const char *names[] = { "apart", "strips(L2)", "strips 4", "strips 8", "strips 16", "one strip" };
    double best[6];
    for (int m = 0; m < 6; m++) best[m] = 1e30;
    for (int r = 0; r < runs; r++)
        for (int m = 0; m < 6; m++) {
            for (int64_t i = 0; i < evict; i += 16) other[i] += 1.0f;
            double t0 = now_ms();
            if (!rows[m]) {
                cpu_conv2d(&ctx, &pw, pin, &pout, &err);
                cpu_conv2d(&ctx, &dw, din, &dout, &err);
            } else if (cpu_pw_dw_run(&ctx, &pw, pin, &pout, &dw, din, &dout, rows[m], &err) != INFER_OK) {
                fprintf(stderr, "%s\n", err.message);
                return 1;
            }
            double t = now_ms() - t0;
            if (t < best[m]) best[m] = t;
        }
    printf("batch %lld, %lld -> %lld channels, %lldx%lld, stride %lld, %d threads (L2 strips of %d rows):",
           (long long)n, (long long)c, (long long)e, (long long)h, (long long)h, (long long)s, ctx.threads, l2_rows);
    for (int m = 0; m < 6; m++) printf(" %s %.4f%s", names[m], best[m], m < 5 ? "," : "\n");
    pool_destroy(pool);
    return 0;
}
