/* dispatch.c — the CPU kernel of each op and the per-node workspace each needs. */
#include "cpu_kernels.h"

cpu_kernel_fn cpu_kernel_for(op_code op) {
    switch (op) {
    case OP_IDENTITY: return cpu_identity;
    case OP_CONV2D: return cpu_conv2d;
    case OP_LINEAR: return cpu_linear;
    case OP_MATMUL: return cpu_matmul;
    case OP_BATCHNORM: return cpu_batchnorm;
    case OP_LAYERNORM: return cpu_layernorm;
    case OP_ACTIVATION: return cpu_activation;
    case OP_BINARY: return cpu_binary;
    case OP_SOFTMAX: return cpu_softmax;
    case OP_MAXPOOL2D: return cpu_maxpool2d;
    case OP_AVGPOOL2D: return cpu_avgpool2d;
    case OP_ADAPTIVE_AVGPOOL2D: return cpu_adaptive_avgpool2d;
    case OP_RESHAPE: return cpu_reshape;
    case OP_TRANSPOSE: return cpu_transpose;
    case OP_CONCAT: return cpu_concat;
    case OP_SLICE: return cpu_slice;
    case OP_MASKED_FILL: return cpu_masked_fill;
    case OP_EMBEDDING: return cpu_embedding;
    case OP_REDUCE: return cpu_reduce;
    case OP_ATTENTION: return cpu_attention;
    case OP_LSTM: return cpu_lstm;
    case OP_CAST: return cpu_cast;
    case OP_COMPARE: return cpu_compare;
    case OP_WHERE: return cpu_where;
    case OP_UNARY: return cpu_unary;
    case OP_EXPAND: return cpu_expand;
    default: return NULL;
    }
}

size_t cpu_workspace_size(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    switch (n->op) {
    case OP_CONV2D: return cpu_conv2d_workspace(n, in, out, threads);
    case OP_ATTENTION: return cpu_attention_workspace(n, in, out, threads);
    case OP_LSTM: return cpu_lstm_workspace(n, in, out, threads);
    default: return 0;
    }
}

int cpu_prepack_input(const ir_node *n, int k) {
    switch (n->op) {
    case OP_LINEAR: return k == 1;
    case OP_LSTM: return k >= 3 && (k - 3) % 4 < 2; /* each layer's w_ih and w_hh */
    default: return 0;
    }
}

size_t cpu_prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    switch (n->op) {
    case OP_LINEAR: return cpu_linear_prepack_size(n, in, isa);
    case OP_LSTM: return cpu_lstm_prepack_size(n, in, isa);
    default: return 0;
    }
}

void cpu_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    switch (n->op) {
    case OP_LINEAR: cpu_linear_prepack(n, in, isa, dst); break;
    case OP_LSTM: cpu_lstm_prepack(n, in, isa, dst); break;
    default: break;
    }
}
