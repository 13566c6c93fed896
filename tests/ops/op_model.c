/* op_model.c — a row of the op test table as a model file (the C writer) and its seeded input data. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "op_model.h"
#include "op_sparse.h"
#include "../../quant/quant_params.h"

static infer_status fail(infer_error *err, infer_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err->status = s;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return s;
}

/* splitmix64: deterministic on every machine. */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *s) { return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); }

void op_instance_init(op_instance *ci, const op_case *row, int sweep_value) {
    memset(ci, 0, sizeof *ci);
    ci->row = row;
    ci->sweep_value = sweep_value;
    if (row->sweep) snprintf(ci->name, sizeof ci->name, "%s %s=%d", row->name, row->sweep, sweep_value);
    else snprintf(ci->name, sizeof ci->name, "%s", row->name);
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = ci->name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    ci->seed = h;
}

static int64_t count_of(const op_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

static int count_used(const op_tensor *t, int max) {
    int n = 0;
    while (n < max && t[n].kind != OPT_END) n++;
    return n;
}

static int count_then(const op_case *row) {
    int n = 0;
    while (n < OPC_MAX_THEN && row->then[n].kind != THEN_END) n++;
    return n;
}

static void put_int(void *data, infer_dtype dt, int64_t i, int64_t v) {
    switch (dt) {
    case INFER_I64: ((int64_t *)data)[i] = v; break;
    case INFER_I32: ((int32_t *)data)[i] = (int32_t)v; break;
    case INFER_I8: ((int8_t *)data)[i] = (int8_t)v; break;
    default: ((uint8_t *)data)[i] = (uint8_t)v; break; /* u8, bool */
    }
}

/* A random normal half of magnitude in [1/4, 16), either sign. */
static uint16_t random_half(uint64_t *s) {
    uint64_t r = next_u64(s);
    return (uint16_t)(((r & 1) << 15) | ((13 + (r >> 1) % 6) << 10) | ((r >> 8) & 0x3FF));
}

/* Data for t: count_of(t) elements of its dtype, malloc'ed (at least one byte). */
static void *make_data(const op_tensor *t, uint64_t *s) {
    int64_t n = count_of(t);
    size_t size = infer_dtype_size(t->dtype);
    void *data = calloc((size_t)(n ? n : 1), size ? size : 1);
    if (!data) return NULL;
    for (int64_t i = 0; i < n; i++) {
        if (t->dtype == INFER_F32) {
            double v = t->gen == GEN_QUARTERS ? (double)((int64_t)(next_u64(s) % (uint64_t)(8 * t->lo + 1)) - 4 * (int64_t)t->lo) / 4
                       : op_gen_is_sparse(t->gen) ? -1.0 + 2.0 * next_unit(s) /* lo, hi: the pruning's */
                                              : t->lo + (t->hi - t->lo) * next_unit(s);
            ((float *)data)[i] = (float)v;
        } else if (t->dtype == INFER_F16) {
            ((uint16_t *)data)[i] = random_half(s);
        } else if (t->gen == GEN_BOOL) {
            put_int(data, t->dtype, i, next_unit(s) * 100 < t->lo);
        } else {
            int64_t span = (int64_t)t->hi - (int64_t)t->lo + 1;
            put_int(data, t->dtype, i, (int64_t)t->lo + (int64_t)(next_u64(s) % (uint64_t)span));
        }
    }
    return data;
}

static op_tensor residual_of(const op_tensor *y) {
    op_tensor t = *y;
    t.kind = OPT_INPUT;
    t.gen = GEN_UNIFORM;
    t.lo = -1, t.hi = 1;
    return t;
}

/* Batchnorm parameter p (0 weight, 1 bias, 2 mean, 3 var) for c channels. */
static op_tensor bn_param(int p, int64_t c) {
    static const double lo[4] = { 0.5, -0.5, -0.5, 0.5 }, hi[4] = { 1.5, 0.5, 0.5, 2.0 };
    op_tensor t = { OPT_CONST, INFER_F32, GEN_UNIFORM, lo[p], hi[p], 1, { c }, 0 };
    return t;
}

/* Constant t's f32 data (data) stored int8 per output channel, with its scales as the side tensor "<name>.scale". */
static uint32_t add_int8_channel(ifg_writer *w, const char *name, const op_tensor *t, const float *data, int *failed) {
    int64_t n = t->dims[0], per = n ? count_of(t) / n : 0;
    int8_t *q = malloc((size_t)(n * per + 1));
    float *scales = malloc((size_t)(n + 1) * sizeof(float));
    uint32_t id = IFG_NONE;
    if (q && scales && t->ndim >= 2 && quant_weights_per_channel(data, n, per, q, scales) == 0) {
        char sname[48];
        snprintf(sname, sizeof sname, "%s.scale", name);
        id = ifg_writer_tensor(w, name, INFER_F32, t->ndim, t->dims, q, (uint64_t)(n * per));
        uint32_t sid = ifg_writer_tensor(w, sname, INFER_F32, 1, &n, scales, (uint64_t)n * sizeof(float));
        const uint32_t aux[3] = { sid, IFG_NONE, IFG_NONE };
        ifg_writer_encoding(w, id, IFG_ENC_INT8_CHANNEL, aux, 0, 0.0f, 0, 0);
    }
    free(q);
    free(scales);
    if (id == IFG_NONE) *failed = 1;
    return id;
}

int op_case_has_int8(const op_case *row) {
    for (int k = 0; k < OPC_MAX_IN; k++)
        if (row->in[k].kind == OPT_CONST && row->in[k].gen == GEN_INT8_CHANNEL) return 1;
    return 0;
}

int op_case_has_encoded(const op_case *row) {
    for (int k = 0; k < OPC_MAX_IN; k++)
        if (row->in[k].kind == OPT_CONST && (row->in[k].gen == GEN_INT8_CHANNEL || op_gen_is_sparse(row->in[k].gen)))
            return 1;
    return 0;
}

static uint32_t add_tensor_as(ifg_writer *w, const char *name, const op_tensor *t, int dynamic, uint64_t *s,
                              int as_float, int *failed);

static uint32_t add_tensor(ifg_writer *w, const char *name, const op_tensor *t, int dynamic, uint64_t *s, int *failed) {
    return add_tensor_as(w, name, t, dynamic, s, 1, failed);
}

static uint32_t add_tensor_as(ifg_writer *w, const char *name, const op_tensor *t, int dynamic, uint64_t *s,
                              int as_float, int *failed) {
    void *data = NULL;
    uint64_t bytes = 0;
    int64_t dims[INFER_MAX_DIMS];
    memcpy(dims, t->dims, sizeof dims);
    if (dynamic && t->kind == OPT_INPUT && t->ndim > 0) dims[0] = -1;
    if (t->kind == OPT_CONST) {
        data = make_data(t, s);
        if (!data) *failed = 1;
        bytes = (uint64_t)count_of(t) * infer_dtype_size(t->dtype);
        if (data && t->gen == GEN_INT8_CHANNEL && !as_float) {
            uint32_t q = add_int8_channel(w, name, t, data, failed);
            free(data);
            return q;
        }
        if (data && op_gen_is_sparse(t->gen)) {
            op_sparse_prune(t, data);
            if (!as_float) {
                uint32_t id = op_sparse_add(w, name, t, data);
                if (id == IFG_NONE) *failed = 1;
                free(data);
                return id;
            }
        }
    }
    uint32_t id = ifg_writer_tensor(w, name, t->dtype, t->ndim, dims, data, bytes);
    free(data);
    if (id == IFG_NONE) *failed = 1;
    return id;
}

static void add_attrs(ifg_writer *w, const op_instance *ci) {
    const op_case *row = ci->row;
    for (int a = 0; a < OPC_MAX_ATTRS && row->attrs[a].key; a++) {
        const op_attr *at = &row->attrs[a];
        if (row->sweep && !strcmp(at->key, row->sweep)) continue;
        if (at->type == IFG_ATTR_INT) ifg_writer_attr_int(w, at->key, at->i);
        else if (at->type == IFG_ATTR_FLOAT) ifg_writer_attr_float(w, at->key, at->f);
        else ifg_writer_attr_ints(w, at->key, at->ints, (uint32_t)at->n);
    }
    if (row->sweep) ifg_writer_attr_int(w, row->sweep, ci->sweep_value);
}

/* The `then` nodes on the op's output y; returns the last output's id. */
static uint32_t add_then(ifg_writer *w, const op_instance *ci, uint32_t y, uint64_t *s, uint32_t *inputs, int *n_inputs,
                         int *failed) {
    const op_case *row = ci->row;
    const op_tensor *yt = &row->out[0];
    for (int k = 0; k < count_then(row); k++) {
        const op_then *t = &row->then[k];
        char name[32];
        snprintf(name, sizeof name, "then%d", k);
        uint32_t out = add_tensor(w, name, yt, row->dynamic, s, failed);
        if (t->kind == THEN_RESIDUAL) {
            op_tensor r = residual_of(yt);
            snprintf(name, sizeof name, "residual%d", k);
            uint32_t rid = add_tensor(w, name, &r, row->dynamic, s, failed);
            inputs[(*n_inputs)++] = rid;
            ifg_writer_node(w, OP_BINARY, "then_add", (const uint32_t[]){ y, rid }, 2, &out, 1);
            ifg_writer_attr_int(w, "kind", BIN_ADD);
        } else if (t->kind == THEN_BATCHNORM) {
            uint32_t p[5] = { y };
            for (int i = 0; i < 4; i++) {
                op_tensor bt = bn_param(i, yt->dims[1]);
                snprintf(name, sizeof name, "bn%d_%d", k, i);
                p[1 + i] = add_tensor(w, name, &bt, row->dynamic, s, failed);
            }
            ifg_writer_node(w, OP_BATCHNORM, "then_batchnorm", p, 5, &out, 1);
            ifg_writer_attr_float(w, "eps", 1e-5);
        } else {
            ifg_writer_node(w, OP_ACTIVATION, "then_act", &y, 1, &out, 1);
            ifg_writer_attr_int(w, "kind", t->act);
            if (t->act == ACT_CLIP) {
                ifg_writer_attr_float(w, "act_min", t->min);
                ifg_writer_attr_float(w, "act_max", t->max);
            }
        }
        y = out;
    }
    return y;
}

infer_status op_model_save(const op_instance *ci, const char *path, infer_error *err) {
    return op_model_save_as(ci, path, 0, err);
}

infer_status op_model_save_as(const op_instance *ci, const char *path, int as_float, infer_error *err) {
    const op_case *row = ci->row;
    ifg_writer *w;
    infer_status st = ifg_writer_create(&w, err);
    if (st != INFER_OK) return st;
    uint64_t s = ci->seed;
    int failed = 0, n_in = count_used(row->in, OPC_MAX_IN), n_out = count_used(row->out, OPC_MAX_OUT);
    uint32_t in[OPC_MAX_IN], out[OPC_MAX_OUT], inputs[OPC_MAX_IN + OPC_MAX_THEN], outputs[OPC_MAX_OUT];
    int n_inputs = 0;
    for (int k = 0; k < n_in; k++) {
        char name[32];
        snprintf(name, sizeof name, "x%d", k);
        if (row->in[k].kind == OPT_ABSENT) {
            in[k] = IFG_NONE;
            continue;
        }
        uint64_t ts = s ^ (uint64_t)(k + 1) * 0xA24BAED4963EE407ull; /* constants: their own stream */
        in[k] = add_tensor_as(w, name, &row->in[k], row->dynamic, &ts, as_float, &failed);
        if (row->in[k].kind == OPT_INPUT) inputs[n_inputs++] = in[k];
    }
    for (int k = 0; k < n_out; k++) {
        char name[32];
        snprintf(name, sizeof name, "y%d", k);
        outputs[k] = out[k] = add_tensor(w, name, &row->out[k], row->dynamic, &s, &failed);
    }
    ifg_writer_node(w, row->op, "op", in, (uint32_t)n_in, out, (uint32_t)n_out);
    add_attrs(w, ci);
    uint64_t ts = s ^ 0x5851F42D4C957F2Dull;
    outputs[0] = add_then(w, ci, out[0], &ts, inputs, &n_inputs, &failed);
    ifg_writer_graph(w, inputs, (uint32_t)n_inputs, outputs, (uint32_t)n_out);
    if (failed) st = fail(err, INFER_ERR_MEMORY, "%s: building the model failed (out of memory or a bad tensor)", ci->name);
    else st = ifg_writer_save(w, path, err);
    ifg_writer_destroy(w);
    return st;
}

static infer_tensor view_of(const op_tensor *t, void *data) {
    infer_tensor v;
    memset(&v, 0, sizeof v);
    v.dtype = t->dtype;
    v.ndim = t->ndim;
    memcpy(v.dims, t->dims, sizeof v.dims);
    v.data = data;
    return v;
}

static infer_status add_input(op_inputs *in, const op_tensor *t, uint64_t *s, infer_error *err) {
    void *good = make_data(t, s), *bad = NULL;
    if (good && t->gen == GEN_BAD_ID) {
        size_t bytes = (size_t)(count_of(t) ? count_of(t) : 1) * infer_dtype_size(t->dtype);
        bad = malloc(bytes);
        if (bad) {
            memcpy(bad, good, bytes);
            put_int(bad, t->dtype, (int64_t)(next_u64(s) % (uint64_t)(count_of(t) ? count_of(t) : 1)), (int64_t)t->hi + 1);
        }
    }
    in->good[in->n] = view_of(t, good);
    in->bad[in->n] = view_of(t, bad ? bad : good);
    in->n++;
    if (!good || (t->gen == GEN_BAD_ID && !bad)) return fail(err, INFER_ERR_MEMORY, "out of memory making inputs");
    return INFER_OK;
}

infer_status op_inputs_make(const op_instance *ci, op_inputs *in, infer_error *err) {
    const op_case *row = ci->row;
    memset(in, 0, sizeof *in);
    uint64_t s = ci->seed ^ 0x2545F4914F6CDD1Dull;
    for (int k = 0; k < count_used(row->in, OPC_MAX_IN); k++)
        if (row->in[k].kind == OPT_INPUT) {
            infer_status st = add_input(in, &row->in[k], &s, err);
            if (st != INFER_OK) return st;
        }
    for (int k = 0; k < count_then(row); k++)
        if (row->then[k].kind == THEN_RESIDUAL) {
            op_tensor r = residual_of(&row->out[0]);
            infer_status st = add_input(in, &r, &s, err);
            if (st != INFER_OK) return st;
        }
    return INFER_OK;
}

void op_inputs_free(op_inputs *in) {
    for (int i = 0; i < in->n; i++) {
        if (in->bad[i].data != in->good[i].data) free(in->bad[i].data);
        free(in->good[i].data);
    }
    memset(in, 0, sizeof *in);
}

double op_instance_flops(const op_instance *ci) {
    const op_case *row = ci->row;
    const op_tensor *x = &row->in[0], *w = &row->in[1], *y = &row->out[0];
    double out = (double)count_of(y);
    switch (row->op) {
    case OP_CONV2D: return 2.0 * out * (double)(w->dims[1] * w->dims[2] * w->dims[3]);
    case OP_LINEAR: return 2.0 * out * (double)w->dims[1];
    case OP_MATMUL: return 2.0 * out * (double)x->dims[x->ndim - 1];
    case OP_ATTENTION: return 4.0 * (double)(x->dims[0] * x->dims[1] * row->in[1].dims[1] * x->dims[2]);
    case OP_LSTM: {
        int64_t hidden = 0, layers = 0;
        for (int a = 0; a < OPC_MAX_ATTRS && row->attrs[a].key; a++) {
            if (!strcmp(row->attrs[a].key, "hidden")) hidden = row->attrs[a].i;
            if (!strcmp(row->attrs[a].key, "layers")) layers = row->attrs[a].i;
        }
        double steps = (double)(x->dims[0] * x->dims[1]); /* T * B in either layout */
        double f = 0;
        for (int64_t l = 0; l < layers; l++) f += 2.0 * steps * 4.0 * (double)hidden * (double)((l ? hidden : x->dims[2]) + hidden);
        return f;
    }
    default: return 0;
    }
}
