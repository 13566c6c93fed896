/* quant_write.c — a model file rewritten with INT8 layers: int8 per-channel weights with their scales, corrected
 * biases, static input parameters as node attributes; tensors nothing reads any more are dropped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quant_layers.h"
#include "quant_params.h"
#include "../base/error.h"

#define MAX_IDS 256 /* inputs and outputs of one node */

typedef struct {
    const ifg_file *f;
    ifg_writer *w;
    uint32_t *map;        /* old tensor id -> new id, IFG_NONE when dropped */
    uint32_t *qw, *qb;    /* per layer: its new weight and bias ids, IFG_NONE when not replaced */
    const quant_layer *layers;
} rewrite;

/* The quantized layer whose weight is input k of node (NULL: none). */
static const quant_layer *quantized_at(const quant_layer *layers, int n, uint32_t node, uint32_t k) {
    for (int i = 0; i < n; i++)
        if (layers[i].node == node && layers[i].quantize && (uint32_t)layers[i].w_input == k) return &layers[i];
    return NULL;
}

/* The quantized linear/conv2d layer of node (it has activation parameters and a bias); NULL: none. */
static const quant_layer *quantized_layer(const quant_layer *layers, int n, uint32_t node) {
    const quant_layer *l = quantized_at(layers, n, node, 1);
    return l && !l->weight_only ? l : NULL;
}

/* Marks the tensors the rewritten file still reads. */
static void mark_used(const ifg_file *f, const quant_layer *layers, int n, int bias_correction, const uint32_t *extra,
                      int n_extra, uint8_t *used) {
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const ifg_node *nd = &f->nodes[i];
        const quant_layer *l = quantized_layer(layers, n, i);
        for (uint32_t k = 0; k < nd->n_inputs; k++) {
            if (nd->inputs[k] == IFG_NONE) continue;
            if (quantized_at(layers, n, i, k) || (l && k == 2 && bias_correction)) continue;
            used[nd->inputs[k]] = 1;
        }
        for (uint32_t k = 0; k < nd->n_outputs; k++) used[nd->outputs[k]] = 1;
    }
    for (uint32_t i = 0; i < f->n_inputs; i++) used[f->inputs[i]] = 1;
    for (uint32_t i = 0; i < f->n_outputs; i++) used[f->outputs[i]] = 1;
    for (int i = 0; i < n_extra; i++) used[extra[i]] = 1;
    for (uint32_t t = 0; t < f->n_tensors; t++)
        if (used[t] && f->tensors[t].encoding != IFG_ENC_DENSE)
            for (int k = 0; k < 3; k++)
                if (f->tensors[t].aux[k] != IFG_NONE) used[f->tensors[t].aux[k]] = 1;
}

static void copy_tensors(rewrite *r, const uint8_t *used) {
    const ifg_file *f = r->f;
    for (uint32_t t = 0; t < f->n_tensors; t++) {
        const ifg_tensor *x = &f->tensors[t];
        r->map[t] = IFG_NONE;
        if (!used[t]) continue;
        r->map[t] = ifg_writer_tensor(r->w, x->name, x->dtype, x->ndim, x->dims, x->is_constant ? x->data : NULL,
                                      x->is_constant ? x->data_size : 0);
    }
    for (uint32_t t = 0; t < f->n_tensors; t++) {
        const ifg_tensor *x = &f->tensors[t];
        if (r->map[t] == IFG_NONE || x->encoding == IFG_ENC_DENSE) continue;
        uint32_t aux[3];
        for (int k = 0; k < 3; k++) aux[k] = x->aux[k] == IFG_NONE ? IFG_NONE : r->map[x->aux[k]];
        ifg_writer_encoding(r->w, r->map[t], x->encoding, aux, x->quant_axis, x->scale, x->zero_point, x->block);
    }
}

/* Mean of x's input channel feeding weight column k of output channel c. */
static double mean_for(const quant_layer *l, int64_t c, int64_t k) {
    int64_t cin_g = l->in_channels / l->groups, group = c / (l->channels / l->groups);
    int64_t ci = group * cin_g + k / l->taps;
    return l->count_x > 0 ? l->sum_x[ci] / l->count_x : 0.0;
}

/* An earlier quantized layer with l's weight (tied weights: an embedding table that is also the output linear's
 * weight, or two linears sharing one), or -1. Both are int8 per row of axis 0, so the same tensor serves both when
 * the view [channels, per_channel] matches; *same_view says whether it does. */
static int earlier_user(const quant_layer *layers, int idx, int *same_view) {
    const quant_layer *l = &layers[idx];
    for (int j = 0; j < idx; j++)
        if (layers[j].quantize && layers[j].w == l->w) {
            *same_view = layers[j].channels == l->channels && layers[j].per_channel == l->per_channel;
            return j;
        }
    return -1;
}

/* Layer l's int8 weight, scales and (when corrected or new) bias as new tensors; the weight is layer `shared`'s
 * when that earlier layer quantized the same tensor in the same view (-1: none). */
static infer_status add_layer(rewrite *r, const quant_layer *l, int idx, int shared, int bias_correction,
                              const uint8_t *used, infer_error *err) {
    const ifg_file *f = r->f;
    const ifg_tensor *wt = &f->tensors[l->w];
    int64_t n = l->channels, k = l->per_channel;
    int8_t *q = malloc((size_t)(n * k + 1));
    float *scales = malloc((size_t)n * sizeof(float)), *bias = calloc((size_t)n, sizeof(float));
    double *mean = malloc((size_t)(k + 1) * sizeof(double));
    infer_status s = INFER_OK;
    if (!q || !scales || !bias || !mean) {
        s = infer_fail(err, INFER_ERR_MEMORY, "out of memory quantizing '%s'", wt->name);
        goto done;
    }
    if (quant_weights_per_channel(wt->data, n, k, q, scales) != 0) {
        s = infer_fail(err, INFER_ERR_ARGUMENT, "weight '%s' has a NaN or infinite value", wt->name);
        goto done;
    }
    char qname[300], name[340]; /* qname plus ".bias_corrected." and an index */
    int same_view = 0, first = earlier_user(r->layers, idx, &same_view);
    /* names are unique in a file: a second view of a tied weight, or a second corrected bias, gets the layer's index */
    if (first >= 0 && !same_view) snprintf(qname, sizeof qname, "%s.int8.%d", wt->name, idx);
    else snprintf(qname, sizeof qname, "%s%s", wt->name, used[l->w] ? ".int8" : "");
    if (shared >= 0) {
        r->qw[idx] = r->qw[shared];
    } else {
        r->qw[idx] = ifg_writer_tensor(r->w, qname, INFER_F32, wt->ndim, wt->dims, q, (uint64_t)(n * k));
        snprintf(name, sizeof name, "%s.scale", qname);
        uint32_t sid = ifg_writer_tensor(r->w, name, INFER_F32, 1, &n, scales, (uint64_t)n * sizeof(float));
        const uint32_t aux[3] = { sid, IFG_NONE, IFG_NONE };
        ifg_writer_encoding(r->w, r->qw[idx], IFG_ENC_INT8_CHANNEL, aux, 0, 0.0f, 0, 0);
    }
    if (bias_correction && l->count_x > 0) {
        if (l->b != IFG_NONE) memcpy(bias, f->tensors[l->b].data, (size_t)n * sizeof(float));
        for (int64_t c = 0; c < n; c++) {
            for (int64_t j = 0; j < k; j++) mean[j] = mean_for(l, c, j);
            quant_bias_correction((const float *)wt->data + c * k, q + c * k, &scales[c], 1, k, mean, &bias[c]);
        }
        /* named after the weight: node names need not be unique (an encoder layer's projections share theirs) */
        if (first >= 0) snprintf(name, sizeof name, "%s.bias_corrected.%d", qname, idx);
        else snprintf(name, sizeof name, "%s.bias_corrected", qname);
        r->qb[idx] = ifg_writer_tensor(r->w, name, INFER_F32, 1, &n, bias, (uint64_t)n * sizeof(float));
    }
done:
    free(q);
    free(scales);
    free(bias);
    free(mean);
    return s;
}

/* 0, or -1 when out of memory. */
static int copy_attrs(ifg_writer *w, const ifg_node *nd) {
    for (uint32_t a = 0; a < nd->n_attrs; a++) {
        const ifg_attr *at = &nd->attrs[a];
        switch (at->type) {
        case IFG_ATTR_INT: ifg_writer_attr_int(w, at->key, at->i); break;
        case IFG_ATTR_FLOAT: ifg_writer_attr_float(w, at->key, at->f); break;
        case IFG_ATTR_STRING: ifg_writer_attr_string(w, at->key, at->s); break;
        case IFG_ATTR_INTS:
        case IFG_ATTR_FLOATS: {
            uint32_t c = at->count;
            int64_t *iv = malloc(((size_t)c + 1) * sizeof *iv);
            double *fv = malloc(((size_t)c + 1) * sizeof *fv);
            for (uint32_t i = 0; iv && fv && i < c; i++) {
                if (at->type == IFG_ATTR_INTS) iv[i] = ifg_attr_int_at(at, i);
                else fv[i] = ifg_attr_float_at(at, i);
            }
            int ok = iv && fv;
            if (ok && at->type == IFG_ATTR_INTS) ifg_writer_attr_ints(w, at->key, iv, c);
            else if (ok) ifg_writer_attr_floats(w, at->key, fv, c);
            free(iv);
            free(fv);
            if (!ok) return -1;
            break;
        }
        default: break;
        }
    }
    return 0;
}

static infer_status copy_nodes(rewrite *r, const quant_layer *layers, int n_layers, quant_mode mode) {
    const ifg_file *f = r->f;
    uint32_t ids[MAX_IDS];
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const ifg_node *nd = &f->nodes[i];
        const quant_layer *l = quantized_layer(layers, n_layers, i);
        int idx = l ? (int)(l - layers) : -1;
        uint32_t n_in = nd->n_inputs;
        if (l && r->qb[idx] != IFG_NONE && n_in < 3) n_in = 3;
        if (n_in + nd->n_outputs > MAX_IDS) return INFER_ERR_FORMAT;
        for (uint32_t k = 0; k < n_in; k++) {
            const quant_layer *q = quantized_at(layers, n_layers, i, k);
            ids[k] = q ? r->qw[q - layers] : k < nd->n_inputs && nd->inputs[k] != IFG_NONE ? r->map[nd->inputs[k]] : IFG_NONE;
        }
        if (l && r->qb[idx] != IFG_NONE) ids[2] = r->qb[idx];
        for (uint32_t k = 0; k < nd->n_outputs; k++) ids[n_in + k] = r->map[nd->outputs[k]];
        ifg_writer_node(r->w, nd->op, nd->name, ids, n_in, ids + n_in, nd->n_outputs);
        if (copy_attrs(r->w, nd)) return INFER_ERR_MEMORY;
        if (l && mode == QUANT_STATIC) {
            ifg_writer_attr_float(r->w, "in_scale", l->in_scale);
            ifg_writer_attr_int(r->w, "in_zero", l->in_zero);
        }
    }
    return INFER_OK;
}

infer_status quant_write(const ifg_file *f, const quant_layer *layers, int n_layers, quant_mode mode,
                         int bias_correction, const uint32_t *extra, int n_extra, ifg_writer **out, infer_error *err) {
    *out = NULL;
    ifg_writer *w = NULL;
    INFER_TRY(ifg_writer_create(&w, err));
    if (f->has_dims_section) { /* the named dims and their expressions, same indices: tensor dims refer to them */
        for (uint32_t d = 0; d < f->n_dyn_dims; d++)
            ifg_writer_dyn_dim(w, f->dyn_dims[d].name, f->dyn_dims[d].min, f->dyn_dims[d].max, f->dyn_dims[d].example);
        for (uint32_t e = 0; e < f->n_exprs; e++) ifg_writer_expr(w, &f->exprs[e]);
    }
    rewrite r = { f, w, calloc(f->n_tensors + 1, sizeof(uint32_t)), malloc((size_t)(n_layers + 1) * sizeof(uint32_t)),
                  malloc((size_t)(n_layers + 1) * sizeof(uint32_t)), layers };
    uint8_t *used = calloc(f->n_tensors + 1, 1);
    uint32_t *outs = malloc((f->n_outputs + (size_t)n_extra + 1) * sizeof *outs);
    uint32_t *ins = malloc((f->n_inputs + (size_t)1) * sizeof *ins);
    infer_status s = INFER_OK;
    if (!r.map || !r.qw || !r.qb || !used || !outs || !ins) {
        s = infer_fail(err, INFER_ERR_MEMORY, "out of memory writing the quantized model");
        goto done;
    }
    mark_used(f, layers, n_layers, bias_correction, extra, n_extra, used);
    copy_tensors(&r, used);
    for (int i = 0; i < n_layers; i++) {
        r.qw[i] = r.qb[i] = IFG_NONE;
        int same_view = 0, first = layers[i].quantize ? earlier_user(layers, i, &same_view) : -1;
        int shared = first >= 0 && same_view ? first : -1;
        if (layers[i].quantize && (s = add_layer(&r, &layers[i], i, shared, bias_correction, used, err)) != INFER_OK)
            goto done;
    }
    if ((s = copy_nodes(&r, layers, n_layers, mode)) != INFER_OK) {
        infer_fail(err, s, s == INFER_ERR_MEMORY ? "out of memory writing the quantized model"
                                                 : "a node has more inputs and outputs than the rewrite handles (%d)",
                   MAX_IDS);
        goto done;
    }
    for (uint32_t i = 0; i < f->n_inputs; i++) ins[i] = r.map[f->inputs[i]];
    for (uint32_t i = 0; i < f->n_outputs; i++) outs[i] = r.map[f->outputs[i]];
    for (int i = 0; i < n_extra; i++) outs[f->n_outputs + i] = r.map[extra[i]];
    ifg_writer_graph(w, ins, f->n_inputs, outs, f->n_outputs + (uint32_t)n_extra);
    for (uint32_t i = 0; i < f->n_meta; i++) ifg_writer_meta(w, f->meta[i].key, f->meta[i].value);
done:
    free(r.map);
    free(r.qw);
    free(r.qb);
    free(used);
    free(outs);
    free(ins);
    if (s != INFER_OK) ifg_writer_destroy(w);
    else *out = w;
    return s;
}
