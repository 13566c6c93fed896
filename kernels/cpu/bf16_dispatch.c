/* bf16_dispatch.c — which nodes of a BF16 engine run a BF16 kernel: dense f32 constant weights of linear,
 * matmul and conv2d; every other node (norms, softmax, reductions, ...) keeps its FP32 kernel. */
#include "gemm_bf16.h"

/* Input k of n is a dense f32 constant with data. */
int cpu_bf16_constant_weight(const ir_graph *g, const ir_node *n, int k) {
    if (k >= n->n_in || n->in[k] == IR_NONE) return 0;
    const ir_tensor *t = &g->tensors[n->in[k]];
    return t->is_constant && t->data && t->dtype == INFER_F32 && t->storage.kind == IR_STORAGE_DENSE;
}

const cpu_kernel *cpu_bf16_kernel_lookup(const ir_graph *g, const ir_node *n, int mode) {
    int bad = 0;
    if (mode <= CPU_BF16_NONE || mode > CPU_BF16_AMX_AUTO || !ir_inputs_stored_as(g, n, CPU_DENSE, &bad)) return NULL;
    switch (n->op) {
    case OP_LINEAR: return cpu_linear_bf16_takes(g, n) ? &cpu_linear_bf16_kernels[mode] : NULL;
    case OP_MATMUL: return cpu_matmul_bf16_takes(g, n) ? &cpu_matmul_bf16_kernels[mode] : NULL;
    case OP_CONV2D: return cpu_conv2d_bf16_takes(g, n) ? &cpu_conv2d_bf16_kernels[mode] : NULL;
    default: return NULL;
    }
}
