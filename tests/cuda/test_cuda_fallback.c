/* test_cuda_fallback.c — CUDA backend pieces that need no GPU: which nodes fall back to the CPU, broadcast
 * indexing, half conversion, the backend table and the device probe. */
#include <criterion/criterion.h>
#include <string.h>
#include "graph_builder.h"
#include "../../runtime/cuda/cuda_backend.h"
#include "../../kernels/cuda/dispatch.h"
#include "../../base/half.h"
#include "../../runtime/engine.h"
#include "../../kernels/cuda/cuda_kernels.h"

static ir_graph empty_graph(void) {
    ir_graph g;
    memset(&g, 0, sizeof g);
    return g;
}

Test(cuda_fallback, float_ops_run_on_cuda) {
    ir_graph g = empty_graph();
    static float w[8 * 3 * 3 * 3], b[8];
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 3, 16, 16)));
    int wt = gb_const(&g, "w", DIMS(8, 3, 3, 3), w), bt = gb_const(&g, "b", DIMS(8), b);
    int y = gb_act(&g, "y", DIMS(-1, 8, 14, 14));
    ir_node *n = gb_node(&g, OP_CONV2D, "conv", 3, (const int[]){ x, wt, bt }, 1, (const int[]){ y });
    n->p.conv2d.groups = 1;
    int z = gb_output(&g, gb_act(&g, "z", DIMS(-1, 8, 14, 14)));
    gb_unary(&g, OP_ACTIVATION, "relu", y, z)->p.activation.kind = ACT_RELU;
    char why[256];
    for (int fp16 = 0; fp16 < 2; fp16++) {
        for (int i = 0; i < g.n_nodes; i++)
            cr_expect(cuda_node_supported(&g, &g.nodes[i], fp16, why, sizeof why), "node %d: %s", i, why);
        int fb[2];
        cr_expect_eq(cuda_plan_fallback(&g, fp16, fb, why, sizeof why), 0);
        cr_expect_eq(fb[0] + fb[1], 0);
    }
    ir_free(&g);
}

Test(cuda_fallback, integer_arithmetic_and_bf16_fall_back) {
    ir_graph g = empty_graph();
    int a = gb_input(&g, gb_tensor(&g, "a", INFER_I64, DIMS(-1, 4)));
    int b = gb_input(&g, gb_tensor(&g, "b", INFER_I64, DIMS(-1, 4)));
    int s = gb_tensor(&g, "s", INFER_I64, DIMS(-1, 4));
    gb_node(&g, OP_BINARY, "add_ids", 2, (const int[]){ a, b }, 1, (const int[]){ s });
    int h = gb_input(&g, gb_tensor(&g, "h", INFER_BF16, DIMS(-1, 4)));
    int r = gb_output(&g, gb_tensor(&g, "r", INFER_BF16, DIMS(-1, 4)));
    gb_unary(&g, OP_ACTIVATION, "bf16_relu", h, r)->p.activation.kind = ACT_RELU;
    int m = gb_output(&g, gb_tensor(&g, "m", INFER_BOOL, DIMS(-1, 4)));
    gb_node(&g, OP_COMPARE, "eq", 2, (const int[]){ s, a }, 1, (const int[]){ m });
    char why[256];
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[0], 0, why, sizeof why), 0);
    cr_expect(strstr(why, "i64"), "reason: %s", why);
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[1], 0, why, sizeof why), 0);
    cr_expect(strstr(why, "bf16"), "reason: %s", why);
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[2], 0, why, sizeof why), 1, "compare of i64: %s", why);
    int fb[3];
    cr_expect_eq(cuda_plan_fallback(&g, 0, fb, why, sizeof why), 2);
    cr_expect(fb[0] && fb[1] && !fb[2]);
    cr_expect(strstr(why, "add_ids"), "first reason: %s", why);
    ir_free(&g);
}

Test(cuda_fallback, attention_head_size_and_masks) {
    ir_graph g = empty_graph();
    int q = gb_input(&g, gb_act(&g, "q", DIMS(-1, 7, 1024)));
    int y = gb_output(&g, gb_act(&g, "y", DIMS(-1, 7, 1024)));
    ir_node *n = gb_node(&g, OP_ATTENTION, "att", 3, (const int[]){ q, q, q }, 1, (const int[]){ y });
    n->p.attention.heads = 2; /* head size 512 */
    char why[256];
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[0], 0, why, sizeof why), 0);
    cr_expect(strstr(why, "head size"), "reason: %s", why);
    g.nodes[0].p.attention.heads = 8; /* 128 */
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[0], 0, why, sizeof why), 1, "%s", why);
    int mask = gb_tensor(&g, "mask", INFER_BOOL, DIMS(7, 7));
    g.nodes[0].in[3] = mask;
    g.nodes[0].n_in = 4;
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[0], 1, why, sizeof why), 1, "bool mask: %s", why);
    ir_free(&g);
}

Test(cuda_fallback, embedding_ids_and_mixed_floats) {
    ir_graph g = empty_graph();
    static float w[10 * 4];
    int ids = gb_input(&g, gb_act(&g, "ids", DIMS(-1, 5))); /* f32 ids: not allowed */
    int wt = gb_const(&g, "w", DIMS(10, 4), w);
    int y = gb_output(&g, gb_act(&g, "y", DIMS(-1, 5, 4)));
    gb_node(&g, OP_EMBEDDING, "emb", 2, (const int[]){ ids, wt }, 1, (const int[]){ y });
    char why[256];
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[0], 0, why, sizeof why), 0);
    g.tensors[ids].dtype = INFER_I64;
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[0], 0, why, sizeof why), 1, "%s", why);
    /* an f16 table with an f32 output: mixed in fp32, one dtype (f16) in fp16 */
    g.tensors[wt].dtype = INFER_F16;
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[0], 0, why, sizeof why), 0);
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[0], 1, why, sizeof why), 1, "%s", why);
    g.tensors[wt].dtype = INFER_F32;
    ir_free(&g);
}

Test(cuda_fallback, lstm_input_layout) {
    ir_graph g = empty_graph();
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 5, 3)));
    static float w[64];
    int wi = gb_const(&g, "wi", DIMS(8, 3), w), wh = gb_const(&g, "wh", DIMS(8, 2), w);
    int y = gb_output(&g, gb_act(&g, "y", DIMS(-1, 5, 2)));
    int hn = gb_act(&g, "hn", DIMS(1, -1, 2)), cn = gb_act(&g, "cn", DIMS(1, -1, 2));
    ir_node *n = gb_node(&g, OP_LSTM, "lstm", 7, (const int[]){ x, IR_NONE, IR_NONE, wi, wh, IR_NONE, IR_NONE }, 3,
                         (const int[]){ y, hn, cn });
    n->p.lstm.hidden = 2;
    n->p.lstm.layers = 1;
    n->p.lstm.batch_first = 1;
    char why[256];
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[0], 0, why, sizeof why), 1, "%s", why);
    g.nodes[0].p.lstm.layers = 2; /* 7 inputs (x, h0, c0, one layer's 4) cannot hold 2 layers */
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[0], 0, why, sizeof why), 0);
    ir_free(&g);
}

Test(cuda_fallback, dev_dtype) {
    cr_expect_eq(cuda_dev_dtype(INFER_F32, 0), INFER_F32);
    cr_expect_eq(cuda_dev_dtype(INFER_F32, 1), INFER_F16);
    cr_expect_eq(cuda_dev_dtype(INFER_I64, 1), INFER_I64);
    cr_expect_eq(cuda_dev_dtype(INFER_BOOL, 1), INFER_BOOL);
}

static int bc(cuda_bcast *b, int ond, const int64_t *od, int n, const int *nd, const int64_t (*d)[INFER_MAX_DIMS]) {
    return cuda_bcast_build(b, ond, od, n, nd, d);
}

Test(cuda_bcast, merges_and_strides) {
    cuda_bcast b;
    /* same shapes collapse to one contiguous dim */
    int64_t od[3] = { 2, 3, 4 };
    int64_t d[2][INFER_MAX_DIMS] = { { 2, 3, 4 }, { 2, 3, 4 } };
    cr_assert(bc(&b, 3, od, 2, (const int[]){ 3, 3 }, (const int64_t (*)[INFER_MAX_DIMS])d));
    cr_expect_eq(b.ndim, 1);
    cr_expect_eq(b.dims[0], 24);
    cr_expect_eq(b.st[0][0], 1);
    cr_expect_eq(b.st[1][0], 1);
    /* bias-like [4] against [2,3,4]: one dim of 6 broadcast, one of 4 */
    int64_t d2[2][INFER_MAX_DIMS] = { { 2, 3, 4 }, { 4 } };
    cr_assert(bc(&b, 3, od, 2, (const int[]){ 3, 1 }, (const int64_t (*)[INFER_MAX_DIMS])d2));
    cr_expect_eq(b.ndim, 2);
    cr_expect_eq(b.dims[0], 6);
    cr_expect_eq(b.dims[1], 4);
    cr_expect_eq(b.st[0][0], 4);
    cr_expect_eq(b.st[1][0], 0);
    cr_expect_eq(b.st[1][1], 1);
    /* [3,1] against [2,3,4] */
    int64_t d3[2][INFER_MAX_DIMS] = { { 2, 3, 4 }, { 3, 1 } };
    cr_assert(bc(&b, 3, od, 2, (const int[]){ 3, 2 }, (const int64_t (*)[INFER_MAX_DIMS])d3));
    cr_expect_eq(b.ndim, 3);
    cr_expect_eq(b.st[1][0], 0);
    cr_expect_eq(b.st[1][1], 1);
    cr_expect_eq(b.st[1][2], 0);
    /* scalar input */
    int64_t d4[1][INFER_MAX_DIMS] = { { 0 } };
    cr_assert(bc(&b, 3, od, 1, (const int[]){ 0 }, (const int64_t (*)[INFER_MAX_DIMS])d4));
    cr_expect_eq(b.ndim, 1);
    cr_expect_eq(b.st[0][0], 0);
    /* not broadcastable */
    int64_t d5[1][INFER_MAX_DIMS] = { { 5 } };
    cr_expect_eq(bc(&b, 3, od, 1, (const int[]){ 1 }, (const int64_t (*)[INFER_MAX_DIMS])d5), 0);
}

Test(cuda_half, conversions) {
    cr_expect_eq(half_from_float(1.0f), 0x3C00);
    cr_expect_eq(half_from_float(-2.0f), 0xC000);
    cr_expect_eq(half_from_float(65504.0f), 0x7BFF);
    cr_expect_eq(half_from_float(1e6f), 0x7C00);
    cr_expect_eq(half_from_float_sat(1e6f), 0x7BFF);
    cr_expect_eq(half_from_float_sat(-1e9f), 0xFBFF);
    cr_expect_eq(half_from_float_sat(-INFINITY), 0xFC00);
    cr_expect_eq(half_from_float(5.9604645e-8f), 0x0001);
    cr_expect_eq(half_to_float(0x3555), 0.33325195f);
    for (unsigned h = 0; h < 65536; h++) {
        float f = half_to_float((uint16_t)h);
        if (f == f) cr_assert_eq(half_from_float(f), h, "half %04x", h);
    }
}

Test(cuda_backend, table_and_probe) {
    const backend_ops *ops = cuda_backend_get();
    cr_assert_not_null(ops);
    cr_expect_str_eq(ops->name, "cuda");
    cr_expect_eq(ops->device, INFER_DEVICE_CUDA);
    cr_expect(ops->create && ops->run && ops->destroy && ops->stats && ops->node_device && ops->usable);
    cr_expect(ops->caps.fuse_conv_act && ops->caps.fuse_linear_act && ops->caps.fuse_residual);
    char why[512] = "";
    int ok = cuda_device_usable(why, sizeof why);
    cr_expect(why[0], "the probe gives a reason or a description");
    cr_log_info("cuda_device_usable: %d (%s)", ok, why);
    cr_expect_str_eq(cuda_engine_warnings(NULL), "");
}

/* A weight stored int8 per tensor: no CUDA kernel takes it, and the reason names input and storage. */
Test(cuda_fallback, storage_without_a_kernel_falls_back) {
    ir_graph g = empty_graph();
    static float w[12];
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 3)));
    int wt = gb_const(&g, "fc.weight", DIMS(4, 3), w);
    int y = gb_output(&g, gb_act(&g, "y", DIMS(-1, 4)));
    gb_node(&g, OP_LINEAR, "fc", 2, (const int[]){ x, wt }, 1, (const int[]){ y });
    char why[256];
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[0], 0, why, sizeof why), 1, "dense: %s", why);
    g.tensors[wt].storage =
        (ir_storage){ .kind = IR_STORAGE_INT8_TENSOR, .scale = 0.5f, .aux = { IR_NONE, IR_NONE, IR_NONE } };
    cr_expect_eq(cuda_node_supported(&g, &g.nodes[0], 0, why, sizeof why), 0);
    cr_expect(strstr(why, "input 1 'fc.weight' stored as int8 per-tensor"), "reason: %s", why);
    ir_free(&g);
}
