/* op_desc.c — the op registry: every op code's descriptor (graph/ops/<op>.c). */
#include <stddef.h>
#include "op_desc.h"

static const op_desc *const descriptors[OP_COUNT] = {
#define X(e, id, code, min_in, max_in, n_out) [code] = &op_desc_##id,
    INFER_OPS(X)
#undef X
};

const op_desc *op_describe(int op) { return op_get_info(op) ? descriptors[op] : NULL; }
