/* shape.c — shape and dtype inference of a node (by its op's rule, op_desc.shape) and of a whole graph for a
 * batch, checked against the shapes and dtypes the file declares. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "op_rules.h"

static infer_status check_inputs(const shape_ctx *c) {
    for (int i = 0; i < c->n->n_in; i++) {
        if (!shape_has(c, i)) continue;
        const infer_tensor *t = &c->in[i];
        if (t->ndim < 0 || t->ndim > INFER_MAX_DIMS) return SHAPE_FAIL(c, "input %d has %d dims", i, t->ndim);
        int bad = shape_elements(t->ndim, t->dims) < 0;
        for (int d = 0; d < t->ndim; d++) bad |= t->dims[d] < 0 || t->dims[d] > DIM_MAX;
        if (bad) return SHAPE_FAIL(c, "input %d has shape %s", i, DIMS(t));
    }
    return INFER_OK;
}

static infer_status check_outputs(const shape_ctx *c) {
    for (int k = 0; k < c->n->n_out; k++) {
        const infer_tensor *t = &c->out[k];
        int64_t n = shape_elements(t->ndim, t->dims);
        int64_t bytes;
        int too_big = n < 0 || __builtin_mul_overflow(n, (int64_t)infer_dtype_size(t->dtype), &bytes);
        for (int d = 0; d < t->ndim; d++) too_big |= t->dims[d] > DIM_MAX;
        if (too_big) return SHAPE_FAIL(c, "output %d %s is too large", k, DIMS(t));
    }
    return INFER_OK;
}

/* The declared dtype of every output must be the one the op computes (INFER_ERR_FORMAT otherwise). */
static infer_status check_declared_dtypes(const shape_ctx *c, const ir_graph *g) {
    for (int k = 0; k < c->n->n_out; k++) {
        if (!c->declared[k] || c->declared[k] == c->out[k].dtype) continue;
        int id = c->n->out[k];
        const char *name = g->tensors && id >= 0 && id < g->n_tensors ? g->tensors[id].name : "";
        return shape_fail_as(c, INFER_ERR_FORMAT, "output %d '%s' is declared %s, expected %s", k, name ? name : "",
                       infer_dtype_name(c->declared[k]), infer_dtype_name(c->out[k].dtype));
    }
    return INFER_OK;
}

static infer_status node_shape(const ir_graph *g, const ir_node *n, long index, const infer_tensor *in,
                               infer_tensor *out, infer_error *err) {
    const op_desc *desc = op_describe(n->op);
    const op_info *info = op_get_info(n->op);
    shape_ctx c = { n, desc, index, in, out, err, { 0 } };
    if (!desc || !info || n->n_in < info->min_inputs || n->n_in > IR_MAX_INPUTS || n->n_out != info->outputs)
        return shape_fail_as(&c, INFER_ERR_INTERNAL, "malformed node: %d inputs, %d outputs", n->n_in, n->n_out);
    for (int k = 0; k < n->n_out; k++) c.declared[k] = out[k].dtype;
    for (int i = 0; i < info->min_inputs; i++)
        if (!shape_has(&c, i) && !(desc->optional_inputs & OP_INPUT(i)))
            return shape_fail_as(&c, INFER_ERR_INTERNAL, "input %d is absent", i);
    infer_status s = check_inputs(&c);
    if (s == INFER_OK) s = desc->shape(&c);
    if (s == INFER_OK) s = check_outputs(&c);
    if (s == INFER_OK) s = check_declared_dtypes(&c, g);
    return s;
}

infer_status ir_node_shape(const ir_graph *g, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                           infer_error *err) {
    uintptr_t base = (uintptr_t)g->nodes, at = (uintptr_t)n;
    long index = at >= base && at < base + (uintptr_t)g->n_nodes * sizeof *n ? (long)(n - g->nodes) : -1;
    return node_shape(g, n, index, in, out, err);
}

/* A declared shape holds at these dim values: same rank, every static dim equal, a checked expression (or
 * a legacy -1 batch) equal to its value; unchecked expressions are not compared. free_dim (or -1) is not
 * compared: lstm's h_n and c_n are [layers, B, H] and a converter may declare B as the example batch.
 * Whatever reads them has its own declared shapes checked. */
static int declared_holds(const ir_graph *g, const ir_tensor *t, const infer_tensor *y, const int64_t *values,
                          int free_dim) {
    if (t->ndim != y->ndim) return 0;
    for (int d = 0; d < t->ndim; d++) {
        if (d == free_dim) continue;
        int64_t want = t->dims[d];
        if (want <= -2 && IR_EXPR_OF(want) < g->n_exprs && g->exprs[IR_EXPR_OF(want)].unchecked) continue;
        if (y->dims[d] != ir_dim_value(g, want, values)) return 0;
    }
    return 1;
}

/* "batch 3" (a graph without named dims) or "batch=3, seq=7". */
static void values_text(const ir_graph *g, const int64_t *values, char *buf, size_t n) {
    if (!g->n_syms || (g->n_syms == 1 && !g->n_exprs)) { /* a batch only, as before named dims */
        snprintf(buf, n, "batch %lld", (long long)values[0]);
        return;
    }
    size_t used = 0;
    buf[0] = 0;
    for (int s = 0; s < g->n_syms && used < n; s++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s=%lld", s ? ", " : "", g->syms[s].name, (long long)values[s]);
}

static void declared_text(const ir_graph *g, const ir_tensor *t, char *buf, size_t n) {
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && used < n; d++) {
        char one[96];
        ir_dim_text(g, t->dims[d], one, sizeof one);
        used += (size_t)snprintf(buf + used, n - used, "%s%s", d ? "," : "", one);
    }
    if (used < n) snprintf(buf + used, n - used, "]");
}

/* A node whose reshape / expand shape, slice end or range length refers to dim expressions, with them evaluated. */
static const ir_node *resolved_node(const ir_graph *g, const ir_node *n, const int64_t *values, ir_node *copy,
                                    int index, infer_error *err, infer_status *s) {
    int symbolic = (n->op == OP_RESHAPE || n->op == OP_EXPAND) || (n->op == OP_SLICE && n->p.slice.end_expr) ||
                   (n->op == OP_RANGE && n->p.range.length_expr);
    if (!symbolic) return n;
    int any = n->op == OP_SLICE || n->op == OP_RANGE;
    for (int i = 0; !any && i < n->p.shape.ndim; i++) any |= n->p.shape.shape[i] <= -2;
    if (!any) return n;
    *copy = *n;
    if (n->op == OP_RANGE) {
        copy->p.range.length = ir_expr_value(g, n->p.range.length_expr - 1, values);
        if (copy->p.range.length < 0) goto bad;
        return copy;
    }
    if (n->op == OP_SLICE) {
        copy->p.slice.end = ir_expr_value(g, n->p.slice.end_expr - 1, values);
        if (copy->p.slice.end < 0) goto bad;
        return copy;
    }
    for (int i = 0; i < n->p.shape.ndim; i++) {
        if (n->p.shape.shape[i] > -2) continue;
        copy->p.shape.shape[i] = ir_expr_value(g, IR_EXPR_OF(n->p.shape.shape[i]), values);
        if (copy->p.shape.shape[i] < 0) goto bad;
    }
    return copy;
bad:
    *s = infer_fail(err, INFER_ERR_SHAPE, "node %d '%s' (%s): a size computed from the named dims is out of range",
                    index, n->name ? n->name : "", op_name(n->op));
    return NULL;
}

infer_status ir_infer_shapes(const ir_graph *g, int64_t batch, int64_t *dims, int *ndims, infer_error *err) {
    if (batch < 1 || batch > DIM_MAX) return infer_fail(err, INFER_ERR_ARGUMENT, "batch %lld must be >= 1",
                                                         (long long)batch);
    int64_t values[IR_MAX_SYMS] = { batch };
    for (int s = 0; s < g->n_syms; s++) values[s] = strcmp(g->syms[s].name, "batch") ? g->syms[s].example : batch;
    return ir_infer_shapes_at(g, values, dims, ndims, err);
}

infer_status ir_infer_shapes_at(const ir_graph *g, const int64_t *values, int64_t *dims, int *ndims,
                                infer_error *err) {
    for (int s = 0; s < (g->n_syms ? g->n_syms : 1); s++)
        if (values[s] < 1 || values[s] > DIM_MAX)
            return infer_fail(err, INFER_ERR_ARGUMENT, "dim %s is %lld; it must be >= 1",
                              g->n_syms ? g->syms[s].name : "batch", (long long)values[s]);
    for (int t = 0; t < g->n_tensors; t++) {
        const ir_tensor *src = &g->tensors[t];
        int64_t *d = dims + (size_t)t * INFER_MAX_DIMS;
        ndims[t] = src->ndim;
        memcpy(d, src->dims, sizeof src->dims);
        if (src->is_constant) continue;
        for (int k = 0; k < src->ndim; k++) /* inputs need theirs; the others get their producer's */
            if (d[k] < 0 && (k == 0 || d[k] != -1)) d[k] = ir_dim_value(g, d[k], values);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
        if (n->n_in < 0 || n->n_in > IR_MAX_INPUTS || n->n_out < 1 || n->n_out > IR_MAX_OUTPUTS)
            return infer_fail(err, INFER_ERR_INTERNAL, "node %d '%s': %d inputs, %d outputs", i, n->name, n->n_in,
                              n->n_out);
        memset(in, 0, (size_t)n->n_in * sizeof *in);
        memset(out, 0, sizeof out);
        for (int k = 0; k < n->n_in; k++) {
            int id = n->in[k];
            if (id == IR_NONE) continue;
            const ir_tensor *t = id >= 0 && id < g->n_tensors ? &g->tensors[id] : NULL;
            if (!t || (!t->is_constant && !t->is_input && (t->producer == IR_NONE || t->producer >= i)))
                return infer_fail(err, INFER_ERR_INTERNAL, "node %d '%s': input %d (tensor %d) is not available yet",
                                  i, n->name, k, id);
            in[k].dtype = t->dtype;
            in[k].ndim = ndims[id];
            memcpy(in[k].dims, dims + (size_t)id * INFER_MAX_DIMS, sizeof in[k].dims);
        }
        for (int k = 0; k < n->n_out; k++) {
            int id = n->out[k];
            if (id < 0 || id >= g->n_tensors)
                return infer_fail(err, INFER_ERR_INTERNAL, "node %d '%s': output %d is tensor %d of %d", i, n->name, k,
                                  id, g->n_tensors);
            out[k].dtype = g->tensors[id].dtype; /* declared: ir_node_shape checks it */
        }
        ir_node copy;
        infer_status s = INFER_OK;
        const ir_node *use = resolved_node(g, n, values, &copy, i, err, &s);
        if (!use) return s;
        s = node_shape(g, use, i, in, out, err);
        if (s != INFER_OK) return s;
        for (int k = 0; k < n->n_out; k++) {
            int id = n->out[k];
            const ir_tensor *t = &g->tensors[id];
            if (!declared_holds(g, t, &out[k], values, (n->op == OP_LSTM || n->op == OP_GRU) && k > 0 ? 1 : -1)) {
                char want[256], at[256];
                declared_text(g, t, want, sizeof want);
                values_text(g, values, at, sizeof at);
                return infer_fail(err, INFER_ERR_FORMAT,
                                  "tensor '%s' (output %d of node %d '%s' (%s)) is declared %s, inferred %s at %s",
                                  t->name, k, i, n->name ? n->name : "", op_name(n->op), want, DIMS(&out[k]), at);
            }
            ndims[id] = out[k].ndim;
            memcpy(dims + (size_t)id * INFER_MAX_DIMS, out[k].dims, sizeof out[k].dims);
        }
    }
    return INFER_OK;
}
