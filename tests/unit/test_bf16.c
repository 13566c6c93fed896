/* test_bf16.c — CPU BF16 precision: which CPUs get it and the refusals, the BF16 rounding, and the two BF16
 * tile kernels (AVX512-BF16, AMX-BF16) against each other. */
#include <math.h>
#include "engine_util.h"
#include "../../base/half.h"
#include "../../kernels/cpu/cpu_features.h"
#include "../../kernels/cpu/gemm_bf16.h"

static infer_model *linear_model(void) {
    ifg_writer *w = tw_new();
    static float weights[3 * 17];
    for (int i = 0; i < 3 * 17; i++) weights[i] = (float)((i * 7) % 11) - 5.0f;
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(2, 17)), y = tw_act(w, "y", INFER_F32, DIMS(2, 3));
    uint32_t wt = tw_const(w, "w", INFER_F32, DIMS(3, 17), weights);
    tw_node(w, OP_LINEAR, "fc", TW_IDS(x, wt), TW_IDS(y));
    tw_graph(w, TW_IDS(x), TW_IDS(y));
    return model_from_writer(w);
}

static infer_status create_bf16(const infer_model *m, infer_device device, infer_cpu_isa isa, infer_cpu_bf16 kernel,
                                infer_error *err) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = device;
    o.precision = INFER_PRECISION_BF16;
    o.cpu_isa = isa;
    o.cpu_bf16 = kernel;
    return engine_builds(m, &o, err);
}

Test(bf16, the_choice_of_kernels_follows_the_cpu_and_refuses_what_it_lacks) {
    int both = CPU_FEAT_AVX512_BF16 | CPU_FEAT_AMX_BF16;
    cr_expect_eq(cpu_bf16_choose(CPU_ISA_AVX512, both, INFER_CPU_BF16_AUTO), CPU_BF16_AMX_AUTO);
    cr_expect_eq(cpu_bf16_choose(CPU_ISA_AVX512, CPU_FEAT_AVX512_BF16, INFER_CPU_BF16_AUTO), CPU_BF16_AVX512);
    cr_expect_eq(cpu_bf16_choose(CPU_ISA_AVX512, CPU_FEAT_AMX_BF16, INFER_CPU_BF16_AUTO), CPU_BF16_AMX);
    cr_expect_eq(cpu_bf16_choose(CPU_ISA_AVX512, both, INFER_CPU_BF16_AVX512), CPU_BF16_AVX512);
    cr_expect_eq(cpu_bf16_choose(CPU_ISA_AVX512, both, INFER_CPU_BF16_AMX), CPU_BF16_AMX);
    /* an AVX-512 CPU without BF16 (Skylake-X, Ice Lake), or one forced below AVX-512, is refused */
    cr_expect_eq(cpu_bf16_choose(CPU_ISA_AVX512, CPU_FEAT_AVX512_VNNI, INFER_CPU_BF16_AUTO), -1);
    cr_expect_eq(cpu_bf16_choose(CPU_ISA_AVX2, both, INFER_CPU_BF16_AUTO), -1);
    cr_expect_eq(cpu_bf16_choose(CPU_ISA_SCALAR, both, INFER_CPU_BF16_AUTO), -1);
    cr_expect_eq(cpu_bf16_choose(CPU_ISA_AVX512, CPU_FEAT_AVX512_BF16, INFER_CPU_BF16_AMX), -1);
    cr_expect_eq(cpu_bf16_choose(CPU_ISA_AVX512, CPU_FEAT_AMX_BF16, INFER_CPU_BF16_AVX512), -1);
}

Test(bf16, engines_are_refused_with_a_clear_message_where_the_cpu_lacks_bf16) {
    infer_model *m = linear_model();
    infer_error err;
    /* forced below AVX-512: refused on every CPU */
    cr_expect_eq(create_bf16(m, INFER_DEVICE_CPU, INFER_CPU_ISA_AVX2, INFER_CPU_BF16_AUTO, &err), INFER_ERR_UNSUPPORTED);
    cr_expect(strstr(err.message, "precision bf16 needs a CPU with AVX512-BF16 or AMX-BF16") != NULL, "%s", err.message);
    cr_expect(strstr(err.message, "avx2") != NULL, "%s", err.message);
    cr_expect_eq(create_bf16(m, INFER_DEVICE_CPU, INFER_CPU_ISA_SCALAR, INFER_CPU_BF16_AMX, &err), INFER_ERR_UNSUPPORTED);
    cr_expect(strstr(err.message, "AMX-BF16") != NULL, "%s", err.message);
    cr_expect_eq(create_bf16(m, INFER_DEVICE_CPU, INFER_CPU_ISA_AUTO, (infer_cpu_bf16)9, &err), INFER_ERR_ARGUMENT);
    cr_expect_eq(create_bf16(m, INFER_DEVICE_CUDA, INFER_CPU_ISA_AUTO, INFER_CPU_BF16_AUTO, &err), INFER_ERR_UNSUPPORTED);
    cr_expect(strstr(err.message, "CPU only") != NULL, "%s", err.message);
    /* on this CPU: each forced kernel builds exactly when the CPU has it */
    int f = cpu_detect_features(), isa = cpu_detect_isa();
    infer_status s = create_bf16(m, INFER_DEVICE_CPU, INFER_CPU_ISA_AUTO, INFER_CPU_BF16_AVX512, &err);
    cr_expect_eq(s, isa >= CPU_ISA_AVX512 && (f & CPU_FEAT_AVX512_BF16) ? INFER_OK : INFER_ERR_UNSUPPORTED, "%s", err.message);
    s = create_bf16(m, INFER_DEVICE_CPU, INFER_CPU_ISA_AUTO, INFER_CPU_BF16_AMX, &err);
    cr_expect_eq(s, isa >= CPU_ISA_AVX512 && (f & CPU_FEAT_AMX_BF16) ? INFER_OK : INFER_ERR_UNSUPPORTED, "%s", err.message);
    cr_expect_str_eq(infer_precision_name(INFER_PRECISION_BF16), "bf16");
    infer_model_free(m);
}

static uint32_t next(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return *state;
}

static float uniform(uint32_t *state) { return (float)(next(state) >> 8) / 16777216.0f * 2.0f - 1.0f; }

Test(bf16, vector_rounding_matches_bf16_from_float) {
    if (cpu_detect_isa() < CPU_ISA_AVX512) cr_skip_test("no AVX-512 here");
    float src[64 + 5];
    uint32_t seed = 7;
    for (int i = 0; i < 69; i++) src[i] = uniform(&seed) * 1000.0f;
    const float special[] = { NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -1e-40f, 3.4e38f, -3.4e38f,
                              1.00390625f /* a tie: to even */, 1.01171875f /* a tie: up */ };
    memcpy(src, special, sizeof special);
    uint16_t row[96];
    bf16_convert_rows(1, 69, src, 69, row, 96);
    for (int i = 0; i < 69; i++) cr_expect_eq(row[i], bf16_from_float(src[i]), "element %d (%g)", i, src[i]);
    for (int i = 69; i < 96; i++) cr_expect_eq(row[i], 0, "padding %d", i);
    /* a sliver [K][32] into a panel: pairs (k, k+1) per column, zero past K */
    float sliver[37 * BF16_NR];
    for (int i = 0; i < 37 * BF16_NR; i++) sliver[i] = uniform(&seed);
    uint16_t panel[64 * BF16_NR];
    bf16_panel_from_sliver(37, sliver, panel);
    for (int p = 0; p < 32; p++)
        for (int j = 0; j < BF16_NR; j++)
            for (int h = 0; h < 2; h++) {
                int k = 2 * p + h;
                uint16_t want = k < 37 ? bf16_from_float(sliver[k * BF16_NR + j]) : 0;
                cr_expect_eq(panel[p * 2 * BF16_NR + 2 * j + h], want, "pair row %d column %d half %d", p, j, h);
            }
}

/* The two tile kernels sum the same exact BF16 products (a BF16 x BF16 product is exact in FP32) but in different
 * orders (AMX adds within its K step before the sum): each within FP32 summation error of the double sums, and of
 * each other (measured ~1e-7; not bit-exact). A CPU with AVX512-BF16 and no AMX (Zen 4) checks the one tile it has. */
Test(bf16, amx_and_avx512_bf16_tiles_agree_within_fp32_rounding) {
    int f = cpu_detect_features();
    if (cpu_detect_isa() < CPU_ISA_AVX512 || !(f & CPU_FEAT_AVX512_BF16))
        cr_skip_test("this CPU lacks AVX512-BF16 (the AMX tile is checked only beside it)");
    int amx = (f & CPU_FEAT_AMX_BF16) != 0;
    enum { K = 200, KP = 224, ROWS = 32, N = 29 };
    static float a32[ROWS * K], b32[K * N];
    static uint16_t a[ROWS * KP], panel[KP * BF16_NR];
    uint32_t seed = 11;
    for (int i = 0; i < ROWS * K; i++) a32[i] = uniform(&seed);
    for (int i = 0; i < K * N; i++) b32[i] = uniform(&seed);
    bf16_convert_rows(ROWS, K, a32, K, a, KP);
    bf16_pack_panels(K, N, b32, N, 1, panel);
    for (int rows = 1; rows <= ROWS; rows += 3) {
        float t1[BF16_MB * BF16_NR], t2[BF16_MB * BF16_NR];
        bf16_tile_avx512(rows, KP, a, KP, panel, t1);
        if (amx) {
            bf16_amx_configure();
            bf16_tile_amx(rows, KP, a, KP, panel, t2);
            bf16_amx_release();
        }
        double num = 0, den = 0, num2 = 0;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < N; j++) {
                double want = 0;
                for (int k = 0; k < K; k++)
                    want += (double)bf16_to_float(a[i * KP + k]) * bf16_to_float(bf16_from_float(b32[k * N + j]));
                num += (t1[i * BF16_NR + j] - want) * (t1[i * BF16_NR + j] - want);
                den += want * want;
                if (!amx) continue;
                num2 += (t2[i * BF16_NR + j] - want) * (t2[i * BF16_NR + j] - want);
                cr_expect_leq(fabs(t1[i * BF16_NR + j] - t2[i * BF16_NR + j]), 1e-5 * (1 + fabs(want)),
                              "rows %d: (%d, %d): %.9g vs %.9g", rows, i, j, t1[i * BF16_NR + j], t2[i * BF16_NR + j]);
            }
        if (amx) cr_expect(sqrt(num2 / den) < 1e-6, "AMX, rows %d: rel L2 %g against the double sums", rows, sqrt(num2 / den));
        /* against the same BF16 inputs summed in double: only FP32 summation error */
        cr_expect(sqrt(num / den) < 1e-6, "AVX512-BF16, rows %d: rel L2 %g against the double sums", rows, sqrt(num / den));
    }
}
