/* op_case.h — one row of the cross-backend op test table (op_cases.c): the op, its tensors and attributes. */
#ifndef INFER_OP_CASE_H
#define INFER_OP_CASE_H

#include <stdint.h>
#include "infer.h"
#include "../../base/ops.h"
#include "../../loaders/ifg.h"

#define OPC_MAX_IN 20
#define OPC_MAX_OUT 3
#define OPC_MAX_ATTRS 10
#define OPC_MAX_THEN 4

/* How a tensor of a row enters the model. Slots after the last one used stay OPT_END. */
enum { OPT_END = 0, OPT_INPUT, OPT_CONST, OPT_ABSENT };

/* How its data is made (seeded per case, never all zeros). */
enum {
    GEN_UNIFORM = 0, /* floats uniform in [lo, hi); integers uniform in [lo, hi] */
    GEN_QUARTERS,    /* multiples of 1/4 in [-lo, lo]: exact in half, so comparisons agree at any precision */
    GEN_BOOL,        /* true with probability lo percent */
    GEN_BAD_ID,      /* ids uniform in [lo, hi], except one equal to hi + 1: out of range for a table of hi + 1 rows */
    GEN_INT8_CHANNEL,/* f32 uniform in [lo, hi), stored int8 per output channel (axis 0) in the backends' model and
                        as f32 in the reference's: rows with it set int8_tol */
    /* Sparse weights (op_sparse.c): f32 uniform in [-1, 1), pruned over the [dims[0], rest] 2-D view to density lo,
     * with all-zero rows and columns (blocks) when hi is 1; stored in that encoding in the backends' model and
     * dense in the reference's. */
    GEN_SPARSE_CSR,  /* each value kept with probability lo; stored CSR */
    GEN_SPARSE_BSR,  /* each block of op_tensor.block kept with probability lo; stored BSR of those blocks */
    GEN_SPARSE_2_4,  /* 2 of every 4 along the row kept (then each with probability 2 lo); stored 2:4 */
};

typedef struct {
    int kind;        /* OPT_* */
    infer_dtype dtype;
    int gen;         /* GEN_* */
    double lo, hi;
    int ndim;
    int64_t dims[INFER_MAX_DIMS];
    int block;       /* GEN_SPARSE_BSR: block rows << 8 | block cols */
} op_tensor;

typedef struct {
    const char *key; /* NULL ends the list */
    int type;        /* IFG_ATTR_INT, IFG_ATTR_FLOAT or IFG_ATTR_INTS */
    int64_t i;
    double f;
    int n;
    int64_t ints[INFER_MAX_DIMS];
} op_attr;

/* A node written after the op, on its output 0, in the same file (an epilogue the graph passes may
 * fuse): the reference runs it unfused, the backends as their passes leave it. */
enum { THEN_END = 0, THEN_RESIDUAL, THEN_BATCHNORM, THEN_ACT };
typedef struct {
    int kind;        /* THEN_* */
    int act;         /* THEN_ACT: act_kind */
    double min, max; /* THEN_ACT with ACT_CLIP */
} op_then;

typedef struct {
    const char *name;            /* unique: "<op> <what is special>" */
    int op;                      /* op_code */
    op_tensor in[OPC_MAX_IN];    /* in the op's input order; OPT_ABSENT for a missing optional input */
    op_tensor out[OPC_MAX_OUT];  /* declared outputs (OPT_INPUT slots): dtype and shape */
    op_attr attrs[OPC_MAX_ATTRS];
    op_then then[OPC_MAX_THEN];
    const char *sweep;           /* NULL, or an int attribute run at every value of [sweep_from, sweep_to] */
    int sweep_from, sweep_to;
    int dynamic;                 /* 1: dim 0 of every activation is a dynamic batch (-1 in the file); engines are
                                    built for the row's batch and run at it and at batch 1, in turns */
    infer_status expect;         /* INFER_OK, or the status every backend's run must give (then a fixed run) */
    double fp16_tol;             /* 0: the backend's; else the FP16 tolerance of this row (named reason in the row) */
    double int8_tol;             /* rows with GEN_INT8_CHANNEL weights: every backend's tolerance against the FP32
                                    reference (the quantization error of weights and activations) */
    int densified;               /* rows with GEN_SPARSE_* weights: 0, the CPU backends run the sparse kernels
                                    (infer_engine_options.sparse forced); 1, the dense ones on densified copies */
    int winograd;                /* 1: the CPU FP32 backends run the row with infer_engine_options.winograd ON, 2:
                                    AUTO; either checks that a layer ran Winograd (the reference never does). Any
                                    engine that runs Winograd is held to WINOGRAD_TOL (op_test.c) at least */
} op_case;

extern const op_case op_cases[];
extern const int op_case_count;

/* ---- row notation ------------------------------------------------------------ */

#define OPC_NARGS(...) OPC_NARGS_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define OPC_NARGS_(a1, a2, a3, a4, a5, a6, a7, a8, n, ...) n
#define OPC_T(kind, dt, gen, lo, hi, ...) { kind, dt, gen, lo, hi, OPC_NARGS(__VA_ARGS__), { __VA_ARGS__ } }

#define XF(lo, hi, ...) OPC_T(OPT_INPUT, INFER_F32, GEN_UNIFORM, lo, hi, __VA_ARGS__)   /* f32 input */
#define XQ(range, ...) OPC_T(OPT_INPUT, INFER_F32, GEN_QUARTERS, range, 0, __VA_ARGS__) /* f32 quarters */
#define XI(dt, lo, hi, ...) OPC_T(OPT_INPUT, dt, GEN_UNIFORM, lo, hi, __VA_ARGS__)      /* integer input */
#define XB(pct, ...) OPC_T(OPT_INPUT, INFER_BOOL, GEN_BOOL, pct, 0, __VA_ARGS__)       /* bool input */
#define XH(lo, hi, ...) OPC_T(OPT_INPUT, INFER_F16, GEN_UNIFORM, lo, hi, __VA_ARGS__)   /* f16 input */
#define XBAD(dt, hi, ...) OPC_T(OPT_INPUT, dt, GEN_BAD_ID, 0, hi, __VA_ARGS__)         /* ids, one out of range */
#define WF(lo, hi, ...) OPC_T(OPT_CONST, INFER_F32, GEN_UNIFORM, lo, hi, __VA_ARGS__)   /* f32 constant */
#define WI(dt, lo, hi, ...) OPC_T(OPT_CONST, dt, GEN_UNIFORM, lo, hi, __VA_ARGS__)      /* integer constant */
#define WQ8(lo, hi, ...) OPC_T(OPT_CONST, INFER_F32, GEN_INT8_CHANNEL, lo, hi, __VA_ARGS__) /* int8 weight */
#define WCSR(density, zeros, ...) /* sparse f32 constant, CSR; zeros 1: with all-zero rows and columns */         \
    { OPT_CONST, INFER_F32, GEN_SPARSE_CSR, density, zeros, OPC_NARGS(__VA_ARGS__), { __VA_ARGS__ }, 0 }
#define WBSR(density, zeros, bh, bw, ...) /* block-sparse f32 constant, bh x bw blocks */                        \
    { OPT_CONST, INFER_F32, GEN_SPARSE_BSR, density, zeros, OPC_NARGS(__VA_ARGS__), { __VA_ARGS__ }, (bh) << 8 | (bw) }
#define W24(density, zeros, ...) /* 2:4 structured f32 constant */                                               \
    { OPT_CONST, INFER_F32, GEN_SPARSE_2_4, density, zeros, OPC_NARGS(__VA_ARGS__), { __VA_ARGS__ }, 0 }
#define WH(...) OPC_T(OPT_CONST, INFER_F16, GEN_UNIFORM, 0, 0, __VA_ARGS__)             /* f16 constant */
#define X0F(lo, hi) { OPT_INPUT, INFER_F32, GEN_UNIFORM, lo, hi, 0, { 0 } }             /* 0-d f32 input */
#define ABSENT { OPT_ABSENT, 0, 0, 0, 0, 0, { 0 } }
#define Y(dt, ...) OPC_T(OPT_INPUT, dt, GEN_UNIFORM, 0, 0, __VA_ARGS__)                 /* declared output */
#define Y0(dt) { OPT_INPUT, dt, GEN_UNIFORM, 0, 0, 0, { 0 } }                           /* 0-d output */

#define A_INT(k, v) { .key = k, .type = IFG_ATTR_INT, .i = (v) }
#define A_FLOAT(k, v) { .key = k, .type = IFG_ATTR_FLOAT, .f = (v) }
#define A_NO_INTS(k) { .key = k, .type = IFG_ATTR_INTS, .n = 0 }
#define A_INTS(k, ...) { .key = k, .type = IFG_ATTR_INTS, .n = OPC_NARGS(__VA_ARGS__), .ints = { __VA_ARGS__ } }

#define T_RESIDUAL { THEN_RESIDUAL, 0, 0, 0 }
#define T_BATCHNORM { THEN_BATCHNORM, 0, 0, 0 }
#define T_ACT(k) { THEN_ACT, k, 0, 0 }
#define T_CLIP(lo, hi) { THEN_ACT, ACT_CLIP, lo, hi }

#endif
