/* ifg_writer.c — building an .ifg file: tensors, nodes, attributes, graph and meta; saving it atomically. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "atomic_write.h"
#include "ifg_writer_internal.h"

static void fail(ifg_writer *w, infer_status status, const char *fmt, ...) INFER_PRINTF(3, 4);
static void fail(ifg_writer *w, infer_status status, const char *fmt, ...) {
    if (w->failure.status != INFER_OK) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->failure.message, sizeof w->failure.message, fmt, ap);
    va_end(ap);
    w->failure.status = status;
}

/* Room for `more` further elements of *items (count n, capacity *cap). */
static int reserve(ifg_writer *w, void **items, uint32_t n, uint64_t more, uint32_t *cap, size_t elem) {
    if (w->failure.status != INFER_OK) return 0;
    if (n + more <= *cap) return 1;
    uint64_t want = *cap ? *cap : 16;
    while (want < n + more) want *= 2;
    if (want >= UINT32_MAX) want = UINT32_MAX - 1;
    void *p = n + more <= want ? realloc(*items, want * elem) : NULL;
    if (!p) {
        fail(w, INFER_ERR_MEMORY, "ifg_writer: out of memory (or over 2^32 entries) growing a table to %" PRIu64,
             n + more);
        return 0;
    }
    *items = p;
    *cap = (uint32_t)want;
    return 1;
}
#define RESERVE(w, arr, n, more) reserve(w, (void **)&(w)->arr, (w)->n, more, &(w)->cap_##arr, sizeof *(w)->arr)

static char *copy_string(ifg_writer *w, const char *s, const char *what) {
    char *c = s ? strdup(s) : NULL;
    if (!s) fail(w, INFER_ERR_ARGUMENT, "ifg_writer: %s is NULL", what);
    else if (!c) fail(w, INFER_ERR_MEMORY, "ifg_writer: out of memory copying %s", what);
    return c;
}

infer_status ifg_writer_create(ifg_writer **writer, infer_error *err) {
    if (!writer) return infer_fail(err, INFER_ERR_ARGUMENT, "ifg_writer_create: writer is NULL");
    *writer = calloc(1, sizeof **writer);
    return *writer ? INFER_OK : infer_fail(err, INFER_ERR_MEMORY, "out of memory creating an ifg_writer");
}

void ifg_writer_destroy(ifg_writer *w) {
    if (!w) return;
    for (uint32_t i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    for (uint32_t i = 0; i < w->n_nodes; i++) free(w->nodes[i].name);
    for (uint32_t i = 0; i < w->n_attrs; i++) {
        free(w->attrs[i].key);
        free(w->attrs[i].s);
    }
    for (uint32_t i = 0; i < w->n_meta; i++) {
        free(w->meta[i].key);
        free(w->meta[i].value);
    }
    for (uint32_t i = 0; i < w->n_dims; i++) free(w->dims[i].name);
    free(w->exprs);
    free(w->tensors);
    free(w->nodes);
    free(w->attrs);
    free(w->meta);
    free(w->ids);
    free(w->values);
    free(w->graph_ids);
    free(w);
}

uint32_t ifg_writer_tensor(ifg_writer *w, const char *name, infer_dtype dtype, int ndim, const int64_t *dims,
                           const void *data, uint64_t data_size) {
    if (!w) return IFG_NONE;
    if (ndim < 0 || ndim > INFER_MAX_DIMS || (ndim && !dims) || (int)dtype < 0 || (int)dtype > 255 ||
        (!data && data_size) || data_size >= SIZE_MAX)
        fail(w, INFER_ERR_ARGUMENT, "ifg_writer_tensor('%.200s'): bad ndim %d, dims, dtype %d or data",
             name ? name : "(null)", ndim, (int)dtype);
    if (!RESERVE(w, tensors, n_tensors, 1)) return IFG_NONE;
    wtensor t = { .dtype = (int)dtype, .ndim = ndim, .is_constant = data != NULL, .data_size = data_size };
    for (int d = 0; d < ndim; d++) t.dims[d] = dims[d];
    t.name = copy_string(w, name, "a tensor name");
    t.data = data ? malloc(data_size ? (size_t)data_size : 1) : NULL;
    if (data && !t.data) fail(w, INFER_ERR_MEMORY, "ifg_writer_tensor('%.200s'): out of memory", t.name);
    if (w->failure.status != INFER_OK) {
        free(t.name);
        free(t.data);
        return IFG_NONE;
    }
    if (data_size) memcpy(t.data, data, (size_t)data_size);
    w->tensors[w->n_tensors] = t;
    return w->n_tensors++;
}

static uint32_t append_ids(ifg_writer *w, const uint32_t *ids, uint32_t n) {
    uint32_t start = w->n_ids;
    if (n && !ids) fail(w, INFER_ERR_ARGUMENT, "ifg_writer: a NULL id list of %u ids", n);
    if (RESERVE(w, ids, n_ids, n)) {
        if (n) memcpy(w->ids + w->n_ids, ids, (size_t)n * sizeof *ids);
        w->n_ids += n;
    }
    return start;
}

uint32_t ifg_writer_node(ifg_writer *w, int op, const char *name, const uint32_t *inputs, uint32_t n_inputs,
                         const uint32_t *outputs, uint32_t n_outputs) {
    if (!w) return IFG_NONE;
    if (op < 0 || op > UINT16_MAX) fail(w, INFER_ERR_ARGUMENT, "ifg_writer_node: op code %d does not fit 16 bits", op);
    if (!RESERVE(w, nodes, n_nodes, 1)) return IFG_NONE;
    wnode n = { .op = op, .n_in = n_inputs, .n_out = n_outputs, .attr_start = w->n_attrs };
    n.in_start = append_ids(w, inputs, n_inputs);
    n.out_start = append_ids(w, outputs, n_outputs);
    n.name = copy_string(w, name, "a node name");
    if (w->failure.status != INFER_OK) {
        free(n.name);
        return IFG_NONE;
    }
    w->nodes[w->n_nodes] = n;
    return w->n_nodes++;
}

static wattr *add_attr(ifg_writer *w, const char *key, uint32_t type, uint32_t count) {
    if (!w) return NULL;
    if (w->n_nodes == 0) fail(w, INFER_ERR_ARGUMENT, "ifg_writer: attribute '%.200s' before any node", key ? key : "");
    if (!RESERVE(w, attrs, n_attrs, 1)) return NULL;
    wattr a = { .type = type, .count = count };
    a.key = copy_string(w, key, "an attribute key");
    if (w->failure.status != INFER_OK) {
        free(a.key);
        return NULL;
    }
    w->nodes[w->n_nodes - 1].n_attrs++;
    w->attrs[w->n_attrs] = a;
    return &w->attrs[w->n_attrs++];
}

void ifg_writer_attr_int(ifg_writer *w, const char *key, int64_t v) {
    wattr *a = add_attr(w, key, IFG_ATTR_INT, 1);
    if (a) a->value = (uint64_t)v;
}

void ifg_writer_attr_float(ifg_writer *w, const char *key, double v) {
    wattr *a = add_attr(w, key, IFG_ATTR_FLOAT, 1);
    if (a) memcpy(&a->value, &v, sizeof v);
}

static void add_list(ifg_writer *w, const char *key, uint32_t type, const void *v, uint32_t n) {
    if (w && n && !v) fail(w, INFER_ERR_ARGUMENT, "ifg_writer: attribute '%.200s' has a NULL list", key ? key : "");
    if (!w || !RESERVE(w, values, n_values, n)) return;
    wattr *a = add_attr(w, key, type, n);
    if (!a) return;
    a->value = w->n_values;
    if (n) memcpy(w->values + w->n_values, v, (size_t)n * 8); /* int64 and double: 8 bytes of bits */
    w->n_values += n;
}

void ifg_writer_attr_ints(ifg_writer *w, const char *key, const int64_t *v, uint32_t n) {
    add_list(w, key, IFG_ATTR_INTS, v, n);
}

void ifg_writer_attr_floats(ifg_writer *w, const char *key, const double *v, uint32_t n) {
    add_list(w, key, IFG_ATTR_FLOATS, v, n);
}

void ifg_writer_attr_string(ifg_writer *w, const char *key, const char *s) {
    char *copy = w ? copy_string(w, s, "a string attribute value") : NULL;
    wattr *a = copy ? add_attr(w, key, IFG_ATTR_STRING, 1) : NULL;
    if (a) a->s = copy;
    else free(copy);
}

void ifg_writer_graph(ifg_writer *w, const uint32_t *inputs, uint32_t n_inputs, const uint32_t *outputs,
                      uint32_t n_outputs) {
    if (!w || w->failure.status != INFER_OK) return;
    if ((n_inputs && !inputs) || (n_outputs && !outputs)) {
        fail(w, INFER_ERR_ARGUMENT, "ifg_writer_graph: a NULL id list");
        return;
    }
    uint32_t *ids = malloc(((size_t)n_inputs + n_outputs + 1) * sizeof *ids);
    if (!ids) {
        fail(w, INFER_ERR_MEMORY, "ifg_writer_graph: out of memory");
        return;
    }
    if (n_inputs) memcpy(ids, inputs, (size_t)n_inputs * sizeof *ids);
    if (n_outputs) memcpy(ids + n_inputs, outputs, (size_t)n_outputs * sizeof *ids);
    free(w->graph_ids);
    w->graph_ids = ids;
    w->n_graph_inputs = n_inputs;
    w->n_graph_outputs = n_outputs;
}

void ifg_writer_meta(ifg_writer *w, const char *key, const char *value) {
    if (!w || !RESERVE(w, meta, n_meta, 1)) return;
    wmeta m = { .key = copy_string(w, key, "a meta key"), .value = copy_string(w, value, "a meta value") };
    if (w->failure.status != INFER_OK) {
        free(m.key);
        free(m.value);
        return;
    }
    w->meta[w->n_meta++] = m;
}

uint32_t ifg_writer_dyn_dim(ifg_writer *w, const char *name, int64_t min, int64_t max, int64_t example) {
    if (!w || w->failure.status != INFER_OK) return IFG_NONE;
    if (w->n_dims == IFG_MAX_DYN_DIMS) {
        fail(w, INFER_ERR_ARGUMENT, "ifg_writer_dyn_dim: more than %d named dims", IFG_MAX_DYN_DIMS);
        return IFG_NONE;
    }
    wdim d = { .name = copy_string(w, name, "a dim name"), .min = min, .max = max, .example = example };
    if (w->failure.status != INFER_OK) {
        free(d.name);
        return IFG_NONE;
    }
    w->dims[w->n_dims] = d;
    return w->n_dims++;
}

uint32_t ifg_writer_expr(ifg_writer *w, const ifg_expr *expr) {
    if (!w || !expr) return IFG_NONE;
    if (!RESERVE(w, exprs, n_exprs, 1)) return IFG_NONE;
    w->exprs[w->n_exprs] = *expr;
    return w->n_exprs++;
}

infer_status ifg_writer_save(ifg_writer *w, const char *path, infer_error *err) {
    if (!path) return infer_fail(err, INFER_ERR_ARGUMENT, "ifg_writer_save: path is NULL");
    write_chunk file;
    uint8_t *bytes;
    infer_status st = ifg_writer_to_memory(w, &bytes, &file.size, err);
    if (st != INFER_OK) return st;
    file.data = bytes;
    st = write_file_atomic(path, &file, 1, err);
    free(bytes);
    return st;
}
