/* gemm_s8_bench.c — INT8 GEMM (u8 x s8, requantized u8 out) per path against the prepacked FP32 GEMM of
 * the same vector width (256-bit paths against FP32 AVX2, 512-bit ones and the scalar path against FP32
 * AVX-512) on ResNet-50 and encoder shapes, and the dynamic INT8 linear against the FP32 linear; rounds
 * interleave the contenders so that a shared machine's load hits all alike, and the ratios are the result
 * (absolute numbers vary with the load).
 * build: make benches (build/bench-bin/gemm_s8_bench)
 * usage: ./gemm_s8_bench [threads] [rounds] [dw]   (dw: only the depthwise NHWC against NCHW comparison) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../kernels/cpu/gemm_s8.h"

/* With one thread the calling thread's CPU time, so that time the scheduler gives to other processes of a
 * shared machine is not counted (a call longer than a time slice would otherwise look slow); with more,
 * wall time. */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void) {
    struct timespec t;
    clock_gettime(bench_clock, &t);
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

typedef struct { const char *name; int64_t c, h, o, k; int stride, pad, groups; } conv_layer;

/* The INT8 convolutions (u8 in and out, best path) against the FP32 convolution (cpu_conv2d, relu) on
 * ResNet-50 and MobileNet layers, batch 1. */
static void convolutions(cpu_ctx *ctx, int rounds) {
    static const conv_layer layers[] = {
        { "3x3 64->64 @56", 64, 56, 64, 3, 1, 1, 1 },      { "1x1 256->64 @56", 256, 56, 64, 1, 1, 0, 1 },
        { "7x7/2 3->64 @224", 3, 224, 64, 7, 2, 3, 1 },    { "3x3/2 128->128 @56", 128, 56, 128, 3, 2, 1, 1 },
        { "3x3 512->512 @7", 512, 7, 512, 3, 1, 1, 1 },    { "dw 3x3 32 @112", 32, 112, 32, 3, 1, 1, 32 },
        { "dw 3x3/2 96 @112", 96, 112, 96, 3, 2, 1, 96 }, { "dw 3x3 576 @14", 576, 14, 576, 3, 1, 1, 576 },
    };
    int path = s8_path_best();
    printf("\nINT8 convolution (%s, u8 in and out, NCHW) against the FP32 convolution, batch 1\n", s8_path_name(path));
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const conv_layer *ly = &layers[l];
        int64_t oh = (ly->h + 2 * ly->pad - ly->k) / ly->stride + 1, cg = ly->c / ly->groups, kk = cg * ly->k * ly->k;
        int64_t x_dims[4] = { 1, ly->c, ly->h, ly->h }, w_dims[4] = { ly->o, cg, ly->k, ly->k };
        int64_t b_dims[1] = { ly->o }, y_dims[4] = { 1, ly->o, oh, oh };
        float *x = calloc((size_t)(ly->c * ly->h * ly->h), 4), *w = calloc((size_t)(ly->o * kk), 4);
        float *b = calloc((size_t)ly->o, 4), *y = calloc((size_t)(ly->o * oh * oh), 4);
        for (int64_t i = 0; i < ly->c * ly->h * ly->h; i++) x[i] = (float)(i % 11) * 0.1f;
        for (int64_t i = 0; i < ly->o * kk; i++) w[i] = (float)(i % 7) * 0.1f - 0.3f;
        ir_node node;
        memset(&node, 0, sizeof node);
        node.op = OP_CONV2D;
        node.n_in = 3;
        node.p.conv2d = (conv2d_params){ { ly->stride, ly->stride }, { ly->pad, ly->pad }, { 1, 1 }, ly->groups,
                                         { ACT_RELU, 0, 0 }, { 0, 0 }, INFER_WINOGRAD_AUTO };
        infer_tensor in[3] = { { INFER_F32, 4, { 0 }, x }, { INFER_F32, 4, { 0 }, w }, { INFER_F32, 1, { 0 }, b } };
        memcpy(in[0].dims, x_dims, sizeof x_dims);
        memcpy(in[1].dims, w_dims, sizeof w_dims);
        memcpy(in[2].dims, b_dims, sizeof b_dims);
        infer_tensor out = { INFER_F32, 4, { 0 }, y };
        memcpy(out.dims, y_dims, sizeof y_dims);
        size_t ws_fp = cpu_conv2d_workspace(&node, in, &out, ctx->threads);
        cpu_ctx fctx = *ctx;
        fctx.workspace = malloc(ws_fp + 1);
        fctx.workspace_bytes = ws_fp;
        /* the same layer in INT8 */
        uint8_t *x8 = malloc((size_t)(ly->c * ly->h * ly->h)), *y8 = malloc((size_t)(ly->o * oh * oh));
        int8_t *w8 = malloc((size_t)(ly->o * kk));
        for (int64_t i = 0; i < ly->c * ly->h * ly->h; i++) x8[i] = (uint8_t)(i % 11 * 20);
        for (int64_t i = 0; i < ly->o * kk; i++) w8[i] = (int8_t)(i % 7 * 30 - 90);
        float *ones = malloc(sizeof(float) * ly->o), a_scale = 0.01f;
        for (int64_t i = 0; i < ly->o; i++) ones[i] = 0.01f;
        int32_t a_zero = 0;
        gemm_s8_epilogue ep = { &a_scale, &a_zero, 0, ones, ones, 1, 0.1f, 0, { ACT_RELU, 0, 0 } };
        conv_s8_geometry g = { 1, ly->c, ly->h, ly->h, ly->o, oh, oh, ly->k, ly->k, ly->stride, ly->stride,
                               ly->pad, ly->pad, 1, 1 };
        void *packed = NULL, *ws8 = NULL;
        if (ly->groups == 1) {
            packed = aligned_alloc(64, (gemm_s8_packed_size(path, kk, ly->o) + 63) / 64 * 64);
            gemm_s8_pack(path, kk, ly->o, w8, kk, packed);
            ws8 = malloc(cpu_conv2d_s8_workspace(&g, 1));
        }
        double best_fp = 1e9, best_q = 1e9;
        for (int r = 0; r < rounds; r++) {
            TIME_IT(best_fp, cpu_conv2d(&fctx, &node, in, &out, NULL));
            if (ly->groups == 1) TIME_IT(best_q, cpu_conv2d_s8(ctx, &g, x8, packed, &ep, y8, ws8));
            else TIME_IT(best_q, cpu_conv2d_depthwise_s8(ctx, path, &g, x8, w8, &ep, y8));
        }
        double ops = 2.0 * ly->o * oh * oh * kk;
        printf("%-24s fp32 %7.3f ms %6.1f GF/s   int8 %7.3f ms %6.1f GOPS   %5.2fx\n", ly->name, best_fp * 1e3,
               ops / best_fp * 1e-9, best_q * 1e3, ops / best_q * 1e-9, best_fp / best_q);
        free(x), free(w), free(b), free(y), free(fctx.workspace), free(x8), free(y8), free(w8), free(ones);
        free(packed), free(ws8);
    }
}

/* f32 in, f32 out: the dynamic INT8 linear (row quantization included) on the best path against the FP32
 * linear (prepacked GEMM with bias), on encoder and batch-1 shapes. */
static void dynamic_linear(cpu_ctx *ctx, int rounds) {
    static const shape shapes[] = {
        { "encoder linear 128x768 -> 3072", 128, 3072, 768 },
        { "encoder linear 128x3072 -> 768", 128, 768, 3072 },
        { "lstm-like batch 1 512 -> 2048", 1, 2048, 512 },
    };
    int path = s8_path_best();
    printf("\ndynamic INT8 linear (%s, f32 in and out) against the FP32 linear\n", s8_path_name(path));
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const shape *sh = &shapes[s];
        float *x = malloc(sizeof(float) * sh->m * sh->k), *w = malloc(sizeof(float) * sh->n * sh->k);
        float *y = malloc(sizeof(float) * sh->m * sh->n), *bias = calloc((size_t)sh->n, sizeof(float));
        float *w_scale = malloc(sizeof(float) * sh->n);
        int8_t *w8 = malloc(sh->n * sh->k);
        for (int64_t i = 0; i < sh->m * sh->k; i++) x[i] = (float)(i % 13) * 0.1f - 0.6f;
        for (int64_t i = 0; i < sh->n * sh->k; i++) w8[i] = (int8_t)(i * 5 % 255 - 127), w[i] = w8[i] * 0.01f;
        for (int64_t i = 0; i < sh->n; i++) w_scale[i] = 0.01f;
        float *wp = aligned_alloc(64, (cpu_sgemm_packed_b_size(ctx->isa, sh->k, sh->n) + 63) / 64 * 64);
        cpu_sgemm_pack_b(ctx->isa, 1, sh->k, sh->n, w, sh->k, wp);
        void *packed = aligned_alloc(64, (gemm_s8_packed_size(path, sh->k, sh->n) + 63) / 64 * 64);
        gemm_s8_pack(path, sh->k, sh->n, w8, sh->k, packed);
        void *ws = malloc(cpu_linear_s8_dynamic_workspace(sh->m, sh->k));
        gemm_epilogue ep = { bias, 0, NULL, 0, { ACT_NONE, 0, 0 } };
        act_params none = { ACT_NONE, 0, 0 };
        double best_fp = 1e9, best_q = 1e9;
        for (int r = 0; r < rounds; r++) {
            TIME_IT(best_fp, cpu_sgemm_packed(ctx, sh->m, sh->n, sh->k, x, sh->k, wp, y, sh->n, &ep));
            TIME_IT(best_q, cpu_linear_s8_dynamic(ctx, sh->m, x, sh->k, packed, w_scale, bias, &none, y, sh->n, ws));
        }
        double ops = 2.0 * sh->m * sh->n * sh->k;
        printf("%-30s %4ldx%4ldx%4ld  fp32 %6.1f GF/s  int8 dynamic %6.1f GOPS  %4.2fx\n", sh->name, (long)sh->m,
               (long)sh->n, (long)sh->k, ops / best_fp * 1e-9, ops / best_q * 1e-9, best_fp / best_q);
        free(x), free(w), free(y), free(bias), free(w_scale), free(w8), free(wp), free(packed), free(ws);
    }
}

/* The depthwise INT8 convolution on u8 NHWC (cpu_conv2d_depthwise_s8_nhwc) against the NCHW one
 * (cpu_conv2d_depthwise_s8), u8 in and out, ReLU6, per path, on MobileNet-v2's depthwise layers (3x3, pad 1),
 * batch 1; NHWC positions C bytes apart, and C rounded up to 64 (cpu_conv2d_s8_nhwc_stride: aligned loads). */
static void depthwise_nhwc(cpu_ctx *ctx, int rounds) {
    static const conv_layer layers[] = {
        { "dw 3x3 32 @112", 32, 112, 32, 3, 1, 1, 32 },    { "dw 3x3/2 96 @112", 96, 112, 96, 3, 2, 1, 96 },
        { "dw 3x3 144 @56", 144, 56, 144, 3, 1, 1, 144 },
        { "dw 3x3/2 144 @56", 144, 56, 144, 3, 2, 1, 144 }, { "dw 3x3 192 @28", 192, 28, 192, 3, 1, 1, 192 },
        { "dw 3x3 384 @14", 384, 14, 384, 3, 1, 1, 384 },   { "dw 3x3 576 @14", 576, 14, 576, 3, 1, 1, 576 },
        { "dw 3x3 960 @7", 960, 7, 960, 3, 1, 1, 960 },
    };
    printf("\ndepthwise INT8 3x3, u8 in and out: NHWC (cpu_conv2d_depthwise_s8_nhwc) against NCHW, batch 1\n");
    for (int path = S8_PATH_AVX2; path < S8_PATH_COUNT; path++) {
        if (!s8_path_supported(path) || path == S8_PATH_AVX_VNNI || path == S8_PATH_AMX) continue; /* same code */
        for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
            const conv_layer *ly = &layers[l];
            int64_t c = ly->c, oh = (ly->h + 2 * ly->pad - ly->k) / ly->stride + 1, taps = ly->k * ly->k;
            uint8_t *x = malloc((size_t)(c * ly->h * ly->h)), *y = malloc((size_t)(c * oh * oh));
            int8_t *w = malloc((size_t)(c * taps));
            float *w_scale = malloc(sizeof(float) * c), a_scale = 0.02f;
            for (int64_t i = 0; i < c * ly->h * ly->h; i++) x[i] = (uint8_t)(i * 7 % 251);
            for (int64_t i = 0; i < c * taps; i++) w[i] = (int8_t)(i * 5 % 255 - 127);
            for (int64_t i = 0; i < c; i++) w_scale[i] = 0.01f;
            int32_t a_zero = 3;
            gemm_s8_epilogue ep = { &a_scale, &a_zero, 0, w_scale, w_scale, 1, 0.05f, 10, { ACT_CLIP, 0, 6 } };
            conv_s8_geometry g = { 1, c, ly->h, ly->h, c, oh, oh, ly->k, ly->k, ly->stride, ly->stride, ly->pad,
                                   ly->pad, 1, 1 };
            void *packed = aligned_alloc(64, (cpu_depthwise_s8_nhwc_pack_size(path, c, taps) + 63) / 64 * 64);
            cpu_depthwise_s8_nhwc_pack(path, c, taps, w, packed);
            int64_t s = cpu_conv2d_s8_nhwc_stride(c);
            uint8_t *xa = aligned_alloc(64, (size_t)(s * ly->h * ly->h)), *ya = aligned_alloc(64, (size_t)(s * oh * oh));
            memset(xa, 7, (size_t)(s * ly->h * ly->h));
            double best_nchw = 1e9, best_nhwc = 1e9, best_aligned = 1e9;
            for (int r = 0; r < rounds; r++) {
                TIME_IT(best_nchw, cpu_conv2d_depthwise_s8(ctx, path, &g, x, w, &ep, y));
                TIME_IT(best_nhwc, cpu_conv2d_depthwise_s8_nhwc(ctx, path, &g, x, c, packed, &ep, y, c));
                TIME_IT(best_aligned, cpu_conv2d_depthwise_s8_nhwc(ctx, path, &g, xa, s, packed, &ep, ya, s));
            }
            double macs = (double)c * oh * oh * taps;
            printf("%-12s %-20s nchw %8.1f us %5.1f GMAC/s  nhwc %7.1f us %5.1f GMAC/s %5.2fx  stride %4ld: %7.1f us %5.2fx\n",
                   s8_path_name(path), ly->name, best_nchw * 1e6, macs / best_nchw * 1e-9, best_nhwc * 1e6,
                   macs / best_nhwc * 1e-9, best_nchw / best_nhwc, (long)s, best_aligned * 1e6, best_nchw / best_aligned);
            free(xa), free(ya);
            free(x), free(y), free(w), free(w_scale), free(packed);
        }
    }
}

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
    if (threads <= 1) bench_clock = CLOCK_THREAD_CPUTIME_ID;
    thread_pool *pool = NULL;
    if (threads > 1 && pool_create(threads, &pool, NULL) != INFER_OK) return 1;
    cpu_ctx ctx = { .pool = pool, .threads = threads, .isa = cpu_detect_isa(),
                    .scratch = aligned_alloc(64, (size_t)threads * CPU_SCRATCH_BYTES) };
    if (argc > 3 && !strcmp(argv[3], "dw")) {
        depthwise_nhwc(&ctx, rounds);
        free(ctx.scratch);
        pool_destroy(pool);
        return 0;
    }
    int paths[S8_PATH_COUNT], n_paths = 0;
    for (int p = 0; p < S8_PATH_COUNT; p++)
        if (s8_path_supported(p)) paths[n_paths++] = p;
    int isa_wide = ctx.isa, isa_narrow = ctx.isa >= CPU_ISA_AVX2 ? CPU_ISA_AVX2 : ctx.isa;
    printf("threads %d (%s), INT8 paths:", threads, threads <= 1 ? "thread CPU time" : "wall time");
    for (int i = 0; i < n_paths; i++) printf(" %s", s8_path_name(paths[i]));
    printf("\n%-44s %11s %9s", "shape (M x N x K)", "fp32 avx512", "fp32 avx2");
    for (int i = 0; i < n_paths; i++) printf(" %12s", s8_path_name(paths[i]));
    printf("   (GF/s; INT8: GOPS, x FP32 of its width)\n");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const shape *sh = &shapes[s];
        float *a = malloc(sizeof(float) * sh->m * sh->k), *w = malloc(sizeof(float) * sh->n * sh->k);
        float *c = malloc(sizeof(float) * sh->m * sh->n), *ones = malloc(sizeof(float) * sh->n);
        uint8_t *a8 = malloc(sh->m * sh->k), *c8 = malloc(sh->m * sh->n);
        int8_t *w8 = malloc(sh->n * sh->k);
        for (int64_t i = 0; i < sh->m * sh->k; i++) a8[i] = (uint8_t)(i * 7 % 251), a[i] = a8[i] * 0.01f;
        for (int64_t i = 0; i < sh->n * sh->k; i++) w8[i] = (int8_t)(i * 5 % 255 - 127), w[i] = w8[i] * 0.01f;
        for (int64_t i = 0; i < sh->n; i++) ones[i] = 0.01f;
        float *wp[2];
        int isas[2] = { isa_wide, isa_narrow };
        for (int v = 0; v < 2; v++) {
            wp[v] = aligned_alloc(64, (cpu_sgemm_packed_b_size(isas[v], sh->k, sh->n) + 63) / 64 * 64);
            cpu_sgemm_pack_b(isas[v], 1, sh->k, sh->n, w, sh->k, wp[v]);
        }
        void *packed[S8_PATH_COUNT];
        for (int i = 0; i < n_paths; i++) {
            packed[i] = aligned_alloc(64, (gemm_s8_packed_size(paths[i], sh->k, sh->n) + 63) / 64 * 64);
            gemm_s8_pack(paths[i], sh->k, sh->n, w8, sh->k, packed[i]);
        }
        float a_scale = 0.01f;
        int32_t a_zero = 3;
        gemm_s8_epilogue ep = { &a_scale, &a_zero, 0, ones, ones, 1, 0.5f, 128, { ACT_RELU, 0, 0 } };
        double best_fp[2] = { 1e9, 1e9 }, best[S8_PATH_COUNT];
        for (int i = 0; i < n_paths; i++) best[i] = 1e9;
        for (int r = 0; r < rounds; r++) {
            for (int v = 0; v < 2; v++) {
                cpu_ctx fctx = ctx;
                fctx.isa = isas[v];
                TIME_IT(best_fp[v], cpu_sgemm_packed(&fctx, sh->m, sh->n, sh->k, a, sh->k, wp[v], c, sh->n, NULL));
            }
            for (int i = 0; i < n_paths; i++) {
                if (paths[i] == S8_PATH_SCALAR && r > 0) continue; /* slow; one round says enough */
                TIME_IT(best[i], cpu_gemm_s8(&ctx, sh->m, a8, sh->k, packed[i], c8, sh->n, &ep));
            }
        }
        double ops = 2.0 * sh->m * sh->n * sh->k, fp[2] = { ops / best_fp[0] * 1e-9, ops / best_fp[1] * 1e-9 };
        printf("%-30s %4ldx%4ldx%4ld %11.1f %9.1f", sh->name, (long)sh->m, (long)sh->n, (long)sh->k, fp[0], fp[1]);
        for (int i = 0; i < n_paths; i++) {
            int narrow = paths[i] == S8_PATH_AVX2 || paths[i] == S8_PATH_AVX_VNNI;
            printf(" %6.0f %4.2fx", ops / best[i] * 1e-9, (ops / best[i] * 1e-9) / fp[narrow]);
        }
        printf("\n");
        for (int i = 0; i < n_paths; i++) free(packed[i]);
        free(a), free(w), free(c), free(ones), free(a8), free(c8), free(w8), free(wp[0]), free(wp[1]);
    }
    dynamic_linear(&ctx, rounds);
    convolutions(&ctx, rounds);
    depthwise_nhwc(&ctx, rounds);
    free(ctx.scratch);
    pool_destroy(pool);
    return 0;
}
