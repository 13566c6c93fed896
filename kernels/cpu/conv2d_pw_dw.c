/* conv2d_pw_dw.c — a 1x1 convolution and the depthwise convolution reading its output, run together in strips of
 * output rows so that the intermediate rows are still in cache when the depthwise convolution reads them. */
#include <unistd.h>
#include "conv2d_pw_dw.h"
#include "gemm_internal.h"
#include "../../base/error.h"

static int is_dense_f32(const infer_tensor *t) { return t->dtype == INFER_F32 && t->ndim == 4; }

int cpu_pw_dw_fits(const ir_node *pw, const infer_tensor *pw_in, const infer_tensor *pw_out, const ir_node *dw,
                   const infer_tensor *dw_in, const infer_tensor *dw_out) {
    if (pw->op != OP_CONV2D || dw->op != OP_CONV2D || pw->n_in < 2 || dw->n_in < 2) return 0;
    if ((pw->n_in > 3 && pw->in[3] != IR_NONE) || (dw->n_in > 3 && dw->in[3] != IR_NONE)) return 0; /* residuals */
    if (dw->in[0] != pw->out[0]) return 0;
    if (!is_dense_f32(&pw_in[0]) || !is_dense_f32(&pw_in[1]) || !is_dense_f32(&pw_out[0]) ||
        !is_dense_f32(&dw_in[1]) || !is_dense_f32(&dw_out[0]))
        return 0;
    conv_geometry p, d;
    conv_geometry_of(pw, pw_in, pw_out, &p);
    conv_geometry_of(dw, dw_in, dw_out, &d);
    int pointwise = p.groups == 1 && p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1 &&
                    p.pad_h == 0 && p.pad_w == 0 && pw_in[1].dims[1] == p.channels &&
                    pw_in[1].dims[0] == p.out_channels && p.out_height == p.height && p.out_width == p.width;
    int depthwise = conv_is_depthwise(&d) && d.out_channels == d.channels && d.channels == p.out_channels &&
                    dw_in[1].dims[0] == d.channels && dw_in[1].dims[1] == 1 && d.batch == p.batch &&
                    d.height == p.out_height && d.width == p.out_width && d.out_height > 0 && d.out_width > 0 &&
                    d.stride_h >= 1 && d.dilation_h >= 1 && d.pad_h >= 0;
    int biases = (pw->n_in < 3 || !pw_in[2].data || (pw_in[2].dtype == INFER_F32 &&
                                                    infer_tensor_elements(&pw_in[2]) == p.out_channels)) &&
                 (dw->n_in < 3 || !dw_in[2].data || (dw_in[2].dtype == INFER_F32 &&
                                                    infer_tensor_elements(&dw_in[2]) == d.channels));
    return pointwise && depthwise && biases;
}

int cpu_pw_dw_strip_rows(const ir_node *dw, const infer_tensor *dw_in, const infer_tensor *dw_out,
                         int64_t cache_bytes) {
    if (cache_bytes <= 0) {
        long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
        cache_bytes = l2 > 0 ? l2 / 2 : (int64_t)1 << 20;
    }
    const conv2d_params *p = &dw->p.conv2d;
    int64_t row_bytes = dw_in[0].dims[1] * dw_in[0].dims[3] * (int64_t)sizeof(float);
    int64_t halo = (dw_in[1].dims[2] - 1) * p->dilation[0];
    int64_t rows = (cache_bytes / (row_bytes > 0 ? row_bytes : 1) - halo) / (p->stride[0] > 0 ? p->stride[0] : 1);
    if (rows < CPU_PW_DW_MIN_ROWS) rows = CPU_PW_DW_MIN_ROWS;
    return rows > dw_out[0].dims[2] ? (int)dw_out[0].dims[2] : (int)rows;
}

/* Intermediate rows output rows [oh0, oh1) of the depthwise convolution read: [*r0, *r1), clipped to the image. */
static void input_rows(const conv_geometry *d, int64_t oh0, int64_t oh1, int64_t *r0, int64_t *r1) {
    int64_t lo = oh0 * d->stride_h - d->pad_h;
    int64_t hi = (oh1 - 1) * d->stride_h - d->pad_h + (d->kernel_h - 1) * d->dilation_h + 1;
    *r0 = lo < 0 ? 0 : lo > d->height ? d->height : lo;
    *r1 = hi < 0 ? 0 : hi > d->height ? d->height : hi;
}

typedef struct {
    const conv_geometry *p, *d;      /* one image's geometries */
    const float *x, *pw_w, *pw_b, *dw_w, *dw_b;
    const float *pw_rows;            /* NULL, or pw_w prepacked as the GEMM's row slivers (conv2d_prepack.c) */
    const act_params *pw_act, *dw_act;
    float *mid, *y;                  /* the intermediate and the output, first image */
    int64_t strip_rows;
    int64_t parts, part_rows;        /* each image's output rows in parts of part_rows, one task each */
    cpu_ctx *ctx;
} pw_dw_job;

/* The intermediate rows [*lo, *hi) both part t - 1 and part t read (t >= 1; empty when none): computed before the
 * parts, so that each row is written once. */
static void shared_rows(const pw_dw_job *job, int64_t t, int64_t *lo, int64_t *hi) {
    int64_t first = t * job->part_rows, r0, r1, q0, q1;
    input_rows(job->d, first, first + 1, &r0, &r1);  /* the part's first output row */
    input_rows(job->d, first - 1, first, &q0, &q1);  /* the previous part's last */
    *lo = r0;
    *hi = q1 > r0 ? q1 : r0;
}

/* C rows [r0, r1) of the image: the 1x1 GEMM of those columns, serially on this thread's scratch. */
static void gemm_rows(const pw_dw_job *job, cpu_ctx *alone, int64_t image, int64_t r0, int64_t r1) {
    const conv_geometry *p = job->p;
    if (r1 <= r0) return;
    int64_t hw = p->height * p->width, k = p->channels, m = p->out_channels, c0 = r0 * p->width;
    gemm_epilogue ep = { job->pw_b, 1, NULL, 0, *job->pw_act };
    const float *x = job->x + image * k * hw + c0;
    float *mid = job->mid + image * m * hw + c0;
    if (job->pw_rows)
        gemm_packed_a(alone, alone->scratch, alone->isa, m, (r1 - r0) * p->width, k, job->pw_rows, x, hw, NULL, mid,
                      hw, &ep);
    else
        cpu_sgemm_serial(alone->scratch, alone->isa, 0, 0, m, (r1 - r0) * p->width, k, job->pw_w, k, x, hw, mid, hw,
                         &ep);
}

/* Part t of one image, strip after strip: the 1x1 GEMM of the intermediate rows the strip reads that are not
 * computed yet (up to the next part's shared rows; the last strip up to them, or to the image's end, read or not),
 * then the strip's depthwise rows. */
static void run_part(const pw_dw_job *job, cpu_ctx *alone, int64_t image, int64_t t) {
    const conv_geometry *p = job->p, *d = job->d;
    int64_t oh_begin = t * job->part_rows, oh_end = oh_begin + job->part_rows, lo, done = 0, limit = p->height;
    if (oh_end >= d->out_height) oh_end = d->out_height;
    else shared_rows(job, t + 1, &limit, &lo);
    if (t > 0) shared_rows(job, t, &lo, &done);
    float *mid = job->mid + image * p->out_channels * p->height * p->width;
    float *y = job->y + image * d->channels * d->out_height * d->out_width;
    for (int64_t oh0 = oh_begin; oh0 < oh_end; oh0 += job->strip_rows) {
        int64_t oh1 = oh0 + job->strip_rows < oh_end ? oh0 + job->strip_rows : oh_end, r0, r1;
        input_rows(d, oh0, oh1, &r0, &r1);
        if (oh1 == oh_end || r1 > limit) r1 = limit;
        if (r1 > done) {
            gemm_rows(job, alone, image, done, r1);
            done = r1;
        }
        conv2d_depthwise_rows(alone, d, mid, job->dw_w, job->dw_b, NULL, job->dw_act, y, oh0, oh1);
    }
}

static cpu_ctx thread_alone(const pw_dw_job *job, int thread) {
    return (cpu_ctx){ .pool = NULL, .threads = 1, .isa = job->ctx->isa,
                      .scratch = job->ctx->scratch + (size_t)thread * CPU_SCRATCH_BYTES };
}

/* Tasks (image, boundary between part t - 1 and t): the shared rows. */
static void shared_task(void *arg, int64_t begin, int64_t end, int thread) {
    const pw_dw_job *job = arg;
    cpu_ctx alone = thread_alone(job, thread);
    for (int64_t i = begin; i < end; i++) {
        int64_t lo, hi;
        shared_rows(job, i % (job->parts - 1) + 1, &lo, &hi);
        gemm_rows(job, &alone, i / (job->parts - 1), lo, hi);
    }
}

/* Tasks (image, part). */
static void part_task(void *arg, int64_t begin, int64_t end, int thread) {
    const pw_dw_job *job = arg;
    cpu_ctx alone = thread_alone(job, thread);
    for (int64_t i = begin; i < end; i++) run_part(job, &alone, i / job->parts, i % job->parts);
}

infer_status cpu_pw_dw_run(cpu_ctx *ctx, const ir_node *pw, const infer_tensor *pw_in, infer_tensor *pw_out,
                           const ir_node *dw, const infer_tensor *dw_in, infer_tensor *dw_out, int strip_rows,
                           infer_error *err) {
    if (!cpu_pw_dw_fits(pw, pw_in, pw_out, dw, dw_in, dw_out) || dw_in[0].data != pw_out[0].data || strip_rows < 1)
        return infer_fail(err, INFER_ERR_ARGUMENT, "conv2d + depthwise in strips: the pair does not fit (a 1x1 "
                          "convolution whose output only a depthwise convolution reads, f32, no residuals)");
    if (!ctx->scratch)
        return infer_fail(err, INFER_ERR_ARGUMENT, "conv2d + depthwise in strips: no per-thread scratch");
    conv_geometry p, d;
    conv_geometry_of(pw, pw_in, pw_out, &p);
    conv_geometry_of(dw, dw_in, dw_out, &d);
    int64_t batch = p.batch;
    p.batch = d.batch = 1;
    /* one task per image, or each image's rows in parts, one per thread, with the rows two parts share first */
    int64_t threads = ctx->scratch && ctx->threads > 1 ? ctx->threads : 1;
    int64_t parts = batch >= threads ? 1 : (threads + batch - 1) / batch;
    if (parts > d.out_height) parts = d.out_height;
    int64_t part_rows = (d.out_height + parts - 1) / parts;
    /* Neighbouring parts' shared rows must not overlap (each row computed by one task, shared_rows): a part's
     * windows advance by part_rows * stride input rows, at least the rows two consecutive windows share. */
    int64_t extent = d.dilation_h * (d.kernel_h - 1) + 1, min_rows = (extent - 1) / d.stride_h;
    if (part_rows < min_rows) part_rows = min_rows;
    parts = (d.out_height + part_rows - 1) / part_rows;
    pw_dw_job job = { &p, &d, pw_in[0].data, pw_in[1].data, pw->n_in > 2 ? pw_in[2].data : NULL, dw_in[1].data,
                      dw->n_in > 2 ? dw_in[2].data : NULL, conv2d_packed_rows(ctx->prepacked, &p, ctx->isa),
                      &pw->p.conv2d.act, &dw->p.conv2d.act, pw_out[0].data,
                      dw_out[0].data, strip_rows, parts, part_rows, ctx };
    if (parts > 1) pool_parallel_for(ctx->pool, batch * (parts - 1), 1, shared_task, &job);
    pool_parallel_for(ctx->pool, batch * parts, 1, part_task, &job);
    return INFER_OK;
}
