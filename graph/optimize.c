/* optimize.c — the graph passes in order: identities, BatchNorm folding, epilogue fusion, dead nodes. */
#include "graph.h"
#include "../runtime/error.h"

infer_status ir_optimize(ir_graph *g, const ir_fusion_caps *caps, infer_error *err) {
    infer_status s = ir_remove_identities(g, err);
    if (s == INFER_OK) s = ir_fold_batchnorm(g, err);
    if (s == INFER_OK && caps) s = ir_fuse_epilogues(g, caps, err);
    if (s == INFER_OK) s = ir_eliminate_dead(g, err);
    return s;
}
