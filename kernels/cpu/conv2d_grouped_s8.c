/* conv2d_grouped_s8.c — grouped INT8 convolution (groups > 1, e.g. ResNeXt, ShuffleNet): per image and group,
 * cpu_conv2d_s8 on the group's input channels with the group's packed weights and its slice of the per-channel
 * weight scales and bias. */
#include "gemm_s8_internal.h"

/* One image of one group: channels and out_channels divided by the groups. */
static conv_s8_geometry group_geometry(const conv_s8_geometry *g, int64_t groups) {
    conv_s8_geometry q = *g;
    q.batch = 1;
    q.channels = g->channels / groups;
    q.out_channels = g->out_channels / groups;
    return q;
}

size_t cpu_conv2d_grouped_s8_workspace(const conv_s8_geometry *g, int64_t groups, int out_u8) {
    conv_s8_geometry q = group_geometry(g, groups);
    return cpu_conv2d_s8_workspace(&q, out_u8);
}

void cpu_conv2d_grouped_s8(cpu_ctx *ctx, const conv_s8_geometry *g, int64_t groups, const uint8_t *x,
                           const void *packed_w, size_t group_bytes, const gemm_s8_epilogue *ep, void *y,
                           void *workspace) {
    conv_s8_geometry q = group_geometry(g, groups);
    int64_t in_group = q.channels * g->height * g->width, out_group = q.out_channels * g->out_height * g->out_width;
    size_t elem = ep->out_u8 ? 1 : sizeof(float);
    for (int64_t b = 0; b < g->batch; b++)
        for (int64_t k = 0; k < groups; k++) {
            gemm_s8_epilogue e = *ep;
            e.w_scale = ep->w_scale + k * q.out_channels;
            e.bias = ep->bias ? ep->bias + k * q.out_channels : NULL;
            const uint8_t *xg = x + (b * groups + k) * in_group;
            uint8_t *yg = (uint8_t *)y + (size_t)((b * groups + k) * out_group) * elem;
            cpu_conv2d_s8(ctx, &q, xg, (const uint8_t *)packed_w + (size_t)k * group_bytes, &e, yg, workspace);
        }
}
