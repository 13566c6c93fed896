/* gemm_bench.c — GFLOP/s of cpu_sgemm on square and ResNet-50-like shapes, per ISA, 1 and all threads, and
 * the share of the measured FMA peak (fp32_peak.h). */
/* build: make benches (build/bench-bin/gemm_bench)
 * usage: ./gemm_bench [max threads]   (best of many runs; keep the machine otherwise idle) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../kernels/cpu/cpu_kernels.h"
#include "fp32_peak.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct { const char *name; int ta, tb; int64_t m, n, k; } shape;

int main(int argc, char **argv) {
    static const shape shapes[] = {
        { "square 512", 0, 0, 512, 512, 512 },
        { "conv3x3 64->64 @56 (im2col)", 0, 0, 64, 3136, 576 },
        { "conv1x1 256->64 @56", 0, 0, 64, 3136, 256 },
        { "conv7x7s2 3->64 @224 (im2col)", 0, 0, 64, 12544, 147 },
        { "linear 128x768 -> 3072 (B^T)", 0, 1, 128, 3072, 768 },
        { "linear batch1 2048 -> 1000 (B^T)", 0, 1, 1, 1000, 2048 },
    };
    int threads_max = argc > 1 ? atoi(argv[1]) : cpu_online_cores();
    uint8_t *scratch = aligned_alloc(64, (size_t)threads_max * CPU_SCRATCH_BYTES);
    double peak[CPU_ISA_AVX512 + 1][8] = { { 0 } };
    for (int isa = CPU_ISA_AVX2; isa <= cpu_detect_isa(); isa++)
        for (int threads = 1; threads <= threads_max && threads < 8; threads *= 2) {
            peak[isa][threads] = fp32_peak_gflops(isa, threads);
            printf("measured FMA peak %-6s %d thr: %7.1f GFLOP/s\n", isa == CPU_ISA_AVX512 ? "avx512" : "avx2", threads,
                   peak[isa][threads]);
        }
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const shape *sh = &shapes[s];
        float *a = malloc(sizeof(float) * sh->m * sh->k), *b = malloc(sizeof(float) * sh->k * sh->n);
        float *c = malloc(sizeof(float) * sh->m * sh->n);
        for (int64_t i = 0; i < sh->m * sh->k; i++) a[i] = (float)(i % 7) * 0.1f;
        for (int64_t i = 0; i < sh->k * sh->n; i++) b[i] = (float)(i % 5) * 0.1f;
        for (int isa = CPU_ISA_AVX2; isa <= cpu_detect_isa(); isa++) {
            for (int threads = 1; threads <= threads_max; threads *= 2) {
                thread_pool *pool = NULL;
                if (threads > 1) pool_create(threads, &pool, NULL);
                cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = isa, .scratch = scratch };
                double flops = 2.0 * sh->m * sh->n * sh->k, best = 1e9;
                int reps = (int)(4e9 / flops) + 20;
                for (int r = 0; r < reps; r++) {
                    double t0 = now();
                    cpu_sgemm(&ctx, sh->ta, sh->tb, sh->m, sh->n, sh->k, a, sh->ta ? sh->m : sh->k, b,
                              sh->tb ? sh->k : sh->n, c, sh->n, NULL);
                    double t = now() - t0;
                    if (t < best) best = t;
                }
                double gflops = flops / best * 1e-9, p = threads < 8 ? peak[isa][threads] : 0.0;
                printf("%-36s %-6s %d thr: %7.1f GFLOP/s %5.1f%% of peak\n", sh->name,
                       isa == CPU_ISA_AVX512 ? "avx512" : "avx2", threads, gflops, p > 0 ? 100 * gflops / p : 0.0);
                pool_destroy(pool);
            }
        }
        free(a);
        free(b);
        free(c);
    }
    free(scratch);
    return 0;
}
