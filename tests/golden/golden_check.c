/* golden_check.c — runs every golden model through libinfer (CPU or CUDA) and compares with PyTorch's outputs. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "golden_harness.h"
#include "../../loaders/npy.h"

#define MAX_IO GOLDEN_MAX_IO
#define TOLERANCE 1e-5 /* relative L2 error against PyTorch, float32 on the CPU */

/* What to run: the device and precision, the tolerance, which model. */
typedef struct {
    infer_device device;
    infer_precision precision;
    double tol;
    const char *only;  /* one model, or NULL for all */
    int debug_sync;
} run_config;

static run_config cfg = { INFER_DEVICE_CPU, INFER_PRECISION_FP32, TOLERANCE, NULL, 0 };
static int same_shape(const infer_tensor *a, const infer_tensor *b) {
    if (a->ndim != b->ndim || a->dtype != b->dtype) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

static int compare(const char *model, const char *what, const infer_tensor *got, const infer_tensor *want) {
    char detail[256];
    if (!same_shape(got, want)) {
        snprintf(detail, sizeof detail, "shape or dtype differs (%s %dd vs %s %dd)", infer_dtype_name(got->dtype),
                 got->ndim, infer_dtype_name(want->dtype), want->ndim);
        golden_result(0, model, what, detail);
        return 0;
    }
    double err = golden_rel_l2(got, want);
    snprintf(detail, sizeof detail, "rel L2 %.3g (tolerance %.0e)", err, cfg.tol);
    golden_result(err <= cfg.tol, model, what, detail);
    return err <= cfg.tol;
}

typedef struct {
    infer_tensor in[MAX_IO], out[MAX_IO];
    int n_in, n_out;
} case_files;

static int load_case(const char *dir, const char *name, const char *tag, int n_in, int n_out, case_files *c) {
    char path[4096];
    infer_error err;
    memset(c, 0, sizeof *c);
    for (int i = 0; i < n_in; i++, c->n_in++) {
        snprintf(path, sizeof path, "%s/%s%s.in%d.npy", dir, name, tag, i);
        if (npy_load(path, &c->in[i], &err) != INFER_OK) return 0;
    }
    for (int i = 0; i < n_out; i++, c->n_out++) {
        snprintf(path, sizeof path, "%s/%s%s.out%d.npy", dir, name, tag, i);
        if (npy_load(path, &c->out[i], &err) != INFER_OK) return 0;
    }
    return 1;
}

static void free_case(case_files *c) {
    for (int i = 0; i < c->n_in; i++) npy_free(&c->in[i]);
    for (int i = 0; i < c->n_out; i++) npy_free(&c->out[i]);
}

static void engine_options(infer_engine_options *opt, int max_batch, int threads) {
    infer_engine_options_init(opt);
    opt->device = cfg.device;
    opt->precision = cfg.precision;
    opt->threads = threads;
    opt->max_batch = max_batch;
    opt->debug_sync = cfg.debug_sync;
}

/* Runs one case on a fresh engine; compares every output. */
static void run_case(const infer_model *m, const char *name, const char *what, case_files *c, int max_batch,
                     int optimize) {
    infer_engine_options opt;
    engine_options(&opt, max_batch, 2);
    opt.optimize = optimize;
    infer_engine *e = NULL;
    infer_error err;
    infer_tensor out[MAX_IO];
    if (infer_engine_create(m, &opt, &e, &err) != INFER_OK ||
        infer_engine_run(e, c->in, c->n_in, out, c->n_out, &err) != INFER_OK) {
        golden_result(0, name, what, err.message);
        infer_engine_destroy(e);
        return;
    }
    for (int i = 0; i < c->n_out; i++) {
        char label[96];
        snprintf(label, sizeof label, "%s output %d", what, i);
        compare(name, label, &out[i], &c->out[i]);
    }
    infer_engine_destroy(e);
}

typedef struct {
    const infer_model *model;
    case_files *c;
    int rounds;
    float *result; /* first output of the last run, copied */
    int64_t n;
    int ok;
} thread_job;

static void *thread_main(void *arg) {
    thread_job *j = arg;
    infer_engine_options opt;
    engine_options(&opt, (int)j->c->in[0].dims[0], 1);
    infer_engine *e = NULL;
    infer_error err;
    infer_tensor out[MAX_IO];
    j->ok = infer_engine_create(j->model, &opt, &e, &err) == INFER_OK;
    for (int r = 0; j->ok && r < j->rounds; r++)
        j->ok = infer_engine_run(e, j->c->in, j->c->n_in, out, j->c->n_out, &err) == INFER_OK;
    if (j->ok && out[0].dtype == INFER_F32) {
        j->n = infer_tensor_elements(&out[0]);
        j->result = malloc((size_t)j->n * sizeof(float));
        memcpy(j->result, out[0].data, (size_t)j->n * sizeof(float));
    }
    infer_engine_destroy(e);
    return NULL;
}

/* Two engines on one loaded model in two threads give what one engine gives. */
static void check_threads(const infer_model *m, const char *name, case_files *c) {
    thread_job jobs[2] = { { m, c, 3, NULL, 0, 0 }, { m, c, 3, NULL, 0, 0 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, thread_main, &jobs[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    int ok = jobs[0].ok && jobs[1].ok && jobs[0].result && jobs[1].result && jobs[0].n == jobs[1].n;
    if (ok && cfg.device == INFER_DEVICE_CPU) /* the CPU is deterministic; CUDA libraries may order sums differently */
        ok = memcmp(jobs[0].result, jobs[1].result, (size_t)jobs[0].n * sizeof(float)) == 0;
    else if (ok) {
        infer_tensor a = c->out[0], b = c->out[0];
        a.data = jobs[0].result;
        b.data = jobs[1].result;
        ok = golden_rel_l2(&a, &b) <= 1e-6;
    }
    if (ok) {
        infer_tensor got = c->out[0];
        got.data = jobs[0].result;
        ok = golden_rel_l2(&got, &c->out[0]) <= cfg.tol;
    }
    golden_result(ok, name, "two engines in two threads", ok ? "the same, within tolerance" : "differ or failed");
    free(jobs[0].result);
    free(jobs[1].result);
}

/* The outputs of a CPU engine on c's inputs replace c's PyTorch outputs (the reference of FP16 runs). */
static int cpu_reference(const infer_model *m, const char *name, case_files *c) {
    infer_engine_options opt;
    infer_engine_options_init(&opt);
    opt.device = INFER_DEVICE_CPU;
    opt.threads = 2;
    opt.max_batch = c->in[0].ndim ? (int)c->in[0].dims[0] : 1;
    infer_engine *e = NULL;
    infer_error err;
    infer_tensor out[MAX_IO];
    if (infer_engine_create(m, &opt, &e, &err) != INFER_OK ||
        infer_engine_run(e, c->in, c->n_in, out, c->n_out, &err) != INFER_OK) {
        golden_result(0, name, "CPU reference", err.message);
        infer_engine_destroy(e);
        return 0;
    }
    for (int i = 0; i < c->n_out; i++) {
        size_t bytes = (size_t)infer_tensor_elements(&out[i]) * infer_dtype_size(out[i].dtype);
        if (bytes > (size_t)infer_tensor_elements(&c->out[i]) * infer_dtype_size(c->out[i].dtype)) {
            golden_result(0, name, "CPU reference", "output larger than PyTorch's");
            infer_engine_destroy(e);
            return 0;
        }
        memcpy(c->out[i].data, out[i].data, bytes);
    }
    infer_engine_destroy(e);
    return 1;
}

/* One CUDA engine (max batch 4, graphs on) runs the batch-2 case three times (on the stream, then a
 * capture, then a graph replay), the batch-3 case three times, and batch 2 again: every run compared. */
static void cuda_runs(const infer_model *m, const char *name, case_files *b2, case_files *b3) {
    infer_engine_options opt;
    engine_options(&opt, 4, 2);
    infer_engine *e = NULL;
    infer_error err;
    if (infer_engine_create(m, &opt, &e, &err) != INFER_OK) {
        golden_result(0, name, "CUDA engine", err.message);
        return;
    }
    static const char *run_name[3] = { "stream", "capture", "replay" };
    case_files *cases[3] = { b2, b3, b2 };
    for (int k = 0; k < 3; k++) {
        case_files *c = cases[k];
        if (!c || !c->n_in) continue;
        for (int r = 0; r < (k == 2 ? 1 : 3); r++) {
            char what[96];
            infer_tensor out[MAX_IO];
            int64_t batch = c->in[0].ndim ? c->in[0].dims[0] : 1;
            snprintf(what, sizeof what, "batch %lld run %d (%s)", (long long)batch, r + 1,
                     k == 2 ? "replay after another batch" : run_name[r]);
            if (infer_engine_run(e, c->in, c->n_in, out, c->n_out, &err) != INFER_OK) {
                golden_result(0, name, what, err.message);
                continue;
            }
            for (int i = 0; i < c->n_out; i++) {
                char label[128];
                snprintf(label, sizeof label, "%s out %d", what, i);
                compare(name, label, &out[i], &c->out[i]);
            }
        }
    }
    infer_engine_stats st;
    infer_engine_stats_get(e, &st);
    const char *w = infer_engine_warnings(e);
    printf("       %-14s CUDA Graphs %d, CPU-fallback nodes %d%s%s\n", name, st.cuda_graphs, st.fallback_nodes,
           *w ? "; warnings:\n" : "", w);
    infer_engine_destroy(e);
}

static void check_model_cuda(const infer_model *m, const char *dir, const char *name, int n_in, int n_out) {
    case_files b2, b3;
    int have2 = load_case(dir, name, "", n_in, n_out, &b2), have3 = load_case(dir, name, ".b3", n_in, n_out, &b3);
    if (!have2) golden_result(0, name, "reference files", "missing or unreadable .npy");
    if (have2 && cfg.precision == INFER_PRECISION_FP16) have2 = cpu_reference(m, name, &b2);
    if (have3 && cfg.precision == INFER_PRECISION_FP16) have3 = cpu_reference(m, name, &b3);
    if (have2) {
        cuda_runs(m, name, &b2, have3 ? &b3 : NULL);
        check_threads(m, name, &b2);
    }
    free_case(&b2);
    free_case(&b3);
}

static void check_model(void *arg, const char *dir, const char *name, int n_in, int n_out) {
    if (n_in <= 0 || n_in > MAX_IO || n_out <= 0 || n_out > MAX_IO || (cfg.only && strcmp(cfg.only, name))) return;
    char path[4096];
    infer_model *m = golden_load(dir, name, path, sizeof path);
    if (!m) return;
    if (cfg.device == INFER_DEVICE_CUDA) {
        check_model_cuda(m, dir, name, n_in, n_out);
        infer_model_free(m);
        return;
    }
    case_files c;
    if (!load_case(dir, name, "", n_in, n_out, &c)) {
        golden_result(0, name, "reference files", "missing or unreadable .npy");
    } else {
        int batch = c.in[0].ndim ? (int)c.in[0].dims[0] : 1;
        run_case(m, name, "optimized", &c, batch, 1);
        run_case(m, name, "unoptimized", &c, batch, 0);
        check_threads(m, name, &c);
    }
    free_case(&c);
    case_files b3;
    if (load_case(dir, name, ".b3", n_in, n_out, &b3)) run_case(m, name, "batch 3 on a max-batch-4 engine", &b3, 4, 1);
    free_case(&b3);
    infer_model_free(m);
}

/* --compare A.npy B.npy: exit 0 when A matches B within TOLERANCE (used by the CLI tests). */
static int compare_files(const char *a, const char *b) {
    infer_tensor ta, tb;
    infer_error err;
    if (npy_load(a, &ta, &err) != INFER_OK || npy_load(b, &tb, &err) != INFER_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    int ok = same_shape(&ta, &tb) && golden_rel_l2(&ta, &tb) <= TOLERANCE;
    if (!ok) fprintf(stderr, "%s and %s differ\n", a, b);
    npy_free(&ta);
    npy_free(&tb);
    return ok ? 0 : 1;
}

static int usage(void) {
    fprintf(stderr,
            "usage: golden_check DIR [--device cpu|cuda] [--precision fp32|tf32|fp16] [--model NAME] [--tol T]\n"
            "                    [--debug-sync]          (DIR made by tests/golden/gen.py)\n"
            "       golden_check --compare A.npy B.npy\n\n"
            "cpu: every model optimized and not, at batches 2 and 3, two engines in two threads, against PyTorch\n"
            "(fp32 only, tolerance 1e-5). cuda: one engine per model runs batch 2 three times (stream, capture,\n"
            "graph replay), batch 3 three times and batch 2 again, then two engines in two threads; fp32 and tf32\n"
            "against PyTorch (tolerance 1e-4, 1e-2), fp16 against the CPU engine (5e-2). Exit 0 all passed, 1 a\n"
            "failure, 2 bad usage, 77 --device cuda without a usable GPU (nothing ran).\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--compare")) return compare_files(argv[2], argv[3]);
    if (argc < 2 || argv[1][0] == '-') return usage();
    int tol_given = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--debug-sync")) {
            cfg.debug_sync = 1;
            continue;
        }
        if (!v) return usage();
        if (!strcmp(a, "--device") && !strcmp(v, "cpu")) cfg.device = INFER_DEVICE_CPU;
        else if (!strcmp(a, "--device") && !strcmp(v, "cuda")) cfg.device = INFER_DEVICE_CUDA;
        else if (!strcmp(a, "--precision") && !strcmp(v, "fp32")) cfg.precision = INFER_PRECISION_FP32;
        else if (!strcmp(a, "--precision") && !strcmp(v, "tf32")) cfg.precision = INFER_PRECISION_TF32;
        else if (!strcmp(a, "--precision") && !strcmp(v, "fp16")) cfg.precision = INFER_PRECISION_FP16;
        else if (!strcmp(a, "--model")) cfg.only = v;
        else if (!strcmp(a, "--tol")) {
            char *end;
            cfg.tol = strtod(v, &end);
            if (*end || !(cfg.tol > 0)) return usage();
            tol_given = 1;
        } else return usage();
        i++;
    }
    if (cfg.device == INFER_DEVICE_CPU && cfg.precision != INFER_PRECISION_FP32) {
        fprintf(stderr, "golden_check: the CPU runs fp32 only\n");
        return 2;
    }
    if (!tol_given && cfg.device == INFER_DEVICE_CUDA)
        cfg.tol = cfg.precision == INFER_PRECISION_FP16 ? 5e-2 : cfg.precision == INFER_PRECISION_TF32 ? 1e-2 : 1e-4;
    if (cfg.device == INFER_DEVICE_CUDA && !infer_cuda_available()) {
        printf("[SKIP] golden models on CUDA: no usable CUDA device (or a build without CUDA)\n");
        return GOLDEN_EXIT_SKIP;
    }
    FILE *f = golden_open_manifest("golden_check", argv[1]);
    if (!f) return 2;
    printf("golden_check: %s, %s, tolerance %.0e (relative L2)%s\n", infer_device_name(cfg.device),
           infer_precision_name(cfg.precision), cfg.tol, cfg.debug_sync ? ", debug_sync" : "");
    golden_for_each_model(f, argv[1], check_model, NULL);
    return golden_summary();
}
