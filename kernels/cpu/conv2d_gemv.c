/* conv2d_gemv.c — AVX-512 1x1 convolutions on 1x1 planes (squeeze-excitation's two small layers) at up to 8 images:
 * each output a dot product of a weight row with the image's channels, rows in blocks of 8 read once for every
 * 4 images, instead of a GEMM with a few columns. */
#include "conv2d.h"
#include "gemm_internal.h"

#define GEMV_IMAGES 4 /* images per pass over the weights */
#define GEMV_MAX_IMAGES 8

int conv2d_gemv_fits(const conv_geometry *g, int isa) {
    return isa == CPU_ISA_AVX512 && g->groups == 1 && g->height == 1 && g->width == 1 && g->out_height == 1 &&
           g->out_width == 1 && g->kernel_h == 1 && g->kernel_w == 1 && g->pad_h == 0 && g->pad_w == 0 &&
           g->batch >= 1 && g->batch <= GEMV_MAX_IMAGES && g->channels >= 1;
}

#if defined(__x86_64__)
#include <immintrin.h>
#include "lanes_avx512.h"
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

typedef struct {
    const conv_geometry *g;
    const float *x, *w, *b, *residual;
    const act_params *act;
    float *y;
    int isa;
} gemv_job;

/* The images of one pass: x and y at its first. */
typedef struct {
    const gemv_job *job;
    const float *x;
    float *y;
} gemv_pass;

/* Output rows [o0, o0 + R) of every image: R x images accumulators along the channels (the last vector masked),
 * summed across lanes at the end. */
AVX512 static inline __attribute__((always_inline)) void rows(const gemv_pass *pass, int64_t o0, int R, int NI) {
    const gemv_job *job = pass->job;
    int64_t k = job->g->channels;
    __m512 acc[8][GEMV_IMAGES];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int i = 0; i < NI; i++) acc[r][i] = _mm512_setzero_ps();
    for (int64_t c = 0; c < k; c += 16) {
        __mmask16 m = lanes(0, k - c);
        __m512 xv[GEMV_IMAGES];
#pragma GCC unroll 4
        for (int i = 0; i < NI; i++) xv[i] = _mm512_maskz_loadu_ps(m, pass->x + i * k + c);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512 wv = _mm512_maskz_loadu_ps(m, job->w + (o0 + r) * k + c);
#pragma GCC unroll 4
            for (int i = 0; i < NI; i++) acc[r][i] = _mm512_fmadd_ps(wv, xv[i], acc[r][i]);
        }
    }
    int64_t outs = job->g->out_channels;
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int i = 0; i < NI; i++) pass->y[i * outs + o0 + r] = _mm512_reduce_add_ps(acc[r][i]);
}

AVX512 static inline __attribute__((always_inline)) void images(const gemv_pass *pass, int64_t o0, int64_t o1, int NI) {
    int64_t o = o0;
    for (; o + 8 <= o1; o += 8) rows(pass, o, 8, NI);
    for (; o < o1; o++) rows(pass, o, 1, NI);
}

AVX512 static void gemv_task(void *arg, int64_t begin, int64_t end, int thread) {
    const gemv_job *job = arg;
    (void)thread;
    int64_t o0 = begin * 8, o1 = end * 8 < job->g->out_channels ? end * 8 : job->g->out_channels;
    int64_t outs = job->g->out_channels;
    for (int64_t i0 = 0; i0 < job->g->batch; i0 += GEMV_IMAGES) {
        gemv_pass pass = { job, job->x + i0 * job->g->channels, job->y + i0 * outs };
        switch (job->g->batch - i0 < GEMV_IMAGES ? job->g->batch - i0 : GEMV_IMAGES) {
        case 1: images(&pass, o0, o1, 1); break;
        case 2: images(&pass, o0, o1, 2); break;
        case 3: images(&pass, o0, o1, 3); break;
        default: images(&pass, o0, o1, 4); break;
        }
    }
    for (int64_t i = 0; i < job->g->batch; i++) { /* bias, residual and activation on this task's outputs */
        gemm_epilogue ep = { job->b, 0, job->residual ? job->residual + i * outs : NULL, outs, *job->act };
        cpu_epilogue_isa(job->isa, job->y + i * outs + o0, 1, o1 - o0, outs, &ep, 0, o0);
    }
}

int conv2d_gemv(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                const float *residual, const act_params *act, float *y) {
    if (!w || !conv2d_gemv_fits(g, ctx->isa)) return 0;
    gemv_job job = { g, x, w, b, residual, act, y, ctx->isa };
    int64_t blocks = (g->out_channels + 7) / 8, per_block = 8 * g->channels * g->batch;
    /* a task of at least ~32 K multiply-adds: the SE layers' 10-55 K run on one thread */
    pool_parallel_for(ctx->pool, blocks, per_block >= 32768 ? 1 : 32768 / per_block + 1, gemv_task, &job);
    return 1;
}

#else

int conv2d_gemv(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *w, const float *b,
                const float *residual, const act_params *act, float *y) {
    (void)ctx, (void)g, (void)x, (void)w, (void)b, (void)residual, (void)act, (void)y;
    return 0;
}

#endif
