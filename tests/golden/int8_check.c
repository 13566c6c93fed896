/* int8_check.c — every golden model quantized to INT8 (static from seeded calibration data, and dynamic) against
 * the same model in FP32 on other seeded inputs: relative L2 of every output, top-1 agreement of classifiers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "golden_harness.h"
#include "../../quant/quant_model.h"

#define CALIB_ROWS 4   /* calibration rows per model (one batch), drawn like the test rows with another seed */
#define BATCH 32       /* test rows per model: top-1 agreement is counted over them */

/* Thresholds (see main's comment for the measurements they bound). */
#define FULL_ERROR_RATIO 1.25 /* full u8 chains' error against none's: one more rounding per residual block */
#define REL_L2_MAX 0.1     /* any f32 output of any model, static or dynamic */
#define TOP1_MIN 0.75      /* classifiers: at least 24 of 32 rows keep their top-1 class */

/* Copies of the outputs of model path on the CPU (2 threads) with u8 NHWC chains between INT8 convolutions as
 * int8_chain says, on CPU instruction set isa; 0 and why on failure. */
static int run_with(const char *path, const golden_tensors *in, golden_tensors *o, infer_int8_chain int8_chain,
                    infer_cpu_isa isa,
                    char *why, size_t why_size) {
    infer_model *m = NULL;
    infer_error err;
    infer_engine_options opt;
    infer_engine_options_init(&opt);
    opt.device = INFER_DEVICE_CPU;
    opt.threads = 2;
    opt.max_batch = BATCH;
    opt.int8_chain = int8_chain;
    opt.cpu_isa = isa;
    o->n = 0;
    if (infer_model_load(path, &m, &err) != INFER_OK) {
        snprintf(why, why_size, "%.300s", err.message);
        return 0;
    }
    int ok = golden_run_copy(m, &opt, in->t, in->n, o, why, why_size);
    infer_model_free(m);
    return ok;
}

static int run(const char *path, const golden_tensors *in, golden_tensors *o, char *why, size_t why_size) {
    return run_with(path, in, o, INFER_INT8_CHAIN_FULL, INFER_CPU_ISA_AUTO, why, why_size);
}

/* Layers of model path whose CPU engine at chain level `level` passes u8 NHWC activations or a u8 residual (their
 * weights text says so); -1 on failure. */
static int chained_layers(const char *path, infer_int8_chain level) {
    infer_model *m = NULL;
    infer_engine *e = NULL;
    infer_error err;
    infer_engine_options opt;
    infer_engine_options_init(&opt);
    opt.device = INFER_DEVICE_CPU;
    opt.int8_chain = level;
    int n = -1;
    if (infer_model_load(path, &m, &err) == INFER_OK && infer_engine_create(m, &opt, &e, &err) == INFER_OK) {
        n = 0;
        for (int i = 0; i < infer_engine_layer_count(e); i++) {
            infer_layer_info info;
            if (infer_engine_layer(e, i, &info) == INFER_OK && info.weights && strstr(info.weights, ", u8 ")) n++;
        }
    }
    infer_engine_destroy(e);
    infer_model_free(m);
    return n;
}

/* A classifier's output: [batch, classes]. */
static int classifier(const infer_tensor *t) {
    return t->dtype == INFER_F32 && t->ndim == 2 && t->dims[1] > 1;
}

/* A static model with u8 NHWC chains, on every instruction set this CPU runs: EXACT gives bit for bit what no chains
 * give (the chained epilogue requantizes exactly as the next layer's quantizer would); FULL (residuals added from
 * u8, one rounding more per residual block) is as close to FP32 (ref) as no chains: rel L2 at most FULL_ERROR_RATIO
 * times theirs (+ 1e-3), classifiers' top-1 agreement with FP32 at least TOP1_MIN (on these untrained models a
 * rounding anywhere flips rows with small margins; tests/int8/digits.py measures accuracy on real data). */
static void check_chains(const char *name, const char *qpath, const golden_tensors *in, const golden_tensors *ref) {
    static const infer_cpu_isa isas[] = { INFER_CPU_ISA_SCALAR, INFER_CPU_ISA_AVX2, INFER_CPU_ISA_AVX512 };
    static const char *const isa_names[] = { "scalar", "avx2", "avx512" };
    int exact = chained_layers(qpath, INFER_INT8_CHAIN_EXACT), full = chained_layers(qpath, INFER_INT8_CHAIN_FULL);
    if (exact <= 0 && full <= 0) return;
    for (int k = 0; k < 3; k++) {
        golden_tensors off, got;
        char why[512] = "", what[64], detail[256];
        memset(&off, 0, sizeof off);
        if (!run_with(qpath, in, &off, INFER_INT8_CHAIN_OFF, isas[k], why, sizeof why)) {
            if (!strstr(why, "cannot run it")) golden_result(0, name, "u8 chains", why); /* else: this CPU lacks it */
            continue;
        }
        for (int level = INFER_INT8_CHAIN_EXACT; level <= INFER_INT8_CHAIN_FULL; level++) {
            int full_level = level == INFER_INT8_CHAIN_FULL;
            memset(&got, 0, sizeof got);
            snprintf(what, sizeof what, "u8 chains %s (%s)", full_level ? "full" : "exact", isa_names[k]);
            if (!run_with(qpath, in, &got, (infer_int8_chain)level, isas[k], why, sizeof why)) {
                golden_result(0, name, what, why);
                continue;
            }
            int same = got.n == off.n && got.n == ref->n, ok = same;
            double e_got = 0.0, e_off = 0.0;
            for (int i = 0; ok && i < got.n; i++) {
                same = same && !memcmp(got.t[i].data, off.t[i].data,
                                       (size_t)infer_tensor_elements(&got.t[i]) * infer_dtype_size(got.t[i].dtype));
                if (got.t[i].dtype != INFER_F32) continue;
                double a = golden_rel_l2(&got.t[i], &ref->t[i]), b = golden_rel_l2(&off.t[i], &ref->t[i]);
                if (a > e_got) e_got = a;
                if (b > e_off) e_off = b;
            }
            if (full_level) {
                int n = snprintf(detail, sizeof detail, "%d layers chained: rel L2 to fp32 %.3g (no chains %.3g)", full,
                                 e_got, e_off);
                ok = ok && e_got <= FULL_ERROR_RATIO * e_off + 1e-3;
                if (ok && classifier(&ref->t[0])) {
                    double t_got = golden_top1_agreement(&got.t[0], &ref->t[0]);
                    double t_off = golden_top1_agreement(&off.t[0], &ref->t[0]);
                    snprintf(detail + n, sizeof detail - (size_t)n, ", top-1 %.0f%% (%.0f%%)", 100 * t_got, 100 * t_off);
                    ok = t_got >= TOP1_MIN;
                }
            } else {
                snprintf(detail, sizeof detail, "%d layers chained: outputs %s those without chains", exact,
                         same ? "bit for bit" : "DIFFER from");
            }
            golden_result(ok, name, what, detail);
            golden_tensors_free(&got);
        }
        golden_tensors_free(&off);
    }
}


static void compare(const char *name, const char *mode, const quant_report *r, const golden_tensors *got,
                    const golden_tensors *ref) {
    char what[64], detail[256];
    for (int i = 0; i < ref->n; i++) {
        if (ref->t[i].dtype != INFER_F32) continue;
        double e = golden_rel_l2(&got->t[i], &ref->t[i]);
        snprintf(what, sizeof what, "%s output %d", mode, i);
        int n = snprintf(detail, sizeof detail, "%d/%d layers int8, rel L2 %.3g (max %.2g)", r->n_quantized,
                         r->n_layers, e, REL_L2_MAX);
        int ok = e <= REL_L2_MAX;
        if (i == 0 && classifier(&ref->t[0])) {
            double top1 = golden_top1_agreement(&got->t[0], &ref->t[0]);
            snprintf(detail + n, sizeof detail - (size_t)n, ", top-1 agreement %.0f%% (min %.0f%%)", 100 * top1,
                     100 * TOP1_MIN);
            ok = ok && top1 >= TOP1_MIN;
        }
        golden_result(ok, name, what, detail);
    }
}

static void check_model(void *arg, const char *dir, const char *name, int n_in_listed, int n_out_listed) {
    char **wanted = arg; /* the models named, NULL-terminated; all when none */
    int listed = !*wanted;
    for (char **w = wanted; *w; w++) listed |= !strcmp(*w, name);
    if (!listed) return;
    char path[4096], qpath[4096], why[512] = "";
    infer_error err;
    infer_model *m = golden_load(dir, name, path, sizeof path);
    if (!m) return;
    golden_tensors calib, in, ref, got;
    memset(&calib, 0, sizeof calib);
    memset(&in, 0, sizeof in);
    memset(&ref, 0, sizeof ref);
    memset(&got, 0, sizeof got);
    uint64_t calib_rng = 0x9E3779B97F4A7C15ull, test_rng = 0x2545F4914F6CDD1Dull;
    int inputs_ok = golden_make_inputs(m, CALIB_ROWS, GOLDEN_NORMAL, &calib_rng, &calib) &&
                    golden_make_inputs(m, BATCH, GOLDEN_NORMAL, &test_rng, &in);
    infer_model_free(m);
    if (!inputs_ok) golden_result(0, name, "inputs", "an input neither f32 nor i64");
    else if (!run(path, &in, &ref, why, sizeof why)) golden_result(0, name, "fp32", why);
    for (int mode = 0; ref.n && mode < 2; mode++) {
        const char *mname = mode == QUANT_STATIC ? "static" : "dynamic";
        quant_options o;
        quant_options_init(&o);
        o.mode = mode == QUANT_STATIC ? QUANT_STATIC : QUANT_DYNAMIC;
        o.threads = 2;
        /* static: method auto (4 methods tried per layer), except on the two deepest models where that is 4 model
         * runs per layer (54 and 53 layers): percentile, one run per layer */
        if (!strcmp(name, "resnet50") || !strcmp(name, "mobilenet_v2")) o.method = CALIB_PERCENTILE;
        quant_report r;
        const infer_tensor *const batches[1] = { calib.t };
        snprintf(qpath, sizeof qpath, "%s/%s.int8-%s.ifg", dir, name, mname);
        clock_t t0 = clock();
        /* dynamic without calibration data: the plain `infer quantize --mode dynamic` */
        if (quant_model(path, qpath, batches, mode == QUANT_STATIC ? 1 : 0, &o, &r, &err) != INFER_OK) {
            golden_result(0, name, mname, err.message);
            continue;
        }
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        if (!run(qpath, &in, &got, why, sizeof why)) golden_result(0, name, mname, why);
        else {
            char detail[256];
            snprintf(detail, sizeof detail, "%d of %d weights int8 (%s); quantized in %.1f s CPU; file %.1f%% of fp32",
                     r.n_quantized, r.n_layers, mode == QUANT_DYNAMIC ? "dynamic" : o.method == QUANT_METHOD_AUTO ? "auto"
                     : calib_method_name(o.method), secs, 100.0 * (double)r.bytes_out / (double)r.bytes_in);
            golden_result(r.n_layers == 0 || r.n_quantized > 0, name, mname, detail);
            compare(name, mname, &r, &got, &ref);
            if (mode == QUANT_STATIC) check_chains(name, qpath, &in, &ref);
        }
        golden_tensors_free(&got);
        quant_report_free(&r);
    }
    golden_tensors_free(&calib);
    golden_tensors_free(&in);
    golden_tensors_free(&ref);
}

/* Tolerances. These are random-weight models on random inputs: agreement with FP32, not accuracy (tests/int8/
 * digits.py measures accuracy on real data). Measured (this machine, AMX path): rel L2 7e-4 (mlp dynamic) to
 * 2.0e-2 (resnet50 dynamic), so 0.1 leaves 5x; top-1 agreement 94-100% (resnet50: 30 of 32 rows; untrained
 * classifiers leave small margins between their top classes, so a few rows may flip). A broken INT8 layer (wrong
 * scale, layout or zero point) gives rel L2 near 1 and top-1 near chance. 2-D outputs count as classifiers (the
 * encoder's pooled features too: their largest feature is compared). */
int main(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: int8_check DIR [MODEL...]   (DIR made by tests/golden/gen.py)\n"
                        "Every model (or those named) quantized static (calibrated on %d seeded rows) and dynamic, against\n"
                        "fp32 on %d other seeded rows: rel L2 <= %.2g, classifiers' top-1 agreement >= %.0f%%. The\n"
                        "quantized files are written beside the models. Exit 0 all passed, 1 a failure, 2 bad usage.\n",
                CALIB_ROWS, BATCH, REL_L2_MAX, 100 * TOP1_MIN);
        return 2;
    }
    FILE *f = golden_open_manifest("int8_check", argv[1]);
    if (!f) return 2;
    printf("int8_check: INT8 static and dynamic against fp32, %d calibration rows, %d test rows per model\n", CALIB_ROWS,
           BATCH);
    golden_set_what_width(26);
    golden_for_each_model(f, argv[1], check_model, argv + 2);
    return golden_summary();
}
