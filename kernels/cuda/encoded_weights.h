/* encoded_weights.h — which encoded weights (int8 per channel, CSR, BSR, 2:4) the CUDA backend runs as stored, and their device layout. */
#ifndef INFER_CUDA_ENCODED_WEIGHTS_H
#define INFER_CUDA_ENCODED_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>
#include "../../graph/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Int8 per-channel weight [N, K...] (K the product of the other dims) on the device, one allocation:
 *   q       s8 [N][K4]   K4 = K rounded up to 4, the extra bytes 0 (dp4a words, cuBLASLt's ld rule)
 *   colsum  i32 [N]      at off_colsum: sum over k of q[n][k] (zero-point compensation)
 *   scale   f32 [N]      at off_scale: the channel's scale (kept f32 in FP16 too) */
typedef struct {
    int64_t N, K, K4;
    size_t off_colsum, off_scale, bytes;
} cuda_s8_layout;

/* CSR weight [rows, cols] on the device: values f32 [nnz] at 0, column indices i32 [nnz] at off_idx, row
 * pointers i32 [rows + 1] at off_ptr (values stay f32 in every precision: only FP32 engines keep CSR). */
typedef struct {
    int64_t rows, cols, nnz;
    size_t off_idx, off_ptr, bytes;
} cuda_csr_layout;

/* 2:4 weight [N, K] of an FP16 engine on the device (cuSPARSELt): the dense half [N][K] at 0 (the input of the
 * compression at engine build, spmm_cusparselt.c), then cuSPARSELt's compressed form at off_comp, in a region of
 * comp_reserve bytes (its exact size needs a cuSPARSELt handle: the compression checks that it fits). */
typedef struct {
    int64_t N, K;
    size_t off_comp, comp_reserve, bytes;
} cuda_24_layout;

/* The layout of an int8 weight of N channels of K values. */
void cuda_s8_layout_for(int64_t N, int64_t K, cuda_s8_layout *l);
/* 1 and the layout when t is an int8 per-channel weight the CUDA kernels can take (axis 0, zero points absent
 * or 0, scales present, K <= 65536); else 0. */
int cuda_s8_layout_of(const ir_graph *g, const ir_tensor *t, cuda_s8_layout *l);
/* The layout of a CSR weight of rows x cols with nnz values. */
void cuda_csr_layout_for(int64_t rows, int64_t cols, int64_t nnz, cuda_csr_layout *l);
/* 1 and the layout when t is a 2-D CSR f32 weight with its side tensors, or a 2-D BSR one with square blocks
 * (laid out as CSR: every stored block's values, its zeros included, row by row); else 0. */
int cuda_csr_layout_of(const ir_graph *g, const ir_tensor *t, cuda_csr_layout *l);
/* The layout of a 2:4 weight [N, K]. */
void cuda_24_layout_for(int64_t N, int64_t K, cuda_24_layout *l);
/* 1 and the layout when t is a 2-D 2:4 f32 weight with its metadata and N, K multiples of 16 (cuSPARSELt's
 * FP16 rule); else 0. */
int cuda_24_layout_of(const ir_graph *g, const ir_tensor *t, cuda_24_layout *l);

/* Device bytes of constant t in its encoded layout; 0 when t is not kept encoded (dense, or decoded). */
size_t cuda_encoded_bytes(const ir_graph *g, const ir_tensor *t);
/* Writes t's encoded layout (cuda_encoded_bytes of it) into host memory dst; 0 when its data does not fit. */
int cuda_encoded_fill(const ir_graph *g, const ir_tensor *t, void *dst);

/* 1 when the CUDA backend runs encoded constant t as stored: int8 per channel read only as the weight of
 * linear or groups-1 conv2d nodes; CSR and BSR (cuda_csr_layout_of) read only as the weight of linear nodes, in
 * FP32/TF32 engines (fp16 0), at density <= CUDA_CSR_MAX_DENSITY; 2:4 (cuda_24_layout_of) read only as the weight
 * of linear nodes, in FP16 engines, when cuSPARSELt is compiled in (INFER_HAVE_CUSPARSELT). The engine's sparse
 * option INFER_SPARSE_SPARSE keeps every sparse weight that fits (whatever its density), INFER_SPARSE_DENSE none.
 * Everything else is decoded at engine build (ir_dequantize_int8_except, ir_densify_sparse_except). */
#define CUDA_CSR_MAX_DENSITY 0.2
int cuda_keeps_encoded(const ir_graph *g, int t, int fp16, infer_sparse sparse);
/* Why a sparse weight of storage kind `kind` read by a node of op `op` was densified on the CUDA backend (a
 * static string for `infer info --device cuda`), or NULL for a kind that is not sparse. */
const char *cuda_densified_why(ir_storage_kind kind, op_code op, int fp16, infer_sparse sparse);

#ifdef __cplusplus
}
#endif
#endif
