/* dispatch.c — the CUDA kernel table and its lookup: op, input storages, dtypes and attributes decide CUDA or
 * CPU fallback; the helpers the ops' entries share. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "dispatch.h"
#include "cuda_plan.h"

static const cuda_kernel *const kernel_table[OP_COUNT] = {
#define X(e, id, code, min_in, max_in, n_out) [code] = cuda_kernels_##id,
    INFER_OPS(X)
#undef X
};

const cuda_kernel *cuda_kernels_of(int op) { return op > 0 && op < OP_COUNT ? kernel_table[op] : NULL; }

infer_dtype cuda_dev_dtype(infer_dtype d, int fp16) { return (fp16 && d == INFER_F32) ? INFER_F16 : d; }

int cuda_refuse(char *why, size_t len, const char *fmt, ...) {
    if (why && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return 0;
}

const cuda_kernel *cuda_kernel_lookup(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    const cuda_kernel *k = n->op > 0 && n->op < OP_COUNT ? kernel_table[n->op] : NULL;
    if (!k || !k->run) {
        cuda_refuse(why, len, "no CUDA kernel for op %s", op_name(n->op));
        return NULL;
    }
    if (!g) return k; /* dense inputs, checked by the caller */
    for (int i = 0; i < n->n_in; i++) {
        const ir_tensor *t = cuda_node_input(g, n, i);
        if (t && t->ndim > INFER_MAX_DIMS) {
            cuda_refuse(why, len, "input %d has %d dims", i, t->ndim);
            return NULL;
        }
    }
    int bad = -1, refused = 0;
    for (; k->run; k++) {
        if (!ir_inputs_stored_as(g, n, k->storages, &bad)) continue;
        if (k->supports(g, n, fp16, why, len)) return k;
        refused = 1; /* the reason is in why */
    }
    if (refused) return NULL;
    const ir_tensor *t = cuda_node_input(g, n, bad);
    cuda_refuse(why, len, "no CUDA kernel takes input %d '%s' stored as %s", bad, t ? t->name : "?",
                t ? ir_storage_name(t->storage.kind) : "?");
    return NULL;
}

int cuda_node_supported(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    if (why && len) why[0] = 0;
    return cuda_kernel_lookup(g, n, fp16, why, len) != NULL;
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

/* ---- shared by the ops' supports rules ------------------------------------------------------------ */

int cuda_is_float(infer_dtype d) { return d == INFER_F32 || d == INFER_F16; }

static int elem_ok(infer_dtype d) {
    size_t s = infer_dtype_size(d);
    return s == 1 || s == 2 || s == 4 || s == 8;
}

const ir_tensor *cuda_node_input(const ir_graph *g, const ir_node *n, int i) {
    return (i >= 0 && i < n->n_in && n->in[i] != IR_NONE && n->in[i] >= 0 && n->in[i] < g->n_tensors)
               ? &g->tensors[n->in[i]]
               : NULL;
}

const ir_tensor *cuda_node_output(const ir_graph *g, const ir_node *n, int i) {
    return (i >= 0 && i < n->n_out && n->out[i] >= 0 && n->out[i] < g->n_tensors) ? &g->tensors[n->out[i]] : NULL;
}

int cuda_floats_only(const ir_graph *g, const ir_node *n, int fp16, unsigned skip_mask, unsigned out_skip, char *why,
                     size_t len) {
    infer_dtype want = INFER_DTYPE_COUNT;
    for (int i = 0; i < n->n_in + n->n_out; i++) {
        int is_out = i >= n->n_in;
        int k = is_out ? i - n->n_in : i;
        if (k < 32 && ((is_out ? out_skip : skip_mask) >> k) & 1u) continue;
        const ir_tensor *t = is_out ? cuda_node_output(g, n, k) : cuda_node_input(g, n, k);
        if (!t) continue;
        if (!cuda_is_float(t->dtype))
            return cuda_refuse(why, len, "%s %d is %s (CUDA kernels take f32/f16 here)", is_out ? "output" : "input", k,
                               infer_dtype_name(t->dtype));
        infer_dtype d = cuda_dev_dtype(t->dtype, fp16);
        if (want == INFER_DTYPE_COUNT) want = d;
        else if (d != want) return cuda_refuse(why, len, "mixed float dtypes");
    }
    return 1;
}

int cuda_same_elem(const ir_graph *g, const ir_node *n, int fp16, unsigned skip_mask, char *why, size_t len) {
    const ir_tensor *o = cuda_node_output(g, n, 0);
    if (!o || !elem_ok(o->dtype)) return cuda_refuse(why, len, "output dtype %s", o ? infer_dtype_name(o->dtype) : "?");
    for (int i = 0; i < n->n_in; i++) {
        if (i < 32 && (skip_mask >> i) & 1u) continue;
        const ir_tensor *t = cuda_node_input(g, n, i);
        if (!t) continue;
        if (cuda_dev_dtype(t->dtype, fp16) != cuda_dev_dtype(o->dtype, fp16))
            return cuda_refuse(why, len, "input %d is %s, output %s", i, infer_dtype_name(t->dtype),
                               infer_dtype_name(o->dtype));
    }
    return 1;
}

int cuda_floats_only_rule(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    return cuda_floats_only(g, n, fp16, 0, 0, why, len);
}

int cuda_same_elem_rule(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len) {
    return cuda_same_elem(g, n, fp16, 0, why, len);
}

/* ---- shared by the ops' run ------------------------------------------------------------------------ */

int64_t cuda_numel(const infer_tensor *t) { return infer_tensor_elements(t); }

int64_t cuda_prod(const int64_t *d, int from, int to) {
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= d[i];
    return p;
}

int cuda_norm_axis(int axis, int ndim) { return axis < 0 ? axis + ndim : axis; }

size_t cuda_esize(const infer_tensor *t) { return infer_dtype_size(t->dtype); }

int cuda_bcast_of(cuda_bcast *bc, const infer_tensor *y, int n_in, const infer_tensor *const *xs) {
    int nd[CUDA_BCAST_MAX_IN];
    int64_t dims[CUDA_BCAST_MAX_IN][INFER_MAX_DIMS];
    memset(dims, 0, sizeof dims);
    for (int k = 0; k < n_in; k++) {
        nd[k] = xs[k]->ndim;
        memcpy(dims[k], xs[k]->dims, (size_t)nd[k] * sizeof(int64_t));
    }
    return cuda_bcast_build(bc, y->ndim, y->dims, n_in, nd, (const int64_t(*)[INFER_MAX_DIMS])dims);
}
