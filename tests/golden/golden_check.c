/* golden_check.c — runs every golden model through libinfer and compares with PyTorch's outputs. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "infer.h"
#include "../../loaders/npy.h"

#define MAX_IO 16
#define TOLERANCE 1e-5 /* relative L2 error against PyTorch, float32 */

static int passed, failed;

static void check(int ok, const char *model, const char *what, const char *detail) {
    if (ok) passed++;
    else failed++;
    printf("%s %-14s %-34s %s\n", ok ? "[PASS]" : "[FAIL]", model, what, detail);
}

static double rel_l2(const infer_tensor *a, const infer_tensor *b) {
    int64_t n = infer_tensor_elements(b);
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double x, y;
        if (b->dtype == INFER_F32) {
            x = ((const float *)a->data)[i];
            y = ((const float *)b->data)[i];
        } else if (b->dtype == INFER_I64) {
            x = (double)((const int64_t *)a->data)[i];
            y = (double)((const int64_t *)b->data)[i];
        } else {
            x = ((const uint8_t *)a->data)[i];
            y = ((const uint8_t *)b->data)[i];
        }
        num += (x - y) * (x - y);
        den += y * y;
    }
    if (num != num) return INFINITY;
    return sqrt(num) / (den > 0 ? sqrt(den) : 1e-30);
}

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
        check(0, model, what, detail);
        return 0;
    }
    double err = rel_l2(got, want);
    snprintf(detail, sizeof detail, "rel L2 %.3g (tolerance %.0e)", err, TOLERANCE);
    check(err <= TOLERANCE, model, what, detail);
    return err <= TOLERANCE;
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

/* Runs one case on a fresh engine; compares every output. */
static void run_case(const infer_model *m, const char *name, const char *what, case_files *c, int max_batch,
                     int optimize) {
    infer_engine_options opt;
    infer_engine_options_init(&opt);
    opt.device = INFER_DEVICE_CPU;
    opt.threads = 2;
    opt.max_batch = max_batch;
    opt.optimize = optimize;
    infer_engine *e = NULL;
    infer_error err;
    infer_tensor out[MAX_IO];
    if (infer_engine_create(m, &opt, &e, &err) != INFER_OK ||
        infer_engine_run(e, c->in, c->n_in, out, c->n_out, &err) != INFER_OK) {
        check(0, name, what, err.message);
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
    infer_engine_options_init(&opt);
    opt.device = INFER_DEVICE_CPU;
    opt.threads = 1;
    opt.max_batch = (int)j->c->in[0].dims[0];
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
    int ok = jobs[0].ok && jobs[1].ok && jobs[0].result && jobs[1].result && jobs[0].n == jobs[1].n &&
             memcmp(jobs[0].result, jobs[1].result, (size_t)jobs[0].n * sizeof(float)) == 0;
    if (ok) {
        infer_tensor got = c->out[0];
        got.data = jobs[0].result;
        ok = rel_l2(&got, &c->out[0]) <= TOLERANCE;
    }
    check(ok, name, "two engines in two threads", ok ? "identical, within tolerance" : "differ or failed");
    free(jobs[0].result);
    free(jobs[1].result);
}

static void check_model(const char *dir, const char *name, int n_in, int n_out) {
    char path[4096];
    infer_error err;
    infer_model *m = NULL;
    snprintf(path, sizeof path, "%s/%s.ifg", dir, name);
    if (infer_model_load(path, &m, &err) != INFER_OK) {
        check(0, name, "load", err.message);
        return;
    }
    case_files c;
    if (!load_case(dir, name, "", n_in, n_out, &c)) {
        check(0, name, "reference files", "missing or unreadable .npy");
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
    int ok = same_shape(&ta, &tb) && rel_l2(&ta, &tb) <= TOLERANCE;
    if (!ok) fprintf(stderr, "%s and %s differ\n", a, b);
    npy_free(&ta);
    npy_free(&tb);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--compare")) return compare_files(argv[2], argv[3]);
    if (argc != 2) {
        fprintf(stderr, "usage: golden_check DIR   (DIR made by tests/golden/gen.py)\n"
                        "       golden_check --compare A.npy B.npy\n");
        return 2;
    }
    char path[4096], name[256];
    snprintf(path, sizeof path, "%s/manifest.txt", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "golden_check: cannot open %s\n", path);
        return 2;
    }
    int n_in, n_out;
    while (fscanf(f, "%255s %d %d", name, &n_in, &n_out) == 3)
        if (n_in > 0 && n_in <= MAX_IO && n_out > 0 && n_out <= MAX_IO) check_model(argv[1], name, n_in, n_out);
    fclose(f);
    printf("%d passed, %d failed\n", passed, failed);
    return failed || !passed ? 1 : 0;
}
