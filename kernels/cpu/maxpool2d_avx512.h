/* maxpool2d_avx512.h — the AVX-512 max pooling row (maxpool2d_avx512.c) that maxpool2d.c picks where it applies. */
#ifndef INFER_CPU_MAXPOOL2D_AVX512_H
#define INFER_CPU_MAXPOOL2D_AVX512_H

#include "pool2d.h"

/* The row buffer on the stack (floats) and its -inf lead for the left padding. */
#define MAXPOOL_AVX512_ROW 2048
#define MAXPOOL_AVX512_LEAD 16

/* The row function for pooling p over input rows w wide into ow outputs: no dilation, column stride 1 or 2,
 * padding up to MAXPOOL_AVX512_LEAD, rows that fit the buffer; NULL otherwise (or off x86-64). Only for an
 * engine whose isa is CPU_ISA_AVX512. */
pool2d_row_fn maxpool2d_row_avx512(const pool2d_params *p, int64_t w, int64_t ow);

#endif
