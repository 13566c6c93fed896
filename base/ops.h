/* ops.h — the op set (docs/OPS.md): codes, names and the decoded parameters of each op. */
#ifndef INFER_OPS_H
#define INFER_OPS_H

#include <stdint.h>
#include "infer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The op set, one row per op: X(ENUM, id, code, min_inputs, max_inputs, outputs); max_inputs -1: any
 * number. Codes are stable (written into files). Everything else about an op is its descriptor,
 * graph/ops/<id>.c (op_desc.h), and its kernels, kernels/<backend>/<id>.*. */
#define INFER_OPS(X)                                        \
    X(IDENTITY, identity, 1, 1, 1, 1)                       \
    X(CONV2D, conv2d, 2, 2, 4, 1)                           \
    X(LINEAR, linear, 3, 2, 4, 1)                           \
    X(MATMUL, matmul, 4, 2, 2, 1)                           \
    X(BATCHNORM, batchnorm, 5, 5, 5, 1)                     \
    X(LAYERNORM, layernorm, 6, 1, 3, 1)                     \
    X(ACTIVATION, activation, 7, 1, 1, 1)                   \
    X(BINARY, binary, 8, 1, 2, 1)                           \
    X(SOFTMAX, softmax, 9, 1, 1, 1)                         \
    X(MAXPOOL2D, maxpool2d, 10, 1, 1, 1)                    \
    X(AVGPOOL2D, avgpool2d, 11, 1, 1, 1)                    \
    X(ADAPTIVE_AVGPOOL2D, adaptive_avgpool2d, 12, 1, 1, 1)  \
    X(RESHAPE, reshape, 13, 1, 1, 1)                        \
    X(TRANSPOSE, transpose, 14, 1, 1, 1)                    \
    X(CONCAT, concat, 15, 1, -1, 1)                         \
    X(SLICE, slice, 16, 1, 1, 1)                            \
    X(MASKED_FILL, masked_fill, 17, 2, 2, 1)                \
    X(EMBEDDING, embedding, 18, 2, 2, 1)                    \
    X(REDUCE, reduce, 19, 1, 1, 1)                          \
    X(ATTENTION, attention, 20, 3, 4, 1)                    \
    X(LSTM, lstm, 21, 5, -1, 3)                             \
    X(CAST, cast, 22, 1, 1, 1)                              \
    X(COMPARE, compare, 23, 1, 2, 1)                        \
    X(WHERE, where, 24, 3, 3, 1)                            \
    X(UNARY, unary, 25, 1, 1, 1)                            \
    X(EXPAND, expand, 26, 1, 2, 1)                          \
    /* opsvision: padding, resizing, transposed convolution, roll, flip, group norm */ \
    X(PAD, pad, 27, 1, 1, 1)                                \
    X(RESIZE, resize, 28, 1, 1, 1)                          \
    X(CONV_TRANSPOSE2D, conv_transpose2d, 29, 2, 3, 1)      \
    X(ROLL, roll, 30, 1, 1, 1)                              \
    X(FLIP, flip, 31, 1, 1, 1)                              \
    X(GROUP_NORM, group_norm, 32, 1, 3, 1)                  \
    /* opsseq: recurrent, scans, sorting, indexing */      \
    X(GRU, gru, 33, 4, -1, 2)                               \
    X(CUMSUM, cumsum, 34, 1, 1, 1)                          \
    X(TOPK, topk, 35, 1, 1, 2)                              \
    X(GATHER, gather, 36, 2, 2, 1)                          \
    X(INDEX_SELECT, index_select, 37, 2, 2, 1)              \
    X(TRIANGLE, triangle, 38, 1, 1, 1)                      \
    /* int8import: PyTorch's quantize-then-dequantize of a quantized tensor (rounding to its grid) */ \
    X(FAKE_QUANT, fake_quant, 39, 1, 1, 1)                  \
    /* dimvalues: values that follow the named dims */      \
    X(RANGE, range, 40, 0, 0, 1)

typedef enum {
    OP_INVALID = 0,
#define X(e, id, code, min_in, max_in, n_out) OP_##e = code,
    INFER_OPS(X)
#undef X
    OP_COUNT
} op_code;

typedef struct {
    const char *name;
    int min_inputs, max_inputs, outputs;
} op_info;

const op_info *op_get_info(int op);  /* NULL for an unknown code */
const char *op_name(int op);          /* "?" for an unknown code */

/* ---- parameters -------------------------------------------------------- */

typedef enum {
    ACT_NONE = 0, ACT_RELU, ACT_CLIP, ACT_GELU, ACT_GELU_TANH, ACT_SILU,
    ACT_SIGMOID, ACT_TANH, ACT_HARDSWISH, ACT_HARDSIGMOID, ACT_COUNT
} act_kind;

typedef struct {
    act_kind kind;
    float min, max; /* ACT_CLIP */
} act_params;

typedef enum { BIN_ADD = 0, BIN_SUB, BIN_MUL, BIN_DIV, BIN_POW, BIN_MAX, BIN_MIN, BIN_COUNT } binary_kind;
/* and, or, xor: logical, on the operands' truth (nonzero). */
typedef enum { CMP_EQ = 0, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_AND, CMP_OR, CMP_XOR, CMP_COUNT } compare_kind;
typedef enum { RED_MEAN = 0, RED_SUM, RED_MAX, RED_MIN, RED_COUNT } reduce_kind;
/* round: half to even, as torch.round. */
typedef enum {
    UN_NEG = 0, UN_EXP, UN_LOG, UN_SQRT, UN_RSQRT, UN_ABS, UN_RECIPROCAL, UN_ERF, UN_SIGN, UN_ROUND, UN_FLOOR, UN_CEIL,
    UN_TRUNC, UN_COUNT
} unary_kind;
/* The unary kinds whose output keeps an integer input's dtype (the others give f32). */
#define UNARY_KEEPS_DTYPE(k) \
    ((k) == UN_NEG || (k) == UN_ABS || (k) == UN_SIGN || (k) == UN_ROUND || (k) == UN_FLOOR || (k) == UN_CEIL || \
     (k) == UN_TRUNC)

/* Static INT8 (docs/INT8.md): the input's per-tensor u8 quantization from calibration, attributes "in_scale"
 * and "in_zero" of a linear or conv2d whose weight is stored int8; scale 0: none (dynamic at run time). */
typedef struct { float scale; int zero; } act_quant;

/* winograd: the infer_winograd choice of the engine that runs the node (set by the CPU backend at build from
 * infer_engine_options.winograd; not in the file: 0, auto, when decoded). */
typedef struct {
    int stride[2], padding[2], dilation[2], groups;
    act_params act;
    act_quant in_q;
    infer_winograd winograd;
} conv2d_params;
typedef struct { act_params act; act_quant in_q; } linear_params;
typedef struct { float eps; } batchnorm_params;
typedef struct { int axes; float eps; } layernorm_params;
typedef struct { binary_kind kind; float scalar; int reverse; } binary_params;
typedef struct { int axis; int log; } softmax_params;
typedef struct { int kernel[2], stride[2], padding[2], dilation[2], ceil_mode, count_include_pad; } pool2d_params;
typedef struct { int output_size[2]; } adaptive_pool_params;
/* reshape, expand. expand with input 1 ("like"): output dim i is like's dim like[i] where like[i] >= 0. */
typedef struct { int ndim; int64_t shape[INFER_MAX_DIMS]; int8_t like[INFER_MAX_DIMS]; } shape_params;
typedef struct { int ndim; int perm[INFER_MAX_DIMS]; } transpose_params;
typedef struct { int axis; } concat_params;
typedef struct { int axis; int64_t start, end, step; int end_expr; /* 1 + dim expression of a symbolic end; 0: none */ } slice_params;
typedef struct { float value; } masked_fill_params;
typedef struct { reduce_kind kind; int naxes; int axes[INFER_MAX_DIMS]; int keepdim; } reduce_params;
typedef struct { int heads; int causal; float scale; } attention_params;
typedef struct { int hidden, layers, batch_first, bidirectional; } lstm_params; /* lstm, gru */
typedef struct { infer_dtype dtype; } cast_params;
typedef struct { compare_kind kind; float scalar; } compare_params;
typedef struct { unary_kind kind; } unary_params;
/* opsvision */
typedef enum { PAD_CONSTANT = 0, PAD_REFLECT, PAD_REPLICATE, PAD_CIRCULAR, PAD_COUNT } pad_mode;
/* pads as F.pad gives them: (begin, end) of the last dim, then of the one before, ...; negative crops */
typedef struct { pad_mode mode; int npads; int64_t pads[INFER_MAX_DIMS]; float value; } pad_params;
typedef enum { RESIZE_NEAREST = 0, RESIZE_NEAREST_EXACT, RESIZE_LINEAR, RESIZE_CUBIC, RESIZE_COUNT } resize_mode;
/* spatial dims: the last nsize (1 or 2); scale 0: in/out, else PyTorch's given scale_factor */
typedef struct { resize_mode mode; int align_corners; int nsize; int64_t size[2]; float scale[2]; } resize_params;
typedef struct { int stride[2], padding[2], output_padding[2], dilation[2], groups; } conv_transpose2d_params;
typedef struct { int n; int dims[INFER_MAX_DIMS]; int64_t shifts[INFER_MAX_DIMS]; } roll_params;
typedef struct { int n; int dims[INFER_MAX_DIMS]; } flip_params;
typedef struct { int groups; float eps; } group_norm_params;
/* int8import: y = (clamp(round_half_even(x * (1/scale)) + zero, qmin, qmax) - zero) * out_scale (out_scale: scale
 * unless given; 1 gives the integers, for ops PyTorch computes on them) */
typedef struct { float scale, out_scale; int zero, qmin, qmax; } fake_quant_params;
/* opsseq */
typedef struct { int axis; } axis_params; /* cumsum, gather, index_select */
typedef struct { int axis; int64_t k; int largest; } topk_params;
typedef struct { int upper; int64_t diagonal; } triangle_params;
/* dimvalues: start + i * step for i < length (i64: the integer start and step; f32: the float ones) */
typedef struct {
    infer_dtype dtype;
    int64_t length, start, step;
    float fstart, fstep;
    int length_expr; /* 1 + dim expression of a symbolic length; 0: none */
} range_params;

/* Exactly one member is meaningful, chosen by the node's op. */
typedef union {
    conv2d_params conv2d;
    linear_params linear;
    batchnorm_params batchnorm;
    layernorm_params layernorm;
    act_params activation;
    binary_params binary;
    softmax_params softmax;
    pool2d_params pool2d;          /* maxpool2d, avgpool2d */
    adaptive_pool_params adaptive_pool;
    shape_params shape;            /* reshape, expand */
    transpose_params transpose;
    concat_params concat;
    slice_params slice;
    masked_fill_params masked_fill;
    reduce_params reduce;
    attention_params attention;
    lstm_params lstm;
    cast_params cast;
    compare_params compare;
    unary_params unary;
    pad_params pad; /* opsvision */
    resize_params resize;
    conv_transpose2d_params conv_transpose2d;
    roll_params roll;
    flip_params flip;
    group_norm_params group_norm;
    /* opsseq */
    lstm_params gru;
    axis_params axis;              /* cumsum, gather, index_select */
    topk_params topk;
    triangle_params triangle;
    fake_quant_params fake_quant; /* int8import */
    range_params range; /* dimvalues */
} op_params;

/* Scalar activation, the definition every backend matches. */
float act_apply(const act_params *act, float x);
const char *act_name(act_kind kind);

#ifdef __cplusplus
}
#endif
#endif
