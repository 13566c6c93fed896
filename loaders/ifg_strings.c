/* ifg_strings.c — .ifg validation step 5: the STRINGS section and every string reference into it. */
#include <inttypes.h>
#include "ifg_internal.h"

const char *ifg_section_name(int kind) {
    static const char *names[IFG_SEC_COUNT] = { "unknown", "STRINGS", "TENSORS", "NODES", "ATTRS",
                                                "IDS", "VALUES", "GRAPH", "META", "DIMS", "EXPRS" };
    return (kind > 0 && kind < IFG_SEC_COUNT) ? names[kind] : "unknown";
}

uint64_t ifg_utf8_check(const uint8_t *s, uint64_t n) {
    uint64_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        uint64_t len = (c >= 0xC2 && c <= 0xDF) ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        if (len == 0 || n - i < len) return i;
        uint32_t cp = c & (0x7Fu >> len);
        for (uint64_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return i; /* overlong, surrogate */
        if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return i;
        i += len;
    }
    return n;
}

static const char *string_at64(const ifg_reader *r, uint64_t off, const char **problem) {
    if (off >= r->strings_size) {
        *problem = "is outside the STRINGS section";
        return NULL;
    }
    const char *s = r->strings + off;
    if (!r->strings_end_nul && !memchr(s, 0, r->strings_size - off)) {
        *problem = "has no terminating NUL inside the STRINGS section";
        return NULL;
    }
    if (((uint8_t)*s & 0xC0) == 0x80) {
        *problem = "points into the middle of a UTF-8 character";
        return NULL;
    }
    return s;
}

const char *ifg_string_at(const ifg_reader *r, uint32_t off, const char **problem) {
    return string_at64(r, off, problem);
}

int ifg_find_duplicate(const char *(*name_of)(const void *items, uint32_t i), const void *items, uint32_t n,
                       uint32_t *table, uint32_t cap, uint32_t *first, uint32_t *second) {
    memset(table, 0xFF, (size_t)cap * sizeof *table);
    for (uint32_t i = 0; i < n; i++) {
        const char *name = name_of(items, i);
        uint32_t h = ifg_string_hash(name) & (cap - 1);
        for (; table[h] != IFG_NONE; h = (h + 1) & (cap - 1)) {
            if (strcmp(name_of(items, table[h]), name) == 0) {
                *first = table[h];
                *second = i;
                return 1;
            }
        }
        table[h] = i;
    }
    return 0;
}

/* Resolves the string reference at byte field of entry index of section kind. */
static infer_status resolve(const ifg_reader *r, int kind, uint64_t index, int field, uint64_t off,
                            const char *what, const char **out, infer_error *err) {
    const char *problem = NULL;
    *out = string_at64(r, off, &problem);
    if (*out) return INFER_OK;
    return infer_fail(err, INFER_ERR_FORMAT,
                      "%s entry %" PRIu64 " at file offset 0x%" PRIx64 ": %s string offset %" PRIu64
                      " (field at file offset 0x%" PRIx64 ") %s, which holds %" PRIu64 " bytes",
                      ifg_section_name(kind), index, ifg_entry_offset(r, kind, index), what, off,
                      ifg_entry_offset(r, kind, index) + (uint64_t)field, problem, r->strings_size);
}

#define RESOLVE(kind, i, field, off, what, out)                                       \
    do {                                                                              \
        infer_status st_ = resolve(r, kind, i, field, off, what, out, err);           \
        if (st_ != INFER_OK) return st_;                                              \
    } while (0)

infer_status ifg_decode_strings(const ifg_reader *r, ifg_file *f, infer_error *err) {
    const ifg_section_info *s = &r->sec[IFG_SEC_STRINGS];
    if (r->strings_size == 0 || r->strings[0] != 0)
        return infer_fail(err, INFER_ERR_FORMAT,
                          "section table entry %u (kind 1 STRINGS) at file offset 0x%" PRIx64
                          ": the section must start with a NUL byte (string 0 is \"\")",
                          s->table_index, r->header_size + (uint64_t)s->table_index * IFG_SECTION_ENTRY_SIZE);
    uint64_t bad = ifg_utf8_check((const uint8_t *)r->strings, r->strings_size);
    if (bad != r->strings_size)
        return infer_fail(err, INFER_ERR_FORMAT, "STRINGS section: invalid UTF-8 at file offset 0x%" PRIx64,
                          s->offset + bad);

    for (uint32_t i = 0; i < f->n_tensors; i++)
        RESOLVE(IFG_SEC_TENSORS, i, IFG_T_NAME, ifg_get_u32(ifg_entry(r, IFG_SEC_TENSORS, i) + IFG_T_NAME),
                "name", &f->tensors[i].name);
    for (uint32_t i = 0; i < f->n_nodes; i++)
        RESOLVE(IFG_SEC_NODES, i, IFG_N_NAME, ifg_get_u32(ifg_entry(r, IFG_SEC_NODES, i) + IFG_N_NAME), "name",
                &f->nodes[i].name);
    for (uint64_t i = 0; i < r->sec[IFG_SEC_ATTRS].count; i++) {
        const uint8_t *e = ifg_entry(r, IFG_SEC_ATTRS, i);
        RESOLVE(IFG_SEC_ATTRS, i, IFG_A_KEY, ifg_get_u32(e + IFG_A_KEY), "key", &f->attrs[i].key);
        if (ifg_get_u32(e + IFG_A_TYPE) == IFG_ATTR_STRING)
            RESOLVE(IFG_SEC_ATTRS, i, IFG_A_VALUE, ifg_get_u64(e + IFG_A_VALUE), "value", &f->attrs[i].s);
    }
    for (uint32_t i = 0; i < f->n_meta; i++) {
        const uint8_t *e = ifg_entry(r, IFG_SEC_META, i);
        RESOLVE(IFG_SEC_META, i, 0, ifg_get_u32(e), "key", &f->meta[i].key);
        RESOLVE(IFG_SEC_META, i, 4, ifg_get_u32(e + 4), "value", &f->meta[i].value);
    }
    return INFER_OK;
}
