/* gemm_s8_internal.h — what the INT8 GEMM driver shares with its per-ISA tile kernels. */
#ifndef INFER_GEMM_S8_INTERNAL_H
#define INFER_GEMM_S8_INTERNAL_H

#include <math.h>
#include "gemm_s8.h"

#define S8_NR_MAX 32
#define S8_MR_MAX 32 /* the tallest tile (amx) */

/* The epilogue of one tile, its pointers moved to the tile's first row and its panel's first column. */
typedef struct {
    const int32_t *col_sum;  /* nr sums over k of W[n][k] */
    const float *mult, *off; /* nr values of w_scale[n] and bias[n] (gemm_s8.h) */
    float inv_out;           /* 1 / out_scale for u8 output, 1 for f32 (exact) */
    const uint8_t *res;      /* NULL, or the u8 residual of the tile's first row and column, rows ld_res apart */
    int64_t ld_res;
    float res_scale;         /* the residual's value: res_scale * (q - res_zero) */
    int32_t res_zero;
    const float *res_f32;    /* NULL, or an f32 residual of the tile (rows ld_res_f32 apart), added after res */
    int64_t ld_res_f32;
    const float *a_scale;    /* row i's: a_scale[i * a_step] */
    const int32_t *a_zero;
    int a_step;              /* 1: per row, 0: one for all rows */
    float lo, hi;            /* v is clamped to [lo, hi] (u8: the quantized range less out_zero) */
    int32_t out_zero;
    int out_u8;
} s8_tile_ep;

/* C[0:rows, 0:cols] (rows <= mr, cols <= nr; ldc elements apart, u8 or f32 by ep->out_u8) of the product of
 * rows of A and one packed panel of nr columns, over all K, with the epilogue applied. a is what prep_a made
 * of the rows (lda its stride), or A itself when the path has no prep_a. */
typedef void (*s8_tile_fn)(int rows, int cols, int64_t K, const void *a, int64_t lda, const void *panel,
                           const s8_tile_ep *ep, void *c, int64_t ldc);

/* Rewrites rows x K of A (lda apart) into dst for the tile kernel; returns dst's stride in bytes. */
typedef int64_t (*s8_prep_a_fn)(int64_t rows, int64_t K, const uint8_t *a, int64_t lda, void *dst);

typedef struct {
    int mr, nr;
    int k_group;     /* k values per packed group: 4 (u8 x s8 quads for vpdpbusd) or 2 (int16 pairs) */
    int k_align;     /* K is zero-padded to a multiple of this in the packed panels */
    s8_tile_fn tile;
    s8_prep_a_fn prep_a;       /* NULL: the tile reads A in place */
    int64_t (*prep_a_bytes)(int64_t rows, int64_t K);
    void (*setup)(void);       /* NULL, or called in a thread before its tiles (amx: the tile configuration) */
    void (*release)(void);     /* NULL, or called after them */
} s8_arch;

const s8_arch *s8_arch_avx2(void);
/* evex 0: VEX (AVX-VNNI); 1: the same tile EVEX-encoded (AVX512-VL + VNNI), same layout. */
const s8_arch *s8_arch_avx_vnni(int evex);
const s8_arch *s8_arch_avx512_vnni(void);
const s8_arch *s8_arch_amx(void);

/* The packed weights: this header, then col_sum int32[n_padded] and the panels, each 64-byte aligned.
 * Panel p holds columns [p*nr, p*nr + nr): k_group 4: [k_padded/4][nr][4] int8; k_group 2:
 * [k_padded/2][nr][2] int16. Padding (columns past N, k past K) is zero. */
typedef struct {
    int32_t path, nr, k_group, k_align;
    int64_t K, N, k_padded, n_padded, panel_bytes;
    int32_t evex;  /* S8_PATH_AVX_VNNI: the CPU that packed it lacks AVX-VNNI and has AVX-512 VNNI */
    int32_t reserved[5];
} s8_packed_header;

/* The clamp [lo, hi] of v: u8 output: the quantized range (less out_zero) narrowed by relu/clip, which
 * commute with the monotone rounding; f32: relu/clip's range. */
void s8_clamp_range(const gemm_s8_epilogue *ep, float *lo, float *hi);

/* An f32 output whose activation is applied after the clamp (by cpu_epilogue_isa): not none/relu/clip. */
int s8_post_activation(const gemm_s8_epilogue *ep);

/* Stores rows x cols of an f32 tile (ldt apart) transposed: value (i, j) to
 * y[j * ldy + i], plus residual[j * ldy + i] when residual is not NULL, then post (s8_store_nchw.c). */
void s8_store_nchw(int isa, int rows, int cols, const float *tile, int64_t ldt, float *y, int64_t ldy,
                   const float *residual, const act_params *post);
/* The other way: tile[i * ldt + j] = x[j * ldx + i] for rows x cols (an NCHW residual's tile, for the epilogue). */
void s8_load_nchw(int isa, int rows, int cols, const float *x, int64_t ldx, float *tile, int64_t ldt);

/* The scalar definition of the epilogue for one element, which every path reproduces bit for bit. */
static inline void s8_ep_scalar(int32_t dot, int i, int j, const s8_tile_ep *ep, void *c, int64_t ldc) {
    /* the true value fits int32 (GEMM_S8_K_MAX); the wrapped intermediate is computed without overflow */
    int32_t acc = (int32_t)((uint32_t)dot - (uint32_t)ep->a_zero[i * ep->a_step] * (uint32_t)ep->col_sum[j]);
    float v = fmaf((float)acc, ep->a_scale[i * ep->a_step] * ep->mult[j], ep->off[j]);
    if (ep->res) v = fmaf((float)((int32_t)ep->res[i * ep->ld_res + j] - ep->res_zero), ep->res_scale, v);
    if (ep->res_f32) v += ep->res_f32[i * ep->ld_res_f32 + j];
    v *= ep->inv_out;
    v = fminf(fmaxf(v, ep->lo), ep->hi);
    if (ep->out_u8) ((uint8_t *)c)[i * ldc + j] = (uint8_t)((int32_t)nearbyintf(v) + ep->out_zero);
    else ((float *)c)[i * ldc + j] = v;
}

#endif
