/* conv_small_bench.c — the small-image convolution paths A/B, interleaved: im2col GEMM with the weights as they
 * are, with the weights as packed GEMM rows, and the transposed GEMM (conv2d_small.c), on ResNet's 14x14 and 7x7
 * layers, 1 and 2 threads. */
/* build: make benches (build/bench-bin/conv_small_bench)
 * usage: ./conv_small_bench [max threads [name filter [rounds [variants]]]]   (variants: a mask, 1 im2col 2 rows 4
 * transposed, default 7; one variant under `perf stat -e cycles:u` gives cycles unaffected by time sharing)
 * Every round runs each variant once, in turn, so that the host's load hits all of them alike; reported: the best
 * time of each, its GFLOP/s and share of the measured FMA peak, and the transposed path's speed over the others. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../kernels/cpu/cpu_kernels.h"
#include "../kernels/cpu/conv2d.h"
#include "fp32_peak.h"

/* One thread: the thread's CPU time, which leaves out the time the host's other processes had the core (this host
 * is shared; their cache traffic still counts); more threads: wall time. */
static int thread_clock;
static double now(void) {
    struct timespec t;
    clock_gettime(thread_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct { const char *name; int64_t n, c, h, o, k; int stride, pad; } layer;

static float rnd(uint32_t *seed, float scale) {
    *seed = *seed * 1664525u + 1013904223u;
    return ((float)(*seed >> 8) / (1 << 23) - 1.0f) * scale;
}

int main(int argc, char **argv) {
    static const layer layers[] = {
        /* resnet18 layer3 / layer4 */
        { "r18 3x3 256 @14 b1", 1, 256, 14, 256, 3, 1, 1 },
        { "r18 3x3/2 128->256 @28 b1", 1, 128, 28, 256, 3, 2, 1 },
        { "r18 3x3 512 @7 b1", 1, 512, 7, 512, 3, 1, 1 },
        { "r18 3x3/2 256->512 @14 b1", 1, 256, 14, 512, 3, 2, 1 },
        { "r18 1x1/2 256->512 @14 b1", 1, 256, 14, 512, 1, 2, 0 },
        /* resnet50 layer3 / layer4 1x1s */
        { "r50 1x1 1024->256 @14 b1", 1, 1024, 14, 256, 1, 1, 0 },
        { "r50 1x1 256->1024 @14 b1", 1, 256, 14, 1024, 1, 1, 0 },
        { "r50 1x1 2048->512 @7 b1", 1, 2048, 7, 512, 1, 1, 0 },
        { "r50 1x1 512->2048 @7 b1", 1, 512, 7, 2048, 1, 1, 0 },
        { "r50 1x1/2 1024->2048 @14 b1", 1, 1024, 14, 2048, 1, 2, 0 },
        /* the same at batch 8 */
        { "r18 3x3 512 @7 b8", 8, 512, 7, 512, 3, 1, 1 },
        { "r50 1x1 2048->512 @7 b8", 8, 2048, 7, 512, 1, 1, 0 },
        { "r50 1x1 512->2048 @7 b8", 8, 512, 7, 2048, 1, 1, 0 },
        { "r50 1x1 1024->256 @14 b8", 8, 1024, 14, 256, 1, 1, 0 },
    };
    int threads_max = argc > 1 ? atoi(argv[1]) : 2;
    const char *filter = argc > 2 && argv[2][0] ? argv[2] : NULL;
    int rounds = argc > 3 ? atoi(argv[3]) : 0, mask = argc > 4 ? atoi(argv[4]) : 7;
    int isa = cpu_detect_isa();
    uint8_t *scratch = aligned_alloc(64, (size_t)threads_max * CPU_SCRATCH_BYTES);
    for (int t = 1; mask == 7 && t <= threads_max && t < 8; t *= 2) /* not for a single variant under perf */
        printf("measured FMA peak %d thr: %7.1f GFLOP/s\n", t, fp32_peak_gflops(isa, t));
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const layer *ly = &layers[l];
        if (filter && !strstr(ly->name, filter)) continue;
        int64_t oh = (ly->h + 2 * ly->pad - ly->k) / ly->stride + 1;
        int64_t x_n = ly->n * ly->c * ly->h * ly->h, w_n = ly->o * ly->c * ly->k * ly->k, y_n = ly->n * ly->o * oh * oh;
        float *x = malloc((size_t)x_n * 4), *w = malloc((size_t)w_n * 4), *b = malloc((size_t)ly->o * 4);
        float *y = malloc((size_t)y_n * 4), *r = malloc((size_t)y_n * 4), *y0 = malloc((size_t)y_n * 4);
        uint32_t seed = 12345;
        for (int64_t i = 0; i < x_n; i++) x[i] = rnd(&seed, 1.0f);
        for (int64_t i = 0; i < w_n; i++) w[i] = rnd(&seed, 0.1f);
        for (int64_t i = 0; i < ly->o; i++) b[i] = rnd(&seed, 1.0f);
        for (int64_t i = 0; i < y_n; i++) r[i] = rnd(&seed, 1.0f);
        ir_node node;
        memset(&node, 0, sizeof node);
        node.op = OP_CONV2D;
        node.n_in = 4; /* bias and residual, relu: ResNet's fused block ends */
        node.p.conv2d = (conv2d_params){ { ly->stride, ly->stride }, { ly->pad, ly->pad }, { 1, 1 }, 1, { ACT_RELU, 0, 0 },
                                         { 0, 0 }, INFER_WINOGRAD_AUTO };
        infer_tensor in[4] = { { INFER_F32, 4, { ly->n, ly->c, ly->h, ly->h }, x },
                               { INFER_F32, 4, { ly->o, ly->c, ly->k, ly->k }, w },
                               { INFER_F32, 1, { ly->o }, b },
                               { INFER_F32, 4, { ly->n, ly->o, oh, oh }, r } };
        infer_tensor out = { INFER_F32, 4, { ly->n, ly->o, oh, oh }, y };
        size_t rows_bytes = conv2d_rows_prepack_size(&node, in, isa), small_bytes = conv_small_prepack_size(&node, in, isa, 1);
        void *rows = rows_bytes ? aligned_alloc(64, (rows_bytes + 63) / 64 * 64) : NULL;
        void *small = small_bytes ? aligned_alloc(64, (small_bytes + 63) / 64 * 64) : NULL;
        if (rows) conv2d_rows_prepack(&node, in, isa, rows);
        if (small) conv_small_prepack(&node, in, isa, small);
        conv_geometry g = { .batch = ly->n, .out_channels = ly->o, .out_height = oh, .out_width = oh, .groups = 1 };
        double flops = 2.0 * ly->n * ly->o * oh * oh * ly->c * ly->k * ly->k;
        for (int threads = 1; threads <= threads_max; threads *= 2) {
            thread_pool *pool = NULL;
            if (threads > 1) pool_create(threads, &pool, NULL);
            thread_clock = threads == 1;
            size_t ws = cpu_conv2d_workspace(&node, in, &out, threads), sws = conv_small_workspace(&g);
            ws = ws > sws ? ws : sws;
            void *work = malloc(ws + 64);
            cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = isa, .workspace = work, .workspace_bytes = ws, .scratch = scratch };
            const void *variants[3] = { NULL, rows, small };
            const char *names[3] = { "im2col", "packed rows", "transposed" };
            double best[3] = { 1e9, 1e9, 1e9 }, err[3] = { 0, 0, 0 };
            int reps = rounds > 0 ? rounds : (int)(2e9 / flops) + 10;
            for (int rep = 0; rep < reps; rep++)
                for (int v = 0; v < 3; v++) {
                    if ((v && !variants[v]) || !(mask >> v & 1)) continue;
                    ctx.prepacked = variants[v];
                    double t0 = now();
                    cpu_conv2d(&ctx, &node, in, &out, NULL);
                    double t = now() - t0;
                    if (t < best[v]) best[v] = t;
                    if (rep == 0 && v == 0) memcpy(y0, y, (size_t)y_n * 4);
                    if (rep == 0 && v && (mask & 1)) {
                        double d = 0, s = 0;
                        for (int64_t i = 0; i < y_n; i++) {
                            d += ((double)y[i] - y0[i]) * ((double)y[i] - y0[i]);
                            s += (double)y0[i] * y0[i];
                        }
                        err[v] = s > 0 ? sqrt(d / s) : 0;
                    }
                }
            for (int v = 0; v < 3; v++) {
                if ((v && !variants[v]) || !(mask >> v & 1)) continue;
                printf("%-28s %d thr %-12s %8.3f ms %7.1f GFLOP/s", v ? "" : ly->name, threads, names[v], best[v] * 1e3,
                       flops / best[v] * 1e-9);
                if (v) printf("  rel L2 %.1e", err[v]);
                if (v == 2 && mask == 7) printf("  transposed / im2col %.2fx, / rows %.2fx", best[0] / best[2], best[1] / best[2]);
                printf("\n");
            }
            free(work);
            pool_destroy(pool);
        }
        free(x), free(w), free(b), free(y), free(r), free(y0), free(rows), free(small);
    }
    free(scratch);
    return 0;
}
