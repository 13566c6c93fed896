/* op_rules.h — what op descriptors are written with: the attribute reader and the shape-rule helpers. */
#ifndef INFER_OP_RULES_H
#define INFER_OP_RULES_H

#include <stdint.h>
#include "ir_build.h"
#include "op_desc.h"
#include "../base/error.h"
#include "../base/dtype.h"

/* ---- attributes (params.c) ------------------------------------------------------------------------ */

struct op_attrs {
    const ifg_node *node;
    int index;
    infer_error *err;
};

enum { ATTR_OPTIONAL = 0, ATTR_REQUIRED = 1 };
#define ATTR_BIG (1 << 30) /* upper bound of sizes, strides and paddings: keeps shape arithmetic far from overflow */

/* Fails naming the node, its op and the attribute key (INFER_ERR_FORMAT). */
infer_status attr_fail(const op_attrs *a, const char *key, const char *fmt, ...) INFER_PRINTF(3, 4);
infer_status attr_int(const op_attrs *a, const char *key, int required, int64_t def, int64_t lo, int64_t hi,
                      int64_t *out);
infer_status attr_small(const op_attrs *a, const char *key, int required, int def, int lo, int hi, int *out);
/* axis_params (cumsum, gather, index_select): the required "axis", negative counting from the end. */
infer_status decode_axis_params(const op_attrs *a, op_params *p);
/* flip / roll: the required "dims" list (1..INFER_MAX_DIMS dims, negative counting from the end) into dims[*n]. */
infer_status attr_dim_list(const op_attrs *a, int *dims, int *n);
/* A float; an int is accepted as its value; NaN is refused. */
infer_status attr_float(const op_attrs *a, const char *key, int required, double def, float *out);
/* An int list of min_count..max_count values in [lo, hi]; an int counts as a list of one. */
infer_status attr_ints(const op_attrs *a, const char *key, int required, int min_count, int max_count, int64_t lo,
                       int64_t hi, int64_t *vals, int *count);
/* A pair (height, width): ints[2], or one int (or ints[1]) used for both. */
infer_status attr_pair(const op_attrs *a, const char *key, int required, int def, int lo, int hi, int out[2]);
/* An activation: kind under kind_key, act_min and act_max for clip. */
infer_status attr_act(const op_attrs *a, const char *kind_key, int required, act_params *act);
/* "eps": finite and >= 0, 1e-5 by default. */
infer_status attr_eps(const op_attrs *a, float *eps);
/* reshape / expand "shape": sizes >= 0, at most max_minus_one entries of -1. */
infer_status attr_shape(const op_attrs *a, int max_minus_one, shape_params *p);
/* Static INT8 input quantization: "in_scale" (0 or absent: none) and "in_zero" in [0, 255]. */
infer_status attr_act_quant(const op_attrs *a, act_quant *q);
int attr_has_input(const op_attrs *a, uint32_t i); /* input i is present (not IFG_NONE) */

/* ---- shapes (shape_rules.c) --------------------------------------------------------------------- */

#define DIM_MAX       ((int64_t)1 << 48) /* larger dimensions are refused: keeps the shape arithmetic exact */
#define DEFAULT_FLOAT INFER_F32 /* PyTorch's default float dtype: true division, mean, float math of integers */

struct shape_ctx {
    const ir_node *n;
    const op_desc *desc;
    long index;
    const infer_tensor *in;
    infer_tensor *out;
    infer_error *err;
    infer_dtype declared[IR_MAX_OUTPUTS]; /* the outputs' declared dtypes; 0: none declared */
};

infer_status shape_fail_as(const shape_ctx *c, infer_status status, const char *fmt, ...) INFER_PRINTF(3, 4);
#define SHAPE_FAIL(c, ...) shape_fail_as(c, INFER_ERR_SHAPE, __VA_ARGS__)
/* A dtype the file gives a tensor that the op cannot take: the file contradicts itself. */
#define SHAPE_FAIL_DTYPE(c, ...) shape_fail_as(c, INFER_ERR_FORMAT, __VA_ARGS__)

/* "[2,3,4]", valid until the end of the full expression that calls it. */
typedef struct {
    char s[200];
} dims_text;
dims_text shape_text(int ndim, const int64_t *dims);
#define DIMS(t) (shape_text((t)->ndim, (t)->dims).s)

int shape_has(const shape_ctx *c, int i); /* input i is present */
/* Input i, when present, has one of the op's float dtypes (desc->float_dtypes). */
infer_status shape_need_float(const shape_ctx *c, int i, const char *what);
/* Input i, when present, has a dtype the elementwise kernels compute with. */
infer_status shape_need_elementwise(const shape_ctx *c, int i);
int shape_elementwise_dtype(infer_dtype d);
/* PyTorch's result dtype for two tensors of the elementwise dtypes; 0 when it is none of them. */
infer_dtype shape_promote(infer_dtype a, infer_dtype b);
void shape_set_out(const shape_ctx *c, int k, infer_dtype dtype, int ndim, const int64_t *dims);
int shape_same_dims(const infer_tensor *a, const infer_tensor *b);
int64_t shape_elements(int ndim, const int64_t *dims);                                /* -1 past INT64_MAX */
int shape_norm_axis(int axis, int ndim, int *out);                                    /* 0 when outside [-ndim, ndim) */
/* The node's axis_params axis normalized against input 0's rank; fails naming it when out of range. */
infer_status shape_axis_of_input(const shape_ctx *c, int *axis);
/* flip / roll: every listed dim in range of input 0's rank (listed once when distinct), and input 0 of a sized
 * dtype; the output has its dtype and shape. */
infer_status shape_dims_of_input(const shape_ctx *c, const int *dims, int n, int distinct);
/* gather / index_select: index (input 1) i64 or i32, input 0 of a sized dtype, and the normalized axis. */
infer_status shape_indexing(const shape_ctx *c, int *axis);
int shape_broadcast(const infer_tensor *a, const infer_tensor *b, infer_tensor *out); /* 0: incompatible */
/* PyTorch's sliding-window output size; < 1 when the window does not fit. */
int64_t shape_window_out(int64_t in, int64_t k, int stride, int pad, int dil, int ceil_mode);
/* conv2d / linear: bias [channels] and residual shaped as the output, when present. */
infer_status shape_check_bias_residual(const shape_ctx *c, int64_t channels);
/* y has x's dtype and shape (identity and friends). */
infer_status shape_same_as_input(const shape_ctx *c);
/* Broadcast shape of a binary or compare node (b may be absent: a scalar), with the given output dtype. */
infer_status shape_broadcast_ab(const shape_ctx *c, infer_dtype dtype);

#endif
