/* ifg_sections.c — .ifg validation steps 1-4: size, magic, version, header fields, checksums, section table. */
#include <inttypes.h>
#include "ifg_internal.h"

static const uint32_t known_entry_size[IFG_SEC_COUNT] = {
    [IFG_SEC_STRINGS] = 1, [IFG_SEC_TENSORS] = IFG_TENSOR_ENTRY_SIZE, [IFG_SEC_NODES] = IFG_NODE_ENTRY_SIZE,
    [IFG_SEC_ATTRS] = IFG_ATTR_ENTRY_SIZE, [IFG_SEC_IDS] = 4, [IFG_SEC_VALUES] = 8,
    [IFG_SEC_GRAPH] = IFG_GRAPH_ENTRY_SIZE, [IFG_SEC_META] = IFG_META_ENTRY_SIZE,
    [IFG_SEC_DIMS] = IFG_DIM_ENTRY_SIZE, [IFG_SEC_EXPRS] = IFG_EXPR_ENTRY_SIZE,
};

#define FAIL(...) infer_fail(err, INFER_ERR_FORMAT, __VA_ARGS__)

static infer_status check_magic_version(ifg_reader *r, infer_error *err) {
    const uint8_t *m = r->map;
    if (r->size < IFG_HEADER_SIZE)
        return FAIL("the file is %" PRIu64 " bytes, smaller than the %d-byte .ifg header (truncated, or not an "
                    ".ifg file)", r->size, IFG_HEADER_SIZE);
    if (memcmp(m, IFG_MAGIC, 8) != 0)
        return FAIL("bad magic at file offset 0: bytes %02x %02x %02x %02x %02x %02x %02x %02x are not "
                    "\"IFGRAPH\\0\" (not an .ifg file)", m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]);
    unsigned major = ifg_get_u16(m + IFG_H_VERSION_MAJOR), minor = ifg_get_u16(m + IFG_H_VERSION_MINOR);
    if (major > IFG_VERSION_MAJOR)
        return infer_fail(err, INFER_ERR_VERSION,
                          "file version %u.%u (file offset 8) is newer than this reader's %d.%d; "
                          "a newer infer is needed to read it", major, minor, IFG_VERSION_MAJOR, IFG_VERSION_MINOR);
    if (major < IFG_VERSION_MAJOR)
        return FAIL("file version %u.%u (file offset 8) is not supported; this reader reads version %d.x",
                    major, minor, IFG_VERSION_MAJOR);
    r->version_minor = minor;
    r->strict = minor <= IFG_VERSION_MINOR; /* reserved bytes zero up to the version this reader knows */
    return INFER_OK;
}

static int all_zero(const uint8_t *p, uint64_t n) {
    for (uint64_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

static infer_status check_fields(ifg_reader *r, infer_error *err) {
    const uint8_t *m = r->map;
    uint64_t file_size = ifg_get_u64(m + IFG_H_FILE_SIZE);
    if (file_size != r->size)
        return FAIL("header field file_size (file offset 16) is %" PRIu64 " but the file is %" PRIu64
                    " bytes (truncated or extended)", file_size, r->size);
    r->header_size = ifg_get_u32(m + IFG_H_HEADER_SIZE);
    if (r->header_size < IFG_HEADER_SIZE || (r->strict && r->header_size != IFG_HEADER_SIZE) ||
        r->header_size > r->size)
        return FAIL("header field header_size (file offset 12) is %" PRIu64 "; version 1.0 has %d and larger "
                    "values must lie inside the file", r->header_size, IFG_HEADER_SIZE);
    r->section_count = ifg_get_u32(m + IFG_H_SECTION_COUNT);
    if (r->section_count > IFG_MAX_SECTIONS)
        return FAIL("header field section_count (file offset 24) is %u, more than the %d allowed",
                    r->section_count, IFG_MAX_SECTIONS);
    if (r->strict && ifg_get_u32(m + IFG_H_FLAGS) != 0)
        return FAIL("header field flags (file offset 28) is 0x%x; it is reserved and must be 0",
                    ifg_get_u32(m + IFG_H_FLAGS));
    uint64_t table_offset = ifg_get_u64(m + IFG_H_SECTION_TABLE);
    if (table_offset != r->header_size)
        return FAIL("header field section_table_offset (file offset 32) is %" PRIu64 " but must equal "
                    "header_size %" PRIu64, table_offset, r->header_size);
    r->table_end = r->header_size + (uint64_t)r->section_count * IFG_SECTION_ENTRY_SIZE;
    r->data_offset = ifg_get_u64(m + IFG_H_DATA_OFFSET);
    if (r->data_offset % IFG_DATA_ALIGN || r->data_offset < r->table_end || r->data_offset > r->size)
        return FAIL("header field data_offset (file offset 40) is %" PRIu64 "; it must be a multiple of %d "
                    "in [end of the section table %" PRIu64 ", file size %" PRIu64 "]",
                    r->data_offset, IFG_DATA_ALIGN, r->table_end, r->size);
    r->data_size = ifg_get_u64(m + IFG_H_DATA_SIZE);
    if (r->data_size != r->size - r->data_offset)
        return FAIL("header field data_size (file offset 48) is %" PRIu64 " but file_size - data_offset is %" PRIu64,
                    r->data_size, r->size - r->data_offset);
    if (r->strict && !all_zero(m + IFG_H_RESERVED, IFG_HEADER_SIZE - IFG_H_RESERVED))
        return FAIL("header bytes [64, 128) are reserved and must be zero");
    return INFER_OK;
}

static infer_status check_checksums(const ifg_reader *r, infer_error *err) {
    const uint8_t *m = r->map;
    static const uint8_t zeros[8] = { 0 };
    uint32_t crc = ifg_crc32(0, m, IFG_H_META_CRC);
    crc = ifg_crc32(crc, zeros, sizeof zeros);
    crc = ifg_crc32(crc, m + IFG_H_META_CRC + 8, r->data_offset - (IFG_H_META_CRC + 8));
    uint32_t stored = ifg_get_u32(m + IFG_H_META_CRC);
    if (crc != stored)
        return FAIL("header field meta_crc32 (file offset 56) is 0x%08x but bytes [0, 0x%" PRIx64
                    ") have CRC-32 0x%08x (header, tables or strings corrupted)", stored, r->data_offset, crc);
    crc = ifg_crc32(0, m + r->data_offset, r->data_size);
    stored = ifg_get_u32(m + IFG_H_DATA_CRC);
    if (crc != stored)
        return FAIL("header field data_crc32 (file offset 60) is 0x%08x but the data region [0x%" PRIx64
                    ", 0x%" PRIx64 ") has CRC-32 0x%08x (tensor data corrupted)", stored, r->data_offset, r->size, crc);
    return INFER_OK;
}

infer_status ifg_check_header(ifg_reader *r, const uint8_t *map, uint64_t size, infer_error *err) {
    memset(r, 0, sizeof *r);
    r->map = map;
    r->size = size;
    infer_status st = check_magic_version(r, err);
    if (st == INFER_OK) st = check_fields(r, err);
    if (st == INFER_OK) st = check_checksums(r, err);
    return st;
}

/* ---- step 4: the section table ------------------------------------------------------ */

typedef struct {
    uint32_t kind;
    uint64_t offset, size;
} section_extent;

#define ENTRY_FAIL(i, kind, fmt, ...)                                                                           \
    FAIL("section table entry %u (kind %u %s) at file offset 0x%" PRIx64 ": " fmt, i, kind,                     \
         ifg_section_name((int)(kind)), r->header_size + (uint64_t)(i) * IFG_SECTION_ENTRY_SIZE, __VA_ARGS__)

static infer_status check_entry(ifg_reader *r, uint32_t i, section_extent *ext, infer_error *err) {
    const uint8_t *e = r->map + r->header_size + (uint64_t)i * IFG_SECTION_ENTRY_SIZE;
    uint32_t kind = ifg_get_u32(e + IFG_S_KIND), entry_size = ifg_get_u32(e + IFG_S_ENTRY_SIZE);
    uint64_t offset = ifg_get_u64(e + IFG_S_OFFSET), size = ifg_get_u64(e + IFG_S_SIZE);
    uint64_t count = ifg_get_u64(e + IFG_S_COUNT), product;
    int known = kind > 0 && kind < IFG_SEC_COUNT;
    if (known && r->sec[kind].present)
        return ENTRY_FAIL(i, kind, "the kind appears twice (first in entry %u)", r->sec[kind].table_index);
    if (known && entry_size < known_entry_size[kind])
        return ENTRY_FAIL(i, kind, "entry_size %u is smaller than this kind's %u bytes", entry_size,
                          known_entry_size[kind]);
    if (__builtin_mul_overflow(count, (uint64_t)entry_size, &product) || product != size)
        return ENTRY_FAIL(i, kind, "size %" PRIu64 " is not count %" PRIu64 " x entry_size %u", size, count,
                          entry_size);
    if (offset % 8 || offset < r->table_end || offset >= r->data_offset || size > r->data_offset - offset)
        return ENTRY_FAIL(i, kind, "[offset 0x%" PRIx64 ", size %" PRIu64 "] is not 8-aligned inside the "
                          "sections region [0x%" PRIx64 ", 0x%" PRIx64 ")", offset, size, r->table_end, r->data_offset);
    if (known && kind != IFG_SEC_STRINGS && kind != IFG_SEC_VALUES && count > UINT32_MAX)
        return ENTRY_FAIL(i, kind, "count %" PRIu64 " is more than 32-bit ids can address", count);
    ext->kind = kind;
    ext->offset = offset;
    ext->size = size;
    if (known) {
        ifg_section_info *s = &r->sec[kind];
        s->present = 1;
        s->table_index = i;
        s->entry_size = entry_size;
        s->offset = offset;
        s->size = size;
        s->count = count;
    }
    return INFER_OK;
}

infer_status ifg_check_sections(ifg_reader *r, infer_error *err) {
    section_extent ext[IFG_MAX_SECTIONS];
    for (uint32_t i = 0; i < r->section_count; i++) {
        infer_status st = check_entry(r, i, &ext[i], err);
        if (st != INFER_OK) return st;
    }
    for (int kind = 1; kind < IFG_SEC_COUNT_1_0; kind++)
        if (!r->sec[kind].present)
            return FAIL("section kind %d %s is missing from the section table (file offset 0x%" PRIx64
                        ", %u entries)", kind, ifg_section_name(kind), r->header_size, r->section_count);
    for (uint32_t i = 0; i < r->section_count; i++)
        for (uint32_t j = i + 1; j < r->section_count; j++) {
            const section_extent *a = &ext[i], *b = &ext[j];
            if (a->size && b->size && a->offset < b->offset + b->size && b->offset < a->offset + a->size)
                return FAIL("section table entries %u (kind %u %s, [0x%" PRIx64 ", 0x%" PRIx64 ")) and %u (kind %u "
                            "%s, [0x%" PRIx64 ", 0x%" PRIx64 ")) overlap", i, a->kind, ifg_section_name((int)a->kind),
                            a->offset, a->offset + a->size, j, b->kind, ifg_section_name((int)b->kind), b->offset,
                            b->offset + b->size);
        }
    if (r->sec[IFG_SEC_DIMS].present != r->sec[IFG_SEC_EXPRS].present)
        return FAIL("section %s is present without section %s; named dynamic dims need both",
                    ifg_section_name(r->sec[IFG_SEC_DIMS].present ? IFG_SEC_DIMS : IFG_SEC_EXPRS),
                    ifg_section_name(r->sec[IFG_SEC_DIMS].present ? IFG_SEC_EXPRS : IFG_SEC_DIMS));
    if (r->sec[IFG_SEC_DIMS].present && r->version_minor < 1)
        return FAIL("a version 1.0 file has a DIMS section (named dynamic dims are version 1.1)");
    const ifg_section_info *g = &r->sec[IFG_SEC_GRAPH];
    if (g->count != 1)
        return ENTRY_FAIL(g->table_index, IFG_SEC_GRAPH, "count is %" PRIu64 "; the GRAPH section holds exactly one "
                          "entry", g->count);
    r->strings = (const char *)r->map + r->sec[IFG_SEC_STRINGS].offset;
    r->strings_size = r->sec[IFG_SEC_STRINGS].size;
    r->strings_end_nul = r->strings_size > 0 && r->strings[r->strings_size - 1] == 0;
    return INFER_OK;
}
