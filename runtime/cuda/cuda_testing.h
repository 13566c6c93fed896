/* cuda_testing.h — running one node on the GPU from host tensors, the way an engine would: for tests and tools. */
#ifndef INFER_CUDA_TESTING_H
#define INFER_CUDA_TESTING_H

#include "infer.h"
#include "../../graph/graph.h"

/* Uploads in[0..n->n_in) (host, model dtypes; data NULL for an absent input) converting f32 to half
 * when precision is FP16, plans and runs node n through the CUDA backend's dispatch, and downloads
 * out[0..n->n_out) (dims and dtype set by the caller, data host memory) converting back. Allocates
 * and frees its own context and buffers. INFER_ERR_NO_DEVICE without a usable GPU. */
infer_status cuda_test_run_node(const ir_node *n, const infer_tensor *in, infer_tensor *out, infer_precision precision,
                                infer_error *err);

/* The device block of weights shared by the engines of one model that CUDA engine e uses (NULL when it
 * has none: not a CUDA engine, or no weights from the model's file), and in *refs (may be NULL) how many
 * engines hold it now. Engines of one model at the same precision get the same block. */
const void *cuda_engine_shared_weights(const infer_engine *e, int *refs);

#endif
