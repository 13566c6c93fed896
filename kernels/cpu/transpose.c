/* transpose.c — N-d permute of any dtype: strided row copies, or cache-blocked tiles when the last dim moves. */
#include <immintrin.h>
#include <string.h>
#include "cpu_kernels.h"
#include "broadcast.h"
#include "../../base/error.h"

#define TILE 64                    /* tile edge of the blocked 2-D transposes */
#define TRANSPOSE_TASK_BYTES 65536 /* bytes a parallel task moves at least */

/* The blocked case: out dim q reads the input contiguously, the last out dim reads it with a
 * stride. Units are (batch index, tile of TILE rows along q); the other dims form the batch. */
typedef struct {
    const bcast_plan *p;   /* collapsed out dims with input strides */
    int q;
    int64_t out_stride[INFER_MAX_DIMS];
    int64_t q_tiles, batch;
    const uint8_t *x;
    uint8_t *y;
    size_t esize;
    int isa;
} tiled_args;

#define TILE_COPY(T)                                                                         \
    for (int64_t a = 0; a < rows; a++)                                                       \
        for (int64_t b = 0; b < cols; b++)                                                   \
            ((T *)y)[a * oq + b] = ((const T *)x)[a + b * sl]

static void copy_tile(const uint8_t *x, uint8_t *y, int64_t rows, int64_t cols, int64_t oq, int64_t sl, size_t esize) {
    switch (esize) {
    case 1: TILE_COPY(uint8_t); break;
    case 2: TILE_COPY(uint16_t); break;
    case 4: TILE_COPY(uint32_t); break;
    case 8: TILE_COPY(uint64_t); break;
    default:
        for (int64_t a = 0; a < rows; a++)
            for (int64_t b = 0; b < cols; b++)
                memcpy(y + (a * oq + b) * (int64_t)esize, x + (a + b * sl) * (int64_t)esize, esize);
        break;
    }
}

/* 4-byte elements: 8x8 blocks transposed in registers, the ragged edges by copy_tile. */
__attribute__((target("avx2"))) static void copy_tile_avx2(const float *x, float *y, int64_t rows, int64_t cols,
                                                           int64_t oq, int64_t sl) {
    int64_t rows8 = rows & ~(int64_t)7, cols8 = cols & ~(int64_t)7;
    for (int64_t a = 0; a < rows8; a += 8)
        for (int64_t b = 0; b < cols8; b += 8) {
            const float *src = x + a + b * sl;
            __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + sl), r2 = _mm256_loadu_ps(src + 2 * sl);
            __m256 r3 = _mm256_loadu_ps(src + 3 * sl), r4 = _mm256_loadu_ps(src + 4 * sl);
            __m256 r5 = _mm256_loadu_ps(src + 5 * sl), r6 = _mm256_loadu_ps(src + 6 * sl);
            __m256 r7 = _mm256_loadu_ps(src + 7 * sl);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *dst = y + a * oq + b;
            _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(dst + oq, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(dst + 2 * oq, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(dst + 3 * oq, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(dst + 4 * oq, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(dst + 5 * oq, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(dst + 6 * oq, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(dst + 7 * oq, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
    if (cols8 < cols) copy_tile((const uint8_t *)(x + cols8 * sl), (uint8_t *)(y + cols8), rows8, cols - cols8, oq, sl, 4);
    if (rows8 < rows) copy_tile((const uint8_t *)(x + rows8), (uint8_t *)(y + rows8 * oq), rows - rows8, cols, oq, sl, 4);
}

static void tiled_units(void *arg, int64_t begin, int64_t end, int thread) {
    const tiled_args *A = arg;
    const bcast_plan *p = A->p;
    int last = p->ndim - 1;
    int64_t nq = p->dims[A->q], nl = p->dims[last], sl = p->stride[0][last], oq = A->out_stride[A->q];
    for (int64_t u = begin; u < end; u++) {
        int64_t rest = u / A->q_tiles, q0 = (u % A->q_tiles) * TILE, in_off = q0, out_off = q0 * oq;
        for (int k = last - 1; k >= 0; k--) {
            if (k == A->q) continue;
            int64_t i = rest % p->dims[k];
            rest /= p->dims[k];
            in_off += i * p->stride[0][k];
            out_off += i * A->out_stride[k];
        }
        int64_t rows = nq - q0 < TILE ? nq - q0 : TILE;
        for (int64_t l0 = 0; l0 < nl; l0 += TILE) {
            int64_t cols = nl - l0 < TILE ? nl - l0 : TILE;
            const uint8_t *src = A->x + (in_off + l0 * sl) * (int64_t)A->esize;
            uint8_t *dst = A->y + (out_off + l0) * (int64_t)A->esize;
            if (A->esize == 4 && A->isa >= CPU_ISA_AVX2) copy_tile_avx2((const float *)src, (float *)dst, rows, cols, oq, sl);
            else copy_tile(src, dst, rows, cols, oq, sl, A->esize);
        }
    }
}

CPU_KERNEL(transpose) {
    const transpose_params *tp = &n->p.transpose;
    const infer_tensor *x = &in[0];
    size_t esize = infer_dtype_size(x->dtype);
    if (tp->ndim != x->ndim || out[0].ndim != x->ndim || out[0].dtype != x->dtype || esize == 0)
        return infer_fail(err, INFER_ERR_SHAPE, "transpose: perm of %d entries for a %d-d input and %d-d output",
                          tp->ndim, x->ndim, out[0].ndim);
    int64_t in_stride[INFER_MAX_DIMS], dims[INFER_MAX_DIMS], strides[INFER_MAX_DIMS], s = 1;
    for (int k = x->ndim - 1; k >= 0; k--) {
        in_stride[k] = s;
        s *= x->dims[k];
    }
    for (int k = 0; k < x->ndim; k++) {
        int src = tp->perm[k];
        if (src < 0 || src >= x->ndim || out[0].dims[k] != x->dims[src])
            return infer_fail(err, INFER_ERR_SHAPE, "transpose: output dim %d (%lld) is not input dim %d", k,
                              (long long)out[0].dims[k], src);
        dims[k] = x->dims[src];
        strides[k] = in_stride[src];
    }
    if (s == 0) return INFER_OK;
    bcast_plan plan;
    bcast_plan_strided(&plan, x->ndim, dims, strides);
    int last = plan.ndim - 1, q = -1;
    for (int k = 0; k < last; k++)
        if (plan.stride[0][k] == 1) q = k;
    if (plan.stride[0][last] == 1 || q < 0) { /* rows stay rows: strided row copies */
        bcast_copy(ctx->pool, &plan, x->data, out[0].data, esize);
        return INFER_OK;
    }
    tiled_args args = { &plan, q, { 0 }, (plan.dims[q] + TILE - 1) / TILE, 1, x->data, out[0].data, esize, ctx->isa };
    int64_t os = 1;
    for (int k = last; k >= 0; k--) {
        args.out_stride[k] = os;
        os *= plan.dims[k];
        if (k != q && k != last) args.batch *= plan.dims[k];
    }
    int64_t unit_bytes = TILE * plan.dims[last] * (int64_t)esize, grain = TRANSPOSE_TASK_BYTES / unit_bytes;
    pool_parallel_for(ctx->pool, args.batch * args.q_tiles, grain > 1 ? grain : 1, tiled_units, &args);
    return INFER_OK;
}

const cpu_kernel cpu_kernels_transpose[] = {
    { .storages = CPU_DENSE, .run = cpu_transpose },
    { 0 },
};
