/* cuda_dtypes.h — the device storage dtype of every tensor: FP16 stores f32 as half, except integer-valued chains (plain C). */
#ifndef INFER_CUDA_DTYPES_H
#define INFER_CUDA_DTYPES_H

#include <stddef.h>
#include "infer.h"
#include "../../graph/graph.h"

/* Fills ddt[t] for every tensor of g. Without fp16 every tensor keeps its dtype. With fp16, f32 becomes
 * f16, except tensors that FP16 storage would corrupt, which stay f32:
 * - integer-valued f32: the float inputs of a cast to an integer or bool dtype, of a compare and of an
 *   embedding's ids, together with the chain of elementwise and shape ops (binary, unary, activation,
 *   cast, reshape, identity, transpose, slice, expand, concat, where, masked_fill, reduce) that computes
 *   them from graph inputs, constants or casts (half has 11 significant bits: integers above 2048 lose
 *   their last bits). A chain that reaches the output of another op (a linear, a convolution, ...) is a
 *   computed float, not an index: it stays half.
 * - a float attention mask made the same way (from inputs, constants or casts by those ops): -1e9 or
 *   finfo.min is added in float, as on the CPU, so a fully masked row gives what the CPU gives.
 * A node whose float tensors are then of both dtypes takes them all as f32 when it is an elementwise or
 * shape op (the f32 spreads along the chain), or is a node of another op that cannot mix them and runs on
 * the CPU: its fallback[i] is set. Returns the number of nodes so added to the fallback; why, if not NULL,
 * names the first. Nodes already in fallback are left as they are (the fallback converts each tensor). */
int cuda_plan_dtypes(const ir_graph *g, int fp16, int *fallback, infer_dtype *ddt, char *why, size_t len);

#endif
