/* conv2d_ct.c — convolutions with few output positions per image (7x7, 5x5, ...) computed transposed: the
 * product Cᵀ[positions, out_channels] = columnsᵀ · wᵀ with wᵀ packed at engine build, so that the GEMM's
 * vectors run along the output channels instead of half-empty position tiles, then transposed into NCHW. */
#include <string.h>
#include "conv2d.h"
#include "gemm_internal.h"

/* Positions per image below which the transposed form runs: 49 = 32 + 17 positions leave the second
 * 32-wide tile of the untransposed product half empty (7x7 layers ran at 77% of the micro-kernel's lanes).
 * Multiples of 16 waste nothing there; 4 positions and fewer go through the GEMM's few-columns path. */
#define CT_MAX_POSITIONS 64
#define CT_MIN_POSITIONS 5

static int64_t out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
    int64_t span = dilation * (kernel - 1) + 1;
    return in + 2 * pad < span || stride < 1 ? 0 : (in + 2 * pad - span) / stride + 1;
}

int conv_ct_fits(const conv_geometry *g, int isa) {
    int64_t ohw = g->out_height * g->out_width;
    return isa >= CPU_ISA_AVX2 && g->groups == 1 && ohw >= CT_MIN_POSITIONS && ohw < CT_MAX_POSITIONS && ohw % 16 &&
           g->channels > 0 && g->out_channels > 0;
}

/* The geometry from the node and its input shapes alone (prepacking sees no output). 0: not a plain conv. */
static int geometry_of_inputs(const ir_node *n, const infer_tensor *in, conv_geometry *g) {
    const conv2d_params *p = &n->p.conv2d;
    if (n->n_in < 2 || in[0].ndim != 4 || in[1].ndim != 4 || !in[1].data || in[1].dtype != INFER_F32 || p->groups < 1)
        return 0;
    memset(g, 0, sizeof *g);
    g->batch = in[0].dims[0];
    g->channels = in[0].dims[1];
    g->height = in[0].dims[2];
    g->width = in[0].dims[3];
    g->out_channels = in[1].dims[0];
    g->kernel_h = in[1].dims[2];
    g->kernel_w = in[1].dims[3];
    g->stride_h = p->stride[0];
    g->stride_w = p->stride[1];
    g->pad_h = p->padding[0];
    g->pad_w = p->padding[1];
    g->dilation_h = p->dilation[0];
    g->dilation_w = p->dilation[1];
    g->groups = p->groups;
    if (in[1].dims[1] * g->groups != g->channels) return 0;
    g->out_height = out_size(g->height, g->kernel_h, g->stride_h, g->pad_h, g->dilation_h);
    g->out_width = out_size(g->width, g->kernel_w, g->stride_w, g->pad_w, g->dilation_w);
    return 1;
}

size_t conv_ct_prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    conv_geometry g;
    if (!geometry_of_inputs(n, in, &g) || !conv_ct_fits(&g, isa)) return 0;
    size_t bytes = cpu_sgemm_packed_b_size(isa, g.channels * g.kernel_h * g.kernel_w, g.out_channels);
    return bytes == SIZE_MAX ? 0 : bytes;
}

/* wᵀ: [C*kh*kw, O] from w [O, C*kh*kw]. */
void conv_ct_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    int64_t k = in[1].dims[1] * in[1].dims[2] * in[1].dims[3];
    cpu_sgemm_pack_b(isa, 1, k, in[1].dims[0], in[1].data, k, dst);
}

size_t conv_ct_workspace(const conv_geometry *g) {
    int64_t rows = g->batch * g->out_height * g->out_width;
    if (rows < 0 || g->out_channels < 0 || (rows && g->out_channels > INT64_MAX / 4 / rows)) return SIZE_MAX;
    return (size_t)(rows * g->out_channels) * sizeof(float);
}

typedef struct {
    const conv_geometry *g;
    const float *ct, *residual;
    const act_params *act;
    float *y;
    int isa;
} ct_scatter;

#define CT_TILE 16 /* output channels per pass over an image's positions: 16 rows of y, 16 floats of each Cᵀ row */

/* Output channel tiles [begin, end) of every image: y[b][o][p] = ct[b*ohw + p][o] (+ residual[b][o][p], read
 * at the element it is written, so the residual may be y itself), then the activation where the product
 * could not apply it. */
static void scatter_task(void *arg, int64_t begin, int64_t end, int thread) {
    const ct_scatter *s = arg;
    const conv_geometry *g = s->g;
    int64_t ohw = g->out_height * g->out_width, oc = g->out_channels;
    (void)thread;
    for (int64_t b = 0; b < g->batch; b++) {
        const float *ct = s->ct + b * ohw * oc;
        float *y = s->y + b * oc * ohw;
        const float *res = s->residual ? s->residual + b * oc * ohw : NULL;
        int64_t o0 = begin * CT_TILE, o1 = end * CT_TILE < oc ? end * CT_TILE : oc;
        for (int64_t t0 = o0; t0 < o1; t0 += CT_TILE) {
            int64_t t1 = t0 + CT_TILE < o1 ? t0 + CT_TILE : o1;
            for (int64_t p = 0; p < ohw; p++) {
                const float *row = ct + p * oc;
                if (res)
                    for (int64_t o = t0; o < t1; o++) y[o * ohw + p] = row[o] + res[o * ohw + p];
                else
                    for (int64_t o = t0; o < t1; o++) y[o * ohw + p] = row[o];
            }
        }
        if (res && s->act->kind != ACT_NONE) {
            gemm_epilogue ep = { NULL, 0, NULL, 0, *s->act };
            cpu_epilogue_isa(s->isa, y + o0 * ohw, o1 - o0, ohw, ohw, &ep, 0, 0);
        }
    }
}

void conv2d_ct(cpu_ctx *ctx, const conv_geometry *g, const float *x, const float *wt_packed, const float *b,
               const float *residual, const act_params *act, float *y, float *ct) {
    int64_t ohw = g->out_height * g->out_width, rows = g->batch * ohw;
    int64_t k = g->channels * g->kernel_h * g->kernel_w;
    if (rows == 0 || g->out_channels == 0) return;
    /* bias per output channel is a column of Cᵀ; the activation waits for the residual when there is one */
    gemm_epilogue ep = { b, 0, NULL, 0, *act };
    if (residual) ep.act = (act_params){ ACT_NONE, 0, 0 };
    conv_columns cols = { g, x, g->channels * g->height * g->width };
    gemm_b_source source = { conv_pack_columns, &cols };
    gemm_sourced_a_packed_b(ctx, rows, g->out_channels, k, &source, wt_packed, ct, g->out_channels, &ep);
    ct_scatter s = { g, ct, residual, act, y, ctx->isa };
    int64_t tiles = (g->out_channels + CT_TILE - 1) / CT_TILE;
    pool_parallel_for(ctx->pool, tiles, 1 + 1024 / (rows + 1), scatter_task, &s);
}
