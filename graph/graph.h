/* graph.h — the in-memory graph IR: tensors and nodes built from an .ifg file, passes and shapes. */
#ifndef INFER_GRAPH_H
#define INFER_GRAPH_H

#include <stdint.h>
#include "infer.h"
#include "../base/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IR_MAX_INPUTS 64
#define IR_MAX_OUTPUTS 4
#define IR_NONE (-1)

/* How a tensor's bytes are stored; its dtype and dims are always the logical tensor's (docs/FORMAT.md,
 * "Storage encodings": the codes are the file's). Only constants are stored other than dense. */
typedef enum {
    IR_STORAGE_DENSE = 0,
    IR_STORAGE_INT8_TENSOR = 1,  /* i8 q; value = scale * (q - zero_point) */
    IR_STORAGE_INT8_CHANNEL = 2, /* i8 q; value = s[c] * (q - z[c]), c the index along axis */
    IR_STORAGE_CSR = 3,          /* non-zeros row by row of the 2-D view [dims[0], rest] */
    IR_STORAGE_BSR = 4,          /* non-zero blocks of block_rows x block_cols */
    IR_STORAGE_SPARSE_2_4 = 5,   /* 2 of every 4 along the last axis, with index metadata */
    IR_STORAGE_COUNT
} ir_storage_kind;

#define IR_STORAGE_BIT(kind) (1u << (kind))

typedef struct {
    ir_storage_kind kind;
    float scale;        /* int8 per tensor */
    int32_t zero_point; /* int8 per tensor */
    int axis;           /* int8 per channel: the axis the scales run along */
    /* Side tensors (graph tensor indices, IR_NONE when unused): per channel: aux[0] f32 scales, aux[1] i32
     * zero points (IR_NONE: all zero); CSR and BSR: aux[0] i32 column indices, aux[1] i32 row pointers;
     * 2:4: aux[0] u8 metadata. */
    int aux[3];
    int block_rows, block_cols; /* BSR */
} ir_storage;

typedef struct {
    const char *name;
    infer_dtype dtype;            /* logical */
    int ndim;
    int64_t dims[INFER_MAX_DIMS]; /* as declared: >= 0, IR_DIM_EXPR(e), or (graphs without syms) -1 batch */
    int is_constant;
    ir_storage storage;
    ir_storage_kind densified_from; /* a sparse constant densified at engine build: its encoding in the file */
    const void *data;             /* constants: into the file, or into a buffer the graph owns */
    uint64_t nbytes;              /* constants: bytes of data as stored (see ir_logical_bytes) */
    int producer;                 /* node index, or IR_NONE (constants, graph inputs) */
    int is_input, is_output;
} ir_tensor;

typedef struct {
    op_code op;
    const char *name;
    int n_in, n_out;
    int in[IR_MAX_INPUTS];   /* tensor indices; IR_NONE for an absent optional input */
    int out[IR_MAX_OUTPUTS];
    op_params p;
} ir_node;

/* ---- named dynamic dims ------------------------------------------------- */

/* A declared tensor dim (or reshape/expand shape entry) d <= -2 is expression IR_EXPR_OF(d): coef *
 * prod(value[sym[k]] ^ power[k]) + offset over the named dims' current values; an unchecked one is only
 * computed by the ops' shape rules (its declared value is not compared). dims[0] == -1 of an activation
 * (a 1.0 file, or a graph built without named dims) is the batch, values[0]. */
#define IR_MAX_SYMS 16
#define IR_MAX_FACTORS 4
#define IR_DIM_EXPR(e) (-2 - (int64_t)(e))
#define IR_EXPR_OF(d) ((int)(-2 - (d)))

typedef struct {
    const char *name;
    int64_t min, max, example; /* the file's range and the size it was converted at */
} ir_sym;

typedef struct {
    int64_t coef, offset;
    int unchecked, n_factors;
    int sym[IR_MAX_FACTORS], power[IR_MAX_FACTORS];
} ir_expr;

typedef struct {
    ir_tensor *tensors;
    int n_tensors, cap_tensors;
    ir_node *nodes;          /* topological order */
    int n_nodes, cap_nodes;
    int *inputs, n_inputs;   /* graph input tensor indices */
    int *outputs, n_outputs;
    ir_sym syms[IR_MAX_SYMS];
    int n_syms, n_exprs;
    ir_expr *exprs;          /* n_exprs, owned */
    void **owned;            /* buffers (data, names) the graph frees */
    int n_owned, cap_owned;
    /* Optional: told when a pass stops reading a constant's data (e.g. weights replaced by folded
     * copies), so that a mapped file's pages can be dropped. The data stays valid. */
    void (*release_hint)(void *ctx, const void *data, uint64_t bytes);
    void *release_ctx;
} ir_graph;

void ir_free(ir_graph *g);

/* Helpers for passes. */
int ir_add_tensor(ir_graph *g, const ir_tensor *t);        /* returns index, or IR_NONE when out of memory */
void *ir_alloc(ir_graph *g, uint64_t bytes);               /* owned by g; NULL when out of memory */
int ir_free_owned(ir_graph *g, const void *p);              /* frees p when g owns it (1), else 0 */
int ir_consumer_count(const ir_graph *g, int tensor);      /* nodes reading tensor, plus 1 if it is a graph output */
/* Bytes of the logical tensor stored dense (elements x dtype size; constants have static dims); what a
 * dequantized or densified copy takes. For a dense constant it equals nbytes. */
uint64_t ir_logical_bytes(const ir_tensor *t);
const char *ir_storage_name(ir_storage_kind kind);
/* 1 when every present input of n is stored in one of the storages of mask (IR_STORAGE_BIT); else 0 with
 * *bad the first input that is not. */
int ir_inputs_stored_as(const ir_graph *g, const ir_node *n, unsigned mask, int *bad);

/* Same declared shape (a -1 batch only matches a -1 batch), so equal at every batch. */
int ir_same_declared_shape(const ir_tensor *a, const ir_tensor *b);

/* ---- shapes ------------------------------------------------------------ */

/* Computes every activation's shape for a given batch into dims (n_tensors x INFER_MAX_DIMS) and
 * ndims (n_tensors); constants keep their shape. Checks op constraints (matching channels, etc.),
 * naming the node on failure (INFER_ERR_SHAPE). Checks the file's declarations against what it
 * computes (INFER_ERR_FORMAT, naming the node or tensor, declared and expected): input dtypes the op
 * takes, every output's declared dtype, and every output's declared shape (same rank, static dims
 * equal, a -1 at dim 0 equal to batch). Allocates nothing. On failure dims and ndims are partly
 * overwritten: infer again before using them. */
infer_status ir_infer_shapes(const ir_graph *g, int64_t batch, int64_t *dims, int *ndims, infer_error *err);

/* The same for given values of the named dims (values[s] for syms[s]; a graph without syms: values[0] is
 * the batch). ir_infer_shapes(g, batch) gives `batch` (if any) batch and every other dim its example. */
infer_status ir_infer_shapes_at(const ir_graph *g, const int64_t *values, int64_t *dims, int *ndims,
                                infer_error *err);

/* Value of expression e at values; -1 when it overflows or is negative. */
int64_t ir_expr_value(const ir_graph *g, int e, const int64_t *values);
/* A declared dim at values (static dims as they are); -1 for an unchecked expression or a bad value. */
int64_t ir_dim_value(const ir_graph *g, int64_t declared, const int64_t *values);
/* Index of the named dim an expression is exactly (coef 1, offset 0, power 1), else -1. */
int ir_expr_plain_sym(const ir_graph *g, int e);
/* Writes a declared dim as text: "5", "seq", "2*batch*seq+1", "~seq" (unchecked), "-1" (legacy batch). */
void ir_dim_text(const ir_graph *g, int64_t declared, char *buf, size_t n);

/* Shape and dtype inference of one node, given its input shapes and dtypes; fills its outputs' shapes
 * and dtypes. out[k].dtype on entry is output k's declared dtype, or 0 when there is none: a declared
 * dtype other than the computed one is refused (INFER_ERR_FORMAT); where the kernels accept either of
 * two output dtypes for the same inputs (binary with a scalar, sum of integers), it picks between them. */
infer_status ir_node_shape(const ir_graph *g, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                           infer_error *err);

/* ---- passes ------------------------------------------------------------ */

typedef struct {
    int fuse_conv_act;       /* backend supports activations in conv2d epilogues */
    int fuse_linear_act;     /* ... in linear epilogues */
    int fuse_residual;       /* ... a residual add in conv2d / linear epilogues */
    int allowed_acts;        /* bit mask of act_kind values the epilogues support */
} ir_fusion_caps;

/* First checks the declared shapes and dtypes with ir_infer_shapes at batch 1 (the passes decide on
 * them) and refuses the graph when they do not hold. Then removes identity nodes, folds BatchNorm
 * into the preceding conv2d/linear (when it is the only consumer), fuses activations and residual
 * adds into epilogues as caps allow, removes dead nodes and unused tensors. The graph stays
 * topologically ordered. */
infer_status ir_optimize(ir_graph *g, const ir_fusion_caps *caps, infer_error *err);

infer_status ir_remove_identities(ir_graph *g, infer_error *err);
infer_status ir_fold_batchnorm(ir_graph *g, infer_error *err);
infer_status ir_fuse_epilogues(ir_graph *g, const ir_fusion_caps *caps, infer_error *err);
infer_status ir_eliminate_dead(ir_graph *g, infer_error *err);

/* Sparse f32 constants (CSR, BSR, 2:4): ir_is_sparse; ir_sparse_decode writes the logical values of t into
 * dense dst (prod(dims) floats), 0 when t's side tensors are missing; ir_densify_sparse replaces every sparse
 * constant by a dense copy the graph owns (for backends without sparse kernels) and drops the side tensors. */
int ir_is_sparse(const ir_tensor *t);
int ir_sparse_decode(const ir_graph *g, const ir_tensor *t, float *dst);
/* Replaces constant tensor t's encoded storage by its dense decoding (decode fills ir_logical_bytes; 0: the
 * storage cannot be decoded). what names the work in the out-of-memory message ("densifying"). */
infer_status ir_store_decoded(ir_graph *g, int t, int (*decode)(const ir_graph *, const ir_tensor *, float *),
                              const char *what, infer_error *err);
infer_status ir_densify_sparse(ir_graph *g, infer_error *err);
/* Replaces every int8 f32 constant (per tensor, per channel) by a dense f32 copy the graph owns (for backends
 * without INT8 kernels) and drops the side tensors (pass_dequantize.c). */
infer_status ir_dequantize_int8(ir_graph *g, infer_error *err);
/* The same two passes for a backend that runs some encoded constants itself: keep(g, t, ctx) returning 1
 * leaves constant t as stored (the backend has a kernel for every node reading it); NULL keeps none. */
typedef int (*ir_keep_encoded_fn)(const ir_graph *g, int t, void *ctx);
infer_status ir_densify_sparse_except(ir_graph *g, ir_keep_encoded_fn keep, void *ctx, infer_error *err);
infer_status ir_dequantize_int8_except(ir_graph *g, ir_keep_encoded_fn keep, void *ctx, infer_error *err);

/* ---- memory plan ------------------------------------------------------- */

#define MEMPLAN_NOT_IN_ARENA UINT64_MAX
#define MEMPLAN_ALIGN 256

typedef struct {
    uint64_t *offset;     /* per tensor: offset in the arena, or MEMPLAN_NOT_IN_ARENA (constants) */
    int *alias_of;        /* per tensor: tensor whose storage it shares (in place), else IR_NONE */
    uint64_t arena_bytes; /* peak */
    uint64_t naive_bytes; /* sum of all planned tensors */
} mem_plan;

/* Plans one arena for every activation (graph inputs and outputs included; outputs are never
 * overwritten), using liveness over the node order and reusing freed blocks; an elementwise
 * node's output takes its input's block when that input dies there (in place). bytes[t] is
 * tensor t's size at the maximum batch. */
infer_status memplan_build(const ir_graph *g, const uint64_t *bytes, mem_plan *plan, infer_error *err);
void memplan_free(mem_plan *plan);
int op_can_run_in_place(const ir_node *n); /* output may share its first input's storage */

#ifdef __cplusplus
}
#endif
#endif
