/* dw_bench.c — the FP32 depthwise paths side by side on MobileNetV2 and EfficientNet-B0 layers: the AVX-512 direct
 * path (conv2d_depthwise_direct.c), the channel-blocked one (conv2d_depthwise_blocked.c), conv2d_depthwise without
 * scratch (the flat or direct path where one fits, else the plane path) and the flat one for small planes
 * (conv2d_depthwise_flat.c);
 * best time of many interleaved runs, ms. */
/* build: make benches (build/bench-bin/dw_bench)
 * usage: ./dw_bench [THREADS [BATCH [name filter]]]   (default 2 threads, batch 1) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../kernels/cpu/conv2d.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

typedef struct { const char *name; int64_t c, size, k, stride; int act; } layer;

int main(int argc, char **argv) {
    static const layer layers[] = {
        { "mbv2 3x3 32 @112", 32, 112, 3, 1, ACT_CLIP },      { "mbv2 3x3/2 96 @112", 96, 112, 3, 2, ACT_CLIP },
        { "mbv2 3x3 144 @56", 144, 56, 3, 1, ACT_CLIP },      { "mbv2 3x3/2 144 @56", 144, 56, 3, 2, ACT_CLIP },
        { "mbv2 3x3 192 @28", 192, 28, 3, 1, ACT_CLIP },      { "mbv2 3x3/2 192 @28", 192, 28, 3, 2, ACT_CLIP },
        { "mbv2 3x3 384 @14", 384, 14, 3, 1, ACT_CLIP },      { "mbv2 3x3 576 @14", 576, 14, 3, 1, ACT_CLIP },
        { "mbv2 3x3/2 576 @14", 576, 14, 3, 2, ACT_CLIP },    { "mbv2 3x3 960 @7", 960, 7, 3, 1, ACT_CLIP },
        { "eff 5x5/2 144 @56", 144, 56, 5, 2, ACT_SILU },     { "eff 5x5 240 @28", 240, 28, 5, 1, ACT_SILU },
        { "eff 3x3/2 240 @28", 240, 28, 3, 2, ACT_SILU },     { "eff 3x3 480 @14", 480, 14, 3, 1, ACT_SILU },
        { "eff 5x5 480 @14", 480, 14, 5, 1, ACT_SILU },       { "eff 5x5 672 @14", 672, 14, 5, 1, ACT_SILU },
        { "eff 5x5/2 672 @14", 672, 14, 5, 2, ACT_SILU },     { "eff 5x5 1152 @7", 1152, 7, 5, 1, ACT_SILU },
        { "eff 3x3 1152 @7", 1152, 7, 3, 1, ACT_SILU },
    };
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int64_t batch = argc > 2 ? atoll(argv[2]) : 1;
    const char *filter = argc > 3 ? argv[3] : NULL;
    thread_pool *pool = NULL;
    if (threads > 1) pool_create(threads, &pool, NULL);
    uint8_t *scratch = aligned_alloc(64, (size_t)threads * CPU_SCRATCH_BYTES);
    cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = cpu_detect_isa(), .scratch = scratch };
    cpu_ctx plain = ctx;
    plain.scratch = NULL; /* conv2d_depthwise without scratch: flat or direct where they fit, else the plane path */
    printf("%d threads, batch %lld; ms, best of interleaved runs: direct / blocked / no scratch / flat\n", threads, (long long)batch);
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const layer *ly = &layers[l];
        if (filter && !strstr(ly->name, filter)) continue;
        int64_t pad = ly->k / 2, out = (ly->size + 2 * pad - ly->k) / ly->stride + 1;
        conv_geometry g = { batch, ly->c, ly->size, ly->size, ly->c, out, out, ly->k, ly->k, ly->stride, ly->stride,
                            pad, pad, 1, 1, ly->c };
        int64_t nx = batch * ly->c * ly->size * ly->size, ny = batch * ly->c * out * out;
        float *x = aligned_alloc(64, (size_t)(nx * 4 + 63) / 64 * 64), *w = malloc((size_t)(ly->c * ly->k * ly->k) * 4);
        float *b = malloc((size_t)ly->c * 4), *y = aligned_alloc(64, (size_t)(ny * 4 + 63) / 64 * 64);
        for (int64_t i = 0; i < nx; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
        for (int64_t i = 0; i < ly->c * ly->k * ly->k; i++) w[i] = (float)((i * 31) % 17) / 17.0f - 0.5f;
        for (int64_t i = 0; i < ly->c; i++) b[i] = (float)(i % 5) * 0.1f;
        act_params act = { ly->act, 0.0f, 6.0f };
        double best[4] = { 1e9, 1e9, 1e9, 1e9 };
        int direct = conv_depthwise_direct_fits(&g, ctx.isa), blocked = conv_depthwise_blocked_fits(&g, ctx.isa);
        int flat = conv_depthwise_flat_fits(&g, ctx.isa);
        int reps = (int)(2e8 / (double)(ny * ly->k * ly->k)) + 10;
        for (int r = 0; r < reps; r++)
            for (int path = 0; path < 4; path++) {
                if ((path == 0 && !direct) || (path == 1 && !blocked) || (path == 3 && !flat)) continue;
                double t0 = now_ms();
                if (path == 0) conv2d_depthwise_direct(&ctx, &g, x, w, b, NULL, &act, y, 0, out);
                else if (path == 1) conv2d_depthwise_blocked(&ctx, &g, x, w, b, NULL, &act, y, 0, out);
                else if (path == 2) conv2d_depthwise(&plain, &g, x, w, b, NULL, &act, y);
                else conv2d_depthwise_flat(&ctx, &g, x, w, b, NULL, &act, y);
                double t = now_ms() - t0;
                if (t < best[path]) best[path] = t;
            }
        printf("%-22s %8.4f %8.4f %8.4f %8.4f   blocked/direct %.2f  min(direct,blocked)/flat %.2f\n", ly->name, best[0],
               best[1], best[2], best[3], best[1] / best[0], (best[0] < best[1] ? best[0] : best[1]) / best[3]);
        free(x), free(w), free(b), free(y);
    }
    if (pool) pool_destroy(pool);
    free(scratch);
    return 0;
}
