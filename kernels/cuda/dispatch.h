/* dispatch.h — which nodes the CUDA backend runs itself, and which fall back to the CPU (plain C, no CUDA). */
#ifndef INFER_CUDA_SUPPORT_H
#define INFER_CUDA_SUPPORT_H

#include <stddef.h>
#include "infer.h"
#include "../../graph/graph.h"
#include "cuda_ops.h"

/* 1 when a CUDA kernel runs node n of g (its input storages, dtypes, attributes and static shapes allow it,
 * cuda_kernel_lookup); else 0 with the reason in why, and the engine runs the node on the CPU with the copies it needs. */
int cuda_node_supported(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len);

/* Fills fallback[i] (1: node i runs on the CPU) for every node; returns how many fall back. why, if
 * not NULL, gets the first node's reason. */
int cuda_plan_fallback(const ir_graph *g, int fp16, int *fallback, char *why, size_t len);

#endif
