/* cuda_shared.c — device weights shared by the engines of one model: refcounted blocks of file-map weights under the model's lock. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "cuda_state.h"
#include "cuda_check.h"
#include "cuda_backend.h"

/* One weight in a block. What makes its uploaded bytes: the source (a pointer into the model's file map,
 * so the same pointer is the same bytes), how much of it, and the dtype it is stored in on the device
 * (f16 for f32 weights in FP16; FP32 and TF32 store the same bytes and share). */
typedef struct {
    const void *src;
    uint64_t nbytes;
    int64_t elements, count;
    infer_dtype src_dt, dev_dt;
    size_t dev_bytes;       /* its device size (an encoded layout's, or dense) */
    size_t offset;          /* in the block */
} shared_entry;

/* One device allocation holding the weights one engine asked for; used by every later engine of the
 * model whose weights are all in it. Linked from model_shared.data. */
struct cuda_shared_block {
    struct cuda_shared_block *next;
    int refs;               /* engines using it */
    int device;
    void *base;             /* NULL when every weight in it is empty */
    size_t bytes;
    shared_entry *entries;
    int n_entries;
};
typedef struct cuda_shared_block cuda_shared_block;

static shared_entry entry_of(const cuda_state *st, const ir_graph *g, const ir_tensor *tt, int t) {
    shared_entry k;
    memset(&k, 0, sizeof k);
    k.src = tt->data;
    k.nbytes = tt->nbytes;
    k.elements = 1;
    for (int d = 0; d < tt->ndim; d++) k.elements *= tt->dims[d];
    k.count = cuda_weight_count(tt);
    k.src_dt = tt->dtype;
    k.dev_dt = st->ddt[t];
    k.dev_bytes = cuda_weight_bytes(g, t, k.dev_dt);
    return k;
}

/* Index of the entry of b holding exactly k's bytes, or -1. */
static int find_entry(const cuda_shared_block *b, const shared_entry *k) {
    for (int i = 0; i < b->n_entries; i++) {
        const shared_entry *x = &b->entries[i];
        if (x->src == k->src && x->nbytes == k->nbytes && x->elements == k->elements && x->count == k->count &&
            x->src_dt == k->src_dt && x->dev_dt == k->dev_dt && x->dev_bytes == k->dev_bytes)
            return i;
    }
    return -1;
}

static int block_covers(const cuda_shared_block *b, const infer_engine *e, const cuda_state *st,
                        const unsigned char *cls) {
    const ir_graph *g = &e->graph;
    if (b->device != st->ctx.device) return 0;
    for (int t = 0; t < g->n_tensors; t++) {
        if (cls[t] != CUDA_WEIGHT_SHARED) continue;
        shared_entry k = entry_of(st, g, &g->tensors[t], t);
        if (find_entry(b, &k) < 0) return 0;
    }
    return 1;
}

static void block_free(cuda_shared_block *b) {
    if (!b) return;
    if (b->base) {
        int previous = cuda_device_enter(b->device);
        cudaFree(b->base);
        cuda_device_leave(previous);
    }
    free(b->entries);
    free(b);
}

/* model_shared.free_data: whatever blocks are left when the model is freed. */
static void free_all_blocks(void *data) {
    cuda_shared_block *b = data;
    while (b) {
        cuda_shared_block *next = b->next;
        block_free(b);
        b = next;
    }
}

/* A new block with every shared weight of the engine, allocated and uploaded; not linked yet. */
static infer_status new_block(infer_engine *e, cuda_state *st, const unsigned char *cls, cuda_shared_block **out,
                              infer_error *err) {
    const ir_graph *g = &e->graph;
    *out = NULL;
    int n = 0;
    for (int t = 0; t < g->n_tensors; t++) n += cls[t] == CUDA_WEIGHT_SHARED;
    cuda_shared_block *b = calloc(1, sizeof *b);
    if (b) b->entries = calloc((size_t)n + 1, sizeof *b->entries);
    if (!b || !b->entries) {
        free(b);
        return infer_fail(err, INFER_ERR_MEMORY, "out of memory for the shared weights");
    }
    b->device = st->ctx.device;
    for (int t = 0; t < g->n_tensors; t++) {
        if (cls[t] != CUDA_WEIGHT_SHARED) continue;
        shared_entry k = entry_of(st, g, &g->tensors[t], t);
        k.offset = b->bytes;
        b->bytes += k.dev_bytes;
        b->entries[b->n_entries++] = k;
    }
    infer_status s = cuda_alloc(&b->base, b->bytes, "shared weights", err);
    if (s == INFER_OK && b->base) {
        for (int t = 0, i = 0; t < g->n_tensors; t++)
            if (cls[t] == CUDA_WEIGHT_SHARED) st->dptr[t] = (uint8_t *)b->base + b->entries[i++].offset;
        s = cuda_upload_weights(e, st, cls, CUDA_WEIGHT_SHARED, err);
    }
    if (s != INFER_OK) {
        for (int t = 0; t < g->n_tensors; t++)
            if (cls[t] == CUDA_WEIGHT_SHARED) st->dptr[t] = NULL;
        block_free(b);
        return s;
    }
    *out = b;
    return INFER_OK;
}

infer_status cuda_shared_acquire(infer_engine *e, cuda_state *st, const unsigned char *cls, infer_error *err) {
    const ir_graph *g = &e->graph;
    model_shared *ms = e->model->shared;
    int any = 0;
    for (int t = 0; t < g->n_tensors && !any; t++) any = cls[t] == CUDA_WEIGHT_SHARED;
    if (!any) return INFER_OK;
    if (!ms) return infer_fail(err, INFER_ERR_INTERNAL, "shared weights asked of a model without its shared state");
    if (pthread_mutex_lock(&ms->lock) != 0)
        return infer_fail(err, INFER_ERR_INTERNAL, "could not lock the model's shared weights");
    cuda_shared_block *b = ms->data;
    while (b && !block_covers(b, e, st, cls)) b = b->next;
    infer_status s = INFER_OK;
    if (b) {
        for (int t = 0; t < g->n_tensors; t++) {
            if (cls[t] != CUDA_WEIGHT_SHARED) continue;
            shared_entry k = entry_of(st, g, &g->tensors[t], t);
            st->dptr[t] = b->base ? (uint8_t *)b->base + b->entries[find_entry(b, &k)].offset : NULL;
        }
    } else {
        s = new_block(e, st, cls, &b, err); /* uploads and synchronizes while the lock is held */
        if (s == INFER_OK) {
            b->next = ms->data;
            ms->data = b;
            ms->free_data = free_all_blocks;
        }
    }
    if (s == INFER_OK) {
        b->refs++;
        st->shared = b;
        st->shared_bytes = b->bytes;
    }
    pthread_mutex_unlock(&ms->lock);
    return s;
}

void cuda_shared_release(infer_engine *e, cuda_state *st) {
    cuda_shared_block *b = st->shared;
    if (!b) return;
    model_shared *ms = e->model->shared;
    st->shared = NULL;
    st->shared_bytes = 0;
    if (pthread_mutex_lock(&ms->lock) != 0) return; /* cannot happen with a default mutex; leaves the block to the model */
    cuda_shared_block *gone = NULL;
    if (--b->refs == 0) { /* unlinked under the lock: no engine can find it any more */
        cuda_shared_block *prev = NULL, *it = ms->data;
        while (it && it != b) {
            prev = it;
            it = it->next;
        }
        if (it && prev) prev->next = b->next;
        else if (it) ms->data = b->next;
        gone = b;
    }
    pthread_mutex_unlock(&ms->lock);
    /* cudaFree synchronizes the device: done after the lock is released, so engines being created from
     * the model in other threads do not wait for it */
    block_free(gone);
}

const void *cuda_engine_shared_weights(const infer_engine *e, int *refs) {
    if (refs) *refs = 0;
    if (!e || !e->backend || e->backend->device != INFER_DEVICE_CUDA || !e->state) return NULL;
    const cuda_state *st = e->state;
    const cuda_shared_block *b = st->shared;
    if (!b) return NULL;
    model_shared *ms = e->model->shared;
    if (pthread_mutex_lock(&ms->lock) != 0) return NULL;
    if (refs) *refs = b->refs;
    const void *base = b->base;
    pthread_mutex_unlock(&ms->lock);
    return base;
}
