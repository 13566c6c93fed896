/* gemm_s8_ep256.h — the INT8 GEMM epilogue on 8 int32 lanes, bit for bit s8_ep_scalar; included by the
 * 256-bit tile kernels after defining S8_TARGET256 (their target attribute, with avx2 and fma). */

/* Columns j0 .. j0+n-1 (n <= 8) of row i from the int32 dot products. */
S8_TARGET256 static inline __attribute__((always_inline)) void s8_ep8(__m256i dot, int i, int j0, int n,
                                                                      const s8_tile_ep *ep, void *c, int64_t ldc) {
    __m256i za = _mm256_set1_epi32(ep->a_zero[i * ep->a_step]);
    __m256i acc = _mm256_sub_epi32(dot, _mm256_mullo_epi32(za, _mm256_loadu_si256((const __m256i *)(ep->col_sum + j0))));
    __m256 mult = _mm256_mul_ps(_mm256_set1_ps(ep->a_scale[i * ep->a_step]), _mm256_loadu_ps(ep->mult + j0));
    __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), mult, _mm256_loadu_ps(ep->off + j0));
    if (ep->res) {
        uint8_t r8[8] = { 0 };
        memcpy(r8, ep->res + i * ep->ld_res + j0, (size_t)n);
        __m256i q = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)r8));
        v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q, _mm256_set1_epi32(ep->res_zero))),
                            _mm256_set1_ps(ep->res_scale), v);
    }
    if (ep->res_f32) {
        float r[8] = { 0 };
        memcpy(r, ep->res_f32 + i * ep->ld_res_f32 + j0, (size_t)n * sizeof(float));
        v = _mm256_add_ps(v, _mm256_loadu_ps(r));
    }
    v = _mm256_mul_ps(v, _mm256_set1_ps(ep->inv_out));
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(ep->lo)), _mm256_set1_ps(ep->hi));
    if (ep->out_u8) {
        __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(ep->out_zero));
        __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        __m128i bytes = _mm_packus_epi16(w, w);
        uint8_t *dst = (uint8_t *)c + i * ldc + j0;
        if (n == 8) {
            _mm_storel_epi64((__m128i *)dst, bytes);
        } else {
            uint8_t tmp[16];
            _mm_storeu_si128((__m128i *)tmp, bytes);
            memcpy(dst, tmp, (size_t)n);
        }
    } else {
        float *dst = (float *)c + i * ldc + j0;
        if (n == 8) {
            _mm256_storeu_ps(dst, v);
        } else {
            float tmp[8];
            _mm256_storeu_ps(tmp, v);
            memcpy(dst, tmp, (size_t)n * sizeof(float));
        }
    }
}
