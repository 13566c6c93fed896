/* gemm_s8_ep512.h — the INT8 GEMM epilogue on 16 int32 lanes, bit for bit s8_ep_scalar; included by the
 * AVX-512 tile kernels after defining S8_TARGET512 (their target attribute). */

/* Columns j0 .. j0+15 (lanes in m) of row i from the int32 dot products. */
S8_TARGET512 static inline __attribute__((always_inline)) void s8_ep16(__m512i dot, int i, int j0, __mmask16 m,
                                                                       const s8_tile_ep *ep, void *c, int64_t ldc) {
    __m512i za = _mm512_set1_epi32(ep->a_zero[i * ep->a_step]);
    __m512i acc = _mm512_sub_epi32(dot, _mm512_mullo_epi32(za, _mm512_loadu_si512(ep->col_sum + j0)));
    __m512 mult = _mm512_mul_ps(_mm512_set1_ps(ep->a_scale[i * ep->a_step]), _mm512_loadu_ps(ep->mult + j0));
    __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), mult, _mm512_loadu_ps(ep->off + j0));
    if (ep->res) {
        __m512i q = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, ep->res + i * ep->ld_res + j0));
        v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, _mm512_set1_epi32(ep->res_zero))),
                            _mm512_set1_ps(ep->res_scale), v);
    }
    if (ep->res_f32) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, ep->res_f32 + i * ep->ld_res_f32 + j0));
    v = _mm512_mul_ps(v, _mm512_set1_ps(ep->inv_out));
    v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(ep->lo)), _mm512_set1_ps(ep->hi));
    if (ep->out_u8) {
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(ep->out_zero));
        _mm_mask_storeu_epi8((uint8_t *)c + i * ldc + j0, m, _mm512_cvtepi32_epi8(q));
    } else {
        _mm512_mask_storeu_ps((float *)c + i * ldc + j0, m, v);
    }
}

/* The lanes of columns [j0, j0 + 16) below cols. */
static inline __mmask16 s8_cols16(int cols, int j0) {
    int n = cols - j0;
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}
