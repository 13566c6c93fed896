/* maxpool2d_u8_nhwc.c — max pooling on u8 NHWC bytes (INT8 chains through a pool): channels are the vector lanes. */
#include "maxpool2d_u8_nhwc.h"

typedef struct {
    const pool2d_params *p;
    int64_t channels, h, w, oh, ow, x_stride, y_stride;
    const uint8_t *x;
    uint8_t *y;
    void (*row)(const void *job, int64_t b, int64_t r);
} u8_pool_job;

/* Output row r of image b: each output position the byte max of its taps on the input (0 when none). */
static inline __attribute__((always_inline)) void pool_row(const void *arg, int64_t b, int64_t r) {
    const u8_pool_job *job = arg;
    const pool2d_params *p = job->p;
    int64_t C = job->channels, top = r * p->stride[0] - p->padding[0];
    const uint8_t *image = job->x + b * job->h * job->w * job->x_stride;
    uint8_t *out = job->y + (b * job->oh + r) * job->ow * job->y_stride;
    for (int64_t oc = 0; oc < job->ow; oc++) {
        uint8_t *restrict y = out + oc * job->y_stride;
        int64_t left = oc * p->stride[1] - p->padding[1];
        for (int64_t c = 0; c < C; c++) y[c] = 0;
        for (int64_t kh = 0; kh < p->kernel[0]; kh++) {
            int64_t ih = top + kh * p->dilation[0];
            if (ih < 0 || ih >= job->h) continue;
            for (int64_t kw = 0; kw < p->kernel[1]; kw++) {
                int64_t iw = left + kw * p->dilation[1];
                if (iw < 0 || iw >= job->w) continue;
                const uint8_t *restrict x = image + (ih * job->w + iw) * job->x_stride;
                for (int64_t c = 0; c < C; c++) y[c] = x[c] > y[c] ? x[c] : y[c];
            }
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void row_avx512(const void *job, int64_t b, int64_t r) {
    pool_row(job, b, r);
}
__attribute__((target("avx2"))) static void row_avx2(const void *job, int64_t b, int64_t r) { pool_row(job, b, r); }
#endif
static void row_portable(const void *job, int64_t b, int64_t r) { pool_row(job, b, r); }

static void pool_task(void *arg, int64_t begin, int64_t end, int thread) {
    const u8_pool_job *job = arg;
    (void)thread;
    for (int64_t i = begin; i < end; i++) job->row(job, i / job->oh, i % job->oh);
}

void cpu_maxpool2d_u8_nhwc(cpu_ctx *ctx, const pool2d_params *p, int64_t batch, int64_t channels, int64_t h,
                           int64_t w, const uint8_t *x, int64_t x_stride, int64_t oh, int64_t ow, uint8_t *y,
                           int64_t y_stride) {
    u8_pool_job job = { p, channels, h, w, oh, ow, x_stride, y_stride, x, y, row_portable };
#if defined(__x86_64__)
    if (ctx->isa == CPU_ISA_AVX512) job.row = row_avx512;
    else if (ctx->isa == CPU_ISA_AVX2) job.row = row_avx2;
#endif
    int64_t work = ow * channels * p->kernel[0] * p->kernel[1];
    pool_parallel_for(ctx->pool, batch * oh, work >= 65536 ? 1 : 65536 / (work + 1) + 1, pool_task, &job);
}
