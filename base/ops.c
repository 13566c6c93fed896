/* ops.c — the op set's table (codes, names, input and output counts) and the scalar activations. */
#include <math.h>
#include <stddef.h>
#include "ops.h"

static const op_info op_table[OP_COUNT] = {
#define X(e, id, code, min_in, max_in, n_out) [code] = { #id, min_in, max_in, n_out },
    INFER_OPS(X)
#undef X
};

const op_info *op_get_info(int op) {
    return (op > 0 && op < OP_COUNT && op_table[op].name) ? &op_table[op] : NULL;
}

const char *op_name(int op) {
    const op_info *info = op_get_info(op);
    return info ? info->name : "?";
}

float act_apply(const act_params *act, float x) {
    switch (act->kind) {
    case ACT_NONE: return x;
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_CLIP: return x < act->min ? act->min : (x > act->max ? act->max : x);
    case ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case ACT_GELU_TANH: return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case ACT_SILU: return x / (1.0f + expf(-x));
    case ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case ACT_TANH: return tanhf(x);
    case ACT_HARDSWISH: return x * fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    case ACT_HARDSIGMOID: return fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    default: return x;
    }
}

const char *act_name(act_kind kind) {
    static const char *names[ACT_COUNT] = { "none", "relu", "clip", "gelu", "gelu_tanh", "silu",
                                            "sigmoid", "tanh", "hardswish", "hardsigmoid" };
    return (kind >= 0 && kind < ACT_COUNT) ? names[kind] : "?";
}
