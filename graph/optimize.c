/* optimize.c — the graph passes in order: shape validation, identities, BatchNorm folding, epilogue fusion,
 * dead nodes. */
#include <stdlib.h>
#include "graph.h"
#include "../base/error.h"

/* The passes decide on declared shapes and dtypes (a linear's rank, a residual's layout): check that the
 * file's declarations hold, at batch 1, before any pass reads them. */
static infer_status validate_shapes(const ir_graph *g, infer_error *err) {
    size_t n = g->n_tensors > 0 ? (size_t)g->n_tensors : 1;
    int64_t *dims = malloc(n * INFER_MAX_DIMS * sizeof *dims);
    int *ndims = malloc(n * sizeof *ndims);
    infer_status s = dims && ndims ? ir_infer_shapes(g, 1, dims, ndims, err)
                                   : infer_fail(err, INFER_ERR_MEMORY, "out of memory checking %d tensors' shapes",
                                                g->n_tensors);
    free(dims);
    free(ndims);
    return s;
}

infer_status ir_optimize(ir_graph *g, const ir_fusion_caps *caps, infer_error *err) {
    infer_status s = validate_shapes(g, err);
    if (s == INFER_OK) s = ir_remove_identities(g, err);
    if (s == INFER_OK) s = ir_fold_batchnorm(g, err);
    if (s == INFER_OK && caps) s = ir_fuse_epilogues(g, caps, err);
    if (s == INFER_OK) s = ir_eliminate_dead(g, err);
    return s;
}
