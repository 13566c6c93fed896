/* ifg_writer_internal.h — the ifg_writer's tables, shared by its building calls and its serializer. */
#ifndef INFER_IFG_WRITER_INTERNAL_H
#define INFER_IFG_WRITER_INTERNAL_H

#include "ifg_internal.h"

/* A tensor's storage encoding (docs/FORMAT.md); encoding 0 (dense) writes no aux tensors. */
typedef struct {
    int encoding;
    uint32_t aux[3];
    int32_t quant_axis, zero_point;
    float scale;
    uint32_t block;
} wencoding;

typedef struct {
    char *name;
    int dtype, ndim, is_constant;
    wencoding enc;
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

typedef struct {
    char *name;
    int64_t min, max, example;
    uint32_t name_off;
} wdim;

struct ifg_writer {
    wtensor *tensors;
    wnode *nodes;
    wattr *attrs;
    wmeta *meta;
    uint32_t *ids;      /* node inputs and outputs; the graph's ranges follow them in the file */
    uint64_t *values;   /* f64 / i64 bits */
    uint32_t *graph_ids, n_graph_inputs, n_graph_outputs;
    wdim dims[IFG_MAX_DYN_DIMS]; /* named dynamic dims: any makes the file version 1.1 */
    ifg_expr *exprs;
    uint32_t n_tensors, n_nodes, n_attrs, n_meta, n_ids, n_values, n_dims, n_exprs;
    uint32_t cap_tensors, cap_nodes, cap_attrs, cap_meta, cap_ids, cap_values, cap_exprs;
    infer_error failure; /* the first failure; later calls do nothing */
};

#endif
