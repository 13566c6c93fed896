/* cuda_fallback.c — running a node the GPU has no kernel for on the CPU: copy its inputs down, run the CPU kernel, copy outputs up. */
#include <stdlib.h>
#include <string.h>
#include "cuda_state.h"
#include "cuda_check.h"
#include "../../base/half.h"

infer_status cuda_fallback_init(infer_engine *e, cuda_state *st, infer_error *err) {
    if (st->n_fallback == 0) return INFER_OK;
    const ir_graph *g = &e->graph;
    INFER_TRY(pool_create(e->opt.threads, &st->pool, err));
    st->cpu.pool = st->pool;
    st->cpu.threads = pool_size(st->pool);
    st->cpu.isa = e->cpu_isa;
    size_t most = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!st->fallback[i]) continue;
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) /* kept for a CUDA kernel, but the CPU kernels would need it packed */
            if (n->in[k] != IR_NONE && g->tensors[n->in[k]].is_constant &&
                g->tensors[n->in[k]].storage.kind != IR_STORAGE_DENSE)
                return infer_fail(err, INFER_ERR_UNSUPPORTED, "node %d '%s' (%s) would run on the CPU with its %s "
                                  "weight '%s' kept encoded for CUDA; run it at another precision or on the CPU", i,
                                  n->name ? n->name : "", op_name(n->op), ir_storage_name(g->tensors[n->in[k]].storage.kind),
                                  g->tensors[n->in[k]].name);
        const cpu_kernel *kernel = cpu_kernel_lookup(g, n, i, err);
        if (!kernel) return infer_fail_context(err, "neither cuda nor cpu");
        infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
        engine_node_views(e, n, NULL, NULL, in, out);
        size_t b = kernel->workspace ? kernel->workspace(n, in, out, st->cpu.threads) : 0;
        if (b > most) most = b;
    }
    st->cpu.workspace_bytes = most;
    /* SIZE_MAX (an overflowed size) and anything near it is refused, never rounded into a small size. */
    st->cpu.workspace = most && most <= SIZE_MAX - 255 ? aligned_alloc(256, (most + 255) & ~(size_t)255) : NULL;
    st->cpu.scratch = aligned_alloc(256, CPU_SCRATCH_BYTES * (size_t)st->cpu.threads);
    if ((most && !st->cpu.workspace) || !st->cpu.scratch)
        return infer_fail(err, INFER_ERR_MEMORY, "out of host memory for the CPU fallback workspace (%zu bytes)", most);
    return INFER_OK;
}

void cuda_fallback_free(cuda_state *st) {
    pool_destroy(st->pool);
    st->pool = NULL;
    free(st->cpu.workspace);
    free(st->cpu.scratch);
    st->cpu.workspace = st->cpu.scratch = NULL;
}

/* Device tensor t -> its host copy (model dtype). Synchronous. */
static infer_status download(cuda_state *st, const infer_tensor *dev, void *host, infer_dtype model_dt,
                             infer_error *err) {
    int64_t n = infer_tensor_elements(dev);
    if (n == 0 || !dev->data) return INFER_OK;
    cudaStream_t s = st->ctx.stream;
    if (dev->dtype == model_dt) {
        CUDA_CHECK(cudaMemcpyAsync(host, dev->data, (size_t)n * infer_dtype_size(model_dt), cudaMemcpyDeviceToHost, s));
        CUDA_CHECK(cudaStreamSynchronize(s));
        return INFER_OK;
    }
    CUDA_CHECK(cudaMemcpyAsync(st->half_buf, dev->data, (size_t)n * 2, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    float *f = host;
    for (int64_t i = 0; i < n; i++) f[i] = half_to_float(st->half_buf[i]);
    return INFER_OK;
}

static infer_status upload(cuda_state *st, const infer_tensor *dev, const void *host, infer_dtype model_dt,
                           infer_error *err) {
    int64_t n = infer_tensor_elements(dev);
    if (n == 0 || !dev->data) return INFER_OK;
    cudaStream_t s = st->ctx.stream;
    if (dev->dtype == model_dt) {
        CUDA_CHECK(cudaMemcpyAsync(dev->data, host, (size_t)n * infer_dtype_size(model_dt), cudaMemcpyHostToDevice, s));
    } else {
        const float *f = host;
        for (int64_t i = 0; i < n; i++) st->half_buf[i] = half_from_float_sat(f[i]); /* as device stores */
        CUDA_CHECK(cudaMemcpyAsync(dev->data, st->half_buf, (size_t)n * 2, cudaMemcpyHostToDevice, s));
    }
    CUDA_CHECK(cudaStreamSynchronize(s)); /* the host buffers are reused by the next node */
    return INFER_OK;
}

infer_status cuda_fallback_run(infer_engine *e, cuda_state *st, int node, infer_error *err) {
    const ir_graph *g = &e->graph;
    const ir_node *n = &g->nodes[node];
    const cpu_kernel *kernel = cpu_kernel_lookup(g, n, node, err); /* found at engine build */
    if (!kernel) return INFER_ERR_UNSUPPORTED;
    infer_tensor in[IR_MAX_INPUTS], out[IR_MAX_OUTPUTS];
    CUDA_CHECK(cudaStreamSynchronize(st->ctx.stream)); /* the GPU work before this node */
    for (int k = 0; k < n->n_in; k++) {
        int t = n->in[k];
        if (t == IR_NONE) {
            memset(&in[k], 0, sizeof in[k]);
            continue;
        }
        in[k] = engine_tensor_shape(e, t);
        if (g->tensors[t].is_constant) {
            in[k].data = (void *)g->tensors[t].data;
            continue;
        }
        in[k].data = st->host[t];
        infer_tensor dev = cuda_view(e, st, t);
        INFER_TRY(download(st, &dev, st->host[t], g->tensors[t].dtype, err));
    }
    for (int k = 0; k < n->n_out; k++) {
        out[k] = engine_tensor_shape(e, n->out[k]);
        out[k].data = st->host[n->out[k]];
    }
    INFER_TRY(kernel->run(&st->cpu, n, in, out, err));
    for (int k = 0; k < n->n_out; k++) {
        int t = n->out[k];
        infer_tensor dev = cuda_view(e, st, t);
        INFER_TRY(upload(st, &dev, st->host[t], g->tensors[t].dtype, err));
    }
    return INFER_OK;
}
