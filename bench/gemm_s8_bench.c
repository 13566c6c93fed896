/* gemm_s8_bench.c — INT8 GEMM (u8 x s8, requantized u8 out) per path against the prepacked FP32 GEMM on
 * ResNet-50 and encoder shapes; rounds interleave the paths so that a shared machine's load hits all alike,
 * and the ratios to FP32 are the result (absolute numbers vary with the load).
 * build: make lib && cc -std=c11 -O3 -D_GNU_SOURCE -Iinclude -pthread -o gemm_s8_bench bench/gemm_s8_bench.c libinfer.a -lm
 * usage: ./gemm_s8_bench [threads] [rounds] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../kernels/cpu/gemm_s8.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct { const char *name; int64_t m, n, k; } shape;

/* Seconds per call: the best of this round's repetitions (at least 30 ms of them). */
#define TIME_IT(best, call)                                                     \
    do {                                                                       \
        double start_ = now(), t_;                                             \
        int reps_ = 0;                                                         \
        do {                                                                   \
            double t0_ = now();                                                \
            call;                                                              \
            t_ = now() - t0_;                                                  \
            if (t_ < (best)) (best) = t_;                                      \
            reps_++;                                                           \
        } while (now() - start_ < 0.03 || reps_ < 2);                          \
    } while (0)

int main(int argc, char **argv) {
    static const shape shapes[] = {
        { "resnet50 conv1x1 256->64 @56", 3136, 64, 256 },
        { "resnet50 conv3x3 64->64 @56 (im2col)", 3136, 64, 576 },
        { "resnet50 conv3x3 512->512 @7 (im2col)", 49, 512, 4608 },
        { "resnet50 fc batch 1 2048->1000", 1, 1000, 2048 },
        { "encoder linear 128x768 -> 3072", 128, 3072, 768 },
        { "encoder linear 128x3072 -> 768", 128, 768, 3072 },
    };
    int threads = argc > 1 ? atoi(argv[1]) : 1, rounds = argc > 2 ? atoi(argv[2]) : 5;
    thread_pool *pool = NULL;
    if (threads > 1 && pool_create(threads, &pool, NULL) != INFER_OK) return 1;
    cpu_ctx ctx = { pool, threads, cpu_detect_isa(), NULL, 0, aligned_alloc(64, (size_t)threads * CPU_SCRATCH_BYTES),
                    NULL };
    int paths[S8_PATH_COUNT], n_paths = 0;
    for (int p = 0; p < S8_PATH_COUNT; p++)
        if (s8_path_supported(p)) paths[n_paths++] = p;
    printf("threads %d, FP32 GEMM isa %s, INT8 paths:", threads, ctx.isa == CPU_ISA_AVX512 ? "avx512" : "avx2");
    for (int i = 0; i < n_paths; i++) printf(" %s", s8_path_name(paths[i]));
    printf("\n%-40s %9s", "shape (M x N x K)", "fp32 GF/s");
    for (int i = 0; i < n_paths; i++) printf(" %12s", s8_path_name(paths[i]));
    printf("   (GOPS, x FP32)\n");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const shape *sh = &shapes[s];
        float *a = malloc(sizeof(float) * sh->m * sh->k), *w = malloc(sizeof(float) * sh->n * sh->k);
        float *c = malloc(sizeof(float) * sh->m * sh->n), *ones = malloc(sizeof(float) * sh->n);
        uint8_t *a8 = malloc(sh->m * sh->k), *c8 = malloc(sh->m * sh->n);
        int8_t *w8 = malloc(sh->n * sh->k);
        for (int64_t i = 0; i < sh->m * sh->k; i++) a8[i] = (uint8_t)(i * 7 % 251), a[i] = a8[i] * 0.01f;
        for (int64_t i = 0; i < sh->n * sh->k; i++) w8[i] = (int8_t)(i * 5 % 255 - 127), w[i] = w8[i] * 0.01f;
        for (int64_t i = 0; i < sh->n; i++) ones[i] = 0.01f;
        float *wp = aligned_alloc(64, (cpu_sgemm_packed_b_size(ctx.isa, sh->k, sh->n) + 63) / 64 * 64);
        cpu_sgemm_pack_b(ctx.isa, 1, sh->k, sh->n, w, sh->k, wp);
        void *packed[S8_PATH_COUNT];
        for (int i = 0; i < n_paths; i++) {
            packed[i] = aligned_alloc(64, (gemm_s8_packed_size(paths[i], sh->k, sh->n) + 63) / 64 * 64);
            gemm_s8_pack(paths[i], sh->k, sh->n, w8, sh->k, packed[i]);
        }
        float a_scale = 0.01f;
        int32_t a_zero = 3;
        gemm_s8_epilogue ep = { &a_scale, &a_zero, 0, ones, ones, 1, 0.5f, 128, { ACT_RELU, 0, 0 } };
        double best_fp = 1e9, best[S8_PATH_COUNT];
        for (int i = 0; i < n_paths; i++) best[i] = 1e9;
        for (int r = 0; r < rounds; r++) {
            TIME_IT(best_fp, cpu_sgemm_packed(&ctx, sh->m, sh->n, sh->k, a, sh->k, wp, c, sh->n, NULL));
            for (int i = 0; i < n_paths; i++) {
                if (paths[i] == S8_PATH_SCALAR && r > 0) continue; /* slow; one round says enough */
                TIME_IT(best[i], cpu_gemm_s8(&ctx, sh->m, a8, sh->k, packed[i], c8, sh->n, &ep));
            }
        }
        double ops = 2.0 * sh->m * sh->n * sh->k, fp = ops / best_fp * 1e-9;
        printf("%-30s %4ldx%4ldx%4ld %9.1f", sh->name, (long)sh->m, (long)sh->n, (long)sh->k, fp);
        for (int i = 0; i < n_paths; i++) printf(" %6.0f %4.2fx", ops / best[i] * 1e-9, (ops / best[i] * 1e-9) / fp);
        printf("\n");
        for (int i = 0; i < n_paths; i++) free(packed[i]);
        free(a), free(w), free(c), free(ones), free(a8), free(c8), free(w8), free(wp);
    }
    free(ctx.scratch);
    pool_destroy(pool);
    return 0;
}
