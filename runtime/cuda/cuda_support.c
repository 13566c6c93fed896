/* cuda_support.c — the CUDA backend's coverage rules: op, dtypes and attributes decide CUDA or CPU fallback. */
#include <stdarg.h>
#include <stdio.h>
#include "cuda_support.h"
#include "../../kernels/cuda/cuda_kernels.h"

infer_dtype cuda_dev_dtype(infer_dtype d, int fp16) { return (fp16 && d == INFER_F32) ? INFER_F16 : d; }

static int no(char *why, size_t len, const char *fmt, ...) {
    if (why && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static int is_float(infer_dtype d) { return d == INFER_F32 || d == INFER_F16; }
static int elem_ok(infer_dtype d) {
    size_t s = infer_dtype_size(d);
    return s == 1 || s == 2 || s == 4 || s == 8;
}

/* Input i (or output when out) of n: its tensor, or NULL when absent. */
static const ir_tensor *tin(const ir_graph *g, const ir_node *n, int i) {
    return (i < n->n_in && n->in[i] != IR_NONE && n->in[i] >= 0 && n->in[i] < g->n_tensors) ? &g->tensors[n->in[i]]
                                                                                             : NULL;
}
static const ir_tensor *tout(const ir_graph *g, const ir_node *n, int i) {
    return (i < n->n_out && n->out[i] >= 0 && n->out[i] < g->n_tensors) ? &g->tensors[n->out[i]] : NULL;
}

/* Every present input except those in skip_mask, and every output except those in out_skip, is a float
 * tensor of one device dtype. */
static int floats_only(const ir_graph *g, const ir_node *n, int fp16, unsigned skip_mask, unsigned out_skip,
                       char *why, size_t len) {
    infer_dtype want = INFER_DTYPE_COUNT;
    for (int i = 0; i < n->n_in + n->n_out; i++) {
        int is_out = i >= n->n_in;
        int k = is_out ? i - n->n_in : i;
        if (k < 32 && ((is_out ? out_skip : skip_mask) >> k) & 1u) continue;
        const ir_tensor *t = is_out ? tout(g, n, k) : tin(g, n, k);
        if (!t) continue;
        if (!is_float(t->dtype))
            return no(why, len, "%s %d is %s (CUDA kernels take f32/f16 here)", is_out ? "output" : "input", k,
                      infer_dtype_name(t->dtype));
        infer_dtype d = cuda_dev_dtype(t->dtype, fp16);
        if (want == INFER_DTYPE_COUNT) want = d;
        else if (d != want) return no(why, len, "mixed float dtypes");
    }
    return 1;
}

static int same_elem(const ir_graph *g, const ir_node *n, int fp16, unsigned skip_mask, char *why, size_t len) {
    const ir_tensor *o = tout(g, n, 0);
    if (!o || !elem_ok(o->dtype)) return no(why, len, "output dtype %s", o ? infer_dtype_name(o->dtype) : "?");
    for (int i = 0; i < n->n_in; i++) {
        if (i < 32 && (skip_mask >> i) & 1u) continue;
        const ir_tensor *t = tin(g, n, i);
        if (!t) continue;
        if (cuda_dev_dtype(t->dtype, fp16) != cuda_dev_dtype(o->dtype, fp16))
            return no(why, len, "input %d is %s, output %s", i, infer_dtype_name(t->dtype), infer_dtype_name(o->dtype));
    }
    return 1;
}

int cuda_node_supported(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    if (why && len) why[0] = 0;
    for (int i = 0; i < n->n_in; i++) {
        const ir_tensor *t = tin(g, n, i);
        if (t && t->ndim > INFER_MAX_DIMS) return no(why, len, "input %d has %d dims", i, t->ndim);
    }
    switch (n->op) {
    case OP_IDENTITY:
    case OP_RESHAPE:
    case OP_TRANSPOSE:
    case OP_SLICE:
    case OP_EXPAND:
        return same_elem(g, n, fp16, 0, why, len);
    case OP_CONCAT:
        return same_elem(g, n, fp16, 0, why, len);
    case OP_CONV2D: {
        const ir_tensor *x = tin(g, n, 0), *w = tin(g, n, 1);
        if (!x || !w || x->ndim != 4 || w->ndim != 4) return no(why, len, "conv2d needs 4-D input and weight");
        if (n->p.conv2d.groups < 1) return no(why, len, "groups %d", n->p.conv2d.groups);
        return floats_only(g, n, fp16, 0, 0, why, len);
    }
    case OP_LINEAR: {
        const ir_tensor *w = tin(g, n, 1);
        if (!w || w->ndim != 2) return no(why, len, "linear weight is not 2-D");
        return floats_only(g, n, fp16, 0, 0, why, len);
    }
    case OP_MATMUL: {
        const ir_tensor *a = tin(g, n, 0), *b = tin(g, n, 1);
        if (!a || !b || a->ndim < 2 || b->ndim < 2) return no(why, len, "matmul of a 1-D operand");
        return floats_only(g, n, fp16, 0, 0, why, len);
    }
    case OP_BATCHNORM:
    case OP_LAYERNORM:
    case OP_ACTIVATION:
    case OP_UNARY:
    case OP_SOFTMAX:
    case OP_BINARY:
        return floats_only(g, n, fp16, 0, 0, why, len);
    case OP_MAXPOOL2D:
    case OP_AVGPOOL2D:
    case OP_ADAPTIVE_AVGPOOL2D: {
        const ir_tensor *x = tin(g, n, 0);
        if (!x || x->ndim != 4) return no(why, len, "pooling of a %d-D tensor", x ? x->ndim : 0);
        return floats_only(g, n, fp16, 0, 0, why, len);
    }
    case OP_REDUCE:
        return floats_only(g, n, fp16, 0, 0, why, len);
    case OP_MASKED_FILL: {
        const ir_tensor *m = tin(g, n, 1);
        if (!m || (m->dtype != INFER_BOOL && m->dtype != INFER_U8)) return no(why, len, "mask is not bool");
        const ir_tensor *x = tin(g, n, 0);
        if (!x || !(is_float(x->dtype) || x->dtype == INFER_I32 || x->dtype == INFER_I64 || x->dtype == INFER_I8 ||
                    x->dtype == INFER_U8 || x->dtype == INFER_BOOL))
            return no(why, len, "masked_fill of %s", x ? infer_dtype_name(x->dtype) : "?");
        return same_elem(g, n, fp16, 1u << 1, why, len);
    }
    case OP_EMBEDDING: {
        const ir_tensor *ids = tin(g, n, 0), *w = tin(g, n, 1);
        if (!ids || (ids->dtype != INFER_I64 && ids->dtype != INFER_I32))
            return no(why, len, "ids of dtype %s", ids ? infer_dtype_name(ids->dtype) : "?");
        if (!w || w->ndim != 2) return no(why, len, "embedding table is not 2-D");
        return floats_only(g, n, fp16, 1u << 0, 0, why, len);
    }
    case OP_ATTENTION: {
        const ir_tensor *q = tin(g, n, 0), *m = tin(g, n, 3);
        if (!q || q->ndim != 3) return no(why, len, "attention input is not 3-D");
        int64_t E = q->dims[2];
        int h = n->p.attention.heads;
        if (h < 1 || E % h) return no(why, len, "E=%lld not divisible by %d heads", (long long)E, h);
        if (E / h > CUDA_ATTENTION_MAX_HEAD)
            return no(why, len, "head size %lld > %d", (long long)(E / h), CUDA_ATTENTION_MAX_HEAD);
        if (m) {
            if (m->ndim != 2) return no(why, len, "attention mask is %d-D", m->ndim);
            if (m->dtype == INFER_BOOL || m->dtype == INFER_U8) return floats_only(g, n, fp16, 1u << 3, 0, why, len);
        }
        return floats_only(g, n, fp16, 0, 0, why, len);
    }
    case OP_LSTM: {
        int L = n->p.lstm.layers;
        if (L < 1 || n->n_in < 3 + 2 * L) return no(why, len, "lstm with %d layers and %d inputs", L, n->n_in);
        int per = (n->n_in - 3) / L;
        if ((per != 2 && per != 4) || 3 + per * L != n->n_in)
            return no(why, len, "lstm inputs: %d for %d layers", n->n_in, L);
        if (n->n_out != 3) return no(why, len, "lstm with %d outputs", n->n_out);
        return floats_only(g, n, fp16, 0, 0, why, len);
    }
    case OP_CAST: {
        const ir_tensor *x = tin(g, n, 0), *y = tout(g, n, 0);
        if (!x || !y) return no(why, len, "cast without input or output");
        if (!cuda_cast_supported(cuda_dev_dtype(x->dtype, fp16), cuda_dev_dtype(y->dtype, fp16)))
            return no(why, len, "cast %s to %s", infer_dtype_name(x->dtype), infer_dtype_name(y->dtype));
        return 1;
    }
    case OP_COMPARE: {
        const ir_tensor *a = tin(g, n, 0), *b = tin(g, n, 1), *y = tout(g, n, 0);
        if (!a || !y) return no(why, len, "compare without input or output");
        infer_dtype d = a->dtype;
        if (!(is_float(d) || d == INFER_I32 || d == INFER_I64 || d == INFER_I8 || d == INFER_U8 || d == INFER_BOOL))
            return no(why, len, "compare of %s", infer_dtype_name(d));
        if (b && cuda_dev_dtype(b->dtype, fp16) != cuda_dev_dtype(d, fp16))
            return no(why, len, "compare of %s with %s", infer_dtype_name(d), infer_dtype_name(b->dtype));
        if (y->dtype != INFER_BOOL && y->dtype != INFER_U8) return no(why, len, "compare output %s", infer_dtype_name(y->dtype));
        return 1;
    }
    case OP_WHERE: {
        const ir_tensor *c = tin(g, n, 0);
        if (!c || (c->dtype != INFER_BOOL && c->dtype != INFER_U8)) return no(why, len, "where condition is not bool");
        return same_elem(g, n, fp16, 1u << 0, why, len);
    }
    default:
        return no(why, len, "no CUDA kernel for op %s", op_name(n->op));
    }
}

int cuda_plan_fallback(const ir_graph *g, int fp16, int *fallback, char *why, size_t len) {
    int count = 0;
    if (why && len) why[0] = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        char r[256];
        fallback[i] = !cuda_node_supported(g, &g->nodes[i], fp16, r, sizeof r);
        if (fallback[i]) {
            if (count == 0 && why && len)
                snprintf(why, len, "node %d (%s '%s'): %s", i, op_name(g->nodes[i].op),
                         g->nodes[i].name ? g->nodes[i].name : "", r);
            count++;
        }
    }
    return count;
}
