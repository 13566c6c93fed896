/* encoded_weights.c — which encoded weights the CUDA backend keeps (int8 per channel, CSR) and their device layout. */
#include <stdlib.h>
#include <string.h>
#include "encoded_weights.h"

static size_t up256(size_t n) { return (n + 255) & ~(size_t)255; }

static const ir_tensor *aux(const ir_graph *g, const ir_tensor *t, int k) {
    int a = t->storage.aux[k];
    return a >= 0 && a < g->n_tensors ? &g->tensors[a] : NULL;
}

void cuda_s8_layout_for(int64_t N, int64_t K, cuda_s8_layout *l) {
    l->N = N, l->K = K, l->K4 = (K + 3) / 4 * 4;
    l->off_colsum = up256((size_t)(N * l->K4));
    l->off_scale = l->off_colsum + up256((size_t)N * sizeof(int32_t));
    l->bytes = l->off_scale + up256((size_t)N * sizeof(float));
}

int cuda_s8_layout_of(const ir_graph *g, const ir_tensor *t, cuda_s8_layout *l) {
    if (!t->is_constant || t->dtype != INFER_F32 || t->storage.kind != IR_STORAGE_INT8_CHANNEL || t->storage.axis != 0 ||
        t->ndim < 2 || !t->data)
        return 0;
    int64_t n = t->dims[0], k = 1;
    for (int d = 1; d < t->ndim; d++) k *= t->dims[d];
    if (n < 1 || k < 1 || k > 65536 || t->nbytes != (uint64_t)(n * k)) return 0;
    const ir_tensor *s = aux(g, t, 0), *z = aux(g, t, 1);
    if (!s || !s->data || s->nbytes != (uint64_t)n * sizeof(float)) return 0;
    if (z) {
        if (!z->data || z->nbytes != (uint64_t)n * sizeof(int32_t)) return 0;
        const int32_t *zp = z->data;
        for (int64_t i = 0; i < n; i++)
            if (zp[i] != 0) return 0;
    }
    cuda_s8_layout_for(n, k, l);
    return 1;
}

void cuda_csr_layout_for(int64_t rows, int64_t cols, int64_t nnz, cuda_csr_layout *l) {
    l->rows = rows, l->cols = cols, l->nnz = nnz;
    l->off_idx = up256((size_t)nnz * sizeof(float));
    l->off_ptr = l->off_idx + up256((size_t)nnz * sizeof(int32_t));
    l->bytes = l->off_ptr + up256((size_t)(rows + 1) * sizeof(int32_t));
}

int cuda_csr_layout_of(const ir_graph *g, const ir_tensor *t, cuda_csr_layout *l) {
    if (!t->is_constant || t->dtype != INFER_F32 || t->storage.kind != IR_STORAGE_CSR || t->ndim != 2 || !t->data)
        return 0;
    const ir_tensor *idx = aux(g, t, 0), *ptr = aux(g, t, 1);
    int64_t rows = t->dims[0], cols = t->dims[1], nnz = (int64_t)(t->nbytes / sizeof(float));
    if (!idx || !ptr || !idx->data || !ptr->data || rows < 1 || cols < 1 || nnz > INT32_MAX ||
        idx->nbytes != (uint64_t)nnz * sizeof(int32_t) || ptr->nbytes != (uint64_t)(rows + 1) * sizeof(int32_t))
        return 0;
    const int32_t *p = ptr->data;
    if (p[0] != 0 || p[rows] != nnz) return 0;
    cuda_csr_layout_for(rows, cols, nnz, l);
    return 1;
}

size_t cuda_encoded_bytes(const ir_graph *g, const ir_tensor *t) {
    cuda_s8_layout s;
    cuda_csr_layout c;
    if (cuda_s8_layout_of(g, t, &s)) return s.bytes;
    if (cuda_csr_layout_of(g, t, &c)) return c.bytes;
    return 0;
}

int cuda_encoded_fill(const ir_graph *g, const ir_tensor *t, void *dst) {
    cuda_s8_layout s;
    cuda_csr_layout c;
    uint8_t *d = dst;
    if (cuda_s8_layout_of(g, t, &s)) {
        memset(d, 0, s.bytes);
        const int8_t *q = t->data;
        int32_t *colsum = (int32_t *)(d + s.off_colsum);
        for (int64_t n = 0; n < s.N; n++) {
            int32_t sum = 0;
            for (int64_t k = 0; k < s.K; k++) sum += q[n * s.K + k];
            memcpy(d + n * s.K4, q + n * s.K, (size_t)s.K);
            colsum[n] = sum;
        }
        memcpy(d + s.off_scale, aux(g, t, 0)->data, (size_t)s.N * sizeof(float));
        return 1;
    }
    if (cuda_csr_layout_of(g, t, &c)) {
        memset(d, 0, c.bytes);
        memcpy(d, t->data, (size_t)c.nnz * sizeof(float));
        memcpy(d + c.off_idx, aux(g, t, 0)->data, (size_t)c.nnz * sizeof(int32_t));
        memcpy(d + c.off_ptr, aux(g, t, 1)->data, (size_t)(c.rows + 1) * sizeof(int32_t));
        return 1;
    }
    return 0;
}

/* Every node reading t reads it as input 1 of op (conv2d: with groups 1), and one node at least does. */
static int only_weight_of(const ir_graph *g, int t, op_code op, op_code op2) {
    int uses = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] != t) continue;
            if (k != 1 || (n->op != op && n->op != op2)) return 0;
            if (n->op == OP_CONV2D && n->p.conv2d.groups != 1) return 0;
            uses++;
        }
    }
    return uses > 0 && !g->tensors[t].is_output;
}

int cuda_keeps_encoded(const ir_graph *g, int t, int fp16, infer_sparse sparse) {
    const ir_tensor *x = &g->tensors[t];
    cuda_s8_layout s;
    cuda_csr_layout c;
    if (cuda_s8_layout_of(g, x, &s)) return only_weight_of(g, t, OP_LINEAR, OP_CONV2D);
    if (fp16 || !cuda_csr_layout_of(g, x, &c) || !only_weight_of(g, t, OP_LINEAR, OP_LINEAR)) return 0;
    if (sparse == INFER_SPARSE_SPARSE) return 1;
    if (sparse == INFER_SPARSE_DENSE) return 0;
    return (double)c.nnz <= CUDA_CSR_MAX_DENSITY * (double)c.rows * (double)c.cols;
}
