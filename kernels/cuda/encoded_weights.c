/* encoded_weights.c — which encoded weights the CUDA backend keeps (int8 per channel, CSR, BSR, 2:4) and their device layout. */
#include <stdlib.h>
#include <string.h>
#include "encoded_weights.h"
#include "../../base/half.h"

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

/* A BSR weight's block size when its blocks are square and tile it; else 0. */
static int64_t bsr_block(const ir_tensor *t) {
    int64_t b = t->storage.block_rows;
    if (t->storage.kind != IR_STORAGE_BSR || b < 1 || t->storage.block_cols != b || t->dims[0] % b || t->dims[1] % b)
        return 0;
    return b;
}

int cuda_csr_layout_of(const ir_graph *g, const ir_tensor *t, cuda_csr_layout *l) {
    if (!t->is_constant || t->dtype != INFER_F32 || t->ndim != 2 || !t->data ||
        (t->storage.kind != IR_STORAGE_CSR && t->storage.kind != IR_STORAGE_BSR))
        return 0;
    int64_t b = t->storage.kind == IR_STORAGE_BSR ? bsr_block(t) : 1;
    if (b < 1) return 0;
    const ir_tensor *idx = aux(g, t, 0), *ptr = aux(g, t, 1);
    int64_t rows = t->dims[0], cols = t->dims[1], nnz = (int64_t)(t->nbytes / sizeof(float));
    int64_t prow = rows / b, pnnz = nnz / (b * b); /* pointer rows and stored indices: blocks for BSR */
    if (!idx || !ptr || !idx->data || !ptr->data || rows < 1 || cols < 1 || nnz > INT32_MAX || nnz % (b * b) ||
        idx->nbytes != (uint64_t)pnnz * sizeof(int32_t) || ptr->nbytes != (uint64_t)(prow + 1) * sizeof(int32_t))
        return 0;
    const int32_t *p = ptr->data;
    if (p[0] != 0 || p[prow] != pnnz) return 0;
    cuda_csr_layout_for(rows, cols, nnz, l);
    return 1;
}

void cuda_24_layout_for(int64_t N, int64_t K, cuda_24_layout *l) {
    size_t dense = (size_t)(N * K) * 2;
    l->N = N, l->K = K;
    l->off_comp = up256(dense);
    /* cuSPARSELt stores half the values and 2 bits of metadata per kept value (about 0.56 of dense), padded
     * to its tiles: a whole dense size plus 256 rows of K and 64 KiB leave room for any padding. */
    l->comp_reserve = up256(dense + (size_t)256 * (size_t)K * 2 + 65536);
    l->bytes = l->off_comp + l->comp_reserve;
}

int cuda_24_layout_of(const ir_graph *g, const ir_tensor *t, cuda_24_layout *l) {
    if (!t->is_constant || t->dtype != INFER_F32 || t->storage.kind != IR_STORAGE_SPARSE_2_4 || t->ndim != 2 || !t->data)
        return 0;
    int64_t n = t->dims[0], k = t->dims[1];
    const ir_tensor *meta = aux(g, t, 0);
    if (n < 16 || k < 16 || n % 16 || k % 16 || n * k > INT32_MAX || !meta || !meta->data ||
        t->nbytes != (uint64_t)(n * k / 2) * sizeof(float) || meta->nbytes < (uint64_t)(n * k / 8))
        return 0;
    cuda_24_layout_for(n, k, l);
    return 1;
}

/* BSR [rows, cols] in b x b blocks written as the CSR arrays of cuda_csr_layout (block zeros kept). */
static void fill_bsr_as_csr(const ir_graph *g, const ir_tensor *t, const cuda_csr_layout *c, uint8_t *d) {
    int64_t b = bsr_block(t);
    const float *val = t->data;
    const int32_t *bidx = aux(g, t, 0)->data, *bptr = aux(g, t, 1)->data;
    float *v = (float *)d;
    int32_t *idx = (int32_t *)(d + c->off_idx), *ptr = (int32_t *)(d + c->off_ptr);
    int64_t pos = 0;
    for (int64_t br = 0; br < c->rows / b; br++)
        for (int64_t i = 0; i < b; i++) {
            ptr[br * b + i] = (int32_t)pos;
            for (int32_t k = bptr[br]; k < bptr[br + 1]; k++)
                for (int64_t j = 0; j < b; j++, pos++) {
                    v[pos] = val[(int64_t)k * b * b + i * b + j];
                    idx[pos] = (int32_t)(bidx[k] * b + j);
                }
        }
    ptr[c->rows] = (int32_t)pos;
}

/* 2:4 [N, K] (2 values and a metadata nibble per group of 4) written as the dense half [N][K]. */
static void fill_24_dense_half(const ir_graph *g, const ir_tensor *t, const cuda_24_layout *l, uint8_t *d) {
    const float *val = t->data;
    const uint8_t *meta = aux(g, t, 0)->data;
    uint16_t *w = (uint16_t *)d;
    for (int64_t q = 0; q < l->N * l->K / 4; q++) {
        unsigned nibble = (meta[q / 2] >> (4 * (q % 2))) & 15u;
        w[q * 4 + (nibble & 3u)] = half_from_float_sat(val[2 * q]);
        w[q * 4 + (nibble >> 2)] = half_from_float_sat(val[2 * q + 1]);
    }
}

size_t cuda_encoded_bytes(const ir_graph *g, const ir_tensor *t) {
    cuda_s8_layout s;
    cuda_csr_layout c;
    cuda_24_layout q;
    if (cuda_s8_layout_of(g, t, &s)) return s.bytes;
    if (cuda_csr_layout_of(g, t, &c)) return c.bytes;
    if (cuda_24_layout_of(g, t, &q)) return q.bytes;
    return 0;
}

int cuda_encoded_fill(const ir_graph *g, const ir_tensor *t, void *dst) {
    cuda_s8_layout s;
    cuda_csr_layout c;
    cuda_24_layout h;
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
    if (cuda_csr_layout_of(g, t, &c) && t->storage.kind == IR_STORAGE_BSR) {
        memset(d, 0, c.bytes);
        fill_bsr_as_csr(g, t, &c, d);
        return 1;
    }
    if (cuda_24_layout_of(g, t, &h)) {
        memset(d, 0, h.bytes); /* the compressed region is written at engine build (cuda_24_compress) */
        fill_24_dense_half(g, t, &h, d);
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
    cuda_24_layout q;
    if (cuda_s8_layout_of(g, x, &s)) return only_weight_of(g, t, OP_LINEAR, OP_CONV2D);
    if (sparse == INFER_SPARSE_DENSE || !only_weight_of(g, t, OP_LINEAR, OP_LINEAR)) return 0;
    if (cuda_24_layout_of(g, x, &q)) {
#ifdef INFER_HAVE_CUSPARSELT
        return fp16;
#else
        return 0;
#endif
    }
    if (fp16 || !cuda_csr_layout_of(g, x, &c)) return 0;
    if (sparse == INFER_SPARSE_SPARSE) return 1;
    return (double)c.nnz <= CUDA_CSR_MAX_DENSITY * (double)c.rows * (double)c.cols;
}

const char *cuda_densified_why(ir_storage_kind kind, op_code op, int fp16, infer_sparse sparse) {
    if (kind == IR_STORAGE_SPARSE_2_4) {
#ifndef INFER_HAVE_CUSPARSELT
        return "2:4 sparse, densified: 2:4 needs cuSPARSELt, not built in";
#endif
        if (sparse == INFER_SPARSE_DENSE) return "2:4 sparse, densified (--sparse dense)";
        if (op != OP_LINEAR) return "2:4 sparse, densified: no CUDA 2:4 kernel for this op";
        if (!fp16) return "2:4 sparse, densified: cuSPARSELt 2:4 runs in FP16 engines (FP32/TF32 needs 1:2)";
        return "2:4 sparse, densified: N and K must be multiples of 16 for cuSPARSELt";
    }
    if (kind != IR_STORAGE_CSR && kind != IR_STORAGE_BSR) return NULL;
    int csr = kind == IR_STORAGE_CSR;
    if (sparse == INFER_SPARSE_DENSE) return csr ? "CSR sparse, densified (--sparse dense)" : "BSR sparse, densified (--sparse dense)";
    if (op != OP_LINEAR)
        return csr ? "CSR sparse, densified: no CUDA sparse kernel for this op" : "BSR sparse, densified: no CUDA sparse kernel for this op";
    if (fp16) return csr ? "CSR sparse, densified: cuSPARSE SpMM runs in FP32 engines only" : "BSR sparse, densified: cuSPARSE SpMM runs in FP32 engines only";
    return csr ? "CSR sparse, densified: density above 20%" : "BSR sparse, densified: density above 20% or blocks not square";
}
