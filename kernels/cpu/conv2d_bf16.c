/* conv2d_bf16.c — conv2d at BF16 precision: weights prepacked as BF16 rows per group at engine build, the im2col
 * columns of the whole batch packed from the image and rounded to BF16 per panel, FP32 sums and epilogue. */
#include "conv2d.h"
#include "gemm_bf16.h"
#include "../../base/error.h"
#include "../../base/half.h"

/* Rows (output channels) and K (input channels x taps) of one group. */
static int64_t group_rows(const infer_tensor *w, int groups) { return w->dims[0] / groups; }
static int64_t group_k(const infer_tensor *w) { return w->dims[1] * w->dims[2] * w->dims[3]; }

int cpu_conv2d_bf16_takes(const ir_graph *g, const ir_node *n) {
    if (!cpu_bf16_constant_weight(g, n, 1) || g->tensors[n->in[0]].dtype != INFER_F32) return 0;
    const ir_tensor *x = &g->tensors[n->in[0]], *w = &g->tensors[n->in[1]];
    int groups = n->p.conv2d.groups;
    if (w->ndim != 4 || x->ndim != 4 || groups < 1 || w->dims[0] % groups || w->dims[0] < groups) return 0;
    if (groups > 1 && groups == x->dims[1]) return 0; /* depthwise: its FP32 kernel reads few weights */
    int64_t k = w->dims[1] * w->dims[2] * w->dims[3];
    return k > 0 && k <= BF16_SOURCED_MAX_K;
}

static int prepacks_weight(const ir_node *n, int k) {
    (void)n;
    return k == 1;
}

static size_t prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    (void)isa;
    int groups = n->p.conv2d.groups;
    int64_t rows = bf16_round_up(group_rows(&in[1], groups), BF16_ROWS_PAD), kp = bf16_round_up(group_k(&in[1]), BF16_KB);
    return (size_t)(groups * rows * kp) * sizeof(uint16_t);
}

/* Per group: its rows of w [og, Cg*kh*kw] in BF16, kp wide, zero rows up to a multiple of BF16_ROWS_PAD. */
static void prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    (void)isa;
    int groups = n->p.conv2d.groups;
    int64_t og = group_rows(&in[1], groups), k = group_k(&in[1]);
    int64_t rows = bf16_round_up(og, BF16_ROWS_PAD), kp = bf16_round_up(k, BF16_KB);
    uint16_t *d = dst;
    const float *w = in[1].data;
    for (int gi = 0; gi < groups; gi++, d += rows * kp) {
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < kp; c++)
                d[r * kp + c] = r < og && c < k ? bf16_from_float(w[(gi * og + r) * k + c]) : 0;
    }
}

static int is_pointwise(const conv_geometry *g) {
    return g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 0 &&
           g->pad_w == 0;
}

static int fits(const cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, const infer_tensor *out) {
    int groups = n->p.conv2d.groups;
    const infer_tensor *x = &in[0], *w = &in[1], *y = &out[0];
    if (!ctx->prepacked || x->dtype != INFER_F32 || x->ndim != 4 || w->ndim != 4 || y->ndim != 4 || groups < 1 ||
        x->dims[1] != w->dims[1] * groups || y->dims[1] != w->dims[0] || w->dims[0] % groups || y->dims[0] != x->dims[0] ||
        group_k(w) > BF16_SOURCED_MAX_K)
        return 0;
    const conv2d_params *p = &n->p.conv2d;
    if (p->stride[0] < 1 || p->stride[1] < 1 || p->dilation[0] < 1 || p->dilation[1] < 1 || p->padding[0] < 0 ||
        p->padding[1] < 0)
        return 0;
    if (n->n_in > 2 && in[2].data && (in[2].dtype != INFER_F32 || infer_tensor_elements(&in[2]) != y->dims[1])) return 0;
    if (n->n_in > 3 && in[3].data && (in[3].dtype != INFER_F32 || infer_tensor_elements(&in[3]) != infer_tensor_elements(y)))
        return 0;
    return 1;
}

static infer_status run(cpu_ctx *ctx, int mode, const ir_node *n, const infer_tensor *in, infer_tensor *out, infer_error *err) {
    if (!fits(ctx, n, in, out)) {
        cpu_ctx fp32 = *ctx; /* the FP32 kernel names what is wrong */
        fp32.prepacked = NULL;
        return cpu_conv2d(&fp32, n, in, out, err);
    }
    conv_geometry g;
    conv_geometry_of(n, in, out, &g);
    const float *bias = n->n_in > 2 ? in[2].data : NULL, *residual = n->n_in > 3 ? in[3].data : NULL;
    int64_t ohw = g.out_height * g.out_width, cg = g.channels / g.groups, og = g.out_channels / g.groups;
    int64_t kg = cg * g.kernel_h * g.kernel_w, kp = bf16_round_up(kg, BF16_KB), rows = bf16_round_up(og, BF16_ROWS_PAD);
    if (ohw == 0 || g.batch == 0) return INFER_OK;
    for (int64_t gi = 0; gi < g.groups; gi++) {
        gemm_epilogue ep = { bias ? bias + gi * og : NULL, 1, residual ? residual + gi * og * ohw : NULL, ohw,
                             n->p.conv2d.act };
        conv_columns cols = { &g, (const float *)in[0].data + gi * cg * g.height * g.width, g.channels * g.height * g.width };
        bf16_sink sink = { (float *)out[0].data + gi * og * ohw, ohw, ohw, g.out_channels * ohw, &ep, ctx->isa };
        bf16_gemm_sourced_b(ctx, mode, og, g.batch * ohw, kg, (const uint16_t *)ctx->prepacked + gi * rows * kp,
                            is_pointwise(&g) ? conv_pack_pointwise : conv_pack_columns, &cols, &sink);
    }
    return INFER_OK;
}

/* one kernel per BF16 mode (gemm_bf16.h) */
BF16_KERNELS(cpu_conv2d_bf16_kernels, run,
             .prepack_input = prepacks_weight,
             .prepack_size = prepack_size,
             .prepack = prepack)
