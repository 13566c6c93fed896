/* op_desc.h — the op registry: one descriptor per op (graph/ops/<id>.c) holding what the graph layer knows of it. */
#ifndef INFER_OP_DESC_H
#define INFER_OP_DESC_H

#include <stdint.h>
#include "../base/ops.h"

typedef struct op_attrs op_attrs;   /* a node's attributes while decoding (op_rules.h) */
typedef struct shape_ctx shape_ctx; /* one node's shape and dtype inference (op_rules.h) */

/* May the output share input 0's storage (the memory plan's in-place rule)? */
typedef enum {
    OP_IN_PLACE_NEVER = 0,
    OP_IN_PLACE_ALWAYS,     /* elementwise in its first input: when sizes and dtypes match */
    OP_IN_PLACE_SAME_SHAPE, /* broadcasting: only when input 0 has the output's shape at every batch */
} op_in_place;

/* What the graph passes may fuse into an op (its epilogue). */
enum {
    OP_FUSE_ACT = 1,       /* a following activation (epilogue_act says where it goes) */
    OP_FUSE_RESIDUAL = 2,  /* a following add, as input 3 */
    OP_FUSE_BATCHNORM = 4, /* a following BatchNorm, folded into the weights */
};

#define OP_INPUT(i) ((uint64_t)1 << (i))
#define OP_DTYPE(d) (1u << (d))
/* The floating-point dtypes the kernels compute in today; an op's float_dtypes is usually this. */
#define OP_COMPUTE_FLOATS OP_DTYPE(INFER_F32)
/* LSTM: h0, c0, and each layer's b_ih and b_hh (inputs 5, 6, 9, 10, ...) may be absent. */
#define LSTM_OPTIONAL_INPUTS UINT64_C(0x6666666666666666)
/* GRU: h0, and each layer's b_ih and b_hh (inputs 4, 5, 8, 9, ...) may be absent. */
#define GRU_OPTIONAL_INPUTS UINT64_C(0x3333333333333332)

typedef struct {
    op_code code;
    uint64_t optional_inputs; /* bit i (OP_INPUT(i)): input i may be absent; docs/OPS.md marks it "x?" */
    unsigned float_dtypes;    /* OP_DTYPE bits: the dtypes its floating-point inputs and outputs may have */
    /* Decodes and validates the node's attributes into p (zeroed before); NULL: the op has none. */
    infer_status (*decode)(const op_attrs *a, op_params *p);
    /* Output shapes and dtypes from the inputs' (op_rules.h); checks the op's constraints. */
    infer_status (*shape)(const shape_ctx *c);
    op_in_place in_place;
    unsigned fusions;                          /* OP_FUSE_* */
    act_params *(*epilogue_act)(op_params *p); /* where a fused activation goes (OP_FUSE_ACT) */
} op_desc;

/* The descriptor of an op code; NULL for an unknown code. */
const op_desc *op_describe(int op);

#define X(e, id, code, min_in, max_in, n_out) extern const op_desc op_desc_##id;
INFER_OPS(X)
#undef X

#endif
