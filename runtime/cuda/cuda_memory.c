/* cuda_memory.c — device memory of a CUDA engine: weights uploaded once through pinned staging, the arena, the workspace, pinned io. */
#include <stdlib.h>
#include <string.h>
#include "cuda_state.h"
#include "cuda_check.h"
#include "../../base/half.h"
#include "../../kernels/cuda/encoded_weights.h"
#include "../../kernels/cuda/spmm_cusparselt.h"

#define STAGE_CHUNK ((size_t)16 << 20)

static size_t up256(size_t n) { return (n + 255) & ~(size_t)255; }

static int64_t elements(const ir_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

infer_tensor cuda_view(const infer_engine *e, const cuda_state *st, int t) {
    infer_tensor v = engine_tensor_shape(e, t);
    v.dtype = st->ddt[t];
    v.data = st->dptr[t];
    return v;
}

size_t cuda_weight_bytes(const ir_graph *g, int t, infer_dtype ddt) {
    size_t encoded = cuda_encoded_bytes(g, &g->tensors[t]);
    return up256(encoded ? encoded : (size_t)elements(&g->tensors[t]) * infer_dtype_size(ddt));
}

/* An encoded weight (cuda_encoded_bytes): its device layout built in host memory, then copied. */
static infer_status upload_encoded(const ir_graph *g, const ir_tensor *t, void *dev, size_t bytes, cuda_ctx *c,
                                   infer_error *err) {
    cudaStream_t s = c->stream;
    void *host = malloc(bytes);
    if (!host) return infer_fail(err, INFER_ERR_MEMORY, "out of memory laying out weight '%s'", t->name);
    if (!cuda_encoded_fill(g, t, host)) {
        free(host);
        return infer_fail(err, INFER_ERR_INTERNAL, "weight '%s': its %s storage does not fit the CUDA layout", t->name,
                          ir_storage_name(t->storage.kind));
    }
    cudaError_t ce = cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, s);
    if (ce == cudaSuccess) ce = cudaStreamSynchronize(s);
    free(host);
    if (ce != cudaSuccess) return cuda_fail_rt(err, ce, "cudaMemcpyAsync (encoded weight upload)", __FILE__, __LINE__);
    cuda_24_layout q;
    if (cuda_24_layout_of(g, t, &q)) { /* 2:4: cuSPARSELt's compressed form beside the dense half, once */
        infer_status st = cuda_24_compress(c, q.N, q.K, dev, (uint8_t *)dev + q.off_comp, q.comp_reserve, err);
        if (st != INFER_OK) return infer_fail_context(err, "weight '%s'", t->name);
    }
    return INFER_OK;
}

int64_t cuda_weight_count(const ir_tensor *t) {
    int64_t n = elements(t);
    size_t es = infer_dtype_size(t->dtype);
    if (es && (uint64_t)n * es > t->nbytes) n = (int64_t)(t->nbytes / es);
    return n;
}

/* Streams the chosen constants to the device through two pinned chunks, converting f32 to half when fp16. */
infer_status cuda_upload_weights(infer_engine *e, cuda_state *st, const unsigned char *cls, unsigned char which,
                                 infer_error *err) {
    const ir_graph *g = &e->graph;
    uint8_t *stage = NULL;
    cudaEvent_t ev[2] = { NULL, NULL };
    int used[2] = { 0, 0 }, k = 0;
    infer_status s = INFER_OK;
    cudaError_t ce = cudaHostAlloc((void **)&stage, 2 * STAGE_CHUNK, cudaHostAllocDefault);
    if (ce != cudaSuccess) return cuda_fail_rt(err, ce, "cudaHostAlloc (weight staging)", __FILE__, __LINE__);
    for (int i = 0; i < 2 && ce == cudaSuccess; i++) ce = cudaEventCreateWithFlags(&ev[i], cudaEventDisableTiming);
    if (ce != cudaSuccess) s = cuda_fail_rt(err, ce, "cudaEventCreate", __FILE__, __LINE__);
    for (int t = 0; t < g->n_tensors && s == INFER_OK; t++) {
        const ir_tensor *tt = &g->tensors[t];
        if (cls[t] != which || !tt->is_constant || !st->dptr[t] || !tt->data) continue;
        size_t encoded = cuda_encoded_bytes(g, tt);
        if (encoded) {
            s = upload_encoded(g, tt, st->dptr[t], encoded, &st->ctx, err);
            continue;
        }
        int convert = st->ddt[t] != tt->dtype; /* f32 -> f16 */
        size_t src_es = infer_dtype_size(tt->dtype), dst_es = infer_dtype_size(st->ddt[t]);
        size_t count = (size_t)cuda_weight_count(tt), per_chunk = STAGE_CHUNK / (src_es > dst_es ? src_es : dst_es);
        for (size_t first = 0; first < count && s == INFER_OK; first += per_chunk, k ^= 1) {
            size_t n = count - first < per_chunk ? count - first : per_chunk;
            uint8_t *buf = stage + (size_t)k * STAGE_CHUNK;
            if (used[k] && (ce = cudaEventSynchronize(ev[k])) != cudaSuccess) {
                s = cuda_fail_rt(err, ce, "cudaEventSynchronize (weight upload)", __FILE__, __LINE__);
                break;
            }
            if (convert) {
                const float *src = (const float *)tt->data + first;
                uint16_t *dst = (uint16_t *)buf;
                for (size_t j = 0; j < n; j++) dst[j] = half_from_float_sat(src[j]);
            } else {
                memcpy(buf, (const uint8_t *)tt->data + first * src_es, n * src_es);
            }
            ce = cudaMemcpyAsync((uint8_t *)st->dptr[t] + first * dst_es, buf, n * dst_es, cudaMemcpyHostToDevice,
                                 st->ctx.stream);
            if (ce == cudaSuccess) ce = cudaEventRecord(ev[k], st->ctx.stream);
            if (ce != cudaSuccess) s = cuda_fail_rt(err, ce, "cudaMemcpyAsync (weight upload)", __FILE__, __LINE__);
            used[k] = 1;
        }
    }
    ce = cudaStreamSynchronize(st->ctx.stream);
    if (ce != cudaSuccess && s == INFER_OK) s = cuda_fail_rt(err, ce, "cudaStreamSynchronize (weight upload)", __FILE__, __LINE__);
    for (int i = 0; i < 2; i++)
        if (ev[i]) cudaEventDestroy(ev[i]);
    cudaFreeHost(stage);
    return s;
}

/* t's data lies inside the model's file map: the same pointer means the same bytes for every engine. */
static int in_file_map(const ifg_file *f, const ir_tensor *t) {
    uintptr_t p = (uintptr_t)t->data, base = (uintptr_t)f->map;
    return f->map && t->data && p >= base && p - base <= f->size && t->nbytes <= f->size - (p - base);
}

static int needs_gemm(const ir_graph *g, const int *fallback) {
    for (int i = 0; i < g->n_nodes; i++) {
        op_code op = g->nodes[i].op;
        if (!fallback[i] && (op == OP_LINEAR || op == OP_MATMUL || op == OP_LSTM)) return 1;
    }
    return 0;
}

infer_status cuda_state_memory(infer_engine *e, cuda_state *st, size_t scratch, infer_error *err) {
    const ir_graph *g = &e->graph;
    cuda_ctx *c = &st->ctx;
    /* weights: those read from the model's file map go into a block shared with the model's other engines
     * (cuda_shared.c); those the engine's graph made itself (BN folding) into the engine's own allocation */
    unsigned char *cls = calloc((size_t)g->n_tensors + 1, 1);
    if (!cls) return infer_fail(err, INFER_ERR_MEMORY, "out of memory");
    size_t wbytes = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        const ir_tensor *tt = &g->tensors[t];
        if (!tt->is_constant || !tt->data || ir_consumer_count(g, t) == 0) continue;
        /* an encoded layout also holds side tensors a pass may have changed (folded scales): never shared */
        cls[t] = e->model->shared && in_file_map(&e->model->file, tt) && !cuda_encoded_bytes(g, tt) ? CUDA_WEIGHT_SHARED
                                                                                                     : CUDA_WEIGHT_OWN;
        if (cls[t] == CUDA_WEIGHT_OWN) wbytes += cuda_weight_bytes(g, t, st->ddt[t]);
    }
    infer_status s = cuda_shared_acquire(e, st, cls, err);
    if (s == INFER_OK) s = cuda_alloc(&st->weights, wbytes, "weights", err);
    if (s == INFER_OK && st->weights) {
        st->weight_bytes = wbytes;
        size_t off = 0;
        for (int t = 0; t < g->n_tensors; t++) {
            if (cls[t] != CUDA_WEIGHT_OWN) continue;
            st->dptr[t] = (uint8_t *)st->weights + off;
            off += cuda_weight_bytes(g, t, st->ddt[t]);
        }
        s = cuda_upload_weights(e, st, cls, CUDA_WEIGHT_OWN, err);
    }
    free(cls);
    if (s != INFER_OK) return s;

    /* activation arena, exactly the memory plan (half tensors use the first half of their f32 blocks) */
    st->arena_bytes = e->plan.arena_bytes;
    INFER_TRY(cuda_alloc(&st->arena, st->arena_bytes, "activation arena", err));
    for (int t = 0; t < g->n_tensors; t++)
        if (!g->tensors[t].is_constant && e->plan.offset[t] != MEMPLAN_NOT_IN_ARENA && st->arena)
            st->dptr[t] = (uint8_t *)st->arena + e->plan.offset[t];

    /* workspace: cuBLASLt | node scratch | f32 io staging (fp16) | error flag */
    size_t lt = needs_gemm(g, st->fallback) ? CUDA_LT_WORKSPACE : 0, io = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        if (st->ddt[t] != g->tensors[t].dtype) io += up256(e->tensor_bytes[t]);
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int t = g->outputs[i];
        if (st->ddt[t] != g->tensors[t].dtype) io += up256(g->tensors[t].is_constant ? g->tensors[t].nbytes : e->tensor_bytes[t]);
    }
    scratch = up256(scratch);
    st->ws_bytes = lt + scratch + io + 256;
    INFER_TRY(cuda_alloc(&st->ws, st->ws_bytes, "workspace", err));
    uint8_t *w = st->ws;
    c->lt_ws = lt ? w : NULL;
    c->lt_ws_bytes = lt;
    c->scratch = scratch ? w + lt : NULL;
    c->scratch_bytes = scratch;
    uint8_t *iop = w + lt + scratch;
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        if (st->ddt[t] != g->tensors[t].dtype) {
            st->in_dev[i] = iop;
            iop += up256(e->tensor_bytes[t]);
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int t = g->outputs[i];
        if (st->ddt[t] != g->tensors[t].dtype) {
            st->out_dev[i] = iop;
            iop += up256(g->tensors[t].is_constant ? g->tensors[t].nbytes : e->tensor_bytes[t]);
        }
    }
    c->err_flag = (unsigned long long *)iop;
    CUDA_CHECK(cudaMemsetAsync(st->ws, 0, st->ws_bytes, c->stream));

    /* pinned host memory: input staging, outputs, the flag, fallback copies */
    size_t pb = 256;
    for (int i = 0; i < g->n_inputs; i++) pb += up256(e->tensor_bytes[g->inputs[i]]);
    for (int i = 0; i < g->n_outputs; i++) {
        int t = g->outputs[i];
        pb += up256(g->tensors[t].is_constant ? g->tensors[t].nbytes : e->tensor_bytes[t]);
    }
    size_t half_buf = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!st->fallback[i]) continue;
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in + n->n_out; k++) {
            int t = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
            if (t == IR_NONE || g->tensors[t].is_constant || st->host[t]) continue;
            st->host[t] = (void *)1; /* mark; placed below */
            pb += up256(e->tensor_bytes[t]);
            if (st->ddt[t] != g->tensors[t].dtype && e->tensor_bytes[t] / 2 > half_buf) half_buf = e->tensor_bytes[t] / 2;
        }
    }
    pb += up256(half_buf);
    cudaError_t ce = cudaHostAlloc(&st->pinned, pb, cudaHostAllocDefault);
    if (ce != cudaSuccess) {
        st->pinned = NULL;
        return infer_fail(err, INFER_ERR_MEMORY, "cudaHostAlloc of %zu bytes of pinned host memory failed: %s", pb,
                          cudaGetErrorString(ce));
    }
    st->pinned_bytes = pb;
    uint8_t *h = st->pinned;
    st->flag_host = (unsigned long long *)h;
    st->flag_host[0] = st->flag_host[1] = 0;
    h += 256;
    for (int i = 0; i < g->n_inputs; i++) {
        st->in_pinned[i] = h;
        h += up256(e->tensor_bytes[g->inputs[i]]);
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int t = g->outputs[i];
        st->out_pinned[i] = h;
        h += up256(g->tensors[t].is_constant ? g->tensors[t].nbytes : e->tensor_bytes[t]);
    }
    for (int t = 0; t < g->n_tensors; t++)
        if (st->host[t]) {
            st->host[t] = h;
            h += up256(e->tensor_bytes[t]);
        }
    st->half_buf = half_buf ? (uint16_t *)h : NULL;
    st->half_buf_bytes = half_buf;
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    return INFER_OK;
}

void cuda_state_free_memory(cuda_state *st) {
    if (st->weights) cudaFree(st->weights);
    if (st->arena) cudaFree(st->arena);
    if (st->ws) cudaFree(st->ws);
    if (st->tuned_scratch) cudaFree(st->tuned_scratch);
    st->tuned_scratch = NULL;
    if (st->pinned) cudaFreeHost(st->pinned);
    st->weights = st->arena = st->ws = st->pinned = NULL;
}
