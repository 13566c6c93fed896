/* bf16_check.c — every golden model at CPU precision bf16 (each BF16 kernel this CPU has) against the same model
 * in fp32 on seeded inputs: relative L2 of every output and top-1 agreement of the first output's rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "golden_harness.h"

#define BATCH 16          /* seeded rows per model: top-1 agreement is counted over them */
#define REL_L2_MAX 5e-2   /* bf16 against fp32, any output of any model (see main's comment) */
#define TOP1_MIN 0.875    /* at least 14 of 16 rows keep their top-1 class */
#define KERNELS_MAX 2e-2  /* the AVX512-BF16 and AMX engines against each other (see main's comment) */

/* An engine's options: CPU, 2 threads, BATCH rows, this precision and BF16 kernel. */
static void bf16_options(infer_engine_options *opt, infer_precision precision, infer_cpu_bf16 kernel) {
    infer_engine_options_init(opt);
    opt->device = INFER_DEVICE_CPU;
    opt->precision = precision;
    opt->cpu_bf16 = kernel;
    opt->threads = 2;
    opt->max_batch = BATCH;
}

/* What every model is checked with: the kernels this CPU has, and the input draws (one sequence over the models). */
typedef struct {
    infer_cpu_bf16 kernels[2];
    int n_kernels;
    uint64_t rng;
} bf16_run;

static void check_model(void *arg, const char *dir, const char *name, int n_in_listed, int n_out_listed) {
    bf16_run *run = arg;
    char path[4096], why[512] = "", detail[256];
    infer_model *m = golden_load(dir, name, path, sizeof path);
    if (!m) return;
    infer_engine_options opt;
    golden_tensors in, ref, got[2];
    memset(&ref, 0, sizeof ref);
    memset(got, 0, sizeof got);
    bf16_options(&opt, INFER_PRECISION_FP32, INFER_CPU_BF16_AUTO);
    if (!golden_make_inputs(m, BATCH, GOLDEN_UNIFORM_PM2, &run->rng, &in))
        golden_result(0, name, "inputs", "an input neither f32 nor i64");
    else if (!golden_run_copy(m, &opt, in.t, in.n, &ref, why, sizeof why)) golden_result(0, name, "fp32", why);
    for (int k = 0; ref.n && k < run->n_kernels; k++) {
        const char *kname = run->kernels[k] == INFER_CPU_BF16_AMX ? "amx" : "avx512";
        bf16_options(&opt, INFER_PRECISION_BF16, run->kernels[k]);
        if (!golden_run_copy(m, &opt, in.t, in.n, &got[k], why, sizeof why)) {
            golden_result(0, name, kname, why);
            continue;
        }
        for (int i = 0; i < ref.n; i++) {
            if (ref.t[i].dtype != INFER_F32) continue;
            char what[64];
            double e = golden_rel_l2(&got[k].t[i], &ref.t[i]);
            snprintf(what, sizeof what, "bf16 %s output %d", kname, i);
            if (i == 0 && ref.t[0].ndim >= 2 && ref.t[0].dims[ref.t[0].ndim - 1] > 1) {
                double top1 = golden_top1_agreement(&got[k].t[0], &ref.t[0]);
                snprintf(detail, sizeof detail, "rel L2 %.3g vs fp32 (max %.0e), top-1 agreement %.0f%% (min %.1f%%)", e,
                         REL_L2_MAX, 100 * top1, 100 * TOP1_MIN);
                golden_result(e <= REL_L2_MAX && top1 >= TOP1_MIN, name, what, detail);
            } else {
                snprintf(detail, sizeof detail, "rel L2 %.3g vs fp32 (max %.0e)", e, REL_L2_MAX);
                golden_result(e <= REL_L2_MAX, name, what, detail);
            }
        }
    }
    if (got[0].n && got[1].n) {
        double e = golden_rel_l2(&got[1].t[0], &got[0].t[0]);
        snprintf(detail, sizeof detail, "rel L2 %.3g (max %.0e)", e, KERNELS_MAX);
        golden_result(e <= KERNELS_MAX, name, "amx vs avx512 output 0", detail);
    }
    /* the last kernel again with the BF16 NHWC chains off: both against fp32, and against each other */
    golden_tensors off;
    memset(&off, 0, sizeof off);
    int last = run->n_kernels - 1;
    if (ref.n && got[last].n && ref.t[0].dtype == INFER_F32) {
        bf16_options(&opt, INFER_PRECISION_BF16, run->kernels[last]);
        opt.bf16_chain = 0;
        if (!golden_run_copy(m, &opt, in.t, in.n, &off, why, sizeof why)) {
            golden_result(0, name, "chains off", why);
        } else {
            double e_off = golden_rel_l2(&off.t[0], &ref.t[0]), e = golden_rel_l2(&got[last].t[0], &off.t[0]);
            snprintf(detail, sizeof detail, "rel L2 %.3g (max %.0e); off vs fp32 %.3g", e, KERNELS_MAX, e_off);
            golden_result(e <= KERNELS_MAX && e_off <= REL_L2_MAX, name, "chains on vs off output 0", detail);
        }
    }
    golden_tensors_free(&off);
    golden_tensors_free(&ref);
    golden_tensors_free(&got[0]);
    golden_tensors_free(&got[1]);
    golden_tensors_free(&in);
    infer_model_free(m);
}

/* The engine builds at bf16 for this kernel on this CPU. */
static int have_kernel(const char *dir, infer_cpu_bf16 kernel) {
    char path[4096];
    infer_error err;
    infer_model *m = NULL;
    snprintf(path, sizeof path, "%s/mlp.ifg", dir);
    if (infer_model_load(path, &m, &err) != INFER_OK) return 0;
    infer_engine_options opt;
    bf16_options(&opt, INFER_PRECISION_BF16, kernel);
    infer_engine *e = NULL;
    int ok = infer_engine_create(m, &opt, &e, &err) == INFER_OK;
    infer_engine_destroy(e);
    infer_model_free(m);
    return ok;
}

/* Tolerances: BF16 rounds weights and activations at every conv/linear/matmul input (~2e-3 relative each, see
 * tests/ops/op_test.c); through resnet50's 54 such layers with random (untrained) weights and normalizations the
 * error compounds to ~6e-3 (measured: resnet50 5.9e-3, resnet18 4.5e-3, the others below), so 5e-2 bounds it
 * while a wrong layer (rel L2 ~1) fails. The two kernels sum in different orders; a last-bit difference flips
 * some BF16 roundings of the next layer's inputs, so deep models differ between them by about the BF16 error
 * itself (resnet50 5e-3), not by FP32 rounding: 2e-2. Top-1: random inputs on untrained classifiers leave
 * small margins between the top classes, so a few of 16 rows may flip (resnet50: 15 of 16 kept). */
int main(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: bf16_check DIR   (DIR made by tests/golden/gen.py)\n"
                        "Every model at precision bf16 with each BF16 kernel this CPU has, against fp32 on %d seeded rows:\n"
                        "rel L2 <= %.0e, top-1 agreement >= %.1f%%, AMX vs AVX512-BF16 rel L2 <= %.0e. Exit 0 all\n"
                        "passed, 1 a failure, 2 bad usage, 77 a CPU without AVX512-BF16 or AMX-BF16 (nothing ran).\n",
                BATCH, REL_L2_MAX, 100 * TOP1_MIN, KERNELS_MAX);
        return 2;
    }
    bf16_run run = { .n_kernels = 0, .rng = 0x2545F4914F6CDD1Dull };
    if (have_kernel(argv[1], INFER_CPU_BF16_AVX512)) run.kernels[run.n_kernels++] = INFER_CPU_BF16_AVX512;
    if (have_kernel(argv[1], INFER_CPU_BF16_AMX)) run.kernels[run.n_kernels++] = INFER_CPU_BF16_AMX;
    if (!run.n_kernels) {
        printf("[SKIP] golden models at bf16: this CPU has neither AVX512-BF16 nor AMX-BF16 (or %s/mlp.ifg is missing)\n",
               argv[1]);
        return GOLDEN_EXIT_SKIP;
    }
    FILE *f = golden_open_manifest("bf16_check", argv[1]);
    if (!f) return 2;
    printf("bf16_check: CPU bf16 (%s%s%s) against fp32, %d seeded rows per model\n",
           run.kernels[0] == INFER_CPU_BF16_AVX512 ? "avx512" : "amx", run.n_kernels > 1 ? ", " : "",
           run.n_kernels > 1 ? "amx" : "", BATCH);
    golden_set_what_width(30);
    golden_for_each_model(f, argv[1], check_model, &run);
    return golden_summary();
}
