/* transpose.c — op descriptor of transpose: a permutation of the dims. */
#include <string.h>
#include "../op_rules.h"

static infer_status decode_transpose_params(const op_attrs *c, transpose_params *p) {
    int64_t v[INFER_MAX_DIMS];
    INFER_TRY(attr_ints(c, "perm", ATTR_REQUIRED, 0, INFER_MAX_DIMS, 0, INFER_MAX_DIMS - 1, v, &p->ndim));
    int seen = 0;
    for (int i = 0; i < p->ndim; i++) {
        if (v[i] >= p->ndim || (seen & (1 << v[i])))
            return attr_fail(c, "perm", "is not a permutation of 0..%d (entry %d is %lld)", p->ndim - 1, i,
                             (long long)v[i]);
        seen |= 1 << v[i];
        p->perm[i] = (int)v[i];
    }
    return INFER_OK;
}

static infer_status shape_transpose(const shape_ctx *c) {
    const transpose_params *p = &c->n->p.transpose;
    const infer_tensor *x = &c->in[0];
    if (p->ndim != x->ndim) return SHAPE_FAIL(c, "perm has %d entries for input %s", p->ndim, DIMS(x));
    int64_t y[INFER_MAX_DIMS];
    for (int i = 0; i < p->ndim; i++) y[i] = x->dims[p->perm[i]];
    shape_set_out(c, 0, x->dtype, x->ndim, y);
    return INFER_OK;
}

static infer_status decode_transpose(const op_attrs *a, op_params *p) {
    return decode_transpose_params(a, &p->transpose);
}

const op_desc op_desc_transpose = {
    .code = OP_TRANSPOSE,
    .decode = decode_transpose,
    .shape = shape_transpose,
};
