/* ifg.h — the .ifg file format (docs/FORMAT.md): on-disk layout, the validating reader and the writer. */
#ifndef INFER_IFG_H
#define INFER_IFG_H

#include <stddef.h>
#include <stdint.h>
#include "infer.h"

#define IFG_MAGIC "IFGRAPH"      /* 8 bytes with the NUL */
#define IFG_VERSION_MAJOR 1
#define IFG_VERSION_MINOR 1       /* 1.1 adds named dynamic dims (DIMS, EXPRS); 1.0 files are still read */
#define IFG_HEADER_SIZE 128
#define IFG_SECTION_ENTRY_SIZE 32
#define IFG_MAX_SECTIONS 64
#define IFG_DATA_ALIGN 256
#define IFG_NONE 0xFFFFFFFFu

enum ifg_section_kind {
    IFG_SEC_STRINGS = 1,
    IFG_SEC_TENSORS = 2,
    IFG_SEC_NODES = 3,
    IFG_SEC_ATTRS = 4,
    IFG_SEC_IDS = 5,
    IFG_SEC_VALUES = 6,
    IFG_SEC_GRAPH = 7,
    IFG_SEC_META = 8,
    IFG_SEC_DIMS = 9,            /* 1.1, optional: the named dynamic dims */
    IFG_SEC_EXPRS = 10,          /* 1.1, optional (with DIMS): dim expressions over them */
    IFG_SEC_COUNT
};
#define IFG_SEC_COUNT_1_0 9      /* kinds 1..8 are required in every file */

/* Entry sizes of version 1.0; a file may use larger entries (newer minor versions). */
#define IFG_TENSOR_ENTRY_SIZE 128
#define IFG_NODE_ENTRY_SIZE 32
#define IFG_ATTR_ENTRY_SIZE 24
#define IFG_GRAPH_ENTRY_SIZE 16
#define IFG_META_ENTRY_SIZE 8
#define IFG_DIM_ENTRY_SIZE 32
#define IFG_EXPR_ENTRY_SIZE 64

/* Named dynamic dims (docs/FORMAT.md, "Dynamic dims"). A tensor dim or a reshape/expand shape entry
 * d <= -2 stands for expression IFG_EXPR_OF(d) of the EXPRS section; an expression is
 * coef * prod(dim[sym[k]] ^ power[k]) + offset, or, flagged IFG_EXPR_UNCHECKED, a size that depends on
 * the listed dims in a way only the ops' shape rules compute (declared shapes do not check it). */
#define IFG_MAX_DYN_DIMS 16
#define IFG_MAX_EXPR_FACTORS 4
#define IFG_MAX_EXPR_POWER 4
#define IFG_EXPR_UNCHECKED 1u
#define IFG_DIM_EXPR(e) (-2 - (int64_t)(e))
#define IFG_EXPR_OF(d) (-2 - (d))

enum ifg_encoding {
    IFG_ENC_DENSE = 0,
    IFG_ENC_INT8_TENSOR = 1,
    IFG_ENC_INT8_CHANNEL = 2,
    IFG_ENC_CSR = 3,
    IFG_ENC_BSR = 4,
    IFG_ENC_SPARSE_2_4 = 5,
    IFG_ENC_COUNT
};

enum ifg_attr_type { IFG_ATTR_INT = 1, IFG_ATTR_FLOAT = 2, IFG_ATTR_INTS = 3, IFG_ATTR_FLOATS = 4, IFG_ATTR_STRING = 5 };

enum ifg_tensor_kind { IFG_TENSOR_ACTIVATION = 0, IFG_TENSOR_CONSTANT = 1 };

/* ---- the validated, decoded view of a file ------------------------------ */

typedef struct {
    const char *name;
    infer_dtype dtype;
    int encoding;               /* enum ifg_encoding */
    int ndim;
    int64_t dims[INFER_MAX_DIMS]; /* >= 0, or IFG_DIM_EXPR(e); a 1.0 file's dims[0] == -1 is named dim 0 `batch` */
    int is_constant;
    const void *data;           /* constants: points into the mapped file; else NULL */
    uint64_t data_size;
    uint32_t aux[3];            /* encoding-specific tensor ids or IFG_NONE */
    int32_t quant_axis;
    float scale;
    int32_t zero_point;
    uint32_t block;             /* BSR block shape, rows << 16 | cols */
} ifg_tensor;

typedef struct {
    const char *key;
    int type;                   /* enum ifg_attr_type */
    uint32_t count;
    int64_t i;                  /* IFG_ATTR_INT */
    double f;                   /* IFG_ATTR_FLOAT */
    const char *s;              /* IFG_ATTR_STRING */
    const void *values;         /* INTS: count int64 LE; FLOATS: count f64 LE (8-byte aligned in the map) */
} ifg_attr;

typedef struct {
    int op;                     /* op code, docs/OPS.md */
    const char *name;
    uint32_t n_inputs, n_outputs, n_attrs;
    const uint32_t *inputs;     /* tensor ids, IFG_NONE for absent optional inputs */
    const uint32_t *outputs;
    const ifg_attr *attrs;
} ifg_node;

typedef struct {
    const char *key, *value;
} ifg_meta;

typedef struct {
    const char *name;           /* an identifier, unique */
    int64_t min, max, example;  /* 1 <= min <= example <= max: the range and the size converted at */
} ifg_dyn_dim;

typedef struct {
    int64_t coef, offset;
    uint32_t flags, n_factors;  /* IFG_EXPR_UNCHECKED; 0..IFG_MAX_EXPR_FACTORS */
    uint32_t sym[IFG_MAX_EXPR_FACTORS], power[IFG_MAX_EXPR_FACTORS];
} ifg_expr;

/* A loaded file: everything validated, strings and data point into the mapping. */
typedef struct {
    const uint8_t *map;         /* the whole file */
    uint64_t size;
    int version_major, version_minor;
    uint32_t n_tensors, n_nodes, n_inputs, n_outputs, n_meta;
    ifg_tensor *tensors;
    ifg_node *nodes;
    ifg_attr *attrs;            /* all attributes; nodes point into it */
    uint32_t *ids;              /* decoded IDS section; nodes point into it */
    const uint32_t *inputs;     /* graph input tensor ids */
    const uint32_t *outputs;    /* graph output tensor ids */
    ifg_meta *meta;
    int has_dims_section;       /* 1.1 named dims; else a 1.0 batch (-1 at dims[0]) is dyn_dims[0] */
    uint32_t n_dyn_dims, n_exprs;
    ifg_dyn_dim dyn_dims[IFG_MAX_DYN_DIMS];
    ifg_expr *exprs;            /* decoded (or, for a 1.0 file with a -1 batch, the one `batch` expression) */
    int mapped;                 /* 1: map came from mmap (munmap on close) */
} ifg_file;

/* Maps path and validates it (docs/FORMAT.md, "Validation done by the loader"). Messages name the
 * problem and its file offset. INFER_ERR_IO for a missing file, INFER_ERR_FORMAT for corruption,
 * INFER_ERR_VERSION for a newer major version. */
infer_status ifg_open(const char *path, ifg_file *file, infer_error *err);

/* Validates a file image already in memory (not copied; must outlive the ifg_file). */
infer_status ifg_open_memory(const void *bytes, uint64_t size, ifg_file *file, infer_error *err);

void ifg_close(ifg_file *file);

/* Lets the kernel drop the resident pages wholly inside [start, start + bytes) of a mapped file;
 * they are read from the file again when touched. No effect on files validated from memory. */
void ifg_release_range(const ifg_file *file, const void *start, uint64_t bytes);

/* Attribute lookup on a node; NULL when absent. */
const ifg_attr *ifg_node_attr(const ifg_node *node, const char *key);
int64_t ifg_attr_int_at(const ifg_attr *attr, uint32_t i);   /* INTS element */
double ifg_attr_float_at(const ifg_attr *attr, uint32_t i);  /* FLOATS element */

uint32_t ifg_crc32(uint32_t crc, const void *data, size_t n); /* zlib-compatible; start with 0 */

/* ---- writer ---------------------------------------------------------------- */

/* Builds a file in memory and writes it atomically (temporary file, then rename). Used by tests
 * and tools; scripts/ifg.py is the converter's twin. */
typedef struct ifg_writer ifg_writer;

infer_status ifg_writer_create(ifg_writer **writer, infer_error *err);
void ifg_writer_destroy(ifg_writer *writer);

/* Adds a tensor; data (constants) is copied. Returns its id, or IFG_NONE on failure. */
uint32_t ifg_writer_tensor(ifg_writer *w, const char *name, infer_dtype dtype, int ndim, const int64_t *dims,
                           const void *data, uint64_t data_size);
/* Adds a node; attributes follow with ifg_writer_attr_* until the next node. Returns its index. */
uint32_t ifg_writer_node(ifg_writer *w, int op, const char *name, const uint32_t *inputs, uint32_t n_inputs,
                         const uint32_t *outputs, uint32_t n_outputs);
void ifg_writer_attr_int(ifg_writer *w, const char *key, int64_t v);
void ifg_writer_attr_float(ifg_writer *w, const char *key, double v);
void ifg_writer_attr_ints(ifg_writer *w, const char *key, const int64_t *v, uint32_t n);
void ifg_writer_attr_floats(ifg_writer *w, const char *key, const double *v, uint32_t n);
void ifg_writer_attr_string(ifg_writer *w, const char *key, const char *s);
void ifg_writer_graph(ifg_writer *w, const uint32_t *inputs, uint32_t n_inputs, const uint32_t *outputs,
                      uint32_t n_outputs);
void ifg_writer_meta(ifg_writer *w, const char *key, const char *value);
/* Sets the storage encoding of constant `tensor` (IFG_ENC_*; its data as that encoding stores it): aux tensor
 * ids (IFG_NONE where unused), quant_axis, per-tensor scale and zero point, BSR block (rows << 16 | cols).
 * The reader validates the result when the file is opened (ifg_writer_encoding.c). */
void ifg_writer_encoding(ifg_writer *w, uint32_t tensor, int encoding, const uint32_t aux[3], int32_t quant_axis,
                         float scale, int32_t zero_point, uint32_t block);
/* Named dynamic dims (the file becomes version 1.1): a dim's index, then expressions over them; tensor
 * dims and reshape/expand shapes refer to expression e as IFG_DIM_EXPR(e). Returns the index or IFG_NONE. */
uint32_t ifg_writer_dyn_dim(ifg_writer *w, const char *name, int64_t min, int64_t max, int64_t example);
uint32_t ifg_writer_expr(ifg_writer *w, const ifg_expr *expr);

/* Serializes to a malloc'ed buffer (caller frees) or to a file (atomically). */
infer_status ifg_writer_to_memory(ifg_writer *w, uint8_t **bytes, uint64_t *size, infer_error *err);
infer_status ifg_writer_save(ifg_writer *w, const char *path, infer_error *err);

#endif
