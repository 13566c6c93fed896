/* dispatch.c — the CPU kernel table: each op's kernels (kernels/cpu/<op>.c), looked up by input storage. */
#include "cpu_kernels.h"
#include "../../base/error.h"

static const cpu_kernel *const kernel_table[OP_COUNT] = {
#define X(e, id, code, min_in, max_in, n_out) [code] = cpu_kernels_##id,
    INFER_OPS(X)
#undef X
};

const cpu_kernel *cpu_kernels_of(int op) { return op > 0 && op < OP_COUNT ? kernel_table[op] : NULL; }

const cpu_kernel *cpu_kernel_lookup(const ir_graph *g, const ir_node *n, int index, infer_error *err) {
    const cpu_kernel *k = cpu_kernels_of(n->op);
    int bad = 0;
    for (; k && k->run; k++)
        if (ir_inputs_stored_as(g, n, k->storages, &bad)) return k;
    if (!cpu_kernels_of(n->op))
        infer_fail(err, INFER_ERR_UNSUPPORTED, "node %d '%s': op %s has no CPU kernel", index, n->name, op_name(n->op));
    else
        infer_fail(err, INFER_ERR_UNSUPPORTED,
                   "node %d '%s' (%s): no cpu kernel takes input %d '%s' stored as %s (%s)", index, n->name,
                   op_name(n->op), bad, g->tensors[n->in[bad]].name,
                   ir_storage_name(g->tensors[n->in[bad]].storage.kind), infer_dtype_name(g->tensors[n->in[bad]].dtype));
    return NULL;
}

/* ---- the dense kernel of an op (tests, and the CUDA backend's CPU fallback of dense graphs) ---------- */

cpu_kernel_fn cpu_kernel_for(op_code op) {
    const cpu_kernel *k = cpu_kernels_of(op);
    return k ? k->run : NULL;
}

size_t cpu_workspace_size(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads) {
    const cpu_kernel *k = cpu_kernels_of(n->op);
    return k && k->workspace ? k->workspace(n, in, out, threads) : 0;
}

int cpu_prepack_input(const ir_node *n, int i) {
    const cpu_kernel *k = cpu_kernels_of(n->op);
    return k && k->prepack_input ? k->prepack_input(n, i) : 0;
}

size_t cpu_prepack_size(const ir_node *n, const infer_tensor *in, int isa) {
    const cpu_kernel *k = cpu_kernels_of(n->op);
    return k && k->prepack_size ? k->prepack_size(n, in, isa) : 0;
}

void cpu_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst) {
    const cpu_kernel *k = cpu_kernels_of(n->op);
    if (k && k->prepack) k->prepack(n, in, isa, dst);
}
