/* sparse_pack.c — sparse weights at engine build: decoding CSR, BSR and 2:4 storage, the packed matrix the
 * SpMM reads, or the dense copy of the densified form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sparse.h"

static int64_t view_cols(const ir_tensor *t) {
    int64_t cols = 1;
    for (int d = 1; d < t->ndim; d++) cols *= t->dims[d];
    return cols;
}

int sparse_densify(const ir_graph *g, const ir_tensor *t, float *dst) { return ir_sparse_decode(g, t, dst); }

static size_t round64(size_t bytes) { return (bytes + 63) & ~(size_t)63; }

/* The packed block shape of t: SPARSE_BLOCK square blocks when the file stores it so, else 1 x 1. */
static int packed_block(const ir_tensor *t, int64_t rows, int64_t cols) {
    return t->storage.kind == IR_STORAGE_BSR && t->storage.block_rows == SPARSE_BLOCK &&
           t->storage.block_cols == SPARSE_BLOCK && rows % SPARSE_BLOCK == 0 && cols % SPARSE_BLOCK == 0
               ? SPARSE_BLOCK : 1;
}

/* Blocks of b x b in dense w [rows, cols] holding a non-zero, and the non-zero count. */
static int64_t count_blocks(const float *w, int64_t rows, int64_t cols, int b, int64_t *nnz) {
    int64_t blocks = 0;
    *nnz = 0;
    for (int64_t br = 0; br < rows / b; br++)
        for (int64_t bc = 0; bc < cols / b; bc++) {
            int64_t here = 0;
            for (int i = 0; i < b; i++)
                for (int j = 0; j < b; j++) here += w[(br * b + i) * cols + bc * b + j] != 0.0f;
            blocks += here > 0;
            *nnz += here;
        }
    return blocks;
}

static size_t matrix_bytes(int64_t rows, int b, int64_t blocks) {
    return round64((size_t)(rows / b + 1) * 4) + round64((size_t)blocks * 4) + round64((size_t)blocks * b * b * 4);
}

static float *densified(const ir_graph *g, const ir_tensor *t, int64_t rows, int64_t cols) {
    if (rows < 1 || cols < 1 || rows > INT32_MAX || cols > INT32_MAX || (uint64_t)rows * (uint64_t)cols > (SIZE_MAX >> 3))
        return NULL;
    float *w = malloc((size_t)(rows * cols) * sizeof *w);
    if (w && !sparse_densify(g, t, w)) {
        free(w);
        return NULL;
    }
    return w;
}

int64_t sparse_count(const ir_graph *g, const ir_tensor *t, int *bh, int *bw, size_t *bytes) {
    int64_t rows = t->ndim ? t->dims[0] : 1, cols = view_cols(t), nnz;
    float *w = densified(g, t, rows, cols);
    if (!w) return -1;
    int b = packed_block(t, rows, cols);
    int64_t blocks = count_blocks(w, rows, cols, b, &nnz);
    free(w);
    if (blocks > INT32_MAX) return -1;
    *bh = *bw = b;
    *bytes = matrix_bytes(rows, b, blocks);
    return nnz;
}

void sparse_pack_matrix(const ir_graph *g, const ir_tensor *t, void *dst, sparse_matrix *m) {
    int64_t rows = t->ndim ? t->dims[0] : 1, cols = view_cols(t), nnz;
    float *w = densified(g, t, rows, cols);
    int b = packed_block(t, rows, cols);
    int64_t blocks = w ? count_blocks(w, rows, cols, b, &nnz) : 0;
    uint8_t *at = dst;
    int32_t *ptr = (int32_t *)at;
    int32_t *idx = (int32_t *)(at + round64((size_t)(rows / b + 1) * 4));
    float *val = (float *)((uint8_t *)idx + round64((size_t)blocks * 4));
    int64_t k = 0;
    ptr[0] = 0;
    for (int64_t br = 0; w && br < rows / b; br++) {
        for (int64_t bc = 0; bc < cols / b; bc++) {
            int any = 0;
            for (int i = 0; i < b; i++)
                for (int j = 0; j < b; j++) any |= w[(br * b + i) * cols + bc * b + j] != 0.0f;
            if (!any) continue;
            idx[k] = (int32_t)bc;
            for (int j = 0; j < b; j++) /* column-major within the block */
                for (int i = 0; i < b; i++) val[k * b * b + j * b + i] = w[(br * b + i) * cols + bc * b + j];
            k++;
        }
        ptr[br + 1] = (int32_t)k;
    }
    free(w);
    *m = (sparse_matrix){ rows, cols, b, b, w ? nnz : 0, ptr, idx, val };
}

size_t sparse_plan(const ir_graph *g, const ir_tensor *t, int run, size_t dense_bytes, sparse_packed *p) {
    int bh, bw;
    size_t mbytes;
    int64_t nnz = sparse_count(g, t, &bh, &bw, &mbytes), rows = t->ndim ? t->dims[0] : 1, cols = view_cols(t);
    if (nnz < 0 || (run != SPARSE_RUN_SPARSE && run != SPARSE_RUN_DENSE)) return 0;
    memset(p, 0, sizeof *p);
    p->run = run;
    p->storage = t->storage.kind;
    p->density = rows * cols > 0 ? (double)nnz / (double)(rows * cols) : 0.0;
    size_t body = run == SPARSE_RUN_SPARSE ? mbytes : dense_bytes;
    return body > SIZE_MAX - SPARSE_HEADER_BYTES ? 0 : SPARSE_HEADER_BYTES + body;
}

const sparse_packed *sparse_fill(const ir_graph *g, const ir_tensor *t, const sparse_packed *plan, void *dst,
                                 void (*fill_dense)(const float *w, void *arg, float *dst), void *arg) {
    sparse_packed *p = dst;
    *p = *plan;
    float *body = (float *)((uint8_t *)dst + SPARSE_HEADER_BYTES);
    if (p->run == SPARSE_RUN_SPARSE) {
        sparse_pack_matrix(g, t, body, &p->m);
        return p;
    }
    int64_t rows = t->ndim ? t->dims[0] : 1, cols = view_cols(t);
    float *w = densified(g, t, rows, cols);
    if (w) fill_dense(w, arg, body);
    else p->run = 0; /* out of memory: the kernel refuses to run the node */
    free(w);
    p->dense = body;
    return p;
}

void sparse_describe(const sparse_packed *p, char *buf, size_t size) {
    snprintf(buf, size, "%s, density %.1f%%, %s", ir_storage_name((ir_storage_kind)p->storage),
             100.0 * p->density, p->run == SPARSE_RUN_SPARSE ? "sparse kernel" : "densified");
}

int cpu_sparse_weight_input(const ir_node *n, int k) {
    (void)n;
    return k == 1;
}

void cpu_sparse_describe(const void *packed, char *buf, size_t size) { sparse_describe(packed, buf, size); }
