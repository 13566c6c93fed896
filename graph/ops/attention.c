/* attention.c — op descriptor of attention: multi-head scaled dot-product attention with an optional mask. */
#include <math.h>
#include <string.h>
#include "../op_rules.h"

static infer_status decode_attention_params(const op_attrs *c, attention_params *p) {
    INFER_TRY(attr_small(c, "heads", ATTR_REQUIRED, 1, 1, ATTR_BIG, &p->heads));
    INFER_TRY(attr_small(c, "causal", ATTR_OPTIONAL, 0, 0, 1, &p->causal));
    INFER_TRY(attr_float(c, "scale", ATTR_OPTIONAL, 0.0, &p->scale));
    if (isinf(p->scale)) return attr_fail(c, "scale", "is infinite");
    return INFER_OK;
}

static infer_status shape_attention(const shape_ctx *c) {
    const infer_tensor *q = &c->in[0], *k = &c->in[1], *v = &c->in[2], *mask = &c->in[3];
    if (q->ndim != 3 || k->ndim != 3 || v->ndim != 3)
        return SHAPE_FAIL(c, "q %s, k %s and v %s must be 3-D [B,L,E]", DIMS(q), DIMS(k), DIMS(v));
    static const char *what[3] = { "q", "k", "v" };
    for (int i = 0; i < 3; i++) INFER_TRY(shape_need_float(c, i, what[i]));
    if (k->dims[0] != q->dims[0] || v->dims[0] != q->dims[0] || k->dims[1] != v->dims[1] || k->dims[2] != q->dims[2] ||
        v->dims[2] != q->dims[2])
        return SHAPE_FAIL(c, "q %s, k %s and v %s do not fit [B,Lq,E], [B,Lk,E], [B,Lk,E]", DIMS(q), DIMS(k), DIMS(v));
    int heads = c->n->p.attention.heads;
    if (q->dims[2] % heads)
        return SHAPE_FAIL(c, "embedding size %lld is not divisible by %d heads", (long long)q->dims[2], heads);
    if (shape_has(c, 3)) {
        if (mask->dtype != q->dtype && mask->dtype != INFER_BOOL)
            return SHAPE_FAIL_DTYPE(c, "mask is %s, expected %s or bool", infer_dtype_name(mask->dtype),
                                    infer_dtype_name(q->dtype));
        int batched = mask->ndim == 3 && (mask->dims[0] == 1 || mask->dims[0] == q->dims[0]);
        if ((mask->ndim != 2 && !batched) || mask->dims[mask->ndim - 2] != q->dims[1] ||
            mask->dims[mask->ndim - 1] != k->dims[1])
            return SHAPE_FAIL(c, "mask %s, expected [%lld,%lld] or [%lld or 1,%lld,%lld]", DIMS(mask),
                              (long long)q->dims[1], (long long)k->dims[1], (long long)q->dims[0],
                              (long long)q->dims[1], (long long)k->dims[1]);
    }
    shape_set_out(c, 0, q->dtype, 3, q->dims);
    return INFER_OK;
}

static infer_status decode_attention(const op_attrs *a, op_params *p) {
    return decode_attention_params(a, &p->attention);
}

const op_desc op_desc_attention = {
    .code = OP_ATTENTION,
    .optional_inputs = OP_INPUT(3),
    .float_dtypes = OP_COMPUTE_FLOATS,
    .decode = decode_attention,
    .shape = shape_attention,
};
