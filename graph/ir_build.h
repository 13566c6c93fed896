/* ir_build.h — the graph IR built from a validated .ifg file: the one place the graph layer reads the format. */
#ifndef INFER_IR_BUILD_H
#define INFER_IR_BUILD_H

#include "graph.h"
#include "../loaders/ifg.h"

/* Builds the IR from a validated file: copies tensors with their storage (encoding, quantization, side
 * tensors), decodes every node's attributes into op_params (refusing missing or out-of-range attributes
 * with a message naming the node), checks input counts. */
infer_status ir_build(const ifg_file *file, ir_graph *g, infer_error *err);

/* Decodes and validates one node's attributes (defaults from docs/OPS.md) into p; used by ir_build. */
infer_status ir_decode_params(const ifg_node *node, int index, op_params *p, infer_error *err);

#endif
