/* adaptive_avgpool2d.c — adaptive average pooling: bin i covers [floor(i*H/oh), ceil((i+1)*H/oh)); 1x1 vectorized. */
#include "cpu_kernels.h"
#include "../../base/error.h"

typedef struct {
    const float *x;
    float *y;
    int64_t h, w, oh, ow;
} adaptive_job;

/* Sum of x[0..n) in a fixed order: GLOBAL_LANES running sums (lane j takes x[i] with i % GLOBAL_LANES == j), then
 * those added in order. The order is the source's, so each ISA's copy (vectorized across the lanes) gives
 * the same bits, and the lanes are independent chains of additions. */
#define GLOBAL_LANES 32
static inline __attribute__((always_inline)) float plane_sum(const float *x, int64_t n) {
    float lane[GLOBAL_LANES] = { 0 };
    int64_t i = 0;
    for (; i + GLOBAL_LANES <= n; i += GLOBAL_LANES)
        for (int j = 0; j < GLOBAL_LANES; j++) lane[j] += x[i + j];
    for (int j = 0; i + j < n; j++) lane[j] += x[i + j];
    float sum = 0.0f;
    for (int j = 0; j < GLOBAL_LANES; j++) sum += lane[j];
    return sum;
}

typedef void (*global_fn)(const float *x, float *y, int64_t planes, int64_t n);

static inline __attribute__((always_inline)) void global_planes(const float *x, float *y, int64_t planes, int64_t n) {
    for (int64_t p = 0; p < planes; p++) y[p] = plane_sum(x + p * n, n) / (float)n;
}

static void global_portable(const float *x, float *y, int64_t planes, int64_t n) { global_planes(x, y, planes, n); }
#if defined(__x86_64__)
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) static void global_avx512(const float *x, float *y,
                                                                                        int64_t planes, int64_t n) {
    global_planes(x, y, planes, n);
}
__attribute__((target("avx2"))) static void global_avx2(const float *x, float *y, int64_t planes, int64_t n) {
    global_planes(x, y, planes, n);
}
#endif

static global_fn global_for(int isa) {
#if defined(__x86_64__)
    if (isa == CPU_ISA_AVX512) return global_avx512;
    if (isa == CPU_ISA_AVX2) return global_avx2;
#endif
    (void)isa;
    return global_portable;
}

typedef struct {
    const float *x;
    float *y;
    int64_t n;
    global_fn run;
} global_job;

static void global_task(void *arg, int64_t begin, int64_t end, int thread) {
    const global_job *job = arg;
    (void)thread;
    job->run(job->x + begin * job->n, job->y + begin, end - begin, job->n);
}

static void adaptive_task(void *arg, int64_t begin, int64_t end, int thread) {
    const adaptive_job *job = arg;
    (void)thread;
    for (int64_t plane = begin; plane < end; plane++) {
        const float *x = job->x + plane * job->h * job->w;
        float *y = job->y + plane * job->oh * job->ow;
        for (int64_t oh = 0; oh < job->oh; oh++) {
            int64_t h0 = oh * job->h / job->oh, h1 = ((oh + 1) * job->h + job->oh - 1) / job->oh;
            for (int64_t ow = 0; ow < job->ow; ow++) {
                int64_t w0 = ow * job->w / job->ow, w1 = ((ow + 1) * job->w + job->ow - 1) / job->ow;
                float sum = 0.0f;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++) sum += x[ih * job->w + iw];
                int64_t count = (h1 - h0) * (w1 - w0);
                y[oh * job->ow + ow] = count > 0 ? sum / (float)count : 0.0f;
            }
        }
    }
}

CPU_KERNEL(adaptive_avgpool2d) {
    (void)n;
    if (in[0].dtype != INFER_F32)
        return infer_fail(err, INFER_ERR_DTYPE, "adaptive_avgpool2d: input is %s, expected f32",
                          infer_dtype_name(in[0].dtype));
    if (in[0].ndim != 4 || out[0].ndim != 4 || out[0].dims[2] < 1 || out[0].dims[3] < 1)
        return infer_fail(err, INFER_ERR_SHAPE, "adaptive_avgpool2d: input and output must be 4-D with a non-empty "
                          "output (got %d and %d dims)", in[0].ndim, out[0].ndim);
    int64_t planes = in[0].dims[0] * in[0].dims[1];
    if (out[0].dims[2] == 1 && out[0].dims[3] == 1 && in[0].dims[2] * in[0].dims[3] > 0) {
        /* one bin per plane: the mean of the whole plane (global average pooling, as in squeeze-excite blocks) */
        global_job gj = { in[0].data, out[0].data, in[0].dims[2] * in[0].dims[3], global_for(ctx->isa) };
        pool_parallel_for(ctx->pool, planes, gj.n >= 8192 ? 1 : 8192 / gj.n + 1, global_task, &gj);
        return INFER_OK;
    }
    adaptive_job job = { in[0].data, out[0].data, in[0].dims[2], in[0].dims[3], out[0].dims[2], out[0].dims[3] };
    int64_t work = job.h * job.w + job.oh * job.ow;
    pool_parallel_for(ctx->pool, planes, work >= 8192 ? 1 : 8192 / (work + 1) + 1, adaptive_task, &job);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_adaptive_avgpool2d[] = {
    { .storages = CPU_DENSE, .run = cpu_adaptive_avgpool2d },
    { 0 },
};
