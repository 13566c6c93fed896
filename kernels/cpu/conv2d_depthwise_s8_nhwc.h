/* conv2d_depthwise_s8_nhwc.h — what the depthwise INT8 NHWC kernel's driver shares with its x86 vector code. */
#ifndef INFER_CONV2D_DEPTHWISE_S8_NHWC_H
#define INFER_CONV2D_DEPTHWISE_S8_NHWC_H

#include "gemm_s8_internal.h"

/* How the weights are packed and run. Channels go in blocks of 64 (AVX-512) or 32 (AVX2); a block's taps go
 * in groups of 4 (u8 x s8 quads for vpdpbusd) or 2 (int16 pairs for vpmaddwd). One group of one block is four
 * vectors V_k, k = 0..3, whose 32-bit lane j of 128-bit lane L is channel 16L + 4k + j of the block: the order
 * in which byte and word unpacks of the taps' channel vectors leave their lanes, and which the packs of the
 * requantized V_0..V_3 (32 -> 16 -> 8 bits) put back into channel order. AVX-512 runs a last single tap (taps
 * = 4n + 1: 3x3, 5x5, 7x7) as one vector of 64 channels whose dwords k are broadcast in each 128-bit lane
 * (vpshufd) for V_k, weighted by byte j of lane j only. A block of at most 32 channels (C <= 32, or the last
 * block) runs two output positions per AVX-512 vector, the second in lanes 2-3: its channel c0 + 32 + i repeats
 * channel c0 + i. The packed buffer is int32 sums over the taps per channel (channels rounded up to the
 * block), then the groups of block 0, of block 1, ... The scalar layout is w itself [C][taps]; so are vector
 * paths' with more than DW_TAPS_MAX taps (run scalar). */
enum { LAYOUT_SCALAR, LAYOUT_AVX2, LAYOUT_AVX512 };
#define DW_TAPS_MAX 128

static inline int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/* One call: geometry, data, and the taps' offsets from the first tap of a position. */
typedef struct {
    const conv_s8_geometry *g;
    const uint8_t *x;
    int64_t xs;
    const void *packed;
    const gemm_s8_epilogue *ep;
    uint8_t *y;
    int64_t ys;
    int layout;
    int taps, groups, padded_taps; /* groups of the unpacks (the last padded with repeats of the last tap) */
    int single;                    /* and then the last tap alone */
    int64_t col_lo, col_hi;        /* output columns whose taps are all inside the row */
    const void *epilogues;         /* NULL, or each block's dw_s8_nhwc_epilogue computed once */
    int64_t tile_rows;             /* rows run block by block (each block's epilogue computed per tile) */
    float inv, lo, hi;             /* 1 / out_scale; the clamp of v */
    int64_t off[DW_TAPS_MAX];      /* bytes from the position's first tap to tap k */
    int32_t di[DW_TAPS_MAX], dj[DW_TAPS_MAX]; /* rows and columns from the first tap to tap k */
} dw_job;

/* Row r's first input row, its image's channel c0, and whether all its taps' rows are inside the image. */
static inline int row_inside(const dw_job *job, int64_t r, int64_t c0, int64_t *ih0, const uint8_t **image) {
    const conv_s8_geometry *g = job->g;
    int64_t n = r / g->out_height;
    *ih0 = r % g->out_height * g->stride_h - g->pad_h;
    *image = job->x + n * g->height * g->width * job->xs + c0;
    return *ih0 >= 0 && *ih0 + job->di[job->taps - 1] < g->height;
}

/* Output column ow's tap addresses (from image, at rows from ih0), NULL for a tap in the padding; the padded
 * taps past the last repeat it (their weights are 0). */
static inline void tap_pointers(const dw_job *job, const uint8_t *image, int64_t ih0, int64_t ow, const uint8_t **tp) {
    const conv_s8_geometry *g = job->g;
    int64_t iw0 = ow * g->stride_w - g->pad_w;
    for (int t = 0; t < job->taps; t++) {
        int64_t ih = ih0 + job->di[t], iw = iw0 + job->dj[t];
        tp[t] = ih >= 0 && ih < g->height && iw >= 0 && iw < g->width ? image + (ih * g->width + iw) * job->xs : NULL;
    }
    for (int t = job->taps; t < job->padded_taps; t++) tp[t] = tp[job->taps - 1];
}

/* The per-lane epilogue of channels [c0, c0 + bw) in vector order (see the layout): scale, offset, and the
 * accumulator's start -a_zero * (sum of the channel's taps), so that padding taps read as a_zero add 0. */
void dw_s8_nhwc_epilogue(const dw_job *job, int64_t c0, int64_t bw, float *scale, float *off, int32_t *start);
/* Block c0's terms as 3 * bw floats (scale, offset, start as int32): job->epilogues' part when they were computed
 * once, else computed into buf (3 * bw floats). */
const float *dw_s8_nhwc_block_terms(const dw_job *job, int64_t c0, int64_t bw, float *buf);

/* Output rows [r0, r1) (of batch x out_height), channels [c0, c0 + 64) on AVX-512 / [c0, c0 + 32) on AVX2
 * (conv2d_depthwise_s8_nhwc_x86.c). */
void dw_s8_nhwc_block_avx512(const dw_job *job, int64_t c0, int64_t r0, int64_t r1);
void dw_s8_nhwc_block_avx2(const dw_job *job, int64_t c0, int64_t r0, int64_t r1);

#endif
