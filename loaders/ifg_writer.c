/* ifg_writer.c — building an .ifg file in memory and saving it atomically; byte-identical to scripts/ifg.py. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "atomic_write.h"
#include "ifg_internal.h"

typedef struct {
    char *name;
    int dtype, ndim, is_constant;
    int64_t dims[INFER_MAX_DIMS];
    uint8_t *data;
    uint64_t data_size, data_offset;
    uint32_t name_off;
} wtensor;

typedef struct {
    int op;
    char *name;
    uint32_t in_start, n_in, out_start, n_out, attr_start, n_attrs, name_off;
} wnode;

typedef struct {
    char *key, *s;      /* s: the value of a string attribute */
    uint32_t type, count, key_off;
    uint64_t value;     /* int bits, f64 bits, string offset or first VALUES index */
} wattr;

typedef struct {
    char *key, *value;
    uint32_t key_off, value_off;
} wmeta;

struct ifg_writer {
    wtensor *tensors;
    wnode *nodes;
    wattr *attrs;
    wmeta *meta;
    uint32_t *ids;      /* node inputs and outputs; the graph's ranges follow them in the file */
    uint64_t *values;   /* f64 / i64 bits */
    uint32_t *graph_ids, n_graph_inputs, n_graph_outputs;
    uint32_t n_tensors, n_nodes, n_attrs, n_meta, n_ids, n_values;
    uint32_t cap_tensors, cap_nodes, cap_attrs, cap_meta, cap_ids, cap_values;
    infer_error failure; /* the first failure; later calls do nothing */
};

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

/* ---- serialization ------------------------------------------------------------------------- */

/* The STRINGS section under construction, each distinct string once, in first-use order. */
typedef struct {
    char *buf;
    uint64_t len, cap;
    uint32_t *slots;    /* open addressing: string offsets, UINT32_MAX empty */
    uint32_t n, n_slots;
} strtab;

static uint32_t hash_bytes(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int strtab_rehash(strtab *t, uint32_t n_slots) {
    uint32_t *slots = malloc((size_t)n_slots * sizeof *slots);
    if (!slots) return 0;
    memset(slots, 0xFF, (size_t)n_slots * sizeof *slots);
    for (uint32_t i = 0; i < t->n_slots; i++) {
        if (t->slots[i] == UINT32_MAX) continue;
        uint32_t h = hash_bytes(t->buf + t->slots[i]) & (n_slots - 1);
        while (slots[h] != UINT32_MAX) h = (h + 1) & (n_slots - 1);
        slots[h] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return 1;
}

/* The offset of s in the table (added when new); 0 when out of memory or over 4 GiB of strings. */
static int strtab_add(strtab *t, const char *s, uint32_t *off) {
    if (2 * (uint64_t)(t->n + 1) > t->n_slots && (t->n_slots >= (1u << 31) || !strtab_rehash(t, t->n_slots * 2)))
        return 0;
    uint32_t h = hash_bytes(s) & (t->n_slots - 1);
    for (; t->slots[h] != UINT32_MAX; h = (h + 1) & (t->n_slots - 1))
        if (strcmp(t->buf + t->slots[h], s) == 0) {
            *off = t->slots[h];
            return 1;
        }
    uint64_t n = strlen(s) + 1;
    if (t->len + n > UINT32_MAX) return 0;
    if (t->len + n > t->cap) {
        uint64_t cap = t->cap * 2 > t->len + n ? t->cap * 2 : t->len + n;
        char *buf = realloc(t->buf, (size_t)cap);
        if (!buf) return 0;
        t->buf = buf;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, (size_t)n);
    *off = t->slots[h] = (uint32_t)t->len;
    t->len += n;
    t->n++;
    return 1;
}

/* Interns every string in the order of scripts/ifg.py: tensor names; per node its attribute keys (and
 * string values), then its name; then meta keys and values. */
static int intern_all(ifg_writer *w, strtab *t) {
    uint32_t empty;
    if (!strtab_rehash(t, 64) || !strtab_add(t, "", &empty)) return 0;
    int ok = 1;
    for (uint32_t i = 0; ok && i < w->n_tensors; i++) ok = strtab_add(t, w->tensors[i].name, &w->tensors[i].name_off);
    for (uint32_t i = 0; ok && i < w->n_nodes; i++) {
        wnode *n = &w->nodes[i];
        for (uint32_t k = n->attr_start; ok && k < n->attr_start + n->n_attrs; k++) {
            wattr *a = &w->attrs[k];
            uint32_t s_off = 0;
            ok = strtab_add(t, a->key, &a->key_off) && (!a->s || strtab_add(t, a->s, &s_off));
            if (a->s) a->value = s_off;
        }
        ok = ok && strtab_add(t, n->name, &n->name_off);
    }
    for (uint32_t i = 0; ok && i < w->n_meta; i++)
        ok = strtab_add(t, w->meta[i].key, &w->meta[i].key_off) && strtab_add(t, w->meta[i].value, &w->meta[i].value_off);
    return ok;
}

static uint64_t align_up(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

typedef struct {
    uint64_t offset, size, count;
    uint32_t entry_size;
} wsection;

static void put_tensor(uint8_t *e, const wtensor *t) {
    ifg_put_u32(e + IFG_T_NAME, t->name_off);
    e[IFG_T_DTYPE] = (uint8_t)t->dtype;
    e[IFG_T_NDIM] = (uint8_t)t->ndim;
    e[IFG_T_KIND] = (uint8_t)t->is_constant;
    for (int d = 0; d < t->ndim; d++) ifg_put_u64(e + IFG_T_DIMS + 8 * d, (uint64_t)t->dims[d]);
    if (t->is_constant) {
        ifg_put_u64(e + IFG_T_DATA_OFFSET, t->data_offset);
        ifg_put_u64(e + IFG_T_DATA_SIZE, t->data_size);
    }
    for (int k = 0; k < 3; k++) ifg_put_u32(e + IFG_T_AUX + 4 * k, IFG_NONE);
}

static void put_node(uint8_t *e, const wnode *n) {
    ifg_put_u16(e + IFG_N_OP, (uint16_t)n->op);
    ifg_put_u32(e + IFG_N_NAME, n->name_off);
    ifg_put_u32(e + IFG_N_INPUTS, n->in_start);
    ifg_put_u32(e + IFG_N_INPUT_COUNT, n->n_in);
    ifg_put_u32(e + IFG_N_OUTPUTS, n->out_start);
    ifg_put_u32(e + IFG_N_OUTPUT_COUNT, n->n_out);
    ifg_put_u32(e + IFG_N_ATTRS, n->attr_start);
    ifg_put_u32(e + IFG_N_ATTR_COUNT, n->n_attrs);
}

static void put_sections(const ifg_writer *w, const strtab *t, uint8_t *out, const wsection *sec) {
    memcpy(out + sec[IFG_SEC_STRINGS].offset, t->buf, (size_t)t->len);
    for (uint32_t i = 0; i < w->n_tensors; i++)
        put_tensor(out + sec[IFG_SEC_TENSORS].offset + (uint64_t)IFG_TENSOR_ENTRY_SIZE * i, &w->tensors[i]);
    for (uint32_t i = 0; i < w->n_nodes; i++)
        put_node(out + sec[IFG_SEC_NODES].offset + (uint64_t)IFG_NODE_ENTRY_SIZE * i, &w->nodes[i]);
    for (uint32_t i = 0; i < w->n_attrs; i++) {
        uint8_t *e = out + sec[IFG_SEC_ATTRS].offset + (uint64_t)IFG_ATTR_ENTRY_SIZE * i;
        ifg_put_u32(e + IFG_A_KEY, w->attrs[i].key_off);
        ifg_put_u32(e + IFG_A_TYPE, w->attrs[i].type);
        ifg_put_u32(e + IFG_A_COUNT, w->attrs[i].count);
        ifg_put_u64(e + IFG_A_VALUE, w->attrs[i].value);
    }
    uint8_t *ids = out + sec[IFG_SEC_IDS].offset;
    for (uint32_t i = 0; i < w->n_ids; i++) ifg_put_u32(ids + 4 * (uint64_t)i, w->ids[i]);
    for (uint32_t i = 0; i < w->n_graph_inputs + w->n_graph_outputs; i++)
        ifg_put_u32(ids + 4 * ((uint64_t)w->n_ids + i), w->graph_ids[i]);
    for (uint32_t i = 0; i < w->n_values; i++) ifg_put_u64(out + sec[IFG_SEC_VALUES].offset + 8 * (uint64_t)i, w->values[i]);
    uint8_t *g = out + sec[IFG_SEC_GRAPH].offset;
    ifg_put_u32(g, w->n_ids);
    ifg_put_u32(g + 4, w->n_graph_inputs);
    ifg_put_u32(g + 8, w->n_ids + w->n_graph_inputs);
    ifg_put_u32(g + 12, w->n_graph_outputs);
    for (uint32_t i = 0; i < w->n_meta; i++) {
        uint8_t *e = out + sec[IFG_SEC_META].offset + (uint64_t)IFG_META_ENTRY_SIZE * i;
        ifg_put_u32(e, w->meta[i].key_off);
        ifg_put_u32(e + 4, w->meta[i].value_off);
    }
}

static void put_header(uint8_t *out, const wsection *sec, uint64_t data_offset, uint64_t file_size) {
    memcpy(out + IFG_H_MAGIC, IFG_MAGIC, 8);
    ifg_put_u16(out + IFG_H_VERSION_MAJOR, IFG_VERSION_MAJOR);
    ifg_put_u16(out + IFG_H_VERSION_MINOR, IFG_VERSION_MINOR);
    ifg_put_u32(out + IFG_H_HEADER_SIZE, IFG_HEADER_SIZE);
    ifg_put_u64(out + IFG_H_FILE_SIZE, file_size);
    ifg_put_u32(out + IFG_H_SECTION_COUNT, IFG_SEC_COUNT - 1);
    ifg_put_u64(out + IFG_H_SECTION_TABLE, IFG_HEADER_SIZE);
    ifg_put_u64(out + IFG_H_DATA_OFFSET, data_offset);
    ifg_put_u64(out + IFG_H_DATA_SIZE, file_size - data_offset);
    for (int kind = 1; kind < IFG_SEC_COUNT; kind++) {
        uint8_t *e = out + IFG_HEADER_SIZE + (uint64_t)IFG_SECTION_ENTRY_SIZE * (kind - 1);
        ifg_put_u32(e + IFG_S_KIND, (uint32_t)kind);
        ifg_put_u32(e + IFG_S_ENTRY_SIZE, sec[kind].entry_size);
        ifg_put_u64(e + IFG_S_OFFSET, sec[kind].offset);
        ifg_put_u64(e + IFG_S_SIZE, sec[kind].size);
        ifg_put_u64(e + IFG_S_COUNT, sec[kind].count);
    }
    ifg_put_u32(out + IFG_H_META_CRC, ifg_crc32(0, out, (size_t)data_offset)); /* both CRC fields still zero */
    ifg_put_u32(out + IFG_H_DATA_CRC, ifg_crc32(0, out + data_offset, (size_t)(file_size - data_offset)));
}

/* Data offsets of the constants, each 256-aligned after the previous one; the region's size. */
static int layout_data(ifg_writer *w, uint64_t *data_size) {
    uint64_t end = 0;
    for (uint32_t i = 0; i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        if (!t->is_constant) continue;
        t->data_offset = align_up(end, IFG_DATA_ALIGN);
        if (t->data_offset < end || __builtin_add_overflow(t->data_offset, t->data_size, &end)) return 0;
    }
    *data_size = end;
    return 1;
}

static infer_status serialize(ifg_writer *w, const strtab *t, uint8_t **bytes, uint64_t *size, infer_error *err) {
    uint64_t n_graph = (uint64_t)w->n_graph_inputs + w->n_graph_outputs, data_size;
    if (!layout_data(w, &data_size) || (uint64_t)w->n_ids + n_graph > UINT32_MAX)
        return infer_fail(err, INFER_ERR_ARGUMENT, "ifg_writer: the file would be too large");
    wsection sec[IFG_SEC_COUNT] = {
        [IFG_SEC_STRINGS] = { 0, t->len, t->len, 1 },
        [IFG_SEC_TENSORS] = { 0, 0, w->n_tensors, IFG_TENSOR_ENTRY_SIZE },
        [IFG_SEC_NODES] = { 0, 0, w->n_nodes, IFG_NODE_ENTRY_SIZE },
        [IFG_SEC_ATTRS] = { 0, 0, w->n_attrs, IFG_ATTR_ENTRY_SIZE },
        [IFG_SEC_IDS] = { 0, 0, w->n_ids + n_graph, 4 },
        [IFG_SEC_VALUES] = { 0, 0, w->n_values, 8 },
        [IFG_SEC_GRAPH] = { 0, 0, 1, IFG_GRAPH_ENTRY_SIZE },
        [IFG_SEC_META] = { 0, 0, w->n_meta, IFG_META_ENTRY_SIZE },
    };
    uint64_t pos = align_up(IFG_HEADER_SIZE + (uint64_t)IFG_SECTION_ENTRY_SIZE * (IFG_SEC_COUNT - 1), 8);
    for (int kind = 1; kind < IFG_SEC_COUNT; kind++) {
        sec[kind].size = sec[kind].count * sec[kind].entry_size;
        sec[kind].offset = pos;
        pos = align_up(pos + sec[kind].size, 8);
    }
    uint64_t data_offset = align_up(pos + 1, IFG_DATA_ALIGN), file_size; /* strictly after every section start */
    if (__builtin_add_overflow(data_offset, data_size, &file_size) || file_size >= SIZE_MAX)
        return infer_fail(err, INFER_ERR_ARGUMENT, "ifg_writer: the file would be too large");
    uint8_t *out = calloc(1, (size_t)file_size);
    if (!out) return infer_fail(err, INFER_ERR_MEMORY, "ifg_writer: out of memory for a %" PRIu64 "-byte file", file_size);
    put_sections(w, t, out, sec);
    for (uint32_t i = 0; i < w->n_tensors; i++)
        if (w->tensors[i].is_constant && w->tensors[i].data_size)
            memcpy(out + data_offset + w->tensors[i].data_offset, w->tensors[i].data, (size_t)w->tensors[i].data_size);
    put_header(out, sec, data_offset, file_size);
    *bytes = out;
    *size = file_size;
    return INFER_OK;
}

infer_status ifg_writer_to_memory(ifg_writer *w, uint8_t **bytes, uint64_t *size, infer_error *err) {
    if (!w || !bytes || !size) return infer_fail(err, INFER_ERR_ARGUMENT, "ifg_writer_to_memory: NULL argument");
    *bytes = NULL;
    *size = 0;
    if (w->failure.status != INFER_OK) return infer_fail(err, w->failure.status, "%s", w->failure.message);
    strtab t = { 0 };
    infer_status st = intern_all(w, &t) ? serialize(w, &t, bytes, size, err)
                                        : infer_fail(err, INFER_ERR_MEMORY, "ifg_writer: out of memory (or over 4 GiB) "
                                                                            "building the string table");
    free(t.buf);
    free(t.slots);
    return st;
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
