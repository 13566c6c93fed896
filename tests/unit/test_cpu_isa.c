/* test_cpu_isa.c — the engine option that forces the CPU kernels' instruction set. */
#include "engine_util.h"
#include "../../kernels/cpu/cpu_kernels.h"

static infer_model *relu_model(void) {
    ifg_writer *w = tw_new();
    uint32_t x = tw_act(w, "x", INFER_F32, DIMS(2, 17)), y = tw_act(w, "y", INFER_F32, DIMS(2, 17));
    tw_node(w, OP_ACTIVATION, "relu", TW_IDS(x), TW_IDS(y));
    ifg_writer_attr_int(w, "kind", ACT_RELU);
    tw_graph(w, TW_IDS(x), TW_IDS(y));
    return model_from_writer(w);
}

static infer_status create_with_isa(const infer_model *m, infer_cpu_isa isa, infer_error *err) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.cpu_isa = isa;
    return engine_builds(m, &o, err);
}

Test(cpu_isa, every_isa_the_cpu_runs_builds_and_the_others_are_refused) {
    infer_model *m = relu_model();
    int best = cpu_detect_isa();
    infer_error err;
    cr_expect_eq(create_with_isa(m, INFER_CPU_ISA_AUTO, &err), INFER_OK, "%s", err.message);
    for (int isa = CPU_ISA_SCALAR; isa <= CPU_ISA_AVX512; isa++) {
        infer_status s = create_with_isa(m, (infer_cpu_isa)(isa + 1), &err);
        if (isa <= best) {
            cr_expect_eq(s, INFER_OK, "%s: %s", infer_cpu_isa_name((infer_cpu_isa)(isa + 1)), err.message);
        } else {
            cr_expect_eq(s, INFER_ERR_UNSUPPORTED, "%s", infer_cpu_isa_name((infer_cpu_isa)(isa + 1)));
            cr_expect(strstr(err.message, "cannot run it") != NULL, "%s", err.message);
        }
    }
    cr_expect_eq(create_with_isa(m, (infer_cpu_isa)7, &err), INFER_ERR_ARGUMENT);
    cr_expect(strstr(err.message, "cpu_isa 7") != NULL, "%s", err.message);
    infer_model_free(m);
}

Test(cpu_isa, names) {
    cr_expect_str_eq(infer_cpu_isa_name(INFER_CPU_ISA_AUTO), "auto");
    cr_expect_str_eq(infer_cpu_isa_name(INFER_CPU_ISA_SCALAR), "scalar");
    cr_expect_str_eq(infer_cpu_isa_name(INFER_CPU_ISA_AVX2), "avx2");
    cr_expect_str_eq(infer_cpu_isa_name(INFER_CPU_ISA_AVX512), "avx512");
    cr_expect_str_eq(infer_cpu_isa_name((infer_cpu_isa)9), "?");
}
