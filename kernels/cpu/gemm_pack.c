/* gemm_pack.c — copies blocks of A and B into the k-major slivers the GEMM micro-kernels read. */
#include <string.h>
#include "gemm_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include "transpose16_avx512.h"

/* Transposes 16 rows x 16 columns (row stride ld) into 16 rows of the sliver (row stride nr). */
__attribute__((target("avx512f"))) static void transpose16x16(const float *src, int64_t ld, float *dst, int nr) {
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * ld);
    transpose16_avx512(r);
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * nr, r[i]);
}

/* Transposes 8 rows x 8 columns (row stride ld) into 8 rows of the sliver (row stride nr). */
__attribute__((target("avx2"))) static void transpose8x8(const float *src, int64_t ld, float *dst, int nr) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * ld);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(dst + i * nr, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
        _mm256_storeu_ps(dst + (i + 4) * nr, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
}
#endif

/* Gathers column-wise: dst[k * width + w] = src[w * ld + k] for w < count, zero beyond. */
static void pack_strided(int64_t kc, int width, int count, const float *src, int64_t ld, float *dst) {
    for (int64_t k = 0; k < kc; k++) {
        float *d = dst + k * width;
        for (int w = 0; w < count; w++) d[w] = src[w * ld + k];
        for (int w = count; w < width; w++) d[w] = 0.0f;
    }
}

/* Copies rows: dst[k * width + w] = src[k * ld + w] for w < count, zero beyond. */
static void pack_rows(int64_t kc, int width, int count, const float *src, int64_t ld, float *dst) {
    for (int64_t k = 0; k < kc; k++) {
        float *d = dst + k * width;
        const float *s = src + k * ld;
        for (int w = 0; w < count; w++) d[w] = s[w];
        for (int w = count; w < width; w++) d[w] = 0.0f;
    }
}

#if defined(__x86_64__)
/* pack_rows for full slivers of 16 * nv lanes. */
__attribute__((target("avx512f"))) static void pack_rows_avx512(int64_t kc, int nv, const float *src, int64_t ld,
                                                                float *dst) {
    for (int64_t k = 0; k < kc; k++, src += ld, dst += 16 * nv)
        for (int v = 0; v < nv; v++) _mm512_storeu_ps(dst + 16 * v, _mm512_loadu_ps(src + 16 * v));
}

/* pack_rows for full slivers of 8 * nv lanes. */
__attribute__((target("avx2"))) static void pack_rows_avx2(int64_t kc, int nv, const float *src, int64_t ld,
                                                           float *dst) {
    for (int64_t k = 0; k < kc; k++, src += ld, dst += 8 * nv)
        for (int v = 0; v < nv; v++) _mm256_storeu_ps(dst + 8 * v, _mm256_loadu_ps(src + 8 * v));
}
#endif

static void pack_sliver_rows(int isa, int64_t kc, int width, int count, const float *src, int64_t ld, float *dst) {
#if defined(__x86_64__)
    if (count == width && isa == CPU_ISA_AVX512 && width % 16 == 0) {
        pack_rows_avx512(kc, width / 16, src, ld, dst);
        return;
    }
    if (count == width && isa >= CPU_ISA_AVX2 && width % 8 == 0) {
        pack_rows_avx2(kc, width / 8, src, ld, dst);
        return;
    }
#endif
    (void)isa;
    pack_rows(kc, width, count, src, ld, dst);
}

/* One sliver of `width` lanes whose elements are src[w * ld + k] (lanes strided, k contiguous). */
static void pack_sliver_strided(int isa, int64_t kc, int width, int count, const float *src, int64_t ld,
                                float *dst) {
#if defined(__x86_64__)
    if (isa == CPU_ISA_AVX512 && count == width && width % 16 == 0) {
        int64_t k = 0;
        for (; k + 16 <= kc; k += 16)
            for (int w = 0; w < width; w += 16) transpose16x16(src + w * ld + k, ld, dst + k * width + w, width);
        if (k < kc) pack_strided(kc - k, width, count, src + k, ld, dst + k * width);
        return;
    }
    if (isa >= CPU_ISA_AVX2 && count == width && width % 8 == 0) {
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8)
            for (int w = 0; w < width; w += 8) transpose8x8(src + w * ld + k, ld, dst + k * width + w, width);
        if (k < kc) pack_strided(kc - k, width, count, src + k, ld, dst + k * width);
        return;
    }
#endif
    (void)isa;
    pack_strided(kc, width, count, src, ld, dst);
}

void gemm_pack_a(int isa, int mr, int64_t mc, int64_t kc, const float *a, int64_t lda, int trans_a, float *dst) {
    for (int64_t i = 0; i < mc; i += mr) {
        int rows = (int)(mc - i < mr ? mc - i : mr);
        if (trans_a) pack_sliver_rows(isa, kc, mr, rows, a + i, lda, dst + i * kc);
        else pack_sliver_strided(isa, kc, mr, rows, a + i * lda, lda, dst + i * kc);
    }
}

#if defined(__x86_64__)
/* One row of a row-major block, its first `full` floats, into that row of each of its full slivers of 16 * nv lanes. */
__attribute__((target("avx512f"))) static void pack_row_avx512(int nv, int64_t full, const float *src, float *dst,
                                                               int64_t sliver_floats) {
    for (int64_t j = 0; j < full; j += 16 * nv, src += 16 * nv, dst += sliver_floats)
        for (int v = 0; v < nv; v++) _mm512_storeu_ps(dst + 16 * v, _mm512_loadu_ps(src + 16 * v));
}
#endif

/* A row-major block row by row (each row of B read once, front to back, so that the hardware prefetcher streams it:
 * an image read as B has rows ohw floats apart, and sliver by sliver each row was a separate miss) into its slivers
 * (bench/pack_order_bench: 1.3-1.5x on the 1x1 layers at 56x56). */
static void pack_block_rows(int isa, int nr, int64_t kc, int64_t nc, const float *b, int64_t ldb, float *dst) {
    int64_t full = nc / nr * nr;
    for (int64_t k = 0; k < kc; k++) {
        const float *src = b + k * ldb;
        float *d = dst + k * nr;
#if defined(__x86_64__)
        if (isa == CPU_ISA_AVX512 && nr % 16 == 0) pack_row_avx512(nr / 16, full, src, d, kc * nr);
        else
#endif
            for (int64_t j = 0; j < full; j += nr) memcpy(d + j * kc, src + j, (size_t)nr * sizeof *d);
        if (full < nc) pack_rows(1, nr, (int)(nc - full), src + full, 0, d + full * kc);
    }
}

void gemm_pack_b(int isa, int nr, int64_t kc, int64_t nc, const float *b, int64_t ldb, int trans_b, float *dst) {
    if (!trans_b) {
        pack_block_rows(isa, nr, kc, nc, b, ldb, dst);
        return;
    }
    for (int64_t j = 0; j < nc; j += nr) {
        int cols = (int)(nc - j < nr ? nc - j : nr);
        pack_sliver_strided(isa, kc, nr, cols, b + j * ldb, ldb, dst + j * kc);
    }
}
