/* gemm_internal.h — what the GEMM driver shares with its packing routines and ISA micro-kernels. */
#ifndef INFER_GEMM_INTERNAL_H
#define INFER_GEMM_INTERNAL_H

#include <stdint.h>
#include "cpu_kernels.h"

#define GEMM_MR_MAX 16
#define GEMM_NR_MAX 32

/* The part of a gemm_epilogue a micro-kernel applies to one full tile, with its pointers already
 * moved to the tile's origin. Activations other than relu/clip are applied afterwards. */
typedef struct {
    const float *bias;        /* NULL, or the tile's NR columns' (or MR rows') values */
    int bias_per_row;
    const float *residual;    /* NULL, or the tile's top-left residual element */
    int64_t ld_residual;
    int clamp;                /* GEMM_CLAMP_*: relu, clip to [lo, hi], silu or sigmoid */
    float lo, hi;
} gemm_tile_ep;

/* As act_apply: relu maps NaN to 0, clip lets NaN through. SILU and SIGMOID only for kernels whose
 * gemm_arch sets fuses_sigmoid (and the AVX-512 depthwise path), through sigmoid_avx512.h. */
enum { GEMM_CLAMP_NONE = 0, GEMM_CLAMP_RELU, GEMM_CLAMP_CLIP, GEMM_CLAMP_SILU, GEMM_CLAMP_SIGMOID };

/* C[MR,NR] (=|+=) a·b over kc, where a is an MR-row sliver and b an NR-column sliver as packed
 * below; ep (NULL: none) is applied before the store. */
typedef void (*gemm_ukernel)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int accumulate,
                             const gemm_tile_ep *ep);

/* As gemm_ukernel with A read in place: MR rows of a row-major A, lda apart. */
typedef void (*gemm_ukernel_rows)(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                                  int accumulate, const gemm_tile_ep *ep);

/* As gemm_ukernel_rows for m < MR rows of A (only those are read and written). */
typedef void (*gemm_ukernel_m)(int m, int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                               int accumulate, const gemm_tile_ep *ep);

/* An edge tile: m <= MR rows and n <= NR columns of C (only those read and written, epilogue included);
 * A is a packed sliver (lda 0) or m rows read in place, lda apart; b a packed (zero-padded) sliver. */
typedef void (*gemm_ukernel_edge)(int m, int n, int64_t kc, const float *a, int64_t lda, const float *b, float *c,
                                  int64_t ldc, int accumulate, const gemm_tile_ep *ep);

/* C[0:m, 0:n] = A[0:m, 0:k] · op(B) for m <= GEMM_SMALL_M, reading A (not transposed) and B unpacked. */
typedef void (*gemm_small_m_fn)(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, int trans_b,
                                const float *b, int64_t ldb, float *c, int64_t ldc);
#define GEMM_SMALL_M 4

typedef struct {
    int mr, nr;               /* micro-tile */
    int kc, mc, nc;           /* cache blocks: kc x nc of B and mc x kc of A fit the scratch */
    gemm_ukernel kernel;
    gemm_ukernel_rows kernel_rows; /* NULL: A is always packed */
    gemm_small_m_fn small_m;
    gemm_ukernel_m kernel_m;  /* NULL: rows past the last whole sliver are packed and padded */
    gemm_ukernel_edge kernel_edge; /* NULL: edge tiles go through a temporary tile and the generic epilogue */
    int fuses_sigmoid;        /* the kernels apply GEMM_CLAMP_SILU and GEMM_CLAMP_SIGMOID */
} gemm_arch;

const gemm_arch *gemm_arch_avx512(void);
const gemm_arch *gemm_arch_avx2(void);
const gemm_arch *gemm_arch_scalar(void);

/* Packing: dst holds ceil(rows/mr) slivers, each kc x mr (k-major), zero-padded past the edge. */
void gemm_pack_a(int isa, int mr, int64_t mc, int64_t kc, const float *a, int64_t lda, int trans_a, float *dst);
/* dst holds ceil(cols/nr) slivers, each kc x nr (k-major), zero-padded past the edge. */
void gemm_pack_b(int isa, int nr, int64_t kc, int64_t nc, const float *b, int64_t ldb, int trans_b, float *dst);

/* A right-hand matrix that exists only through its packer (e.g. convolution columns read straight
 * from the image): pack() writes op(B)[k0:k0+kc, j0:j0+nc] into dst as gemm_pack_b would. */
typedef struct {
    void (*pack)(const void *src, int isa, int nr, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float *dst);
    const void *src;
} gemm_b_source;

/* C[M,N] = act(A[M,K] · B + epilogue) with B given by a packer; threaded like cpu_sgemm, or serial on
 * scratch (and isa) when scratch is not NULL. */
void gemm_sourced_b(cpu_ctx *ctx, uint8_t *scratch, int isa, int64_t M, int64_t N, int64_t K, const float *A,
                    int64_t lda, const gemm_b_source *b, float *C, int64_t ldc, const gemm_epilogue *ep);

/* As gemm_sourced_b with A packed by cpu_sgemm_pack_a for isa; B is either b (a packer) or, with b NULL,
 * B [K, N] row-major, ldb apart. */
void gemm_packed_a(cpu_ctx *ctx, uint8_t *scratch, int isa, int64_t M, int64_t N, int64_t K, const float *Ap,
                   const float *B, int64_t ldb, const gemm_b_source *b, float *C, int64_t ldc, const gemm_epilogue *ep);

/* C[M,N] = act(A · B + epilogue) with A packed whole as gemm_pack_a's mr-row slivers (each K long, k-major; mr from
 * cpu_sgemm_mr) and B whole by cpu_sgemm_pack_b, both for isa; threaded like cpu_sgemm. */
void gemm_packed_ab(cpu_ctx *ctx, int isa, int64_t M, int64_t N, int64_t K, const float *Ap, const float *Bp, float *C,
                    int64_t ldc, const gemm_epilogue *ep);
int cpu_sgemm_mr(int isa); /* MR: the row slivers' height */

/* cpu_apply_epilogue with the ISA's vectors (its activations within a few ulp of act_apply). */
void cpu_epilogue_isa(int isa, float *C, int64_t rows, int64_t cols, int64_t ldc, const gemm_epilogue *ep,
                      int64_t row0, int64_t col0);

/* y[i] = act(x[i]) for i < n (y may alias x) with the ISA's vectors, as cpu_epilogue_isa computes them; 0 (and
 * nothing done) when the ISA has no vector path: the caller computes act_apply. */
int cpu_activation_isa(int isa, const float *x, float *y, int64_t n, const act_params *act);

#endif
