/* quant_run.c — the calibration runs of infer quantize: the data cut into engine-sized chunks, the FP32 model
 * observed once (outputs and the layers' inputs), and the output error of a candidate quantization. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quant_run.h"
#include "../runtime/engine.h"

/* "f32 [1, 3, -1]" */
static void shape_text(infer_dtype dt, int ndim, const int64_t *dims, char *buf, size_t size) {
    size_t at = (size_t)snprintf(buf, size, "%s [", infer_dtype_name(dt));
    for (int d = 0; d < ndim && at < size; d++) at += (size_t)snprintf(buf + at, size - at, "%s%lld", d ? ", " : "", (long long)dims[d]);
    if (at < size) snprintf(buf + at, size - at, "]");
}

/* Does calibration size n fit dim d (>= 1) of model input m: equal to a static dim, or in the range of the named dim
 * it is (its largest size recorded in r->dim_max)? 0, and why in err, when not. */
static int dim_fits(quant_run *r, const ifg_tensor *m, int d, int64_t n) {
    int64_t declared = m->dims[d];
    if (declared >= 0) return n == declared;
    int64_t e = -2 - declared;
    if (declared == -1 || e >= r->f->n_exprs) return 0;
    const ifg_expr *x = &r->f->exprs[e];
    if (x->coef != 1 || x->offset != 0 || x->n_factors != 1 || x->power[0] != 1 || x->flags) return 0;
    const ifg_dyn_dim *dim = &r->f->dyn_dims[x->sym[0]];
    if (n < dim->min || n > dim->max) return 0;
    for (int k = 0; k < r->n_dim_max; k++)
        if (!strcmp(r->dim_max[k].name, dim->name)) {
            if (n > r->dim_max[k].max) r->dim_max[k].max = n;
            return 1;
        }
    r->dim_max[r->n_dim_max++] = (infer_dim_max){ dim->name, n };
    return 1;
}

infer_status quant_run_open(quant_run *r, const ifg_file *f, const infer_tensor *const *calib, int n_batches,
                            const quant_options *o, infer_error *err) {
    memset(r, 0, sizeof *r);
    r->f = f;
    r->o = o;
    r->n_in = (int)f->n_inputs;
    r->n_out = (int)f->n_outputs;
    int64_t step = f->n_inputs ? f->tensors[f->inputs[0]].dims[0] : 1, total = 0;
    for (int b = 0; b < n_batches; b++) {
        int64_t rows = -1;
        for (int i = 0; i < r->n_in; i++) {
            const ifg_tensor *m = &f->tensors[f->inputs[i]];
            const infer_tensor *t = &calib[b][i];
            int ok = t->data && t->dtype == m->dtype && t->ndim == m->ndim && t->ndim >= 1 && (rows < 0 || t->dims[0] == rows);
            for (int d = 1; ok && d < m->ndim; d++) ok = dim_fits(r, m, d, t->dims[d]);
            if (!ok || t->dims[0] < 1 || (m->dims[0] > 0 && t->dims[0] % m->dims[0])) {
                char got[160], want[160];
                shape_text(t->dtype, t->ndim, t->dims, got, sizeof got);
                shape_text(m->dtype, m->ndim, m->dims, want, sizeof want);
                return infer_fail(err, INFER_ERR_ARGUMENT, "calibration batch %d, input %d ('%s'): %s given, the model "
                                  "takes %s (the leading dimension: %s)", b + 1, i, m->name, got, want,
                                  m->dims[0] > 0 ? "a multiple of the model's batch" : "any, the same for every input; "
                                  "a negative dim is a named dim: any size in its range");
            }
            rows = t->dims[0];
        }
        total += step > 0 ? rows / step : 1;
        if (step <= 0 && rows > r->max_batch) r->max_batch = (int)rows;
    }
    if (step > 0) r->max_batch = (int)step;
    if (total < 1 || total > 1000000) return infer_fail(err, INFER_ERR_ARGUMENT, "no usable calibration data");
    r->chunks = calloc((size_t)(total * r->n_in) + 1, sizeof *r->chunks);
    r->ref = calloc((size_t)(total * r->n_out) + 1, sizeof *r->ref);
    r->ref_count = calloc((size_t)(total * r->n_out) + 1, sizeof *r->ref_count);
    if (!r->chunks || !r->ref || !r->ref_count) return infer_fail(err, INFER_ERR_MEMORY, "out of memory");
    for (int b = 0; b < n_batches; b++) {
        int64_t rows = r->n_in ? calib[b][0].dims[0] : 1, per = step > 0 ? step : rows;
        for (int64_t c = 0; c < rows / per; c++, r->n_chunks++)
            for (int i = 0; i < r->n_in; i++) {
                infer_tensor v = calib[b][i];
                int64_t row_bytes = (int64_t)infer_dtype_size(v.dtype) * (infer_tensor_elements(&v) / v.dims[0]);
                v.dims[0] = per;
                v.data = (uint8_t *)v.data + c * per * row_bytes;
                r->chunks[r->n_chunks * r->n_in + i] = v;
            }
    }
    return INFER_OK;
}

void quant_run_close(quant_run *r) {
    for (int i = 0; r->ref && i < r->n_chunks * r->n_out; i++) free(r->ref[i]);
    free(r->ref);
    free(r->ref_count);
    free(r->chunks);
    memset(r, 0, sizeof *r);
}

typedef struct {
    uint8_t *image;
    infer_model *model;
    infer_engine *engine;
} built;

static void built_free(built *b) {
    infer_engine_destroy(b->engine);
    infer_model_free(b->model);
    free(b->image);
}

/* The file with the layers' choices (and extra outputs) as a CPU engine for the chunks. */
static infer_status build(quant_run *r, const quant_layer *l, int n, const uint32_t *extra, int n_extra, built *b,
                          infer_error *err) {
    memset(b, 0, sizeof *b);
    ifg_writer *w = NULL;
    INFER_TRY(quant_write(r->f, l, n, r->o->mode, r->o->bias_correction, extra, n_extra, &w, err));
    uint64_t size = 0;
    infer_status s = ifg_writer_to_memory(w, &b->image, &size, err);
    ifg_writer_destroy(w);
    if (s == INFER_OK) s = model_load_memory(b->image, size, "(calibration model)", &b->model, err);
    infer_engine_options eo;
    infer_engine_options_init(&eo);
    eo.device = INFER_DEVICE_CPU;
    eo.threads = r->o->threads;
    eo.max_batch = r->max_batch;
    eo.dim_max = r->dim_max;
    eo.n_dim_max = r->n_dim_max;
    if (s == INFER_OK) s = infer_engine_create(b->model, &eo, &b->engine, err);
    if (s != INFER_OK) built_free(b);
    return s;
}

/* Where layer l's input is in a run: graph input i (>= 0), or output -1 - k. */
static int source_of(const quant_run *r, uint32_t x, const uint32_t *extra, int n_extra) {
    for (int i = 0; i < r->n_in; i++)
        if (r->f->inputs[i] == x) return i;
    for (int k = 0; k < r->n_out; k++)
        if (r->f->outputs[k] == x) return -1 - k;
    for (int k = 0; k < n_extra; k++)
        if (extra[k] == x) return -1 - (r->n_out + k);
    return -1 - (r->n_out + n_extra);
}

static void observe_input(quant_layer *l, const infer_tensor *x) {
    int64_t count = infer_tensor_elements(x);
    const float *v = x->data;
    quant_hist_add(&l->hist, v, count);
    int conv = x->ndim == 4 && l->taps >= 1 && x->dims[1] == l->in_channels;
    int64_t inner = conv ? x->dims[2] * x->dims[3] : 1, ch = l->in_channels;
    if (ch < 1 || count % (ch * inner)) return;
    for (int64_t i = 0; i < count; i++) {
        float e = v[i];
        if (isfinite(e)) l->sum_x[(i / inner) % ch] += e;
    }
    l->count_x += (double)(count / ch);
}

infer_status quant_run_observe(quant_run *r, quant_layer *l, int n, infer_error *err) {
    uint32_t *extra = calloc((size_t)n + 1, sizeof *extra);
    int n_extra = 0;
    if (!extra) return infer_fail(err, INFER_ERR_MEMORY, "out of memory");
    for (int i = 0; i < n; i++) {
        if (!l[i].candidate || l[i].weight_only || source_of(r, l[i].x, extra, n_extra) != -1 - (r->n_out + n_extra)) continue;
        extra[n_extra++] = l[i].x;
    }
    built b;
    infer_status s = build(r, l, n, extra, n_extra, &b, err);
    infer_tensor *out = calloc((size_t)(r->n_out + n_extra) + 1, sizeof *out);
    if (s == INFER_OK && !out) s = infer_fail(err, INFER_ERR_MEMORY, "out of memory");
    for (int c = 0; s == INFER_OK && c < r->n_chunks; c++) {
        const infer_tensor *in = &r->chunks[c * r->n_in];
        s = infer_engine_run(b.engine, in, r->n_in, out, r->n_out + n_extra, err);
        for (int k = 0; s == INFER_OK && k < r->n_out; k++) {
            if (out[k].dtype != INFER_F32) continue;
            int64_t cnt = infer_tensor_elements(&out[k]);
            float *copy = malloc((size_t)cnt * sizeof(float) + 1);
            if (!copy) s = infer_fail(err, INFER_ERR_MEMORY, "out of memory keeping the FP32 outputs");
            else memcpy(copy, out[k].data, (size_t)cnt * sizeof(float));
            r->ref[c * r->n_out + k] = copy;
            r->ref_count[c * r->n_out + k] = cnt;
        }
        for (int i = 0; s == INFER_OK && i < n; i++) {
            if (!l[i].candidate || l[i].weight_only) continue;
            int src = source_of(r, l[i].x, extra, n_extra);
            observe_input(&l[i], src >= 0 ? &in[src] : &out[-1 - src]);
        }
    }
    if (b.engine) built_free(&b);
    free(out);
    free(extra);
    return s;
}

infer_status quant_run_error(quant_run *r, const quant_layer *l, int n, double *error, infer_error *err) {
    built b;
    INFER_TRY(build(r, l, n, NULL, 0, &b, err));
    infer_tensor *out = calloc((size_t)r->n_out + 1, sizeof *out);
    infer_status s = out ? INFER_OK : infer_fail(err, INFER_ERR_MEMORY, "out of memory");
    double num = 0, den = 0;
    for (int c = 0; s == INFER_OK && c < r->n_chunks; c++) {
        s = infer_engine_run(b.engine, &r->chunks[c * r->n_in], r->n_in, out, r->n_out, err);
        for (int k = 0; s == INFER_OK && k < r->n_out; k++) {
            const float *ref = r->ref[c * r->n_out + k], *y = out[k].data;
            if (!ref || out[k].dtype != INFER_F32 || infer_tensor_elements(&out[k]) != r->ref_count[c * r->n_out + k])
                continue;
            for (int64_t i = 0; i < r->ref_count[c * r->n_out + k]; i++) {
                double d = (double)y[i] - ref[i];
                num += d * d;
                den += (double)ref[i] * ref[i];
            }
        }
    }
    *error = den > 0 ? sqrt(num / den) : num > 0 ? INFINITY : 0.0;
    built_free(&b);
    free(out);
    return s;
}
