/* pass_densify.c — sparse constants (CSR, BSR, 2:4) decoded into dense copies the graph owns: for backends
 * without sparse kernels, so that a sparse file runs everywhere. */
#include <string.h>
#include "graph.h"
#include "../base/error.h"

static int64_t view_cols(const ir_tensor *t) {
    int64_t cols = 1;
    for (int d = 1; d < t->ndim; d++) cols *= t->dims[d];
    return cols;
}

static const void *aux_data(const ir_graph *g, const ir_tensor *t, int k) {
    int a = t->storage.aux[k];
    return a == IR_NONE ? NULL : g->tensors[a].data;
}

int ir_sparse_decode(const ir_graph *g, const ir_tensor *t, float *dst) {
    int64_t rows = t->ndim ? t->dims[0] : 1, cols = view_cols(t);
    const float *val = t->data;
    if (t->dtype != INFER_F32 || !val) return 0;
    memset(dst, 0, (size_t)(rows * cols) * sizeof *dst);
    switch (t->storage.kind) {
    case IR_STORAGE_CSR: {
        const int32_t *idx = aux_data(g, t, 0), *ptr = aux_data(g, t, 1);
        if (!idx || !ptr) return 0;
        for (int64_t r = 0; r < rows; r++)
            for (int32_t k = ptr[r]; k < ptr[r + 1]; k++) dst[r * cols + idx[k]] = val[k];
        return 1;
    }
    case IR_STORAGE_BSR: {
        const int32_t *idx = aux_data(g, t, 0), *ptr = aux_data(g, t, 1);
        int64_t bh = t->storage.block_rows, bw = t->storage.block_cols;
        if (!idx || !ptr || bh < 1 || bw < 1) return 0;
        for (int64_t br = 0; br < rows / bh; br++)
            for (int32_t k = ptr[br]; k < ptr[br + 1]; k++)
                for (int64_t i = 0; i < bh; i++)
                    for (int64_t j = 0; j < bw; j++)
                        dst[(br * bh + i) * cols + idx[k] * bw + j] = val[(int64_t)k * bh * bw + i * bw + j];
        return 1;
    }
    case IR_STORAGE_SPARSE_2_4: {
        const uint8_t *meta = aux_data(g, t, 0);
        if (!meta || cols % 4) return 0;
        for (int64_t q = 0; q < rows * cols / 4; q++) {
            unsigned nibble = (meta[q / 2] >> (4 * (q % 2))) & 15u;
            dst[q * 4 + (nibble & 3u)] = val[2 * q];
            dst[q * 4 + (nibble >> 2)] = val[2 * q + 1];
        }
        return 1;
    }
    default:
        return 0;
    }
}

int ir_is_sparse(const ir_tensor *t) {
    return t->is_constant && t->dtype == INFER_F32 &&
           (t->storage.kind == IR_STORAGE_CSR || t->storage.kind == IR_STORAGE_BSR ||
            t->storage.kind == IR_STORAGE_SPARSE_2_4);
}

infer_status ir_store_decoded(ir_graph *g, int t, int (*decode)(const ir_graph *, const ir_tensor *, float *),
                              const char *what, infer_error *err) {
    uint64_t bytes = ir_logical_bytes(&g->tensors[t]);
    float *dense = ir_alloc(g, bytes ? bytes : 1);
    ir_tensor *x = &g->tensors[t]; /* after ir_alloc */
    if (!dense) return infer_fail(err, INFER_ERR_MEMORY, "out of memory %s '%s'", what, x->name);
    if (!decode(g, x, dense))
        return infer_fail(err, INFER_ERR_FORMAT, "tensor '%s': its %s storage cannot be decoded", x->name,
                          ir_storage_name(x->storage.kind));
    x->data = dense;
    x->nbytes = bytes;
    x->storage = (ir_storage){ .kind = IR_STORAGE_DENSE, .aux = { IR_NONE, IR_NONE, IR_NONE } };
    return INFER_OK;
}

infer_status ir_densify_sparse(ir_graph *g, infer_error *err) { return ir_densify_sparse_except(g, NULL, NULL, err); }

infer_status ir_densify_sparse_except(ir_graph *g, ir_keep_encoded_fn keep, void *ctx, infer_error *err) {
    int any = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        if (!ir_is_sparse(&g->tensors[t]) || (keep && keep(g, t, ctx))) continue;
        ir_storage_kind was = g->tensors[t].storage.kind;
        INFER_TRY(ir_store_decoded(g, t, ir_sparse_decode, "densifying", err));
        g->tensors[t].densified_from = was;
        any = 1;
    }
    return any ? ir_eliminate_dead(g, err) : INFER_OK; /* drops the side tensors */
}
