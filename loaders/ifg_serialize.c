/* ifg_serialize.c — laying out an ifg_writer's tables as .ifg bytes, byte-identical to scripts/ifg.py. */
#include <inttypes.h>
#include <stdlib.h>
#include "ifg_writer_internal.h"

/* The STRINGS section under construction, each distinct string once, in first-use order. */
typedef struct {
    char *buf;
    uint64_t len, cap;
    uint32_t *slots;    /* open addressing: string offsets, UINT32_MAX empty */
    uint32_t n, n_slots;
} strtab;

static int strtab_rehash(strtab *t, uint32_t n_slots) {
    uint32_t *slots = malloc((size_t)n_slots * sizeof *slots);
    if (!slots) return 0;
    memset(slots, 0xFF, (size_t)n_slots * sizeof *slots);
    for (uint32_t i = 0; i < t->n_slots; i++) {
        if (t->slots[i] == UINT32_MAX) continue;
        uint32_t h = ifg_string_hash(t->buf + t->slots[i]) & (n_slots - 1);
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
    uint32_t h = ifg_string_hash(s) & (t->n_slots - 1);
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
 * string values), then its name; then meta keys and values; then the dynamic dims' names. */
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
    for (uint32_t i = 0; ok && i < w->n_dims; i++) ok = strtab_add(t, w->dims[i].name, &w->dims[i].name_off);
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
    for (int k = 0; k < 3; k++) ifg_put_u32(e + IFG_T_AUX + 4 * k, t->enc.encoding ? t->enc.aux[k] : IFG_NONE);
    if (t->enc.encoding) {
        e[IFG_T_ENCODING] = (uint8_t)t->enc.encoding;
        ifg_put_u32(e + IFG_T_QUANT_AXIS, (uint32_t)t->enc.quant_axis);
        memcpy(e + IFG_T_SCALE, &t->enc.scale, 4);
        ifg_put_u32(e + IFG_T_ZERO_POINT, (uint32_t)t->enc.zero_point);
        ifg_put_u32(e + IFG_T_BLOCK, t->enc.block);
    }
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
    for (uint32_t i = 0; i < w->n_dims && sec[IFG_SEC_DIMS].count; i++) {
        uint8_t *e = out + sec[IFG_SEC_DIMS].offset + (uint64_t)IFG_DIM_ENTRY_SIZE * i;
        ifg_put_u32(e, w->dims[i].name_off);
        ifg_put_u64(e + 8, (uint64_t)w->dims[i].min);
        ifg_put_u64(e + 16, (uint64_t)w->dims[i].max);
        ifg_put_u64(e + 24, (uint64_t)w->dims[i].example);
    }
    for (uint32_t i = 0; i < sec[IFG_SEC_EXPRS].count; i++) {
        uint8_t *e = out + sec[IFG_SEC_EXPRS].offset + (uint64_t)IFG_EXPR_ENTRY_SIZE * i;
        const ifg_expr *x = &w->exprs[i];
        ifg_put_u64(e, (uint64_t)x->coef);
        ifg_put_u64(e + 8, (uint64_t)x->offset);
        ifg_put_u32(e + 16, x->flags);
        ifg_put_u32(e + 20, x->n_factors);
        for (int k = 0; k < IFG_MAX_EXPR_FACTORS; k++) {
            ifg_put_u32(e + 24 + 8 * k, x->sym[k]);
            ifg_put_u32(e + 28 + 8 * k, x->power[k]);
        }
    }
}

/* Files without named dims are written as version 1.0 (kinds 1-8), the others as 1.1 with DIMS and EXPRS. */
static int section_kinds(const ifg_writer *w) { return w->n_dims ? IFG_SEC_COUNT : IFG_SEC_COUNT_1_0; }

static void put_header(uint8_t *out, const wsection *sec, int kinds, uint64_t data_offset, uint64_t file_size) {
    memcpy(out + IFG_H_MAGIC, IFG_MAGIC, 8);
    ifg_put_u16(out + IFG_H_VERSION_MAJOR, IFG_VERSION_MAJOR);
    ifg_put_u16(out + IFG_H_VERSION_MINOR, kinds == IFG_SEC_COUNT_1_0 ? 0 : 1);
    ifg_put_u32(out + IFG_H_HEADER_SIZE, IFG_HEADER_SIZE);
    ifg_put_u64(out + IFG_H_FILE_SIZE, file_size);
    ifg_put_u32(out + IFG_H_SECTION_COUNT, (uint32_t)kinds - 1);
    ifg_put_u64(out + IFG_H_SECTION_TABLE, IFG_HEADER_SIZE);
    ifg_put_u64(out + IFG_H_DATA_OFFSET, data_offset);
    ifg_put_u64(out + IFG_H_DATA_SIZE, file_size - data_offset);
    for (int kind = 1; kind < kinds; kind++) {
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
        [IFG_SEC_DIMS] = { 0, 0, w->n_dims, IFG_DIM_ENTRY_SIZE },
        [IFG_SEC_EXPRS] = { 0, 0, w->n_dims ? w->n_exprs : 0, IFG_EXPR_ENTRY_SIZE },
    };
    int kinds = section_kinds(w);
    uint64_t pos = align_up(IFG_HEADER_SIZE + (uint64_t)IFG_SECTION_ENTRY_SIZE * (kinds - 1), 8);
    for (int kind = 1; kind < kinds; kind++) {
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
    put_header(out, sec, kinds, data_offset, file_size);
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
