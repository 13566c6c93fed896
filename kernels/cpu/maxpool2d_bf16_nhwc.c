/* maxpool2d_bf16_nhwc.c — max pooling on BF16 NHWC values (BF16 chains through a pool): channels are the vector
 * lanes, compared as int16 keys that order BF16 values as their floats do (NaN above all). */
#include "maxpool2d_bf16_nhwc.h"

typedef struct {
    const pool2d_params *p;
    int64_t h, w, oh, ow, stride;
    const uint16_t *x;
    uint16_t *y;
    void (*row)(const void *job, int64_t b, int64_t r);
} bf16_pool_job;

/* BF16 bits -> an int16 ordered as the values: negatives' magnitudes flipped; NaN the largest key. */
static inline int16_t key_of(uint16_t v) {
    uint16_t k = (v & 0x7fffu) > 0x7f80u ? 0x7fffu : (v & 0x8000u) ? (uint16_t)(v ^ 0x7fffu) : v;
    return (int16_t)k;
}

static inline uint16_t value_of(int16_t k) { return k < 0 ? (uint16_t)((uint16_t)k ^ 0x7fffu) : (uint16_t)k; }

/* Output row r of image b. */
static inline __attribute__((always_inline)) void pool_row(const void *arg, int64_t b, int64_t r) {
    const bf16_pool_job *job = arg;
    const pool2d_params *p = job->p;
    int64_t S = job->stride, top = r * p->stride[0] - p->padding[0];
    const uint16_t *image = job->x + b * job->h * job->w * S;
    uint16_t *out = job->y + (b * job->oh + r) * job->ow * S;
    for (int64_t oc = 0; oc < job->ow; oc++) {
        uint16_t *restrict y = out + oc * S;
        int64_t left = oc * p->stride[1] - p->padding[1];
        int any = 0;
        for (int64_t kh = 0; kh < p->kernel[0]; kh++) {
            int64_t ih = top + kh * p->dilation[0];
            if (ih < 0 || ih >= job->h) continue;
            for (int64_t kw = 0; kw < p->kernel[1]; kw++) {
                int64_t iw = left + kw * p->dilation[1];
                if (iw < 0 || iw >= job->w) continue;
                const uint16_t *restrict x = image + (ih * job->w + iw) * S;
                if (!any) {
                    for (int64_t c = 0; c < S; c++) y[c] = (uint16_t)key_of(x[c]);
                    any = 1;
                    continue;
                }
                for (int64_t c = 0; c < S; c++) {
                    int16_t k = key_of(x[c]), cur = (int16_t)y[c];
                    y[c] = (uint16_t)(k > cur ? k : cur);
                }
            }
        }
        if (!any)
            for (int64_t c = 0; c < S; c++) y[c] = 0;
        else
            for (int64_t c = 0; c < S; c++) y[c] = value_of((int16_t)y[c]);
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void row_avx512(const void *job, int64_t b, int64_t r) {
    pool_row(job, b, r);
}
#endif
static void row_portable(const void *job, int64_t b, int64_t r) { pool_row(job, b, r); }

static void pool_task(void *arg, int64_t begin, int64_t end, int thread) {
    const bf16_pool_job *job = arg;
    (void)thread;
    for (int64_t i = begin; i < end; i++) job->row(job, i / job->oh, i % job->oh);
}

void cpu_maxpool2d_bf16_nhwc(cpu_ctx *ctx, const pool2d_params *p, int64_t batch, int64_t h, int64_t w,
                             const uint16_t *x, int64_t stride, int64_t oh, int64_t ow, uint16_t *y) {
    bf16_pool_job job = { p, h, w, oh, ow, stride, x, y, row_portable };
#if defined(__x86_64__)
    if (ctx->isa == CPU_ISA_AVX512) job.row = row_avx512;
#endif
    int64_t work = ow * stride * p->kernel[0] * p->kernel[1];
    pool_parallel_for(ctx->pool, batch * oh, work >= 65536 ? 1 : 65536 / (work + 1) + 1, pool_task, &job);
}
