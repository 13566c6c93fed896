/* cpu_dw_strips.c — plans and runs the 1x1 + depthwise convolution pairs run together in strips (cpu_dw_strips.h). */
#include <string.h>
#include "cpu_dw_strips.h"
#include "../base/error.h"
#include "../kernels/cpu/conv2d_pw_dw.h"

/* Arena blocks of tensors a and b overlap (a tensor outside the arena, or a graph input, read from the caller's
 * memory, overlaps nothing). */
static int overlap(const infer_engine *e, int a, int b) {
    uint64_t oa = e->plan.offset[a], ob = e->plan.offset[b];
    if (oa == MEMPLAN_NOT_IN_ARENA || ob == MEMPLAN_NOT_IN_ARENA || e->graph.tensors[a].is_input ||
        e->graph.tensors[b].is_input)
        return 0;
    return oa < ob + e->tensor_bytes[b] && ob < oa + e->tensor_bytes[a];
}

/* t is read by node `reader` alone, as its input 0. */
static int only_reader(const ir_graph *g, int t, int reader) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == t && (i != reader || k != 0)) return 0;
    return 1;
}

/* Where strips paid when measured (bench/RESULTS.md "1x1 + depthwise in strips", bench/pw_dw_bench.c, 2 threads):
 * an intermediate of at least 4 MiB per image, 112x112x96 (alone 6% faster at batch 1, 11% at batch 8; in
 * mobilenet_v2 even). 56x56x144 (1.8 MiB) was even alone and 7-13% slower in efficientnet_b0; 28x28 and below 2-5%
 * slower (each thread's GEMM reads all the weights for few columns). This machine's 105 MiB L3 holds every
 * intermediate, so running apart reads it from L3, not from memory. */
#define STRIPS_MIN_BYTES ((int64_t)4 << 20)

static int pays(const infer_tensor *mid) {
    return mid->dims[1] * mid->dims[2] * mid->dims[3] * (int64_t)sizeof(float) >= STRIPS_MIN_BYTES;
}

int cpu_dw_strips_plan(const infer_engine *e, const cpu_kernel *const *kernels, const void *const *packed,
                       const uint8_t *u8_nhwc, int *strip_rows) {
    const ir_graph *g = &e->graph;
    int pairs = 0;
    for (int i = 0; i + 1 < g->n_nodes; i++) {
        const ir_node *pw = &g->nodes[i], *dw = &g->nodes[i + 1];
        if (pw->op != OP_CONV2D || dw->op != OP_CONV2D || kernels[i]->run != cpu_conv2d ||
            kernels[i + 1]->run != cpu_conv2d || packed[i + 1] || pw->n_out != 1)
            continue;
        int x = pw->in[0], mid = pw->out[0], y = dw->out[0];
        const ir_tensor *t = &g->tensors[mid];
        if (t->is_output || t->is_input || t->is_constant || dw->in[0] != mid || !only_reader(g, mid, i + 1) ||
            (u8_nhwc && (u8_nhwc[x] || u8_nhwc[mid] || u8_nhwc[y])) || overlap(e, x, mid) || overlap(e, x, y) ||
            overlap(e, mid, y))
            continue;
        for (int k = 1; k < pw->n_in && k < 3; k++)
            if (pw->in[k] != IR_NONE && (!g->tensors[pw->in[k]].is_constant ||
                                         g->tensors[pw->in[k]].storage.kind != IR_STORAGE_DENSE))
                goto next;
        for (int k = 1; k < dw->n_in && k < 3; k++)
            if (dw->in[k] != IR_NONE && (!g->tensors[dw->in[k]].is_constant ||
                                         g->tensors[dw->in[k]].storage.kind != IR_STORAGE_DENSE))
                goto next;
        infer_tensor pin[IR_MAX_INPUTS], pout[IR_MAX_OUTPUTS], din[IR_MAX_INPUTS], dout[IR_MAX_OUTPUTS];
        engine_node_views(e, pw, NULL, NULL, pin, pout);
        engine_node_views(e, dw, NULL, NULL, din, dout);
        if (!cpu_pw_dw_fits(pw, pin, pout, dw, din, dout) || !pays(&pout[0])) continue;
        strip_rows[i] = cpu_pw_dw_strip_rows(dw, din, dout, 0);
        pairs++;
        i++; /* the depthwise convolution is no 1x1 of the next pair */
    next:;
    }
    return pairs;
}

infer_status cpu_dw_strips_run(const infer_engine *e, cpu_ctx *ctx, int i, int strip_rows, engine_view_fn view,
                               const void *state, infer_error *err) {
    const ir_node *pw = &e->graph.nodes[i], *dw = &e->graph.nodes[i + 1];
    infer_tensor pin[IR_MAX_INPUTS], pout[IR_MAX_OUTPUTS], din[IR_MAX_INPUTS], dout[IR_MAX_OUTPUTS];
    engine_node_views(e, pw, view, state, pin, pout);
    engine_node_views(e, dw, view, state, din, dout);
    if (cpu_pw_dw_fits(pw, pin, pout, dw, din, dout))
        return cpu_pw_dw_run(ctx, pw, pin, pout, dw, din, dout, strip_rows, err);
    INFER_TRY(cpu_conv2d(ctx, pw, pin, pout, err));
    const void *pw_packed = ctx->prepacked;
    ctx->prepacked = NULL; /* the depthwise convolution's weights are not prepacked */
    infer_status s = cpu_conv2d(ctx, dw, din, dout, err);
    ctx->prepacked = pw_packed;
    return s;
}
