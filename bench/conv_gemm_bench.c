/* conv_gemm_bench.c — the FP32 GEMM at ResNet-18/50's convolution shapes (weights as packed GEMM rows, columns packed
 * from the image or read in place), 1 and 2 threads: ms, GFLOP/s and share of the measured FMA peak (fp32_peak.h). */
/* build: cc -std=c11 -O3 -D_GNU_SOURCE -Iinclude -pthread -o conv_gemm_bench bench/conv_gemm_bench.c libinfer.a -lm
 * usage: ./conv_gemm_bench [max threads [name filter [reps]]]
 * One thread is timed by the thread's CPU time (the host is shared: other processes' time on the core is left out,
 * their cache traffic is not), two by wall time; best of reps runs. The core's clock moves by 20% and more on this
 * host, so at one thread each run is followed by a short run of FMA chains (fp32_peak_now_gflops): "of peak" is the
 * best GEMM rate over the best FMA rate of the same runs, comparable between two builds run alternately (an A/B). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../kernels/cpu/cpu_kernels.h"
#include "../kernels/cpu/conv2d.h"
#include "fp32_peak.h"

static double now(int thread_clock) {
    struct timespec t;
    clock_gettime(thread_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct { const char *name; int64_t n, c, h, o, k; int stride, pad; } layer;

static float rnd(uint32_t *seed) {
    *seed = *seed * 1664525u + 1013904223u;
    return (float)(*seed >> 8) / (1 << 23) - 1.0f;
}

int main(int argc, char **argv) {
    /* GEMM M = out channels, N = output positions, K = in channels x taps */
    static const layer layers[] = {
        { "7x7/2 3->64 @224", 1, 3, 224, 64, 7, 2, 3 },
        { "1x1 64->64 @56", 1, 64, 56, 64, 1, 1, 0 },
        { "1x1 64->256 @56", 1, 64, 56, 256, 1, 1, 0 },
        { "1x1 256->64 @56", 1, 256, 56, 64, 1, 1, 0 },
        { "1x1 256->128 @56", 1, 256, 56, 128, 1, 1, 0 },
        { "3x3/2 128->128 @56", 1, 128, 56, 128, 3, 2, 1 },
        { "1x1/2 256->512 @56", 1, 256, 56, 512, 1, 2, 0 },
        { "1x1 128->512 @28", 1, 128, 28, 512, 1, 1, 0 },
        { "1x1 512->128 @28", 1, 512, 28, 128, 1, 1, 0 },
        { "1x1 512->256 @28", 1, 512, 28, 256, 1, 1, 0 },
        { "3x3/2 256->256 @28", 1, 256, 28, 256, 3, 2, 1 },
        { "1x1/2 512->1024 @28", 1, 512, 28, 1024, 1, 2, 0 },
        { "1x1 256->1024 @14", 1, 256, 14, 1024, 1, 1, 0 },
        { "1x1 1024->256 @14", 1, 1024, 14, 256, 1, 1, 0 },
        { "3x3 256->256 @14", 1, 256, 14, 256, 3, 1, 1 },
        { "1x1 1024->512 @14", 1, 1024, 14, 512, 1, 1, 0 },
        { "1x1 512->2048 @7", 1, 512, 7, 2048, 1, 1, 0 },
        { "1x1 2048->512 @7", 1, 2048, 7, 512, 1, 1, 0 },
        /* resnet18 */
        { "r18 3x3 64->64 @56", 1, 64, 56, 64, 3, 1, 1 },
        { "r18 3x3 128->128 @28", 1, 128, 28, 128, 3, 1, 1 },
        { "r18 3x3/2 64->128 @56", 1, 64, 56, 128, 3, 2, 1 },
        { "r18 1x1/2 64->128 @56", 1, 64, 56, 128, 1, 2, 0 },
        /* batch 8: one GEMM over the batch's columns (conv2d.c merges_images) */
        { "b8 1x1 1024->256 @14", 8, 1024, 14, 256, 1, 1, 0 },
        { "b8 1x1 2048->512 @7", 8, 2048, 7, 512, 1, 1, 0 },
        { "b8 3x3 512->512 @7", 8, 512, 7, 512, 3, 1, 1 },
    };
    int threads_max = argc > 1 ? atoi(argv[1]) : 2;
    const char *filter = argc > 2 && argv[2][0] ? argv[2] : NULL;
    int reps_arg = argc > 3 ? atoi(argv[3]) : 0;
    int isa = cpu_detect_isa();
    uint8_t *scratch = aligned_alloc(64, (size_t)threads_max * CPU_SCRATCH_BYTES);
    double peak[3] = { 0, 0, 0 };
    for (int t = 1; t <= threads_max && t <= 2; t++) {
        peak[t] = fp32_peak_gflops(isa, t);
        printf("measured FMA peak %d thr: %7.1f GFLOP/s\n", t, peak[t]);
    }
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const layer *ly = &layers[l];
        if (filter && !strstr(ly->name, filter)) continue;
        int64_t oh = (ly->h + 2 * ly->pad - ly->k) / ly->stride + 1;
        int64_t x_n = ly->n * ly->c * ly->h * ly->h, w_n = ly->o * ly->c * ly->k * ly->k, y_n = ly->n * ly->o * oh * oh;
        float *x = malloc((size_t)x_n * 4), *w = malloc((size_t)w_n * 4), *b = malloc((size_t)ly->o * 4);
        float *y = malloc((size_t)y_n * 4), *r = malloc((size_t)y_n * 4);
        uint32_t seed = 12345;
        for (int64_t i = 0; i < x_n; i++) x[i] = rnd(&seed);
        for (int64_t i = 0; i < w_n; i++) w[i] = 0.1f * rnd(&seed);
        for (int64_t i = 0; i < ly->o; i++) b[i] = rnd(&seed);
        for (int64_t i = 0; i < y_n; i++) r[i] = rnd(&seed);
        ir_node node;
        memset(&node, 0, sizeof node);
        node.op = OP_CONV2D;
        node.n_in = 3; /* bias, relu */
        node.p.conv2d = (conv2d_params){ { ly->stride, ly->stride }, { ly->pad, ly->pad }, { 1, 1 }, 1, { ACT_RELU, 0, 0 },
                                         { 0, 0 }, INFER_WINOGRAD_AUTO };
        infer_tensor in[3] = { { INFER_F32, 4, { ly->n, ly->c, ly->h, ly->h }, x },
                               { INFER_F32, 4, { ly->o, ly->c, ly->k, ly->k }, w },
                               { INFER_F32, 1, { ly->o }, b } };
        infer_tensor out = { INFER_F32, 4, { ly->n, ly->o, oh, oh }, y };
        size_t rows_bytes = conv2d_rows_prepack_size(&node, in, isa);
        void *rows = aligned_alloc(64, (rows_bytes + 63) / 64 * 64);
        conv2d_rows_prepack(&node, in, isa, rows);
        double flops = 2.0 * ly->n * ly->o * oh * oh * ly->c * ly->k * ly->k;
        for (int threads = 1; threads <= threads_max && threads <= 2; threads++) {
            thread_pool *pool = NULL;
            if (threads > 1) pool_create(threads, &pool, NULL);
            size_t ws = cpu_conv2d_workspace(&node, in, &out, threads);
            void *work = malloc(ws + 64);
            cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = isa, .workspace = work, .workspace_bytes = ws,
                            .scratch = scratch, .prepacked = rows };
            double best = 1e9, peak_now = 0.0;
            int reps = reps_arg > 0 ? reps_arg : (int)(3e9 / flops) + 100;
            for (int rep = 0; rep < reps; rep++) {
                double t0 = now(threads == 1);
                cpu_conv2d(&ctx, &node, in, &out, NULL);
                double t = now(threads == 1) - t0;
                if (t < best) best = t;
                double p = threads == 1 ? fp32_peak_now_gflops(isa) : 0.0;
                if (p > peak_now) peak_now = p;
            }
            double gflops = flops / best * 1e-9;
            printf("%-24s M %5lld N %5lld K %5lld  %d thr %8.3f ms %7.1f GFLOP/s %5.1f%% of peak\n", ly->name,
                   (long long)ly->o, (long long)(ly->n * oh * oh), (long long)(ly->c * ly->k * ly->k), threads,
                   best * 1e3, gflops, 100 * gflops / (threads == 1 ? peak_now : peak[threads]));
            free(work);
            pool_destroy(pool);
        }
        free(x), free(w), free(b), free(y), free(r), free(rows);
    }
    free(scratch);
    return 0;
}
