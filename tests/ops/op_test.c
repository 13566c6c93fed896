/* op_test.c — runs every case of the op test table (op_cases.c) through the reference (the CPU's scalar
 * kernels, unoptimized, one thread) and every backend this machine has, through the public API; compares
 * outputs by relative L2 error (floats) or exactly (the others). --perf times each case per backend. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "op_compare.h"
#include "op_model.h"
#include "op_sparse.h"

typedef struct {
    const char *name;
    infer_device device;
    infer_precision precision;
    infer_cpu_isa isa;
    double tol;   /* relative L2 of float outputs against the reference */
    int runs;     /* runs compared per case: on CUDA the second captures a graph, the third replays it */
    infer_cpu_bf16 bf16; /* precision BF16 on the CPU: the BF16 kernels forced */
} backend_desc;

/* BF16 (8-bit significand) rounds each factor by up to 2^-9 relative (RMS ~1.1e-3), a product by ~1.6e-3 RMS; with
 * independent errors a sum of random-signed products keeps that relative L2 (~2e-3 measured), FP32 sums add
 * nothing visible: 1e-2 leaves a 4-6x margin yet fails on any wrong element (a whole product dropped or
 * misplaced is >= 1/sqrt(K) relative). Ops without a BF16 kernel run FP32 in these engines. */
#define BF16_TOL 1e-2

static const backend_desc backends[] = {
    { "cpu-scalar", INFER_DEVICE_CPU, INFER_PRECISION_FP32, INFER_CPU_ISA_SCALAR, 1e-6, 2, INFER_CPU_BF16_AUTO },
    { "cpu-avx2", INFER_DEVICE_CPU, INFER_PRECISION_FP32, INFER_CPU_ISA_AVX2, 1e-5, 2, INFER_CPU_BF16_AUTO },
    { "cpu-avx512", INFER_DEVICE_CPU, INFER_PRECISION_FP32, INFER_CPU_ISA_AVX512, 1e-5, 2, INFER_CPU_BF16_AUTO },
    { "cuda-fp32", INFER_DEVICE_CUDA, INFER_PRECISION_FP32, INFER_CPU_ISA_AUTO, 1e-5, 3, INFER_CPU_BF16_AUTO },
    { "cuda-tf32", INFER_DEVICE_CUDA, INFER_PRECISION_TF32, INFER_CPU_ISA_AUTO, 1e-3, 3, INFER_CPU_BF16_AUTO },
    { "cuda-fp16", INFER_DEVICE_CUDA, INFER_PRECISION_FP16, INFER_CPU_ISA_AUTO, 5e-3, 3, INFER_CPU_BF16_AUTO },
    /* cpubf16: BF16 on CPUs with AVX512-BF16 / AMX-BF16 */
    { "cpu-bf16-avx512", INFER_DEVICE_CPU, INFER_PRECISION_BF16, INFER_CPU_ISA_AVX512, BF16_TOL, 2, INFER_CPU_BF16_AVX512 },
    { "cpu-bf16-amx", INFER_DEVICE_CPU, INFER_PRECISION_BF16, INFER_CPU_ISA_AVX512, BF16_TOL, 2, INFER_CPU_BF16_AMX },
};
#define N_BACKENDS (int)(sizeof backends / sizeof backends[0])

typedef struct {
    const char *filter;   /* NULL: every case */
    const char *backend;  /* NULL: every backend; else names or prefixes, comma-separated */
    int perf, perf_runs, threads, verbose, list;
    int require;          /* a skipped backend is a failure (on a machine that must have it) */
    double time_limit_s;  /* 0: none; else no case starts after this many seconds */
} options;

typedef struct {
    int selected, available;
    char why[1100];       /* why it is skipped */
    int fallback_cases;   /* cases with a node on the CPU fallback (CUDA) */
} backend_state;

typedef struct {
    options opt;
    char dir[64];         /* temporary folder for model files */
    backend_state be[N_BACKENDS];
    int passed, failed, skipped, cases, not_run;
    int op_cases[OP_COUNT];
    double op_worst[OP_COUNT][N_BACKENDS]; /* worst float error per op and backend */
} runner;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static void engine_options(const runner *r, const backend_desc *b, int max_batch, infer_engine_options *o) {
    infer_engine_options_init(o);
    o->max_batch = max_batch;
    o->device = b->device;
    o->precision = b->precision;
    o->cpu_isa = b->isa;
    o->cpu_bf16 = b->bf16;
    o->threads = r->opt.threads ? r->opt.threads : r->opt.perf ? 0 : 3; /* 3: uneven splits on any machine */
}

/* ---- one case -------------------------------------------------------------------- */

typedef struct {
    runner *r;
    const op_instance *ci;
    infer_model *model;
    infer_model *ref_model;     /* rows with int8 or sparse weights: the same model with dense f32 weights; else NULL */
    op_inputs in;
    int n_out;
    int n_batches;              /* 1, or 2 for a dynamic row: its batch, then 1 */
    int64_t batch[2];
    outputs_copy ref[2];        /* the reference's outputs at each batch */
} case_run;

/* The good inputs at batch index bi: views of the same data (a smaller batch is a prefix). */
static void inputs_at(const case_run *c, int bi, infer_tensor *v) {
    for (int i = 0; i < c->in.n; i++) {
        v[i] = c->in.good[i];
        if (c->ci->row->dynamic && v[i].ndim > 0) v[i].dims[0] = c->batch[bi];
    }
}

static int max_batch_of(const case_run *c) { return c->ci->row->dynamic ? (int)c->batch[0] : 0; }

static void case_fail(case_run *c, const char *backend, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void case_fail(case_run *c, const char *backend, const char *fmt, ...) {
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("FAIL %s [%s]: %s\n", c->ci->name, backend, msg);
    c->r->failed++;
}

/* A CPU engine of a row with a sparse weight runs it as the row asks: with the sparse kernel (one that fits:
 * not depthwise), or densified. */
static int sparse_form_as_asked(case_run *c, const char *backend, const infer_engine *e) {
    const op_case *row = c->ci->row;
    int sparse = 0, depthwise = 0;
    for (int k = 0; k < OPC_MAX_IN; k++) sparse |= row->in[k].kind == OPT_CONST && op_gen_is_sparse(row->in[k].gen);
    for (int a = 0; a < OPC_MAX_ATTRS && row->attrs[a].key; a++)
        depthwise |= !strcmp(row->attrs[a].key, "groups") && row->attrs[a].i > 1 && row->attrs[a].i == row->in[0].dims[1] &&
                     row->in[1].dims[1] == 1;
    if (!sparse) return 1;
    const char *want = row->densified || depthwise ? "densified" : "sparse kernel";
    for (int i = 0; i < infer_engine_layer_count(e); i++) {
        infer_layer_info li;
        if (infer_engine_layer(e, i, &li) == INFER_OK && li.weights && strstr(li.weights, want)) return 1;
    }
    case_fail(c, backend, "no layer runs its sparse weight as '%s'", want);
    return 0;
}

/* Winograd F(4x4,3x3) against the reference's im2col GEMM: its transforms (constants up to 8 and 1/6) round more
 * than a dot product; measured 1e-6 to 2e-6 on the rows (K 27 to 1440), so the scalar backend's 1e-6 is too tight. */
#define WINOGRAD_TOL 5e-6

static int runs_winograd(const infer_engine *e) {
    for (int i = 0; i < infer_engine_layer_count(e); i++) {
        infer_layer_info li;
        if (infer_engine_layer(e, i, &li) == INFER_OK && li.weights && strstr(li.weights, "Winograd")) return 1;
    }
    return 0;
}

/* A row asking for Winograd ran it on the CPU's FP32 kernels (BF16 engines have none). */
static int winograd_as_asked(case_run *c, const backend_desc *b, const infer_engine *e) {
    if (!c->ci->row->winograd || b->precision == INFER_PRECISION_BF16 || runs_winograd(e)) return 1;
    case_fail(c, b->name, "no layer runs Winograd");
    return 0;
}

/* Runs the reference: refused bad data when the row expects it, then the good data; keeps the outputs. */
static int run_reference(case_run *c) {
    infer_engine_options o;
    infer_engine_options_init(&o);
    o.device = INFER_DEVICE_CPU;
    o.max_batch = max_batch_of(c);
    o.cpu_isa = INFER_CPU_ISA_SCALAR;
    o.threads = 1;
    o.optimize = 0;
    o.winograd = INFER_WINOGRAD_OFF; /* the im2col GEMM: the Winograd paths are compared with it */
    infer_engine *e = NULL;
    infer_error err;
    infer_status s = infer_engine_create(c->ref_model ? c->ref_model : c->model, &o, &e, &err);
    if (s != INFER_OK) return case_fail(c, "reference", "engine: %s", err.message), -1;
    infer_tensor out[OPC_MAX_OUT];
    int ok = 0;
    if (c->ci->row->expect != INFER_OK) {
        s = infer_engine_run(e, c->in.bad, c->in.n, out, c->n_out, &err);
        if (s != c->ci->row->expect) {
            case_fail(c, "reference", "run with bad data gave %s, expected %s", infer_status_name(s),
                      infer_status_name(c->ci->row->expect));
            goto done;
        }
    }
    for (int bi = 0; bi < c->n_batches; bi++) {
        infer_tensor in[OPC_MAX_IN + OPC_MAX_THEN];
        inputs_at(c, bi, in);
        s = infer_engine_run(e, in, c->in.n, out, c->n_out, &err);
        if (s != INFER_OK) {
            case_fail(c, "reference", "run at batch %lld: %s", (long long)c->batch[bi], err.message);
            goto done;
        }
        if (copy_outputs(out, c->n_out, &c->ref[bi])) {
            case_fail(c, "reference", "out of memory");
            goto done;
        }
        if (!finite_outputs(&c->ref[bi])) {
            case_fail(c, "reference", "an output is not finite: the row's data or attributes are wrong");
            goto done;
        }
    }
    ok = 1;
done:
    infer_engine_destroy(e);
    return ok ? 0 : -1;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void time_backend(case_run *c, infer_engine *e, const backend_desc *b) {
    int n = c->r->opt.perf_runs;
    double *ms = malloc((size_t)n * sizeof *ms);
    if (!ms) return;
    infer_tensor out[OPC_MAX_OUT];
    infer_error err;
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        if (infer_engine_run(e, c->in.good, c->in.n, out, c->n_out, &err) != INFER_OK) {
            case_fail(c, b->name, "timed run: %s", err.message);
            free(ms);
            return;
        }
        ms[i] = now_ms() - t0;
    }
    qsort(ms, (size_t)n, sizeof *ms, compare_double);
    double median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    double flops = op_instance_flops(c->ci);
    printf("PERF %-48s %-11s %10.4f ms", c->ci->name, b->name, median);
    if (flops > 0 && median > 0) printf("  %9.2f GFLOP/s", flops / (median * 1e6));
    printf("\n");
    free(ms);
}

/* Runs the case on one backend; returns the worst float error, or -1 when it failed. */
static double run_backend(case_run *c, int bi) {
    const backend_desc *b = &backends[bi];
    const op_case *row = c->ci->row;
    infer_engine_options o;
    engine_options(c->r, b, max_batch_of(c), &o);
    o.sparse = row->densified ? INFER_SPARSE_DENSE : INFER_SPARSE_SPARSE; /* sparse rows: the kernels, not a timing */
    if (row->winograd == 1) o.winograd = INFER_WINOGRAD_ON;
    infer_engine *e = NULL;
    infer_error err;
    if (infer_engine_create(c->model, &o, &e, &err) != INFER_OK) return case_fail(c, b->name, "engine: %s", err.message), -1;
    infer_engine_stats st;
    if (infer_engine_stats_get(e, &st) == INFER_OK && st.fallback_nodes > 0) c->r->be[bi].fallback_cases++;
    if (b->device == INFER_DEVICE_CPU && (!sparse_form_as_asked(c, b->name, e) || !winograd_as_asked(c, b, e))) {
        infer_engine_destroy(e);
        return -1;
    }
    double tol = b->precision == INFER_PRECISION_FP16 && row->fp16_tol > 0 ? row->fp16_tol : b->tol;
    if (row->int8_tol > 0) tol = row->int8_tol;
    if (b->device == INFER_DEVICE_CPU && tol < WINOGRAD_TOL && runs_winograd(e)) tol = WINOGRAD_TOL;
    double worst = 0;
    infer_tensor out[OPC_MAX_OUT];
    infer_status s;
    if (row->expect != INFER_OK && (s = infer_engine_run(e, c->in.bad, c->in.n, out, c->n_out, &err)) != row->expect) {
        case_fail(c, b->name, "run with bad data gave %s, expected %s", infer_status_name(s), infer_status_name(row->expect));
        worst = -1;
    }
    for (int run = 0; worst >= 0 && run < b->runs * c->n_batches; run++) {
        int at = run % c->n_batches;
        const outputs_copy *ref = &c->ref[at];
        infer_tensor in[OPC_MAX_IN + OPC_MAX_THEN];
        inputs_at(c, at, in);
        if (infer_engine_run(e, in, c->in.n, out, c->n_out, &err) != INFER_OK) {
            case_fail(c, b->name, "run %d (batch %lld): %s", run + 1, (long long)c->batch[at], err.message);
            worst = -1;
            break;
        }
        for (int k = 0; k < c->n_out; k++) {
            char why[256] = "";
            double er = output_error(&out[k], &ref->t[k], why, sizeof why);
            double limit = is_float(ref->t[k].dtype) ? tol : 0;
            if (!(er <= limit)) {
                case_fail(c, b->name, "run %d (batch %lld), output %d: %s (tolerance %g)", run + 1,
                          (long long)c->batch[at], k, why, limit);
                worst = -1;
                break;
            }
            if (is_float(ref->t[k].dtype) && er > worst) worst = er;
        }
    }
    if (worst >= 0 && c->r->opt.perf) time_backend(c, e, b);
    if (c->r->opt.verbose && worst >= 0)
        printf("  %-11s %.3g%s\n", b->name, worst, st.fallback_nodes > 0 ? " (a node on the CPU fallback)" : "");
    infer_engine_destroy(e);
    return worst;
}

/* The inputs are the caller's: no backend may write into them. */
static int inputs_intact(case_run *c, const op_inputs *saved) {
    for (int i = 0; i < c->in.n; i++)
        if (memcmp(saved->good[i].data, c->in.good[i].data, bytes_of(&c->in.good[i]))) return 0;
    return 1;
}

static void run_case(runner *r, const op_instance *ci) {
    case_run c = { .r = r, .ci = ci, .n_batches = 1 };
    c.batch[0] = ci->row->in[0].dims[0];
    if (ci->row->dynamic) c.batch[c.n_batches++] = 1;
    char path[96];
    snprintf(path, sizeof path, "%s/case.ifg", r->dir);
    infer_error err;
    r->cases++;
    r->op_cases[ci->row->op]++;
    if (r->opt.verbose) printf("%s\n", ci->name);
    op_inputs saved = { 0 };
    if (op_model_save(ci, path, &err) != INFER_OK || infer_model_load(path, &c.model, &err) != INFER_OK) {
        case_fail(&c, "model", "%s", err.message);
        unlink(path);
        return;
    }
    unlink(path);
    if (op_case_has_encoded(ci->row)) {
        if (op_model_save_as(ci, path, 1, &err) != INFER_OK || infer_model_load(path, &c.ref_model, &err) != INFER_OK) {
            case_fail(&c, "model", "the f32 reference model: %s", err.message);
            unlink(path);
            infer_model_free(c.model);
            return;
        }
        unlink(path);
    }
    c.n_out = infer_model_output_count(c.model);
    if (op_inputs_make(ci, &c.in, &err) != INFER_OK || op_inputs_make(ci, &saved, &err) != INFER_OK) {
        case_fail(&c, "inputs", "%s", err.message);
        goto done;
    }
    if (run_reference(&c)) goto done;
    for (int bi = 0; bi < N_BACKENDS; bi++) {
        backend_state *bs = &r->be[bi];
        if (!bs->selected) continue;
        if (!bs->available) {
            r->skipped++;
            continue;
        }
        double worst = run_backend(&c, bi);
        if (worst < 0) continue;
        r->passed++;
        if (worst > r->op_worst[ci->row->op][bi]) r->op_worst[ci->row->op][bi] = worst;
    }
    if (!inputs_intact(&c, &saved)) case_fail(&c, "inputs", "a run wrote into the caller's input data");
done:
    op_inputs_free(&saved);
    op_inputs_free(&c.in);
    outputs_free(&c.ref[0]);
    outputs_free(&c.ref[1]);
    infer_model_free(c.model);
    infer_model_free(c.ref_model);
}

/* ---- backends, options, main ---------------------------------------------------- */

static int name_selected(const char *list, const char *name) {
    if (!list) return 1;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len && !strncmp(name, p, len) && (name[len] == 0 || name[len] == '-')) return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

/* A backend is available when an engine of its kind builds on a one-node model here. */
static void probe_backends(runner *r) {
    static const op_case probe = { .name = "probe", .op = OP_ACTIVATION, .in = { XF(-1, 1, 3) }, .out = { Y(INFER_F32, 3) },
                                   .attrs = { A_INT("kind", ACT_RELU) } };
    op_instance ci;
    op_instance_init(&ci, &probe, 0);
    char path[96];
    snprintf(path, sizeof path, "%s/probe.ifg", r->dir);
    infer_error err;
    infer_model *m = NULL;
    if (op_model_save(&ci, path, &err) != INFER_OK || infer_model_load(path, &m, &err) != INFER_OK) {
        fprintf(stderr, "op_test: the probe model: %s\n", err.message);
        exit(1);
    }
    unlink(path);
    for (int bi = 0; bi < N_BACKENDS; bi++) {
        backend_state *bs = &r->be[bi];
        bs->selected = name_selected(r->opt.backend, backends[bi].name);
        if (!bs->selected) continue;
        infer_engine_options o;
        engine_options(r, &backends[bi], 0, &o);
        infer_engine *e = NULL;
        infer_status s = infer_engine_create(m, &o, &e, &err);
        infer_engine_destroy(e);
        bs->available = s == INFER_OK;
        if (!bs->available) {
            snprintf(bs->why, sizeof bs->why, "%s: %s", infer_status_name(s), err.message);
            printf("SKIP %s: %s\n", backends[bi].name, bs->why);
        }
    }
    infer_model_free(m);
}

static void usage(FILE *f) {
    fprintf(f, "usage: op_test [--filter TEXT] [--backend NAME[,NAME...]] [--require] [--time-limit S] [--perf]\n"
               "               [--runs N] [--threads N] [--verbose] [--list]\n"
               "Runs every case of the op test table through the reference (scalar CPU kernels, unoptimized,\n"
               "one thread) and every backend here; prints FAIL and SKIP lines, the worst error per op and\n"
               "backend, and 'N passed, N failed, N skipped'. Exit status 1 when a case failed.\n"
               "  --filter TEXT    only cases whose name contains TEXT (an op name selects its cases)\n"
               "  --backend NAMES  cpu-scalar, cpu-avx2, cpu-avx512, cuda-fp32, cuda-tf32, cuda-fp16,\n"
               "                   cpu-bf16-avx512, cpu-bf16-amx, or a\n"
               "                   prefix before '-' (cpu, cuda)\n"
               "  --require        a backend skipped here is a failure (exit status 1)\n"
               "  --time-limit S   start no case after S seconds; the cases left count as not run (exit status 1)\n"
               "  --perf           also time each case per backend: the median of --runs runs (default 20)\n"
               "  --threads N      CPU threads of the backends (default 3; with --perf, every core)\n"
               "  --verbose        every case and its error per backend\n"
               "  --list           list the cases and exit\n");
}

static int parse_args(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->perf_runs = 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--perf")) o->perf = 1;
        else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) o->verbose = 1;
        else if (!strcmp(a, "--list")) o->list = 1;
        else if (!strcmp(a, "--require")) o->require = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout), exit(0), 0;
        else if (v && !strcmp(a, "--filter")) o->filter = argv[++i];
        else if (v && !strcmp(a, "--backend")) o->backend = argv[++i];
        else if (v && !strcmp(a, "--time-limit")) {
            char *end;
            o->time_limit_s = strtod(argv[++i], &end);
            if (*end || !(o->time_limit_s > 0)) return fprintf(stderr, "op_test: --time-limit takes seconds > 0, not '%s'\n", v), -1;
        } else if (v && (!strcmp(a, "--runs") || !strcmp(a, "--threads"))) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 100000) return fprintf(stderr, "op_test: %s takes a positive number, not '%s'\n", a, v), -1;
            *(!strcmp(a, "--runs") ? &o->perf_runs : &o->threads) = (int)n;
            i++;
        } else {
            fprintf(stderr, "op_test: unknown or incomplete argument '%s'\n", a);
            return -1;
        }
    }
    return 0;
}

static void print_summary(const runner *r) {
    printf("\n%-20s %5s", "op", "cases");
    for (int bi = 0; bi < N_BACKENDS; bi++)
        if (r->be[bi].selected && r->be[bi].available) printf(" %11s", backends[bi].name);
    printf("   (worst relative L2 of float outputs)\n");
    for (int op = 1; op < OP_COUNT; op++) {
        if (!r->op_cases[op]) continue;
        printf("%-20s %5d", op_name(op), r->op_cases[op]);
        for (int bi = 0; bi < N_BACKENDS; bi++)
            if (r->be[bi].selected && r->be[bi].available) printf(" %11.2g", r->op_worst[op][bi]);
        printf("\n");
    }
    for (int bi = 0; bi < N_BACKENDS; bi++)
        if (r->be[bi].fallback_cases)
            printf("%s: %d cases ran a node on the CPU fallback\n", backends[bi].name, r->be[bi].fallback_cases);
    printf("%d cases: %d passed, %d failed, %d skipped\n", r->cases, r->passed, r->failed, r->skipped);
}

static int case_selected(const options *o, const op_instance *ci) {
    return !o->filter || strstr(ci->name, o->filter) || !strcmp(op_name(ci->row->op), o->filter);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* a run cut off by a deadline keeps every line it printed */
    runner *r = calloc(1, sizeof *r);
    if (!r || parse_args(argc, argv, &r->opt)) return usage(stderr), 2;
    if (r->opt.list) {
        for (int i = 0; i < op_case_count; i++) {
            const op_case *row = &op_cases[i];
            for (int v = row->sweep ? row->sweep_from : 0; v <= (row->sweep ? row->sweep_to : 0); v++) {
                op_instance ci;
                op_instance_init(&ci, row, v);
                if (case_selected(&r->opt, &ci)) printf("%s\n", ci.name);
            }
        }
        free(r);
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(r->dir, sizeof r->dir, "%s/op_test.XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(r->dir)) {
        fprintf(stderr, "op_test: cannot make a temporary folder %s: %s\n", r->dir, strerror(errno));
        return 1;
    }
    probe_backends(r);
    int selected = 0;
    for (int bi = 0; bi < N_BACKENDS; bi++) selected += r->be[bi].selected;
    if (!selected) {
        fprintf(stderr, "op_test: --backend %s names no backend\n", r->opt.backend);
        rmdir(r->dir);
        return 2;
    }
    double start_ms = now_ms();
    for (int i = 0; i < op_case_count; i++) {
        const op_case *row = &op_cases[i];
        for (int v = row->sweep ? row->sweep_from : 0; v <= (row->sweep ? row->sweep_to : 0); v++) {
            op_instance ci;
            op_instance_init(&ci, row, v);
            if (!case_selected(&r->opt, &ci)) continue;
            if (r->opt.time_limit_s > 0 && now_ms() - start_ms > r->opt.time_limit_s * 1e3) r->not_run++;
            else run_case(r, &ci);
        }
    }
    rmdir(r->dir);
    if (!r->opt.filter && !r->not_run) /* every op of the format has rows */
        for (int op = 1; op < OP_COUNT; op++)
            if (op_get_info(op) && !r->op_cases[op]) {
                printf("FAIL op %s: the table has no row for it\n", op_name(op));
                r->failed++;
            }
    if (r->not_run) printf("FAIL --time-limit %g s: %d cases not run\n", r->opt.time_limit_s, r->not_run);
    if (r->opt.require && r->skipped) printf("FAIL --require: %d skipped\n", r->skipped);
    if (!r->cases) printf("FAIL no case matches --filter %s\n", r->opt.filter ? r->opt.filter : "");
    print_summary(r); /* its last line is the count */
    int status = r->failed || r->not_run || (r->opt.require && r->skipped) ? 1 : r->cases ? 0 : 1;
    free(r);
    return status;
}
