/* pack_order_bench.c — packing B for the FP32 GEMM at ResNet's convolution shapes: a whole block at once (gemm_pack_b
 * row by row, conv_pack_columns 16 channels at a time across the slivers) against the same block sliver by sliver
 * (one call per sliver: each sliver's rows of k in turn, the order before), interleaved in one process. */
/* build: make benches (build/bench-bin/pack_order_bench)
 * usage: ./pack_order_bench [reps]   one thread, timed by its CPU time; best of reps (default 400) per order */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../kernels/cpu/conv2d.h"
#include "../kernels/cpu/gemm_internal.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct { const char *name; int c, h, k, stride, pad; } layer;

/* Packs every (k block, column block) of the layer's B as gemm_blocked does; per_sliver: one call per sliver. */
static void pack_all(const conv_columns *cols, int pointwise, int isa, int nr, int64_t K, int64_t N, int per_sliver,
                     float *dst) {
    int64_t kc = K < 256 ? K : 256, nc = N < 384 ? N : 384;
    for (int64_t jc = 0; jc < N; jc += nc) {
        int64_t n = N - jc < nc ? N - jc : nc;
        for (int64_t pc = 0; pc < K; pc += kc) {
            int64_t kk = K - pc < kc ? K - pc : kc;
            for (int64_t j = 0; j < n; j += per_sliver ? nr : n) {
                int64_t cn = per_sliver ? (n - j < nr ? n - j : nr) : n;
                if (pointwise) gemm_pack_b(isa, nr, kk, cn, cols->x + pc * N + jc + j, N, 0, dst + j * kk);
                else conv_pack_columns(cols, isa, nr, pc, kk, jc + j, cn, dst + j * kk);
            }
        }
    }
}

int main(int argc, char **argv) {
    static const layer layers[] = {
        { "1x1 256 @56", 256, 56, 1, 1, 0 },   { "1x1 64 @56", 64, 56, 1, 1, 0 },   { "1x1/2 256 @56", 256, 56, 1, 2, 0 },
        { "3x3/2 128 @56", 128, 56, 3, 2, 1 }, { "3x3 64 @56", 64, 56, 3, 1, 1 },   { "1x1/2 512 @28", 512, 28, 1, 2, 0 },
        { "3x3 256 @14", 256, 14, 3, 1, 1 },   { "7x7/2 3 @224", 3, 224, 7, 2, 3 },
    };
    int reps = argc > 1 ? atoi(argv[1]) : 400, isa = cpu_detect_isa(), nr = cpu_sgemm_nr(isa);
    float *dst = aligned_alloc(64, sizeof(float) * 256 * (384 + 64));
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const layer *ly = &layers[l];
        int oh = (ly->h + 2 * ly->pad - ly->k) / ly->stride + 1;
        int64_t K = (int64_t)ly->c * ly->k * ly->k, N = (int64_t)oh * oh, x_n = (int64_t)ly->c * ly->h * ly->h;
        float *x = malloc(sizeof(float) * (size_t)x_n);
        for (int64_t i = 0; i < x_n; i++) x[i] = (float)(i % 13);
        conv_geometry g = { .batch = 1, .channels = ly->c, .height = ly->h, .width = ly->h, .out_channels = 64,
                            .out_height = oh, .out_width = oh, .kernel_h = ly->k, .kernel_w = ly->k,
                            .stride_h = ly->stride, .stride_w = ly->stride, .pad_h = ly->pad, .pad_w = ly->pad,
                            .dilation_h = 1, .dilation_w = 1, .groups = 1 };
        conv_columns cols = { &g, x, 0 };
        int pointwise = ly->k == 1 && ly->stride == 1;
        double best[2] = { 1e9, 1e9 };
        for (int r = 0; r < reps; r++)
            for (int v = 0; v < 2; v++) {
                double t0 = now();
                pack_all(&cols, pointwise, isa, nr, K, N, v == 0, dst);
                double t = now() - t0;
                if (t < best[v]) best[v] = t;
            }
        printf("%-14s K %5lld N %5lld  sliver by sliver %.3f ms  block %.3f ms  %.2fx\n", ly->name, (long long)K,
               (long long)N, best[0] * 1e3, best[1] * 1e3, best[0] / best[1]);
        free(x);
    }
    free(dst);
    return 0;
}
