/* test_cuda_plans.c — CUDA backend planning that needs no GPU: which tensors FP16 keeps in f32, and the warnings buffer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "graph_builder.h"
#include "../../runtime/cuda/cuda_dtypes.h"
#include "../../runtime/cuda/cuda_warn.h"

static ir_graph empty_graph(void) {
    ir_graph g;
    memset(&g, 0, sizeof g);
    return g;
}

/* ids [-1,6] i64 -> cast f32 -> + 2048 -> cast i64 -> embedding -> y: the positions chain stays f32 in FP16 */
Test(cuda_dtypes, integer_valued_chain_stays_f32) {
    ir_graph g = empty_graph();
    static float table[4096 * 8];
    int ids = gb_input(&g, gb_tensor(&g, "ids", INFER_I64, DIMS(-1, 6)));
    int pf = gb_act(&g, "pf", DIMS(-1, 6)), pp = gb_act(&g, "pp", DIMS(-1, 6));
    int pi = gb_tensor(&g, "pi", INFER_I64, DIMS(-1, 6));
    int tb = gb_const(&g, "table", DIMS(4096, 8), table);
    int y = gb_output(&g, gb_act(&g, "y", DIMS(-1, 6, 8)));
    gb_unary(&g, OP_CAST, "to_f32", ids, pf);
    ir_node *add = gb_unary(&g, OP_BINARY, "shift", pf, pp);
    add->p.binary.kind = BIN_ADD;
    add->p.binary.scalar = 2048.0f;
    gb_unary(&g, OP_CAST, "to_i64", pp, pi);
    gb_node(&g, OP_EMBEDDING, "emb", 2, (const int[]){ pi, tb }, 1, (const int[]){ y });
    int fb[4] = { 0 };
    infer_dtype ddt[8];
    char why[256];
    cr_expect_eq(cuda_plan_dtypes(&g, 1, fb, ddt, why, sizeof why), 0, "%s", why);
    cr_expect_eq(ddt[pf], INFER_F32, "the cast's f32 output feeds an index: f32");
    cr_expect_eq(ddt[pp], INFER_F32);
    cr_expect_eq(ddt[pi], INFER_I64);
    cr_expect_eq(ddt[tb], INFER_F16, "the table is a computed float: half");
    cr_expect_eq(ddt[y], INFER_F16);
    cr_expect_eq(fb[0] + fb[1] + fb[2] + fb[3], 0);
    /* without FP16 nothing changes */
    cr_expect_eq(cuda_plan_dtypes(&g, 0, fb, ddt, why, sizeof why), 0);
    for (int t = 0; t < g.n_tensors; t++) cr_expect_eq(ddt[t], g.tensors[t].dtype);
    ir_free(&g);
}

/* x -> linear -> h -> compare (h > 0, h > a constant): h is a computed float, not an index: half, and so
 * is the constant it is compared with; nothing runs on the CPU */
Test(cuda_dtypes, computed_floats_stay_half) {
    ir_graph g = empty_graph();
    static float w[4 * 4], half_const[4] = { 0.5f, 0.5f, 0.5f, 0.5f };
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4)));
    int wt = gb_const(&g, "w", DIMS(4, 4), w), ct = gb_const(&g, "c", DIMS(4), half_const);
    int h = gb_act(&g, "h", DIMS(-1, 4));
    int m = gb_output(&g, gb_tensor(&g, "m", INFER_BOOL, DIMS(-1, 4)));
    int m2 = gb_output(&g, gb_tensor(&g, "m2", INFER_BOOL, DIMS(-1, 4)));
    gb_node(&g, OP_LINEAR, "fc", 2, (const int[]){ x, wt }, 1, (const int[]){ h });
    ir_node *c = gb_unary(&g, OP_COMPARE, "pos", h, m);
    c->p.compare.kind = CMP_GT;
    gb_node(&g, OP_COMPARE, "above", 2, (const int[]){ h, ct }, 1, (const int[]){ m2 })->p.compare.kind = CMP_GT;
    int fb[3] = { 0 };
    infer_dtype ddt[8];
    cr_expect_eq(cuda_plan_dtypes(&g, 1, fb, ddt, NULL, 0), 0);
    cr_expect_eq(ddt[h], INFER_F16);
    cr_expect_eq(ddt[x], INFER_F16);
    cr_expect_eq(ddt[ct], INFER_F16, "compared with a computed value: half like it");
    cr_expect_eq(fb[0] + fb[1] + fb[2], 0);
    ir_free(&g);
}

/* mask i64 -> cast f32 -> * -1e9 -> attention mask: f32 in FP16 (q, k, v half); a linear also reading the
 * f32 chain cannot mix dtypes and runs on the CPU */
Test(cuda_dtypes, attention_mask_chain_and_mixed_consumer) {
    ir_graph g = empty_graph();
    static float w[6 * 6];
    int q = gb_input(&g, gb_act(&g, "q", DIMS(-1, 6, 8)));
    int mi = gb_input(&g, gb_tensor(&g, "mi", INFER_I64, DIMS(6, 6)));
    int mf = gb_act(&g, "mf", DIMS(6, 6)), am = gb_act(&g, "am", DIMS(6, 6));
    int y = gb_output(&g, gb_act(&g, "y", DIMS(-1, 6, 8)));
    int wt = gb_const(&g, "w", DIMS(6, 6), w);
    int z = gb_output(&g, gb_act(&g, "z", DIMS(6, 6)));
    gb_unary(&g, OP_CAST, "to_f32", mi, mf);
    ir_node *mul = gb_unary(&g, OP_BINARY, "scale", mf, am);
    mul->p.binary.kind = BIN_MUL;
    mul->p.binary.scalar = -1e9f;
    ir_node *att = gb_node(&g, OP_ATTENTION, "att", 4, (const int[]){ q, q, q, am }, 1, (const int[]){ y });
    att->p.attention.heads = 2;
    gb_node(&g, OP_LINEAR, "fc", 2, (const int[]){ mf, wt }, 1, (const int[]){ z });
    int fb[4] = { 0 };
    infer_dtype ddt[8];
    char why[256];
    cr_expect_eq(cuda_plan_dtypes(&g, 1, fb, ddt, why, sizeof why), 1);
    cr_expect_eq(ddt[mf], INFER_F32);
    cr_expect_eq(ddt[am], INFER_F32);
    cr_expect_eq(ddt[q], INFER_F16);
    cr_expect_eq(ddt[y], INFER_F16);
    cr_expect_eq(fb[2], 0, "attention reads an f32 mask with half q, k, v");
    cr_expect_eq(fb[3], 1, "the linear reading the f32 chain runs on the CPU");
    cr_expect(strstr(why, "fc"), "why: %s", why);
    ir_free(&g);
}

/* an f32 chain meeting a half tensor in an elementwise op: the op takes f32 throughout */
Test(cuda_dtypes, elementwise_meeting_spreads_f32) {
    ir_graph g = empty_graph();
    int ids = gb_input(&g, gb_tensor(&g, "ids", INFER_I64, DIMS(-1, 4)));
    int x = gb_input(&g, gb_act(&g, "x", DIMS(-1, 4)));
    int pf = gb_act(&g, "pf", DIMS(-1, 4)), s = gb_act(&g, "s", DIMS(-1, 4));
    int pi = gb_output(&g, gb_tensor(&g, "pi", INFER_I64, DIMS(-1, 4)));
    int r = gb_output(&g, gb_act(&g, "r", DIMS(-1, 4)));
    gb_unary(&g, OP_CAST, "to_f32", ids, pf);
    gb_unary(&g, OP_CAST, "to_i64", pf, pi);
    gb_node(&g, OP_BINARY, "add", 2, (const int[]){ pf, x }, 1, (const int[]){ s })->p.binary.kind = BIN_ADD;
    gb_unary(&g, OP_ACTIVATION, "relu", s, r)->p.activation.kind = ACT_RELU;
    int fb[4] = { 0 };
    infer_dtype ddt[8];
    cr_expect_eq(cuda_plan_dtypes(&g, 1, fb, ddt, NULL, 0), 0);
    cr_expect_eq(ddt[pf], INFER_F32);
    cr_expect_eq(ddt[x], INFER_F32, "the other input of the add");
    cr_expect_eq(ddt[s], INFER_F32);
    cr_expect_eq(ddt[r], INFER_F32, "and on along the chain");
    ir_free(&g);
}

Test(cuda_warn, once_each_and_a_marker_when_full) {
    char buf[160 + 8];
    memset(buf, 0x5A, sizeof buf);
    buf[0] = 0;
    cr_expect_eq(cuda_warnings_add(buf, 160, "cuDNN refused algo 1"), 1);
    cr_expect_eq(cuda_warnings_add(buf, 160, "cuDNN refused algo 1"), 0, "a repeated line is not added");
    cr_expect_eq(cuda_warnings_add(buf, 160, "graph capture failed\nsecond line"), 1);
    cr_expect_str_eq(buf, "cuDNN refused algo 1\ngraph capture failed\n");
    int added = 0;
    for (int i = 0; i < 20; i++) {
        char line[64];
        snprintf(line, sizeof line, "warning number %d", i);
        added += cuda_warnings_add(buf, 160, line);
    }
    cr_expect_lt(added, 20);
    cr_expect(strstr(buf, CUDA_WARN_TRUNCATED "\n") != NULL, "the marker: %s", buf);
    cr_expect_eq(strstr(strstr(buf, CUDA_WARN_TRUNCATED) + 1, CUDA_WARN_TRUNCATED), NULL, "the marker once");
    cr_expect_lt(strlen(buf), 160);
    for (size_t i = 160; i < sizeof buf; i++) cr_expect_eq((unsigned char)buf[i], 0x5A, "nothing written past the end");
    cr_expect_eq(cuda_warnings_add(buf, 160, "later"), 0, "dropped after the marker");
}
