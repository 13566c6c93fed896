/* quant_model.c — infer quantize's library: finds the linear, conv2d, lstm/gru and embedding weights, runs the FP32 model over the
 * calibration data observing their inputs, picks each layer's method by the model's error with that layer
 * alone quantized, keeps the most sensitive layers float while the error bound is missed, writes the file. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quant_layers.h"
#include "quant_run.h"
#include "../base/error.h"
#include "../base/ops.h"
#include "../loaders/atomic_write.h"

#define K_MAX 65536 /* the INT8 GEMM's longest reduction (GEMM_S8_K_MAX) */

void quant_options_init(quant_options *o) {
    memset(o, 0, sizeof *o);
    o->mode = QUANT_STATIC;
    o->method = QUANT_METHOD_AUTO;
    o->bias_correction = 1;
}

void quant_report_free(quant_report *r) {
    free(r->layers);
    memset(r, 0, sizeof *r);
}

void quant_progress(const quant_options *o, const char *fmt, ...) {
    if (!o->progress) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->progress(o->progress_ctx, line);
}

static int kept(const quant_options *o, const char *node, const char *weight) {
    for (int i = 0; i < o->n_keep; i++)
        if (!strcmp(o->keep[i], node) || !strcmp(o->keep[i], weight)) return 1;
    return 0;
}

#define IFG_MAX_RNN_GROUPS 64 /* layers x directions of one lstm/gru (IR_MAX_INPUTS bounds its inputs) */

static int dense_f32_const(const ifg_tensor *t) {
    return t->is_constant && t->encoding == IFG_ENC_DENSE && t->dtype == INFER_F32 && t->data;
}

/* Layer l of node nd: its shape, and whether it can be quantized (else why_float). */
static void describe_layer(const ifg_file *f, const ifg_node *nd, const quant_options *o, quant_layer *l) {
    int conv = nd->op == OP_CONV2D;
    l->x = nd->inputs[0];
    l->w = nd->n_inputs > 1 ? nd->inputs[1] : IFG_NONE;
    l->b = nd->n_inputs > 2 ? nd->inputs[2] : IFG_NONE;
    l->method = CALIB_MINMAX;
    l->alone_error = -1;
    l->taps = l->groups = 1;
    const ifg_attr *g = conv ? ifg_node_attr(nd, "groups") : NULL;
    if (g && g->type == IFG_ATTR_INT) l->groups = g->i;
    const ifg_tensor *w = l->w == IFG_NONE ? NULL : &f->tensors[l->w];
    if (!w || !dense_f32_const(w) || w->ndim != (conv ? 4 : 2)) {
        l->why_float = "weight not a dense f32 constant";
        return;
    }
    if (l->x == IFG_NONE || f->tensors[l->x].is_constant || f->tensors[l->x].dtype != INFER_F32) {
        l->why_float = "input not an f32 activation";
        return;
    }
    if (l->b != IFG_NONE && (!dense_f32_const(&f->tensors[l->b]) || f->tensors[l->b].data_size != (uint64_t)w->dims[0] * 4)) {
        l->why_float = "bias not a dense f32 constant";
        return;
    }
    l->channels = w->dims[0];
    l->per_channel = w->dims[1] * (conv ? w->dims[2] * w->dims[3] : 1);
    l->taps = conv ? w->dims[2] * w->dims[3] : 1;
    l->in_channels = conv ? w->dims[1] * l->groups : w->dims[1];
    if (conv && (l->groups < 1 || l->channels % l->groups)) {
        l->why_float = "groups do not divide the output channels";
        return;
    }
    if (l->channels < 1 || l->per_channel < 1 || l->per_channel > K_MAX) {
        l->why_float = "weight shape outside the INT8 kernels' range";
        return;
    }
    if (kept(o, nd->name, w->name)) {
        l->why_float = "--keep";
        return;
    }
    l->sum_x = calloc((size_t)l->in_channels, sizeof(double));
    if (!l->sum_x) {
        l->why_float = "out of memory";
        return;
    }
    quant_hist_init(&l->hist);
    l->candidate = 1;
}

/* A weight-only layer: lstm/gru w_ih or w_hh (int8 per gate row, dynamic INT8 at run time) or an embedding table
 * (int8 per row, dequantized as gathered). */
static void describe_weight_only(const ifg_file *f, const ifg_node *nd, int input, const quant_options *o,
                                 quant_layer *l) {
    l->x = l->b = IFG_NONE;
    l->w = nd->inputs[input];
    l->w_input = input;
    l->weight_only = 1;
    l->method = CALIB_MINMAX;
    l->alone_error = -1;
    l->taps = l->groups = 1;
    const ifg_tensor *w = l->w == IFG_NONE ? NULL : &f->tensors[l->w];
    if (!w || !dense_f32_const(w) || w->ndim != 2) {
        l->why_float = "weight not a dense f32 constant";
        return;
    }
    l->channels = w->dims[0];
    l->per_channel = w->dims[1];
    if (l->channels < 1 || l->per_channel < 1 || (nd->op != OP_EMBEDDING && l->per_channel > K_MAX)) {
        l->why_float = "weight shape outside the INT8 kernels' range";
        return;
    }
    if (kept(o, nd->name, w->name)) {
        l->why_float = "--keep";
        return;
    }
    l->candidate = 1;
}

/* lstm/gru: the input of each w_ih and w_hh (after x and the states, per layer and direction w_ih, w_hh, b_ih,
 * b_hh); embedding: its table; linear/conv2d: 1; else 0 (not quantizable). Fills inputs, returns the count. */
static int weight_inputs(const ifg_node *nd, int *inputs) {
    if (nd->op == OP_LINEAR || nd->op == OP_CONV2D || nd->op == OP_EMBEDDING) return inputs[0] = 1, 1;
    if (nd->op != OP_LSTM && nd->op != OP_GRU) return 0;
    int first = nd->op == OP_LSTM ? 3 : 2, n = 0;
    for (int k = first; k + 1 < (int)nd->n_inputs && n + 2 <= 2 * IFG_MAX_RNN_GROUPS; k += 4) inputs[n++] = k, inputs[n++] = k + 1;
    return n;
}

/* Weight-only layers of one node (an lstm/gru's w_ih and w_hh) are quantized together: the kernel takes all of them
 * int8 or none. Gives l[i]'s siblings its choice. */
static void link_siblings(quant_layer *l, int n, int i) {
    for (int j = 0; j < n; j++)
        if (j != i && l[i].weight_only && l[j].weight_only && l[j].node == l[i].node) {
            l[j].quantize = l[i].quantize;
            if (!l[i].quantize && l[i].why_float) l[j].why_float = l[i].why_float;
        }
}

/* A weight-only layer that cannot be quantized keeps its siblings float too. */
static void group_candidates(quant_layer *l, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; l[i].weight_only && !l[i].candidate && j < n; j++)
            if (l[j].weight_only && l[j].node == l[i].node && l[j].candidate) {
                l[j].candidate = 0;
                l[j].why_float = "another weight of the node stays float";
            }
}

static int find_layers(const ifg_file *f, const quant_options *o, quant_layer **out) {
    int n = 0, inputs[2 * IFG_MAX_RNN_GROUPS];
    for (uint32_t i = 0; i < f->n_nodes; i++) n += weight_inputs(&f->nodes[i], inputs);
    quant_layer *l = calloc((size_t)n + 1, sizeof *l);
    if (!l) return -1;
    n = 0;
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const ifg_node *nd = &f->nodes[i];
        int count = weight_inputs(nd, inputs);
        for (int k = 0; k < count; k++, n++) {
            l[n].node = i;
            l[n].w_input = 1;
            if (nd->op == OP_LINEAR || nd->op == OP_CONV2D) describe_layer(f, nd, o, &l[n]);
            else describe_weight_only(f, nd, inputs[k], o, &l[n]);
        }
    }
    group_candidates(l, n);
    *out = l;
    return n;
}

static void free_layers(quant_layer *l, int n) {
    for (int i = 0; l && i < n; i++) free(l[i].sum_x);
    free(l);
}

/* Sets the static input parameters of every candidate from its histogram by its method; 0, or -1 when a
 * candidate saw no finite value (then not quantized). */
static void set_params(quant_layer *l, int n) {
    for (int i = 0; i < n; i++) {
        if (!l[i].candidate || l[i].weight_only) continue;
        if (calib_params_u8(&l[i].hist, l[i].method, &l[i].in_scale, &l[i].in_zero) != 0) {
            l[i].candidate = l[i].quantize = 0;
            l[i].why_float = "no finite calibration value reached it";
        }
    }
}

static void set_all(quant_layer *l, int n, int on) {
    for (int i = 0; i < n; i++) l[i].quantize = on && l[i].candidate;
}

/* Sensitivity: per candidate, each method tried with that layer alone quantized; the best kept. */
static infer_status choose_methods(quant_run *qr, quant_layer *l, int n, const quant_options *o, infer_error *err) {
    int first = o->method == QUANT_METHOD_AUTO ? 0 : o->method, last = o->method == QUANT_METHOD_AUTO ? CALIB_COUNT - 1 : o->method;
    if (o->mode == QUANT_DYNAMIC) first = last = CALIB_MINMAX; /* the method only sets static parameters */
    for (int i = 0; i < n; i++) {
        if (!l[i].candidate) continue;
        int sibling = -1; /* an earlier weight of the same node: measured with it */
        for (int j = 0; j < i && l[i].weight_only && sibling < 0; j++)
            if (l[j].weight_only && l[j].node == l[i].node) sibling = j;
        if (sibling >= 0) {
            l[i].alone_error = l[sibling].alone_error;
            continue;
        }
        int best = first;
        double best_err = INFINITY;
        for (int m = first; m <= (l[i].weight_only ? first : last); m++) { /* the method is the input's */
            set_all(l, n, 0);
            l[i].quantize = 1;
            link_siblings(l, n, i);
            l[i].method = m;
            set_params(l, n);
            if (!l[i].candidate) break;
            double e;
            INFER_TRY(quant_run_error(qr, l, n, &e, err));
            if (e < best_err) best_err = e, best = m;
        }
        if (!l[i].candidate) continue;
        l[i].method = best;
        l[i].alone_error = best_err;
        quant_progress(o, "layer %d/%d %s: %s, model error alone %.3g", i + 1, n,
                       l[i].weight_only ? qr->f->tensors[l[i].w].name : qr->f->nodes[l[i].node].name,
                       l[i].weight_only ? "int8 weights" : o->mode == QUANT_STATIC ? calib_method_name(best) : "dynamic", best_err);
    }
    set_all(l, n, 1);
    set_params(l, n);
    return INFER_OK;
}

/* Keeps the most sensitive quantized layer float until the model error is within max_error. */
static infer_status meet_bound(quant_run *qr, quant_layer *l, int n, const quant_options *o, double *error,
                               infer_error *err) {
    INFER_TRY(quant_run_error(qr, l, n, error, err));
    while (o->max_error > 0 && *error > o->max_error) {
        int worst = -1;
        for (int i = 0; i < n; i++)
            if (l[i].quantize && (worst < 0 || l[i].alone_error > l[worst].alone_error)) worst = i;
        if (worst < 0) break;
        l[worst].quantize = 0;
        l[worst].why_float = "sensitivity (--max-error)";
        link_siblings(l, n, worst);
        INFER_TRY(quant_run_error(qr, l, n, error, err));
        quant_progress(o, "keeping %s float: model error %.3g", qr->f->nodes[l[worst].node].name, *error);
    }
    return INFER_OK;
}

static infer_status fill_report(const ifg_file *f, const quant_layer *l, int n, quant_report *r, infer_error *err) {
    r->layers = calloc((size_t)n + 1, sizeof *r->layers);
    if (!r->layers) return infer_fail(err, INFER_ERR_MEMORY, "out of memory");
    r->n_layers = n;
    for (int i = 0; i < n; i++) {
        quant_layer_report *x = &r->layers[i];
        snprintf(x->name, sizeof x->name, "%s", l[i].weight_only ? f->tensors[l[i].w].name : f->nodes[l[i].node].name);
        x->op = op_name(f->nodes[l[i].node].op);
        x->weight_only = l[i].weight_only;
        x->quantized = l[i].quantize;
        x->why_float = l[i].quantize ? NULL : l[i].why_float ? l[i].why_float : "not quantized";
        x->method = l[i].method;
        x->in_scale = l[i].in_scale;
        x->in_zero = l[i].in_zero;
        x->alone_error = l[i].alone_error;
        r->n_quantized += l[i].quantize;
    }
    return INFER_OK;
}

static infer_status save(const ifg_file *f, quant_layer *l, int n, const quant_options *o, int calibrated,
                         const char *out_path, uint64_t *bytes, infer_error *err) {
    ifg_writer *w = NULL;
    INFER_TRY(quant_write(f, l, n, o->mode, o->bias_correction && calibrated, NULL, 0, &w, err));
    int q = 0;
    for (int i = 0; i < n; i++) q += l[i].quantize;
    char note[96];
    snprintf(note, sizeof note, "int8 %s, %d of %d weights (linear, conv2d, lstm/gru dynamic, embedding)",
             o->mode == QUANT_STATIC ? "static" : "dynamic", q, n);
    ifg_writer_meta(w, "quantized", note);
    uint8_t *image = NULL;
    infer_status s = ifg_writer_to_memory(w, &image, bytes, err);
    ifg_writer_destroy(w);
    if (s == INFER_OK) {
        write_chunk c = { image, *bytes };
        s = write_file_atomic(out_path, &c, 1, err);
    }
    free(image);
    return s;
}

infer_status quant_model(const char *in_path, const char *out_path, const infer_tensor *const *calib, int n_batches,
                         const quant_options *o, quant_report *report, infer_error *err) {
    infer_error_clear(err);
    memset(report, 0, sizeof *report);
    if (!in_path || !out_path || !o || (n_batches > 0 && !calib) || n_batches < 0)
        return infer_fail(err, INFER_ERR_ARGUMENT, "quant_model: paths, options and calibration batches are required");
    if (o->mode == QUANT_STATIC && n_batches == 0)
        return infer_fail(err, INFER_ERR_ARGUMENT, "static quantization needs calibration data (--calib)");
    if (o->method != QUANT_METHOD_AUTO && (o->method < 0 || o->method >= CALIB_COUNT))
        return infer_fail(err, INFER_ERR_ARGUMENT, "unknown calibration method %d", o->method);
    if (!(o->max_error >= 0) || isinf(o->max_error))
        return infer_fail(err, INFER_ERR_ARGUMENT, "--max-error must be a finite value >= 0");
    ifg_file f;
    INFER_TRY(ifg_open(in_path, &f, err));
    quant_layer *l = NULL;
    int n = find_layers(&f, o, &l);
    quant_run qr;
    memset(&qr, 0, sizeof qr);
    infer_status s = INFER_OK;
    if (n < 0) {
        s = infer_fail(err, INFER_ERR_MEMORY, "out of memory");
        goto done;
    }
    for (int i = 0; i < o->n_keep; i++) {
        int found = 0;
        for (int j = 0; j < n && !found; j++)
            found = !strcmp(o->keep[i], f.nodes[l[j].node].name) ||
                    (l[j].w != IFG_NONE && !strcmp(o->keep[i], f.tensors[l[j].w].name));
        if (!found) {
            s = infer_fail(err, INFER_ERR_ARGUMENT, "--keep %s: no linear, conv2d, lstm, gru or embedding node or weight of "
                           "that name", o->keep[i]);
            goto done;
        }
    }
    report->float_error = -1;
    report->model_error = -1;
    if (n_batches > 0) {
        if ((s = quant_run_open(&qr, &f, calib, n_batches, o, err)) != INFER_OK) goto done;
        quant_progress(o, "calibrating: %d batch(es), %d weights", qr.n_chunks, n);
        if ((s = quant_run_observe(&qr, l, n, err)) != INFER_OK) goto done;
        set_all(l, n, 0);
        if ((s = quant_run_error(&qr, l, n, &report->float_error, err)) != INFER_OK) goto done;
        if ((s = choose_methods(&qr, l, n, o, err)) != INFER_OK) goto done;
        if ((s = meet_bound(&qr, l, n, o, &report->model_error, err)) != INFER_OK) goto done;
    } else {
        set_all(l, n, 1);
    }
    if ((s = fill_report(&f, l, n, report, err)) != INFER_OK) goto done;
    report->bytes_in = f.size;
    s = save(&f, l, n, o, n_batches > 0, out_path, &report->bytes_out, err);
done:
    if (s != INFER_OK) quant_report_free(report);
    quant_run_close(&qr);
    free_layers(l, n);
    ifg_close(&f);
    return s;
}
