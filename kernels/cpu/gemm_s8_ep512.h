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

/* s8_ep16 over rows [0, rows) of int32 dot products acc (rows ld_acc apart), columns j0 .. j0+15 (lanes in m): with a
 * per-tensor activation scale the per-column terms are loaded and computed once, not per row (the same operations,
 * so the same bits). */
S8_TARGET512 static inline __attribute__((always_inline)) void s8_ep16_rows(const int32_t *acc, int64_t ld_acc, int rows,
                                                                            int j0, __mmask16 m, const s8_tile_ep *ep,
                                                                            void *c, int64_t ldc) {
    if (ep->a_step) {
        for (int i = 0; i < rows; i++) s8_ep16(_mm512_loadu_si512(acc + i * ld_acc), i, j0, m, ep, c, ldc);
        return;
    }
    const __m512i zc = _mm512_mullo_epi32(_mm512_set1_epi32(ep->a_zero[0]), _mm512_loadu_si512(ep->col_sum + j0));
    const __m512 mult = _mm512_mul_ps(_mm512_set1_ps(ep->a_scale[0]), _mm512_loadu_ps(ep->mult + j0));
    const __m512 off = _mm512_loadu_ps(ep->off + j0), inv = _mm512_set1_ps(ep->inv_out);
    const __m512 lo = _mm512_set1_ps(ep->lo), hi = _mm512_set1_ps(ep->hi);
    const __m512i rz = _mm512_set1_epi32(ep->res_zero), oz = _mm512_set1_epi32(ep->out_zero);
    const __m512 rs = _mm512_set1_ps(ep->res_scale);
    const uint8_t *res = ep->res ? ep->res + j0 : NULL;
    const float *res_f32 = ep->res_f32 ? ep->res_f32 + j0 : NULL;
    int64_t ld_res = ep->ld_res, ld_res_f32 = ep->ld_res_f32;
    if (ep->out_u8) {
        uint8_t *y = (uint8_t *)c + j0;
        for (int i = 0; i < rows; i++) {
            __m512i a = _mm512_sub_epi32(_mm512_loadu_si512(acc + i * ld_acc), zc);
            __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a), mult, off);
            if (res) {
                __m512i q = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, res + i * ld_res));
                v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, rz)), rs, v);
            }
            if (res_f32) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, res_f32 + i * ld_res_f32));
            v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v, inv), lo), hi);
            _mm_mask_storeu_epi8(y + i * ldc, m, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), oz)));
        }
        return;
    }
    for (int i = 0; i < rows; i++) s8_ep16(_mm512_loadu_si512(acc + i * ld_acc), i, j0, m, ep, c, ldc);
}
