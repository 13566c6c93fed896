/* conv2d_s8_layer.c — conv2d with an int8 per-channel weight (any groups): each image quantized to u8 per tensor
 * with the node's calibrated (in_scale, in_zero) (static) or its own range (dynamic), then the INT8 convolution
 * (conv2d_s8.c, conv2d_grouped_s8.c, conv2d_depthwise_s8.c) with f32 output, bias and act; in a chain of static
 * INT8 convolutions (runtime/cpu_int8_chain.c) input and output are u8 NHWC instead. */
#include <string.h>
#include "conv2d.h"
#include "s8_layer.h"
#include "../../base/error.h"

static size_t round64(size_t x) { return (x + 63) & ~(size_t)63; }

/* 1: depthwise (groups == channels == out_channels); 0: GEMM (groups 1, or groups dividing the output channels);
 * -1: neither (no INT8 kernel). */
static int depthwise_kind(const ir_node *n, const ir_tensor *w) {
    int groups = n->p.conv2d.groups;
    if (groups == 1) return 0;
    if (w->ndim == 4 && w->dims[1] == 1 && w->dims[0] == groups) return 1;
    return groups > 1 && w->ndim == 4 && w->dims[0] % groups == 0 ? 0 : -1;
}

/* Static groups-1 convolutions run on u8 NHWC input (conv2d_s8_nhwc.c), their weights packed in (kh, kw, c) order;
 * the others on u8 NCHW. */
static int uses_nhwc(const ir_node *n) { return n->p.conv2d.groups == 1 && n->p.conv2d.in_q.scale > 0.0f; }

static conv_s8_geometry image_geometry(const conv_geometry *c) {
    conv_s8_geometry g = { 1, c->channels, c->height, c->width, c->out_channels, c->out_height, c->out_width,
                           c->kernel_h, c->kernel_w, c->stride_h, c->stride_w, c->pad_h, c->pad_w, c->dilation_h,
                           c->dilation_w };
    return g;
}

size_t cpu_conv2d_s8_layer_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    (void)threads;
    if (in[0].ndim != 4 || in[1].ndim != 4 || out[0].ndim != 4) return 0;
    conv_geometry c;
    conv_geometry_of(n, in, out, &c);
    conv_s8_geometry g = image_geometry(&c);
    size_t image = round64((size_t)(c.channels * c.height * c.width));
    int depthwise = c.groups > 1 && c.channels == c.groups && c.out_channels == c.groups;
    if (c.groups < 1 || c.channels % c.groups || c.out_channels % c.groups) return 0;
    if (uses_nhwc(n))
        return 64 + round64((size_t)(c.height * c.width * cpu_conv2d_s8_nhwc_stride(c.channels))) +
               cpu_conv2d_s8_nhwc_workspace(&g);
    return 64 + image + (depthwise ? 0 : cpu_conv2d_grouped_s8_workspace(&g, c.groups, 0));
}

size_t cpu_conv2d_s8_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads) {
    (void)in, (void)threads;
    const ir_tensor *w = &g->tensors[n->in[1]];
    int dw = depthwise_kind(n, w);
    return w->ndim == 4 && dw >= 0 ? s8_weights_size(g, w, isa, dw, n->p.conv2d.groups) : 0;
}

void cpu_conv2d_s8_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads, void *dst) {
    (void)in, (void)threads;
    const ir_tensor *w = &g->tensors[n->in[1]];
    s8_weights_pack(g, w, isa, depthwise_kind(n, w), n->p.conv2d.groups, n->p.conv2d.in_q.scale > 0.0f, dst);
    s8_weights *h = dst;
    if (uses_nhwc(n) && w->ndim == 4) { /* the same block size: only the order of K differs */
        h->nhwc = 1;
        gemm_s8_pack_taps_last(h->path, w->dims[1], w->dims[2] * w->dims[3], w->dims[0], w->data, (void *)h->gemm);
    }
}

unsigned cpu_conv2d_s8_chain_caps(const ir_node *n, const void *packed) {
    const s8_weights *w = packed;
    if (!w || !w->is_static || !(n->p.conv2d.in_q.scale > 0.0f) || !(w->nhwc || (w->depthwise && w->dw_nhwc)))
        return 0;
    act_kind a = n->p.conv2d.act.kind;
    unsigned caps = S8_CHAIN_IN;
    if (a == ACT_NONE || a == ACT_RELU || a == ACT_CLIP) caps |= S8_CHAIN_OUT;
    if (w->nhwc) caps |= S8_CHAIN_RESIDUAL;
    if (w->depthwise) caps = caps & S8_CHAIN_OUT && !(n->n_in > 3 && n->in[3] != IR_NONE) ? caps | S8_CHAIN_PAIRED : 0;
    return caps;
}

/* Images [b, b + images) of a chained layer (images > 1: see all_images): u8 NHWC input (x, or f32 NCHW quantized
 * into xq) and u8 NHWC, f32 NHWC rows or f32 NCHW output. */
static void run_nhwc_image(cpu_ctx *ctx, const ir_node *n, const s8_weights *w, const conv_geometry *c,
                           const infer_tensor *in, infer_tensor *out, int64_t b, int64_t images, uint8_t *xq,
                           void *rest) {
    conv_s8_geometry g = image_geometry(c);
    g.batch = images;
    const act_quant *q = &n->p.conv2d.in_q;
    float scale = q->scale;
    int32_t zero = q->zero;
    int64_t hw = c->height * c->width, ohw = c->out_height * c->out_width;
    int64_t stride = cpu_conv2d_s8_nhwc_stride(c->channels), out_stride = cpu_conv2d_s8_nhwc_stride(c->out_channels);
    const float *bias = n->n_in > 2 ? in[2].data : NULL, *residual = n->n_in > 3 ? in[3].data : NULL;
    /* a u8 residual (chained), or an f32 one under a u8 output, is added in the GEMM's epilogue */
    gemm_s8_residual res = { NULL, out_stride, ctx->res_q.scale, ctx->res_q.zero, NULL, ohw, 0 };
    if (residual && in[3].dtype == INFER_U8) {
        res.q = (const uint8_t *)in[3].data + b * ohw * out_stride;
        residual = NULL;
    }
    const uint8_t *x = (const uint8_t *)in[0].data + b * hw * stride;
    if (in[0].dtype != INFER_U8) {
        stride = cpu_conv2d_s8_nhwc_input_stride(&g);
        s8_quantize_nhwc(ctx, c->channels, hw, (const float *)in[0].data + b * c->channels * hw, scale, zero, xq,
                         stride);
        x = xq;
    }
    if (out[0].dtype == INFER_U8) {
        gemm_s8_epilogue ep = { &scale, &zero, 0, w->w_scale, bias, 1, ctx->out_q.scale, ctx->out_q.zero,
                                n->p.conv2d.act };
        uint8_t *y = (uint8_t *)out[0].data + b * ohw * out_stride;
        if (residual) { /* NCHW planes, or NHWC rows (runtime/cpu_int8_chain.c) */
            res.f32 = residual + b * c->out_channels * ohw;
            res.f32_rows = ctx->res_f32_nhwc;
            if (res.f32_rows) res.ld_f32 = c->out_channels;
        }
        if (w->depthwise) cpu_conv2d_depthwise_s8_nhwc(ctx, w->path, &g, x, stride, w->dw_nhwc, &ep, y, out_stride);
        else cpu_conv2d_s8_nhwc_u8(ctx, &g, x, stride, w->gemm, &ep, y, out_stride, res.q || res.f32 ? &res : NULL,
                                   rest);
        return;
    }
    if (ctx->out_f32_nhwc) { /* f32 NHWC rows for a reader's residual: the tiles stored as they are */
        gemm_s8_epilogue ep = { &scale, &zero, 0, w->w_scale, bias, 0, 0.0f, 0, n->p.conv2d.act };
        cpu_conv2d_s8_nhwc_f32_rows(ctx, &g, x, stride, w->gemm, &ep, (float *)out[0].data + b * c->out_channels * ohw,
                                    rest);
        return;
    }
    /* static, groups 1, f32 NCHW out: residual and act fused into the output pass */
    act_params act = residual ? (act_params){ ACT_NONE, 0, 0 } : n->p.conv2d.act;
    act_params after = residual ? n->p.conv2d.act : (act_params){ ACT_NONE, 0, 0 };
    gemm_s8_epilogue ep = { &scale, &zero, 0, w->w_scale, bias, 0, 0.0f, 0, act };
    cpu_conv2d_s8_nhwc(ctx, &g, x, stride, w->gemm, &ep, residual ? residual + b * c->out_channels * ohw : NULL, after,
                       (float *)out[0].data + b * c->out_channels * ohw, res.q ? &res : NULL, rest);
}

/* A chained 1x1 stride-1 layer whose input, output and residual hold the images one after another as rows: one GEMM
 * over all images' positions (fuller tiles at 7x7 and 14x14; the same bytes). */
static int all_images(const cpu_ctx *ctx, const ir_node *n, const s8_weights *w, const conv_geometry *c,
                      const infer_tensor *in, const infer_tensor *out) {
    int f32_nchw_residual = n->n_in > 3 && in[3].data && in[3].dtype == INFER_F32 && !ctx->res_f32_nhwc;
    return in[0].dtype == INFER_U8 && !w->depthwise && (out[0].dtype == INFER_U8 || ctx->out_f32_nhwc) &&
           !f32_nchw_residual && c->kernel_h == 1 && c->kernel_w == 1 && c->stride_h == 1 && c->stride_w == 1 &&
           c->pad_h == 0 && c->pad_w == 0;
}

CPU_KERNEL(conv2d_s8_layer) {
    const s8_weights *w = ctx->prepacked;
    if (!w) return s8_weights_missing(n, err);
    int chained = in[0].dtype == INFER_U8 || out[0].dtype == INFER_U8;
    unsigned caps = cpu_conv2d_s8_chain_caps(n, w);
    int res_u8 = n->n_in > 3 && in[3].data && in[3].dtype == INFER_U8;
    if (in[0].ndim != 4 || in[1].ndim != 4 || out[0].ndim != 4 || (in[0].dtype != INFER_F32 && !(caps & S8_CHAIN_IN)) ||
        (out[0].dtype != INFER_F32 && !(caps & S8_CHAIN_OUT && ctx->out_q.scale > 0.0f)) ||
        (res_u8 && !(caps & S8_CHAIN_RESIDUAL && ctx->res_q.scale > 0.0f)) ||
        (w->depthwise && chained && (in[0].dtype != INFER_U8 || out[0].dtype != INFER_U8)) ||
        (ctx->out_f32_nhwc && (out[0].dtype != INFER_F32 || !w->nhwc || (n->n_in > 3 && in[3].data))) ||
        (ctx->res_f32_nhwc && (out[0].dtype != INFER_U8 || !w->nhwc || n->n_in <= 3 || in[3].dtype != INFER_F32)))
        return infer_fail(err, INFER_ERR_SHAPE, "conv2d '%s': the int8 kernel takes 4-D f32 (or chained u8 NHWC) input "
                          "and output (an f32 NHWC output or residual only on static groups-1 NHWC layers, without "
                          "a residual, under a u8 output)", n->name);
    conv_geometry c;
    conv_geometry_of(n, in, out, &c);
    if (c.out_channels != w->n || (w->depthwise ? c.channels != w->n
                                                : c.groups != w->groups || c.channels % c.groups ||
                                                      c.channels / c.groups * c.kernel_h * c.kernel_w != w->k))
        return infer_fail(err, INFER_ERR_SHAPE, "conv2d '%s': input and output do not match the int8 weight", n->name);
    const float *bias = n->n_in > 2 ? in[2].data : NULL, *residual = n->n_in > 3 ? in[3].data : NULL;
    int64_t ohw = c.out_height * c.out_width, in_image = c.channels * c.height * c.width;
    if ((bias && (in[2].dtype != INFER_F32 || infer_tensor_elements(&in[2]) != c.out_channels)) ||
        (residual && ((in[3].dtype != INFER_F32 && in[3].dtype != INFER_U8) ||
                      infer_tensor_elements(&in[3]) != infer_tensor_elements(&out[0]))))
        return infer_fail(err, INFER_ERR_SHAPE, "conv2d '%s': bias or residual does not match the output", n->name);
    if (ctx->workspace_bytes < cpu_conv2d_s8_layer_workspace(n, in, out, ctx->threads))
        return infer_fail(err, INFER_ERR_INTERNAL, "conv2d '%s': workspace too small", n->name);
    conv_s8_geometry g = image_geometry(&c);
    uint8_t *xq = (uint8_t *)(((uintptr_t)ctx->workspace + 63) & ~(uintptr_t)63);
    void *rest = xq + round64((size_t)in_image);
    const act_quant *q = &n->p.conv2d.in_q;
    act_params act = residual ? (act_params){ ACT_NONE, 0, 0 } : n->p.conv2d.act;
    if (w->nhwc || chained) { /* static, groups 1 (or a chained depthwise): NHWC bytes in */
        rest = xq + round64((size_t)(c.height * c.width * cpu_conv2d_s8_nhwc_stride(c.channels)));
        int64_t step = all_images(ctx, n, w, &c, in, out) ? c.batch : 1;
        for (int64_t b = 0; b < c.batch; b += step) run_nhwc_image(ctx, n, w, &c, in, out, b, step, xq, rest);
        return INFER_OK;
    }
    for (int64_t b = 0; b < c.batch; b++) {
        const float *x = (const float *)in[0].data + b * in_image;
        float scale = q->scale;
        int32_t zero = q->zero;
        if (scale > 0.0f) s8_quantize_rows(ctx, c.channels * c.height, c.width, x, c.width, scale, zero, xq, c.width);
        else quant_rows_u8_isa(ctx->isa, 1, in_image, x, in_image, xq, in_image, &scale, &zero);
        gemm_s8_epilogue ep = { &scale, &zero, 0, w->w_scale, bias, 0, 0.0f, 0, act };
        float *y = (float *)out[0].data + b * c.out_channels * ohw;
        if (w->depthwise) cpu_conv2d_depthwise_s8(ctx, w->path, &g, xq, w->dw, &ep, y);
        else if (w->groups == 1) cpu_conv2d_s8(ctx, &g, xq, w->gemm, &ep, y, rest);
        else cpu_conv2d_grouped_s8(ctx, &g, w->groups, xq, w->gemm, w->group_bytes, &ep, y, rest);
    }
    if (residual) {
        gemm_epilogue ep = { NULL, 0, residual, ohw, n->p.conv2d.act };
        cpu_apply_epilogue(out[0].data, c.batch * c.out_channels, ohw, ohw, &ep, 0, 0);
    }
    return INFER_OK;
}
