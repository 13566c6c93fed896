/* resize.c — nearest, nearest-exact, (bi)linear and bicubic resampling of [N,C,W] or [N,C,H,W] (f32), PyTorch's coordinates. */
#include "cpu_kernels.h"
#include "resize.h"
#include "../../base/error.h"

/* The taps of one output column, computed once per run into the workspace: linear uses col[0..1] and
 * weight[0..1], cubic all four. */
typedef struct {
    int32_t col[4];
    float weight[4];
} resize_taps;

typedef struct {
    const float *x;
    float *y;
    const resize_params *p;
    int64_t h, w, oh, ow;
    float scale_h, scale_w;
    const resize_taps *taps; /* [ow], linear and cubic */
} resize_job;

static int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

static void resize_row_nearest(const resize_job *j, const float *x, float *y, int64_t oy) {
    int exact = j->p->mode == RESIZE_NEAREST_EXACT;
    const float *row = x + resize_nearest(oy, j->h, j->oh, j->scale_h, exact) * j->w;
    for (int64_t ox = 0; ox < j->ow; ox++) y[ox] = row[resize_nearest(ox, j->w, j->ow, j->scale_w, exact)];
}

static void resize_row_linear(const resize_job *j, const float *x, float *y, int64_t oy) {
    int ac = j->p->align_corners;
    float step_h = resize_area_scale(j->h, j->oh, ac, j->scale_h);
    int64_t h0, h1;
    float lh;
    resize_linear_taps(step_h, oy, j->h, ac, &h0, &h1, &lh);
    const float *r0 = x + h0 * j->w, *r1 = x + h1 * j->w;
    for (int64_t ox = 0; ox < j->ow; ox++) {
        const resize_taps *t = &j->taps[ox];
        float top = t->weight[0] * r0[t->col[0]] + t->weight[1] * r0[t->col[1]];
        float bottom = t->weight[0] * r1[t->col[0]] + t->weight[1] * r1[t->col[1]];
        y[ox] = (1.0f - lh) * top + lh * bottom;
    }
}

static void resize_row_cubic(const resize_job *j, const float *x, float *y, int64_t oy) {
    int ac = j->p->align_corners;
    float step_h = resize_area_scale(j->h, j->oh, ac, j->scale_h);
    float sy = resize_source(step_h, oy, ac, 1), wy[4];
    int64_t iy = (int64_t)floorf(sy);
    resize_cubic_weights(sy - (float)iy, wy);
    const float *rows[4];
    for (int r = 0; r < 4; r++) rows[r] = x + clamp_index(iy - 1 + r, j->h) * j->w;
    for (int64_t ox = 0; ox < j->ow; ox++) {
        const resize_taps *t = &j->taps[ox];
        float acc = 0.0f;
        for (int r = 0; r < 4; r++) {
            float v = 0.0f;
            for (int k = 0; k < 4; k++) v += t->weight[k] * rows[r][t->col[k]];
            acc += wy[r] * v;
        }
        y[ox] = acc;
    }
}

static void resize_rows(void *arg, int64_t begin, int64_t end, int thread) {
    const resize_job *j = arg;
    (void)thread;
    for (int64_t r = begin; r < end; r++) {
        int64_t plane = r / j->oh, oy = r % j->oh;
        const float *x = j->x + plane * j->h * j->w;
        float *y = j->y + r * j->ow;
        if (j->p->mode == RESIZE_LINEAR)
            resize_row_linear(j, x, y, oy);
        else if (j->p->mode == RESIZE_CUBIC)
            resize_row_cubic(j, x, y, oy);
        else
            resize_row_nearest(j, x, y, oy);
    }
}

/* The column taps of every output column (the same for every row). */
static void resize_column_taps(const resize_job *j, resize_taps *taps) {
    int ac = j->p->align_corners;
    float step = resize_area_scale(j->w, j->ow, ac, j->scale_w);
    for (int64_t ox = 0; ox < j->ow; ox++) {
        resize_taps *t = &taps[ox];
        if (j->p->mode == RESIZE_LINEAR) {
            int64_t w0, w1;
            float lw;
            resize_linear_taps(step, ox, j->w, ac, &w0, &w1, &lw);
            *t = (resize_taps){ { (int32_t)w0, (int32_t)w1, 0, 0 }, { 1.0f - lw, lw, 0.0f, 0.0f } };
        } else {
            float sx = resize_source(step, ox, ac, 1);
            int64_t ix = (int64_t)floorf(sx);
            resize_cubic_weights(sx - (float)ix, t->weight);
            for (int k = 0; k < 4; k++) t->col[k] = (int32_t)clamp_index(ix - 1 + k, j->w);
        }
    }
}

static size_t cpu_resize_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    (void)in;
    (void)threads;
    if (out[0].ndim < 3 || n->p.resize.mode < RESIZE_LINEAR) return 0;
    return (size_t)out[0].dims[out[0].ndim - 1] * sizeof(resize_taps);
}

CPU_KERNEL(resize) {
    const resize_params *p = &n->p.resize;
    const infer_tensor *x = &in[0], *y = &out[0];
    int nd = 2 + p->nsize;
    if (x->dtype != INFER_F32 || x->ndim != nd || y->ndim != nd)
        return infer_fail(err, INFER_ERR_SHAPE, "resize: input and output must be %d-D f32 (got %d-D %s and %d-D)", nd,
                          x->ndim, infer_dtype_name(x->dtype), y->ndim);
    resize_job j = { x->data, y->data, p, 1, x->dims[nd - 1], 1, y->dims[nd - 1], 0.0f, p->scale[1], NULL };
    if (nd == 4) {
        j.h = x->dims[2];
        j.oh = y->dims[2];
        j.scale_h = p->scale[0];
    }
    if (j.h < 1 || j.w < 1 || j.w > INT32_MAX)
        return infer_fail(err, INFER_ERR_SHAPE, "resize: input width %lld (at least 1, below 2^31)", (long long)j.w);
    int64_t rows = x->dims[0] * x->dims[1] * j.oh;
    if (rows == 0 || j.ow == 0) return INFER_OK;
    if (p->mode >= RESIZE_LINEAR) {
        size_t need = (size_t)j.ow * sizeof(resize_taps);
        if (!ctx->workspace || ctx->workspace_bytes < need)
            return infer_fail(err, INFER_ERR_RUNTIME, "resize: workspace of %zu bytes, needs %zu", ctx->workspace_bytes,
                              need);
        resize_column_taps(&j, ctx->workspace);
        j.taps = ctx->workspace;
    }
    pool_parallel_for(ctx->pool, rows, 4096 / (j.ow + 1) + 1, resize_rows, &j);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_resize[] = {
    { .storages = CPU_DENSE, .run = cpu_resize, .workspace = cpu_resize_workspace },
    { 0 },
};
