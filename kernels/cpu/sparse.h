/* sparse.h — sparse weights on the CPU: the packed form built at engine build from CSR, BSR or 2:4 storage,
 * the choice between it and a densified copy, and the sparse x dense product (SpMM) the kernels share. */
#ifndef INFER_CPU_SPARSE_H
#define INFER_CPU_SPARSE_H

#include <stdint.h>
#include "cpu_kernels.h"

/* The block shape with its own SpMM path; other BSR blocks and 2:4 run as CSR (their non-zeros). */
#define SPARSE_BLOCK 4

/* A weight's 2-D view [rows, cols] in compressed rows of bh x bw blocks (1 x 1: CSR): block row r holds
 * blocks ptr[r]..ptr[r+1], block k at block column idx[k] with values val[k*bh*bw ..], column-major. */
typedef struct {
    int64_t rows, cols;
    int bh, bw;
    int64_t nnz;            /* non-zero values of the weight (zeros inside blocks not counted) */
    const int32_t *ptr;     /* rows / bh + 1 */
    const int32_t *idx;
    const float *val;
} sparse_matrix;

/* What a node with a sparse weight runs, chosen at engine build (runtime/cpu_choose.c): the sparse kernel, or the
 * dense one on a densified copy (no sparse path fits, dense was timed faster, or infer_engine_options.sparse). */
enum { SPARSE_RUN_SPARSE = 1, SPARSE_RUN_DENSE = 2 };

/* The head of a node's packed block: the matrix's arrays (or the dense copy) follow it in the block. */
typedef struct {
    int32_t run;            /* SPARSE_RUN_* */
    int32_t storage;        /* the weight's ir_storage_kind in the file */
    double density;         /* non-zeros / elements of the weight */
    sparse_matrix m;        /* run == SPARSE_RUN_SPARSE: pointers into the block */
    const float *dense;     /* run == SPARSE_RUN_DENSE: the kernel's dense weight form, in the block */
} sparse_packed;

/* The logical values of sparse constant t (CSR, BSR or 2:4, f32) into dense [rows, cols] dst. 0 when the
 * storage is not one of those. */
int sparse_densify(const ir_graph *g, const ir_tensor *t, float *dst);
/* Non-zero count of sparse constant t and the bytes of its packed matrix (after sizeof(sparse_packed)). */
int64_t sparse_count(const ir_graph *g, const ir_tensor *t, int *bh, int *bw, size_t *matrix_bytes);
/* Fills the packed matrix of t at dst (matrix_bytes from sparse_count) and points *m into it. */
void sparse_pack_matrix(const ir_graph *g, const ir_tensor *t, void *dst, sparse_matrix *m);

/* C[r, 0..ncols) = sum over the non-zeros of row r of m: value x B[col, 0..ncols), for rows [r0, r1) (multiples
 * of m->bh); B has ldb floats per row, C ldc. Serial. */
void sparse_spmm_rows(int isa, const sparse_matrix *m, int64_t r0, int64_t r1, const float *B, int64_t ldb,
                      int64_t ncols, float *C, int64_t ldc);
/* The portable definition the vector paths are tested against. */
void sparse_spmm_reference(const sparse_matrix *m, int64_t r0, int64_t r1, const float *B, int64_t ldb,
                           int64_t ncols, float *C, int64_t ldc);

/* The packed block of sparse weight t for run SPARSE_RUN_SPARSE (the matrix) or SPARSE_RUN_DENSE (dense_bytes of
 * the kernel's dense form): fills p's run, storage and density and returns the block's bytes, the header
 * (SPARSE_HEADER_BYTES) included. 0 when t cannot be decoded. */
#define SPARSE_HEADER_BYTES ((sizeof(sparse_packed) + 63) & ~(size_t)63)
size_t sparse_plan(const ir_graph *g, const ir_tensor *t, int run, size_t dense_bytes, sparse_packed *p);
/* Fills the block planned by sparse_plan: the header and the matrix, or the header and, through
 * fill_dense(dense weight [rows, cols], arg, dst), the kernel's dense form. Returns the header; its run is
 * 0 when the dense copy could not be made (out of memory). */
const sparse_packed *sparse_fill(const ir_graph *g, const ir_tensor *t, const sparse_packed *plan, void *dst,
                                 void (*fill_dense)(const float *w, void *arg, float *dst), void *arg);

/* C rows [r0, r1) (multiples of m->bh) = m · B[cols, ncols] (+ ep: bias per row, residual, activation, with
 * rows and columns as C's), threaded over row chunks and column tiles of ctx->pool. */
void sparse_spmm(cpu_ctx *ctx, const sparse_matrix *m, int64_t r0, int64_t r1, const float *B, int64_t ldb,
                 int64_t ncols, float *C, int64_t ldc, const gemm_epilogue *ep);

/* Text for infer_layer_info.weights: "<storage>, density <d>%, sparse kernel|densified". */
void sparse_describe(const sparse_packed *p, char *buf, size_t size);

/* ---- the kernels of sparse weights, each op's entry in its kernel list (kernels/cpu/<op>.c) ---------- */

int cpu_sparse_weight_input(const ir_node *n, int k);  /* input 1 */
void cpu_sparse_describe(const void *packed, char *buf, size_t size);

/* Each op's two kernels of a sparse weight, in its kernel list: the sparse form (pack_size 0 when no sparse path
 * fits the node) and the densified form; the CPU backend picks one per node (runtime/cpu_choose.c). */
infer_status cpu_linear_sparse(cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                               infer_error *err);
size_t cpu_linear_sparse_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads);
size_t cpu_linear_sparse_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads);
void cpu_linear_sparse_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads,
                            void *dst);
size_t cpu_linear_densified_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa,
                                      int threads);
void cpu_linear_densified_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads,
                               void *dst);
#define CPU_LINEAR_SPARSE_KERNELS                                                                               \
    { .storages = CPU_DENSE | CPU_SPARSE, .run = cpu_linear_sparse, .workspace = cpu_linear_sparse_workspace,  \
      .prepack_input = cpu_sparse_weight_input, .pack_size = cpu_linear_sparse_pack_size,                       \
      .pack = cpu_linear_sparse_pack, .describe = cpu_sparse_describe, .sparse_form = CPU_FORM_SPARSE },        \
    { .storages = CPU_DENSE | CPU_SPARSE, .run = cpu_linear_sparse,                                             \
      .prepack_input = cpu_sparse_weight_input, .pack_size = cpu_linear_densified_pack_size,                    \
      .pack = cpu_linear_densified_pack, .describe = cpu_sparse_describe, .sparse_form = CPU_FORM_DENSIFIED }

infer_status cpu_conv2d_sparse(cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                               infer_error *err);
size_t cpu_conv2d_sparse_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads);
size_t cpu_conv2d_sparse_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads);
void cpu_conv2d_sparse_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads,
                            void *dst);
size_t cpu_conv2d_densified_pack_size(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa,
                                      int threads);
void cpu_conv2d_densified_pack(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads,
                               void *dst);
#define CPU_CONV2D_SPARSE_KERNELS                                                                               \
    { .storages = CPU_DENSE | CPU_SPARSE, .run = cpu_conv2d_sparse, .workspace = cpu_conv2d_sparse_workspace,  \
      .prepack_input = cpu_sparse_weight_input, .pack_size = cpu_conv2d_sparse_pack_size,                       \
      .pack = cpu_conv2d_sparse_pack, .describe = cpu_sparse_describe, .sparse_form = CPU_FORM_SPARSE },        \
    { .storages = CPU_DENSE | CPU_SPARSE, .run = cpu_conv2d_sparse, .workspace = cpu_conv2d_workspace,        \
      .prepack_input = cpu_sparse_weight_input, .pack_size = cpu_conv2d_densified_pack_size,                    \
      .pack = cpu_conv2d_densified_pack, .describe = cpu_sparse_describe, .sparse_form = CPU_FORM_DENSIFIED }

#endif
