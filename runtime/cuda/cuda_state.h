/* cuda_state.h — a CUDA engine's backend state: device memory, pinned buffers, per-batch plans and graphs, CPU fallback. */
#ifndef INFER_CUDA_STATE_H
#define INFER_CUDA_STATE_H

#include "cuda_ctx.h"
#include "../engine.h"
#include "../threadpool.h"
#include "../../kernels/cpu/cpu_kernels.h"

#define CUDA_BATCH_SLOTS 8 /* shapes (named dim values) with plans and CUDA Graphs kept at once; least recently
                              used goes, with a warning */

/* Plans and the captured forward for one shape: one set of the named dims' values. */
typedef struct {
    int64_t batch;                 /* 0: free */
    int64_t dims[IR_MAX_SYMS];     /* the named dims' values (engine dim_cur): the key with batch */
    uint64_t last_used;
    cuda_node_plan **plans;        /* per node (NULL for ops without one, and for fallback nodes) */
    int runs;                      /* forward passes at this batch */
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    int graph_failed;
} cuda_batch_slot;

typedef struct {
    cuda_ctx ctx;
    int n_tensors, n_nodes;
    void **dptr;                   /* per tensor: device address (weights or arena), NULL if none */
    infer_dtype *ddt;              /* per tensor: device storage dtype */
    int *fallback;                 /* per node: 1 when it runs on the CPU */
    int n_fallback;
    /* device memory: the model's shared weight block (cuda_shared.c) and three allocations of the engine */
    struct cuda_shared_block *shared; /* file-map weights, shared with the model's other engines; NULL if none */
    size_t shared_bytes;
    void *weights, *arena, *ws;    /* weights: only those the engine's graph made (BN folding) */
    void *tuned_scratch;           /* tuning chose algorithms wanting more scratch than ws holds: their own */
    size_t weight_bytes, arena_bytes, ws_bytes;
    /* io: per graph input / output; dev_f32 is a device f32 buffer when the arena holds half */
    void **in_pinned, **in_dev;
    void **out_pinned, **out_dev;
    unsigned long long *flag_host; /* pinned [2] */
    void *pinned;                  /* one cudaHostAlloc holding all pinned buffers */
    size_t pinned_bytes;
    /* CPU fallback */
    void **host;                   /* per tensor: pinned host copy (model dtype) for fallback nodes */
    uint16_t *half_buf;            /* pinned, for f16 <-> f32 conversion of fallback tensors */
    size_t half_buf_bytes;
    thread_pool *pool;
    cpu_ctx cpu;
    /* per batch */
    cuda_batch_slot slots[CUDA_BATCH_SLOTS];
    uint64_t clock;
    int warned_slots;              /* the warning that slots are being recycled was given */
    int graphs;                    /* CUDA Graphs instantiated so far */
    cudaEvent_t *events;           /* profiling: 2 per node */
    /* timing of every run: events before the input copies, before the forward, before the output
     * copies, after them; the last successful run's split (infer_engine_stats.last_*_ms) */
    cudaEvent_t tev[4];
    double last_h2d_ms, last_compute_ms, last_d2h_ms, last_enqueue_ms;
    /* a run that failed and left the stream in an error (a kernel fault, a failed synchronize): every
     * later run refuses with unusable_why */
    int unusable;
    char unusable_why[512];
    int test_fail_graph_launch;    /* tests: the next graph launches fail (cuda_test_hooks.h) */
} cuda_state;

/* cuda_memory.c */
infer_status cuda_state_memory(infer_engine *e, cuda_state *st, size_t scratch, infer_error *err);
void cuda_state_free_memory(cuda_state *st);
/* Where a weight's device copy lives (cuda_state_memory classifies every tensor). */
enum { CUDA_WEIGHT_NONE = 0, CUDA_WEIGHT_SHARED = 1, CUDA_WEIGHT_OWN = 2 };
/* Device bytes of constant t (a multiple of 256): its encoded layout (kernels/cuda/encoded_weights.h) or dense. */
size_t cuda_weight_bytes(const ir_graph *g, int t, infer_dtype ddt);
/* Elements of constant t that are uploaded (its shape, capped to its data). */
int64_t cuda_weight_count(const ir_tensor *t);
/* Uploads every constant t with cls[t] == which to st->dptr[t] (set by the caller) through pinned staging
 * on the engine's stream, converting f32 to half when fp16; returns after the stream is synchronized. */
infer_status cuda_upload_weights(infer_engine *e, cuda_state *st, const unsigned char *cls, unsigned char which,
                                 infer_error *err);

/* cuda_shared.c: the weights of the model's file map, shared by its engines (model_shared in engine.h).
 * Points st->dptr[t] of every tensor with cls[t] == CUDA_WEIGHT_SHARED into a block holding them all:
 * an existing one of the model when one does (one more reference), else a new one, uploaded here. The
 * model's lock is held throughout, so a block is complete before any other engine can find it. */
infer_status cuda_shared_acquire(infer_engine *e, cuda_state *st, const unsigned char *cls, infer_error *err);
/* Drops the engine's reference (its stream must be idle); the last one frees the block. */
void cuda_shared_release(infer_engine *e, cuda_state *st);
/* A device view of tensor t at the engine's current shapes. */
infer_tensor cuda_view(const infer_engine *e, const cuda_state *st, int t);

/* cuda_fallback.c */
infer_status cuda_fallback_init(infer_engine *e, cuda_state *st, infer_error *err);
infer_status cuda_fallback_run(infer_engine *e, cuda_state *st, int node, infer_error *err);
void cuda_fallback_free(cuda_state *st);

/* cuda_run.c */
infer_status cuda_slot_prepare(infer_engine *e, cuda_state *st, cuda_batch_slot *slot, infer_error *err);
void cuda_slot_free(cuda_state *st, cuda_batch_slot *slot);
infer_status cuda_engine_run(infer_engine *e, const infer_tensor *inputs, infer_tensor *outputs, infer_error *err);

#endif
