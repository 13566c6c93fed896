/* pool2d.h — what maxpool2d.c and avgpool2d.c share: the job, the per-ISA copies of a file's row
 * function (POOL2D_ROW_VARIANTS) and the driver that runs one over every plane's output rows. */
#ifndef INFER_CPU_POOL2D_H
#define INFER_CPU_POOL2D_H

#include "cpu_kernels.h"

typedef struct pool2d_job pool2d_job;
/* Output row oh of one plane: x is the plane's input [h, w], y the row's ow outputs. */
typedef void (*pool2d_row_fn)(const pool2d_job *job, const float *x, int64_t oh, float *y);

struct pool2d_job {
    const float *x;
    float *y;
    int64_t h, w, oh, ow;
    const pool2d_params *p;
    pool2d_row_fn row;
};

/* ROW (static inline, always_inline) compiled once per ISA, so that the compiler vectorizes it for
 * each; ROW##_for(isa) picks the copy. */
#if defined(__x86_64__)
#define POOL2D_ROW_VARIANTS(ROW)                                                                                     \
    __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) static void ROW##_avx512(                         \
        const pool2d_job *job, const float *x, int64_t oh, float *y) {                                               \
        ROW(job, x, oh, y);                                                                                          \
    }                                                                                                                \
    __attribute__((target("avx2"))) static void ROW##_avx2(const pool2d_job *job, const float *x, int64_t oh,       \
                                                           float *y) {                                               \
        ROW(job, x, oh, y);                                                                                          \
    }                                                                                                                \
    static void ROW##_portable(const pool2d_job *job, const float *x, int64_t oh, float *y) { ROW(job, x, oh, y); } \
    static pool2d_row_fn ROW##_for(int isa) {                                                                        \
        return isa == CPU_ISA_AVX512 ? ROW##_avx512 : isa == CPU_ISA_AVX2 ? ROW##_avx2 : ROW##_portable;            \
    }
#else
#define POOL2D_ROW_VARIANTS(ROW)                                                                                     \
    static void ROW##_portable(const pool2d_job *job, const float *x, int64_t oh, float *y) { ROW(job, x, oh, y); } \
    static pool2d_row_fn ROW##_for(int isa) {                                                                        \
        (void)isa;                                                                                                   \
        return ROW##_portable;                                                                                       \
    }
#endif

static inline void pool2d_task(void *arg, int64_t begin, int64_t end, int thread) {
    const pool2d_job *job = arg;
    (void)thread;
    for (int64_t plane = begin; plane < end; plane++) {
        const float *x = job->x + plane * job->h * job->w;
        float *y = job->y + plane * job->oh * job->ow;
        for (int64_t oh = 0; oh < job->oh; oh++) job->row(job, x, oh, y + oh * job->ow);
    }
}

/* in[0] [N, C, h, w] -> out[0] [N, C, oh, ow], planes in parallel (several to a task when small). */
static inline void pool2d_run(cpu_ctx *ctx, const pool2d_params *p, const infer_tensor *in, infer_tensor *out,
                              pool2d_row_fn row) {
    pool2d_job job = { in[0].data, out[0].data, in[0].dims[2], in[0].dims[3], out[0].dims[2], out[0].dims[3], p,
                       row };
    int64_t planes = in[0].dims[0] * in[0].dims[1], work = job.oh * job.ow * p->kernel[0] * p->kernel[1];
    pool_parallel_for(ctx->pool, planes, work >= 8192 ? 1 : 8192 / (work + 1) + 1, pool2d_task, &job);
}

#endif
