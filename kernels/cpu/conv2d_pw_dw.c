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
    return pointwise && depthwise;
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
    int64_t lo = oh0 * d->stride_h - d->pad_h, hi = (oh1 - 1) * d->stride_h - d->pad_h + (d->kernel_h - 1) * d->dilation_h + 1;
    *r0 = lo < 0 ? 0 : lo > d->height ? d->height : lo;
    *r1 = hi < 0 ? 0 : hi > d->height ? d->height : hi;
}

typedef struct {
    const conv_geometry *p, *d;      /* one image's geometries */
    const float *x, *pw_w, *pw_b, *dw_w, *dw_b;
    const act_params *pw_act, *dw_act;
    float *mid, *y;                  /* the intermediate and the output, first image */
    int64_t strip_rows;
    cpu_ctx *ctx;
} pw_dw_job;

/* One image, strip after strip: the 1x1 GEMM over the intermediate rows not computed yet that the strip reads
 * (columns of the image), then the strip's depthwise rows. ctx is the whole pool, or one thread alone. */
static void run_image(const pw_dw_job *job, cpu_ctx *ctx, int serial, int64_t image) {
    const conv_geometry *p = job->p, *d = job->d;
    int64_t hw = p->height * p->width, k = p->channels, m = p->out_channels;
    const float *x = job->x + image * k * hw;
    float *mid = job->mid + image * m * hw, *y = job->y + image * d->channels * d->out_height * d->out_width;
    gemm_epilogue ep = { job->pw_b, 1, NULL, 0, *job->pw_act };
    int64_t done = 0; /* intermediate rows [0, done) computed */
    for (int64_t oh0 = 0; oh0 < d->out_height; oh0 += job->strip_rows) {
        int64_t oh1 = oh0 + job->strip_rows < d->out_height ? oh0 + job->strip_rows : d->out_height, r0, r1;
        input_rows(d, oh0, oh1, &r0, &r1);
        if (oh1 == d->out_height) r1 = p->height; /* rows no output reads are computed all the same */
        if (r1 > done) {
            int64_t c0 = done * p->width, cn = (r1 - done) * p->width;
            if (serial)
                cpu_sgemm_serial(ctx->scratch, ctx->isa, 0, 0, m, cn, k, job->pw_w, k, x + c0, hw, mid + c0, hw, &ep);
            else
                cpu_sgemm(ctx, 0, 0, m, cn, k, job->pw_w, k, x + c0, hw, mid + c0, hw, &ep);
            done = r1;
        }
        conv2d_depthwise_rows(ctx, d, mid, job->dw_w, job->dw_b, NULL, job->dw_act, y, oh0, oh1);
    }
}

/* Whole images per thread, each on its own scratch and serial kernels. */
static void images_task(void *arg, int64_t begin, int64_t end, int thread) {
    const pw_dw_job *job = arg;
    cpu_ctx alone = { .pool = NULL, .threads = 1, .isa = job->ctx->isa,
                      .scratch = job->ctx->scratch + (size_t)thread * CPU_SCRATCH_BYTES };
    for (int64_t i = begin; i < end; i++) run_image(job, &alone, 1, i);
}

infer_status cpu_pw_dw_run(cpu_ctx *ctx, const ir_node *pw, const infer_tensor *pw_in, infer_tensor *pw_out,
                           const ir_node *dw, const infer_tensor *dw_in, infer_tensor *dw_out, int strip_rows,
                           infer_error *err) {
    if (!cpu_pw_dw_fits(pw, pw_in, pw_out, dw, dw_in, dw_out) || dw_in[0].data != pw_out[0].data || strip_rows < 1)
        return infer_fail(err, INFER_ERR_ARGUMENT, "conv2d + depthwise in strips: the pair does not fit (a 1x1 "
                          "convolution whose output only a depthwise convolution reads, f32, no residuals)");
    conv_geometry p, d;
    conv_geometry_of(pw, pw_in, pw_out, &p);
    conv_geometry_of(dw, dw_in, dw_out, &d);
    int64_t batch = p.batch;
    p.batch = d.batch = 1;
    pw_dw_job job = { &p, &d, pw_in[0].data, pw_in[1].data, pw->n_in > 2 ? pw_in[2].data : NULL, dw_in[1].data,
                      dw->n_in > 2 ? dw_in[2].data : NULL, &pw->p.conv2d.act, &dw->p.conv2d.act, pw_out[0].data,
                      dw_out[0].data, strip_rows, ctx };
    if (ctx->threads > 1 && batch >= ctx->threads && ctx->scratch) {
        pool_parallel_for(ctx->pool, batch, 1, images_task, &job);
        return INFER_OK;
    }
    for (int64_t i = 0; i < batch; i++) run_image(&job, ctx, 0, i);
    return INFER_OK;
}
