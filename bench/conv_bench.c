/* conv_bench.c — GFLOP/s of cpu_conv2d on ResNet, MobileNet and EfficientNet layers, 1 and all threads, and the
 * share of the measured FMA peak (fp32_peak.h). */
/* build: make benches (build/bench-bin/conv_bench)
 * usage: ./conv_bench [max threads [name filter [cold]]]   (best of many runs; keep the machine otherwise idle)
 * The filter keeps the layers whose name contains it, e.g. "b8" for the batch-8 layers ("" for all); "cold"
 * reads the weights from memory on every run, as in a whole model, instead of from the cache.
 * 3x3 stride-1 layers are also timed by Winograd F(4x4,3x3) (a "winograd" line, weights transformed once, GFLOP/s
 * counted as the direct convolution's: "effective"; x: its speed over im2col's at that thread count; not cold). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../kernels/cpu/cpu_kernels.h"
#include "../kernels/cpu/conv2d_winograd.h"
#include "../kernels/cpu/conv2d.h"
#include "fp32_peak.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* The best of reps runs of the conv kernel on ctx (its prepacked weights as set), the weights from w_copies
 * rotating when there are several copies (cold). */
static double time_best(cpu_ctx *ctx, const ir_node *node, infer_tensor *in, infer_tensor *out, int reps,
                        const float *w_copies, int64_t copies, int64_t w_floats) {
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
        in[1].data = (float *)w_copies + r % copies * w_floats;
        double t0 = now();
        cpu_conv2d(ctx, node, in, out, NULL);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

/* A layer's im2col run, against which its prepacked forms are timed and checked. */
typedef struct {
    cpu_ctx *ctx;
    const ir_node *node;
    infer_tensor *in, *out;
    int reps;
    const float *w;
    double flops, peak, best; /* best: im2col's time */
    const float *y, *y_im2col;
    int64_t y_elems;
} variant_run;

/* The layer run from one prepacked form (with its own workspace when work is set): time, GFLOP/s, speed over
 * im2col and rel L2 against it. */
static void time_variant(const variant_run *r, const char *name, const void *packed, void *work, size_t work_bytes,
                         const char *note) {
    cpu_ctx ctx = *r->ctx;
    ctx.prepacked = packed;
    if (work) {
        ctx.workspace = work;
        ctx.workspace_bytes = work_bytes;
    }
    double t = time_best(&ctx, r->node, r->in, r->out, r->reps, r->w, 1, 0), g = r->flops / t * 1e-9;
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < r->y_elems; i++) {
        diff += ((double)r->y[i] - r->y_im2col[i]) * ((double)r->y[i] - r->y_im2col[i]);
        norm += (double)r->y_im2col[i] * r->y_im2col[i];
    }
    char label[32];
    snprintf(label, sizeof label, "  %s", name);
    printf("%-24s %d thr: %8.3f ms %7.1f GFLOP/s %5.1f%% of peak  %s %.2fx, rel L2 %.1e%s\n", label, ctx.threads,
           t * 1e3, g, r->peak > 0 ? 100 * g / r->peak : 0.0, name, r->best / t, norm > 0 ? sqrt(diff / norm) : 0.0,
           note);
}

typedef struct { const char *name; int64_t n, c, h, o, k; int stride, pad, groups; } layer;

int main(int argc, char **argv) {
    static const layer layers[] = {
        { "3x3 64->64 @56", 1, 64, 56, 64, 3, 1, 1, 1 },
        { "1x1 256->64 @56", 1, 256, 56, 64, 1, 1, 0, 1 },
        { "1x1 64->256 @56", 1, 64, 56, 256, 1, 1, 0, 1 },
        { "7x7/2 3->64 @224", 1, 3, 224, 64, 7, 2, 3, 1 },
        { "3x3/2 128->128 @56", 1, 128, 56, 128, 3, 2, 1, 1 },
        { "3x3 256->256 @14", 1, 256, 14, 256, 3, 1, 1, 1 },
        { "3x3 512->512 @7", 1, 512, 7, 512, 3, 1, 1, 1 },
        { "1x1 512->2048 @7", 1, 512, 7, 2048, 1, 1, 0, 1 },
        { "3x3 512->512 @2", 1, 512, 2, 512, 3, 1, 1, 1 },
        { "3x3 64->64 @56 batch 4", 4, 64, 56, 64, 3, 1, 1, 1 },
        /* ResNet's 3x3 stride-1 layers at batch 1 and 8 (Winograd against im2col) */
        { "3x3 64->64 @56 b8", 8, 64, 56, 64, 3, 1, 1, 1 },
        { "3x3 128->128 @28 b1", 1, 128, 28, 128, 3, 1, 1, 1 },
        { "3x3 128->128 @28 b8", 8, 128, 28, 128, 3, 1, 1, 1 },
        { "dw 3x3 32 @112", 1, 32, 112, 32, 3, 1, 1, 32 },
        { "dw 3x3/2 96 @112", 1, 96, 112, 96, 3, 2, 1, 96 },
        /* the late layers of the golden models (64x64 images) at batch 1 and 8: few columns per image */
        { "3x3 512->512 @2 b1", 1, 512, 2, 512, 3, 1, 1, 1 },
        { "3x3 512->512 @2 b8", 8, 512, 2, 512, 3, 1, 1, 1 },
        { "3x3/2 256->512 @4 b8", 8, 256, 4, 512, 3, 2, 1, 1 },
        { "3x3 256->256 @4 b1", 1, 256, 4, 256, 3, 1, 1, 1 },
        { "3x3 256->256 @4 b8", 8, 256, 4, 256, 3, 1, 1, 1 },
        { "3x3 128->128 @8 b8", 8, 128, 8, 128, 3, 1, 1, 1 },
        { "3x3 64->64 @16 b8", 8, 64, 16, 64, 3, 1, 1, 1 },
        { "3x3 512->512 @7 b8", 8, 512, 7, 512, 3, 1, 1, 1 },
        { "3x3 256->256 @14 b8", 8, 256, 14, 256, 3, 1, 1, 1 },
        { "1x1 512->2048 @2 b8", 8, 512, 2, 2048, 1, 1, 0, 1 },
        { "1x1 2048->512 @2 b8", 8, 2048, 2, 512, 1, 1, 0, 1 },
        { "1x1 1024->256 @4 b8", 8, 1024, 4, 256, 1, 1, 0, 1 },
        { "1x1 320->1280 @2 b8", 8, 320, 2, 1280, 1, 1, 0, 1 },
        { "1x1 96->576 @4 b8", 8, 96, 4, 576, 1, 1, 0, 1 },
        { "1x1 32->192 @8 b8", 8, 32, 8, 192, 1, 1, 0, 1 },
        { "1x1 24->144 @16 b8", 8, 24, 16, 144, 1, 1, 0, 1 },
        { "1x1 512->512 @7 b8", 8, 512, 7, 512, 1, 1, 0, 1 },
        { "1x1 1024->256 @14 b8", 8, 1024, 14, 256, 1, 1, 0, 1 },
        { "1x1 256->1024 @14 b8", 8, 256, 14, 1024, 1, 1, 0, 1 },
        { "1x1 64->256 @16 b8", 8, 64, 16, 256, 1, 1, 0, 1 },
        { "1x1 128->512 @8 b8", 8, 128, 8, 512, 1, 1, 0, 1 },
        { "dw 3x3 144 @16 b8", 8, 144, 16, 144, 3, 1, 1, 144 },
        { "dw 3x3 576 @4 b8", 8, 576, 4, 576, 3, 1, 1, 576 },
        /* MobileNetV2 and EfficientNet-B0 at 224x224, batch 1: expand, depthwise and project */
        { "1x1 16->96 @112 eff", 1, 16, 112, 96, 1, 1, 0, 1 },
        { "1x1 24->144 @56 eff", 1, 24, 56, 144, 1, 1, 0, 1 },
        { "1x1 144->24 @56 eff", 1, 144, 56, 24, 1, 1, 0, 1 },
        { "1x1 480->80 @14 eff", 1, 480, 14, 80, 1, 1, 0, 1 },
        { "1x1 192->1152 @7 eff", 1, 192, 7, 1152, 1, 1, 0, 1 },
        { "dw 3x3 144 @56 eff", 1, 144, 56, 144, 3, 1, 1, 144 },
        { "dw 5x5/2 144 @56 eff", 1, 144, 56, 144, 5, 2, 2, 144 },
        { "dw 5x5 480 @14 eff", 1, 480, 14, 480, 5, 1, 2, 480 },
        { "dw 5x5 1152 @7 eff", 1, 1152, 7, 1152, 5, 1, 2, 1152 },
        { "dw 3x3 960 @7 mbv2", 1, 960, 7, 960, 3, 1, 1, 960 },
        { "1x1 320->1280 @7 mbv2", 1, 320, 7, 1280, 1, 1, 0, 1 },
        { "1x1 960->320 @7 mbv2", 1, 960, 7, 320, 1, 1, 0, 1 },
        { "1x1 2048->512 @7", 1, 2048, 7, 512, 1, 1, 0, 1 },
        { "dw 3x3 576 @14 mbv2", 1, 576, 14, 576, 3, 1, 1, 576 },
        { "dw 3x3 192 @28 mbv2", 1, 192, 28, 192, 3, 1, 1, 192 },
    };
    int threads_max = argc > 1 ? atoi(argv[1]) : cpu_online_cores();
    const char *filter = argc > 2 ? argv[2] : NULL;
    int cold = argc > 3 && !strcmp(argv[3], "cold");
    uint8_t *scratch = aligned_alloc(64, (size_t)threads_max * CPU_SCRATCH_BYTES);
    double peak[8] = { 0 };
    for (int threads = 1; threads <= threads_max && threads < 8; threads *= 2) {
        peak[threads] = fp32_peak_gflops(cpu_detect_isa(), threads);
        printf("measured FMA peak %d thr: %7.1f GFLOP/s\n", threads, peak[threads]);
    }
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const layer *ly = &layers[l];
        if (filter && !strstr(ly->name, filter)) continue;
        int64_t oh = (ly->h + 2 * ly->pad - ly->k) / ly->stride + 1;
        int64_t x_dims[4] = { ly->n, ly->c, ly->h, ly->h }, w_dims[4] = { ly->o, ly->c / ly->groups, ly->k, ly->k };
        int64_t b_dims[1] = { ly->o }, y_dims[4] = { ly->n, ly->o, oh, oh };
        float *x = calloc((size_t)(ly->n * ly->c * ly->h * ly->h), 4), *w = calloc((size_t)(w_dims[0] * w_dims[1] * ly->k * ly->k), 4);
        float *b = calloc((size_t)ly->o, 4), *y = calloc((size_t)(ly->n * ly->o * oh * oh), 4);
        int64_t y_elems = ly->n * ly->o * oh * oh;
        float *y_im2col = malloc((size_t)y_elems * 4);
        uint32_t seed = 12345; /* seeded data in [-1, 1): Winograd's error against im2col is measured on it */
        for (int64_t i = 0; i < ly->n * ly->c * ly->h * ly->h; i++) x[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 8) / (1 << 23) - 1.0f;
        for (int64_t i = 0; i < w_dims[0] * w_dims[1] * ly->k * ly->k; i++) w[i] = ((float)((seed = seed * 1664525u + 1013904223u) >> 8) / (1 << 23) - 1.0f) * 0.1f;
        for (int64_t i = 0; i < ly->o; i++) b[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 8) / (1 << 23) - 1.0f;
        /* cold: the weights rotate through copies of at least 256 MiB in all, so each run reads them from memory
         * as a model's layer does (its weights were evicted by the other layers') instead of from L2 */
        int64_t w_floats = w_dims[0] * w_dims[1] * ly->k * ly->k, copies = 1;
        if (cold) copies = ((int64_t)256 << 20) / (w_floats * 4) + 1;
        float *w_copies = cold ? malloc((size_t)(copies * w_floats) * 4) : w;
        for (int64_t i = 0; cold && i < copies * w_floats; i++) w_copies[i] = (float)(i % 7) * 0.01f;
        ir_node node;
        memset(&node, 0, sizeof node);
        node.op = OP_CONV2D;
        node.n_in = 3;
        node.p.conv2d = (conv2d_params){ { ly->stride, ly->stride }, { ly->pad, ly->pad }, { 1, 1 }, (int)ly->groups,
                                         { ACT_RELU, 0, 0 }, { 0, 0 }, INFER_WINOGRAD_AUTO };
        infer_tensor in[3] = { { INFER_F32, 4, { 0 }, x }, { INFER_F32, 4, { 0 }, w }, { INFER_F32, 1, { 0 }, b } };
        memcpy(in[0].dims, x_dims, sizeof x_dims);
        memcpy(in[1].dims, w_dims, sizeof w_dims);
        memcpy(in[2].dims, b_dims, sizeof b_dims);
        infer_tensor out = { INFER_F32, 4, { 0 }, y };
        memcpy(out.dims, y_dims, sizeof y_dims);
        double flops = 2.0 * ly->n * ly->o * oh * oh * (ly->c / ly->groups) * ly->k * ly->k;
        for (int threads = 1; threads <= threads_max; threads *= 2) {
            thread_pool *pool = NULL;
            if (threads > 1) pool_create(threads, &pool, NULL);
            size_t ws_bytes = conv2d_workspace_for(&node, in, &out, threads, INFER_WINOGRAD_ON); /* room for both forms */
            void *ws = malloc(ws_bytes + 1);
            cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = cpu_detect_isa(), .workspace = ws, .workspace_bytes = ws_bytes, .scratch = scratch };
            int reps = (int)(4e9 / flops) + 20;
            double best = time_best(&ctx, &node, in, &out, reps, w_copies, copies, w_floats);
            double gflops = flops / best * 1e-9, p = threads < 8 ? peak[threads] : 0.0;
            printf("%-24s %d thr: %8.3f ms %7.1f GFLOP/s %5.1f%% of peak\n", ly->name, threads, best * 1e3, gflops,
                   p > 0 ? 100 * gflops / p : 0.0);
            in[1].data = w;
            cpu_conv2d(&ctx, &node, in, &out, NULL);
            memcpy(y_im2col, y, (size_t)y_elems * 4);
            variant_run run = { &ctx, &node, in, &out, reps, w, flops, p, best, y, y_im2col, y_elems };
            /* the weights prepacked as the GEMM's row slivers, as the engine does for layers Winograd does not take */
            size_t rows_bytes = cold ? 0 : conv2d_prepack_size_for(&node, in, ctx.isa, INFER_WINOGRAD_OFF);
            void *rows = rows_bytes ? aligned_alloc(64, (rows_bytes + 63) / 64 * 64) : NULL;
            if (rows) {
                conv2d_prepack_for(&node, in, ctx.isa, INFER_WINOGRAD_OFF, rows);
                time_variant(&run, "packed rows", rows, NULL, 0, "");
                free(rows);
            }
            /* the small-image transposed GEMM (conv2d_small.c), forced for any groups-1 layer */
            size_t small_bytes = cold ? 0 : conv_small_prepack_size(&node, in, ctx.isa, 1);
            conv_geometry geometry;
            size_t small_ws = small_bytes && conv_geometry_of_inputs(&node, in, &geometry) ? conv_small_workspace(&geometry) : 0;
            void *small = small_bytes ? aligned_alloc(64, (small_bytes + 63) / 64 * 64) : NULL;
            void *small_work = small_ws ? malloc(small_ws) : NULL;
            if (small && small_work) {
                conv_small_prepack(&node, in, ctx.isa, small);
                time_variant(&run, "transposed", small, small_work, small_ws, "");
            }
            free(small);
            free(small_work);
            size_t wino_bytes = cold ? 0 : conv_winograd_prepack_size(&node, in, ctx.isa, INFER_WINOGRAD_ON);
            void *packed = wino_bytes ? aligned_alloc(64, (wino_bytes + 63) / 64 * 64) : NULL;
            if (packed) {
                cpu_conv2d_winograd_prepack(&node, in, ctx.isa, packed);
                conv_winograd_set_mode(packed, INFER_WINOGRAD_ON);
                int auto_takes = conv_winograd_prepack_size(&node, in, ctx.isa, INFER_WINOGRAD_AUTO) != 0;
                time_variant(&run, "winograd", packed, NULL, 0, auto_takes ? " (auto)" : "");
                free(packed);
            }
            free(ws);
            pool_destroy(pool);
        }
        if (cold) free(w_copies);
        free(x);
        free(w);
        free(b);
        free(y);
        free(y_im2col);
    }
    free(scratch);
    return 0;
}
