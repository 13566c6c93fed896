/* binary.c — op descriptor of binary: add, sub, mul, div, pow, max, min with numpy broadcasting, or with a scalar. */
#include <string.h>
#include "../op_rules.h"

static infer_status decode_binary_params(const op_attrs *c, binary_params *p) {
    int kind;
    INFER_TRY(attr_small(c, "kind", ATTR_REQUIRED, 0, 0, BIN_COUNT - 1, &kind));
    p->kind = (binary_kind)kind;
    INFER_TRY(attr_float(c, "scalar", !attr_has_input(c, 1), 0.0, &p->scalar));
    return attr_small(c, "reverse", ATTR_OPTIONAL, 0, 0, 1, &p->reverse);
}

static int integer_or_bool(infer_dtype d) { return shape_elementwise_dtype(d) && !dtype_is_float(d); }

/* Output dtype as PyTorch promotes, among the dtypes kernels/cpu/binary.c computes with: two tensors give
 * shape_promote(a, b); a tensor with the scalar keeps its dtype, except that an integer or bool tensor with
 * a float scalar gives the default float (f32) and a bool tensor with an integer scalar gives i64 (the
 * file's declared dtype says which, as the scalar is stored as a float); div is true division, always the
 * default float. */
static infer_status shape_binary(const shape_ctx *c) {
    INFER_TRY(shape_need_elementwise(c, 0));
    INFER_TRY(shape_need_elementwise(c, 1));
    infer_dtype a = c->in[0].dtype, dtype = a, want = c->declared[0];
    if (shape_has(c, 1)) {
        dtype = shape_promote(a, c->in[1].dtype);
        if (!dtype)
            return SHAPE_FAIL_DTYPE(c, "inputs %s and %s promote to i16, which binary does not compute with",
                                    infer_dtype_name(a), infer_dtype_name(c->in[1].dtype));
    } else if ((want == DEFAULT_FLOAT && integer_or_bool(a)) || (want == INFER_I64 && a == INFER_BOOL)) {
        dtype = want;
    }
    if (c->n->p.binary.kind == BIN_DIV) dtype = DEFAULT_FLOAT;
    return shape_broadcast_ab(c, dtype);
}

static infer_status decode_binary(const op_attrs *a, op_params *p) { return decode_binary_params(a, &p->binary); }

const op_desc op_desc_binary = {
    .code = OP_BINARY,
    .optional_inputs = OP_INPUT(1),
    .decode = decode_binary,
    .shape = shape_binary,
    .in_place = OP_IN_PLACE_SAME_SHAPE,
};
