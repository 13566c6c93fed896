/* ifg_internal.h — shared by the .ifg reader's files and the writer: little-endian access, the section layout. */
#ifndef INFER_IFG_INTERNAL_H
#define INFER_IFG_INTERNAL_H

#include <stdint.h>
#include <string.h>
#include "ifg.h"
#include "../base/error.h"

/* ---- little-endian fields (memcpy, never an unaligned pointer cast) ---------------- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define IFG_LE16(v) __builtin_bswap16(v)
#define IFG_LE32(v) __builtin_bswap32(v)
#define IFG_LE64(v) __builtin_bswap64(v)
#else
#define IFG_LE16(v) (v)
#define IFG_LE32(v) (v)
#define IFG_LE64(v) (v)
#endif

static inline uint16_t ifg_get_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return IFG_LE16(v); }
static inline uint32_t ifg_get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return IFG_LE32(v); }
static inline uint64_t ifg_get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return IFG_LE64(v); }
static inline int32_t ifg_get_i32(const uint8_t *p) { return (int32_t)ifg_get_u32(p); }
static inline int64_t ifg_get_i64(const uint8_t *p) { return (int64_t)ifg_get_u64(p); }
static inline float ifg_get_f32(const uint8_t *p) { uint32_t u = ifg_get_u32(p); float f; memcpy(&f, &u, 4); return f; }
static inline double ifg_get_f64(const uint8_t *p) { uint64_t u = ifg_get_u64(p); double d; memcpy(&d, &u, 8); return d; }

static inline void ifg_put_u16(uint8_t *p, uint16_t v) { v = IFG_LE16(v); memcpy(p, &v, 2); }
static inline void ifg_put_u32(uint8_t *p, uint32_t v) { v = IFG_LE32(v); memcpy(p, &v, 4); }
static inline void ifg_put_u64(uint8_t *p, uint64_t v) { v = IFG_LE64(v); memcpy(p, &v, 8); }

/* ---- field offsets (docs/FORMAT.md) ------------------------------------------------ */

enum {
    IFG_H_MAGIC = 0, IFG_H_VERSION_MAJOR = 8, IFG_H_VERSION_MINOR = 10, IFG_H_HEADER_SIZE = 12,
    IFG_H_FILE_SIZE = 16, IFG_H_SECTION_COUNT = 24, IFG_H_FLAGS = 28, IFG_H_SECTION_TABLE = 32,
    IFG_H_DATA_OFFSET = 40, IFG_H_DATA_SIZE = 48, IFG_H_META_CRC = 56, IFG_H_DATA_CRC = 60, IFG_H_RESERVED = 64,
};
enum { IFG_S_KIND = 0, IFG_S_ENTRY_SIZE = 4, IFG_S_OFFSET = 8, IFG_S_SIZE = 16, IFG_S_COUNT = 24 };
enum {
    IFG_T_NAME = 0, IFG_T_DTYPE = 4, IFG_T_ENCODING = 5, IFG_T_NDIM = 6, IFG_T_KIND = 7, IFG_T_DIMS = 8,
    IFG_T_DATA_OFFSET = 72, IFG_T_DATA_SIZE = 80, IFG_T_AUX = 88, IFG_T_QUANT_AXIS = 100, IFG_T_SCALE = 104,
    IFG_T_ZERO_POINT = 108, IFG_T_BLOCK = 112, IFG_T_RESERVED = 116,
};
enum {
    IFG_N_OP = 0, IFG_N_RESERVED = 2, IFG_N_NAME = 4, IFG_N_INPUTS = 8, IFG_N_INPUT_COUNT = 12,
    IFG_N_OUTPUTS = 16, IFG_N_OUTPUT_COUNT = 20, IFG_N_ATTRS = 24, IFG_N_ATTR_COUNT = 28,
};
enum { IFG_A_KEY = 0, IFG_A_TYPE = 4, IFG_A_COUNT = 8, IFG_A_RESERVED = 12, IFG_A_VALUE = 16 };

/* ---- the reader's view of a file while it is validated ---------------------------- */

typedef struct {
    int present;
    uint32_t table_index;       /* entry in the section table */
    uint32_t entry_size;
    uint64_t offset, size, count;
} ifg_section_info;

typedef struct {
    const uint8_t *map;
    uint64_t size;
    uint64_t header_size, table_end, data_offset, data_size;
    uint32_t section_count;
    int strict;                 /* version 1.0 or 1.1: reserved bytes and unused fields must be zero */
    unsigned version_minor;
    ifg_section_info sec[IFG_SEC_COUNT]; /* indexed by enum ifg_section_kind */
    const char *strings;        /* the STRINGS section */
    uint64_t strings_size;
    int strings_end_nul;        /* its last byte is NUL: every offset inside is terminated */
    const uint8_t *values;      /* VALUES as packed 8-byte entries: in the map, or a packed copy of wider entries */
} ifg_reader;

const char *ifg_section_name(int kind); /* "TENSORS", ...; "unknown" */

/* The file offset and bytes of entry index of a known section (index < count). */
static inline uint64_t ifg_entry_offset(const ifg_reader *r, int kind, uint64_t index) {
    return r->sec[kind].offset + index * r->sec[kind].entry_size;
}
static inline const uint8_t *ifg_entry(const ifg_reader *r, int kind, uint64_t index) {
    return r->map + ifg_entry_offset(r, kind, index);
}

/* The string at offset off of STRINGS, or NULL with *problem saying why. */
const char *ifg_string_at(const ifg_reader *r, uint32_t off, const char **problem);

/* Index of the first byte of s[0, n) that is not valid UTF-8, or n. */
uint64_t ifg_utf8_check(const uint8_t *s, uint64_t n);

/* FNV-1a hash of the NUL-terminated string s: the reader's duplicate-name check and the writer's string table. */
static inline uint32_t ifg_string_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* Finds two equal strings among name_of(items, 0..n-1) by hashing into table (cap slots, a power of
 * two >= 2n); returns 1 and their indices (*first < *second) when there are. */
int ifg_find_duplicate(const char *(*name_of)(const void *items, uint32_t i), const void *items, uint32_t n,
                       uint32_t *table, uint32_t cap, uint32_t *first, uint32_t *second);

/* The validation steps of docs/FORMAT.md, in order. */
infer_status ifg_check_header(ifg_reader *r, const uint8_t *map, uint64_t size, infer_error *err);  /* 1-3 */
infer_status ifg_check_sections(ifg_reader *r, infer_error *err);                                    /* 4 */
infer_status ifg_decode_strings(const ifg_reader *r, ifg_file *f, infer_error *err);                 /* 5 */
infer_status ifg_decode_tensors(const ifg_reader *r, ifg_file *f, infer_error *err);                 /* 6 */
infer_status ifg_decode_graph(const ifg_reader *r, ifg_file *f, infer_error *err);                   /* 7-8 */
infer_status ifg_decode_dyn_dims(const ifg_reader *r, ifg_file *f, infer_error *err);                /* 5b */
/* Whether v is a valid dim d of a tensor (counts a 1.0 file's batch in on its first use). */
int ifg_dim_ref_ok(const ifg_reader *r, ifg_file *f, int64_t v, int d, int is_constant);
infer_status ifg_check_dyn_inputs(const ifg_reader *r, const ifg_file *f, infer_error *err);         /* 9 */

#endif
