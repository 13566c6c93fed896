/* cuda_test_hooks.c — make a CUDA engine take its rare paths on purpose, for tests. */
#include "cuda_test_hooks.h"
#include "cuda_backend.h"
#include "cuda_state.h"

int cuda_test_refuse_fused_conv(infer_engine *e) {
    if (!e || !e->backend || e->backend->device != INFER_DEVICE_CUDA || !e->state) return 0;
    cuda_state *st = e->state;
    int marked = 0;
    for (int s = 0; s < CUDA_BATCH_SLOTS; s++) {
        cuda_batch_slot *slot = &st->slots[s];
        if (!slot->plans) continue;
        for (int i = 0; i < st->n_nodes; i++) marked += cuda_node_refuse_fused(slot->plans[i]);
    }
    return marked;
}

int cuda_test_fail_graph_launch(infer_engine *e) {
    if (!e || !e->backend || e->backend->device != INFER_DEVICE_CUDA || !e->state) return 0;
    ((cuda_state *)e->state)->test_fail_graph_launch = 1;
    return 1;
}

int cuda_test_force_gemmex(infer_engine *e) {
    if (!e || !e->backend || e->backend->device != INFER_DEVICE_CUDA || !e->state) return 0;
    cuda_state *st = e->state;
    int marked = 0;
    for (int s = 0; s < CUDA_BATCH_SLOTS; s++) {
        cuda_batch_slot *slot = &st->slots[s];
        if (!slot->plans) continue;
        for (int i = 0; i < st->n_nodes; i++) marked += cuda_node_force_gemmex(&st->ctx, slot->plans[i]);
        if (slot->exec) { /* recaptured with the new calls */
            cudaGraphExecDestroy(slot->exec);
            cudaGraphDestroy(slot->graph);
            slot->exec = NULL;
            slot->graph = NULL;
        }
    }
    return marked;
}
