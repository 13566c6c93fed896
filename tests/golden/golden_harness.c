/* golden_harness.c — the shared part of the golden checks: result lines, error measures, inputs, runs, manifest. */
#include "golden_harness.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One test program's tally (a test program, not the library: one per process). */
static int passed, failed, what_width = 34;

void golden_tensors_free(golden_tensors *ts) {
    for (int i = 0; i < ts->n; i++) free(ts->t[i].data);
    ts->n = 0;
}

void golden_set_what_width(int width) { what_width = width; }

void golden_result(int ok, const char *model, const char *what, const char *detail) {
    if (ok) passed++;
    else failed++;
    printf("%s %-14s %-*s %s\n", ok ? "[PASS]" : "[FAIL]", model, what_width, what, detail);
    fflush(stdout);
}

int golden_summary(void) {
    printf("%d passed, %d failed\n", passed, failed);
    return failed || !passed ? 1 : 0;
}

static double element(const infer_tensor *t, int64_t i) {
    if (t->dtype == INFER_F32) return ((const float *)t->data)[i];
    if (t->dtype == INFER_I64) return (double)((const int64_t *)t->data)[i];
    return ((const uint8_t *)t->data)[i];
}

double golden_rel_l2(const infer_tensor *a, const infer_tensor *b) {
    int64_t n = infer_tensor_elements(b);
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = element(a, i), y = element(b, i);
        num += (x - y) * (x - y);
        den += y * y;
    }
    if (num != num) return INFINITY;
    return sqrt(num) / (den > 0 ? sqrt(den) : 1e-30);
}

double golden_top1_agreement(const infer_tensor *a, const infer_tensor *b) {
    int64_t classes = b->dims[b->ndim - 1], rows = classes ? infer_tensor_elements(b) / classes : 0, same = 0;
    const float *x = a->data, *y = b->data;
    for (int64_t r = 0; r < rows; r++) {
        int64_t ia = 0, ib = 0;
        for (int64_t c = 1; c < classes; c++) {
            if (x[r * classes + c] > x[r * classes + ia]) ia = c;
            if (y[r * classes + c] > y[r * classes + ib]) ib = c;
        }
        same += ia == ib;
    }
    return rows ? (double)same / (double)rows : 1.0;
}

double golden_uniform(uint64_t *rng) {
    *rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;
    return ((double)(*rng >> 11) + 0.5) / 9007199254740992.0;
}

double golden_normal(uint64_t *rng) {
    double u = golden_uniform(rng);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * golden_uniform(rng));
}

int golden_make_inputs(const infer_model *m, int rows, golden_dist dist, uint64_t *rng, golden_tensors *in) {
    int n = infer_model_input_count(m);
    in->n = 0;
    if (n > GOLDEN_MAX_IO) return 0;
    for (int i = 0; i < n; i++) {
        infer_tensor_info info;
        if (infer_model_input(m, i, &info) != INFER_OK || (info.dtype != INFER_F32 && info.dtype != INFER_I64)) return 0;
        infer_tensor *t = &in->t[in->n++];
        t->dtype = info.dtype;
        t->ndim = info.ndim;
        memcpy(t->dims, info.dims, sizeof info.dims);
        t->dims[0] = rows;
        int64_t count = infer_tensor_elements(t);
        t->data = malloc((size_t)count * 8 + 1);
        if (!t->data) return 0;
        for (int64_t k = 0; k < count; k++) {
            if (info.dtype == INFER_I64) ((int64_t *)t->data)[k] = (int64_t)(golden_uniform(rng) * 1000);
            else if (dist == GOLDEN_NORMAL) ((float *)t->data)[k] = (float)golden_normal(rng);
            else ((float *)t->data)[k] = (float)(golden_uniform(rng) * 4 - 2);
        }
    }
    return 1;
}

int golden_run_copy(const infer_model *m, const infer_engine_options *opt, const infer_tensor *in, int n_in,
                    golden_tensors *out, char *why, size_t why_size) {
    infer_engine *e = NULL;
    infer_error err;
    infer_tensor got[GOLDEN_MAX_IO];
    int n_out = infer_model_output_count(m);
    out->n = 0;
    if (n_out > GOLDEN_MAX_IO || infer_engine_create(m, opt, &e, &err) != INFER_OK ||
        infer_engine_run(e, in, n_in, got, n_out, &err) != INFER_OK) {
        snprintf(why, why_size, "%.300s", n_out > GOLDEN_MAX_IO ? "too many outputs" : err.message);
        infer_engine_destroy(e);
        return 0;
    }
    for (int i = 0; i < n_out; i++, out->n++) {
        size_t bytes = (size_t)infer_tensor_elements(&got[i]) * infer_dtype_size(got[i].dtype);
        out->t[i] = got[i];
        out->t[i].data = malloc(bytes ? bytes : 1);
        if (!out->t[i].data) {
            snprintf(why, why_size, "out of memory copying output %d", i);
            infer_engine_destroy(e);
            golden_tensors_free(out);
            return 0;
        }
        memcpy(out->t[i].data, got[i].data, bytes);
    }
    infer_engine_destroy(e);
    return 1;
}

infer_model *golden_load(const char *dir, const char *name, char *path, size_t path_size) {
    infer_error err;
    infer_model *m = NULL;
    snprintf(path, path_size, "%s/%s.ifg", dir, name);
    if (infer_model_load(path, &m, &err) != INFER_OK) {
        golden_result(0, name, "load", err.message);
        return NULL;
    }
    return m;
}

FILE *golden_open_manifest(const char *prog, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) fprintf(stderr, "%s: cannot open %s\n", prog, path);
    return f;
}

void golden_for_each_model(FILE *manifest, const char *dir, golden_model_fn fn, void *arg) {
    char name[256];
    int n_in, n_out;
    while (fscanf(manifest, "%255s %d %d", name, &n_in, &n_out) == 3) fn(arg, dir, name, n_in, n_out);
    fclose(manifest);
}
