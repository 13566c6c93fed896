/* op_sparse.h — the op test table's sparse weights (GEN_SPARSE_*): pruning to a density and pattern, and the
 * CSR, BSR and 2:4 encodings the backends' model stores them in. */
#ifndef INFER_OP_SPARSE_H
#define INFER_OP_SPARSE_H

#include "op_case.h"

int op_gen_is_sparse(int gen);
/* Zeros dense f32 data of t (its [dims[0], rest] 2-D view) to t's generator's density and pattern; keeps at
 * least one value. Deterministic: the reference's model and the backends' get the same weight. */
void op_sparse_prune(const op_tensor *t, float *data);
/* Adds constant t with pruned data as its generator's encoding and its side tensors; IFG_NONE on failure. */
uint32_t op_sparse_add(ifg_writer *w, const char *name, const op_tensor *t, const float *data);

#endif
