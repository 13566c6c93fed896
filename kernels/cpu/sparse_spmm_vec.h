/* sparse_spmm_vec.h — the SpMM rows for vector width VW, included by sparse_spmm.c under each ISA's target
 * (VNAME suffixes the names): CSR rows over chunks of columns, 4 x 4 block rows, and the one-column dot. */

/* V, VLOAD(p), VSTORE(p, v), VZERO(), VFMA(a, b, c) = a * b + c and VSET1(x) come from the includer. */

/* CSR row r over columns [j, j + U*VW): 2 x U accumulators (even and odd non-zeros). */
#define CSR_CHUNK(U)                                                                                            \
    for (; j + (U) * VW <= ncols; j += (U) * VW) {                                                              \
        V acc[U], odd[U];                                                                                       \
        for (int u = 0; u < (U); u++) acc[u] = odd[u] = VZERO();                                               \
        int32_t k = k0;                                                                                         \
        for (; k + 1 < k1; k += 2) {                                                                            \
            const float *b0 = B + (int64_t)idx[k] * ldb + j, *b1 = B + (int64_t)idx[k + 1] * ldb + j;           \
            float v0 = val[k], v1 = val[k + 1];                                                                 \
            for (int u = 0; u < (U); u++) {                                                                     \
                acc[u] = VFMA(VSET1(v0), VLOAD(b0 + u * VW), acc[u]);                                                        \
                odd[u] = VFMA(VSET1(v1), VLOAD(b1 + u * VW), odd[u]);                                                        \
            }                                                                                                   \
        }                                                                                                       \
        if (k < k1)                                                                                             \
            for (int u = 0; u < (U); u++)                                                                     \
                acc[u] = VFMA(VSET1(val[k]), VLOAD(B + (int64_t)idx[k] * ldb + j + u * VW), acc[u]);            \
        for (int u = 0; u < (U); u++) VSTORE(C + r * ldc + j + u * VW, VADD(acc[u], odd[u]));                  \
    }

static void VNAME(csr_rows)(const sparse_matrix *m, int64_t r0, int64_t r1, const float *B, int64_t ldb,
                            int64_t ncols, float *C, int64_t ldc) {
    const int32_t *ptr = m->ptr, *idx = m->idx;
    const float *val = m->val;
    for (int64_t r = r0; r < r1; r++) {
        int32_t k0 = ptr[r], k1 = ptr[r + 1];
        int64_t j = 0;
        if (ncols == 1 && ldb == 1) { /* one column: a gathered dot product */
            C[r * ldc] = VNAME(dot)(val + k0, idx + k0, k1 - k0, B);
            continue;
        }
        CSR_CHUNK(4)
        CSR_CHUNK(2)
        CSR_CHUNK(1)
        for (; j < ncols; j++) {
            float s = 0.0f;
            for (int32_t k = k0; k < k1; k++) s += val[k] * B[(int64_t)idx[k] * ldb + j];
            C[r * ldc + j] = s;
        }
    }
}
#undef CSR_CHUNK

/* 4 x 4 block row br over columns [j, j + U*VW): 4 x U accumulators; block values column-major. */
#define BSR_CHUNK(U)                                                                                            \
    for (; j + (U) * VW <= ncols; j += (U) * VW) {                                                              \
        V acc[4][U];                                                                                            \
        for (int i = 0; i < 4; i++)                                                                             \
            for (int u = 0; u < (U); u++) acc[i][u] = VZERO();                                                 \
        for (int32_t k = k0; k < k1; k++) {                                                                     \
            const float *b = B + (int64_t)idx[k] * 4 * ldb + j, *v = val + (int64_t)k * 16;                    \
            for (int c = 0; c < 4; c++) {                                                                       \
                V bv[U];                                                                                        \
                for (int u = 0; u < (U); u++) bv[u] = VLOAD(b + c * ldb + u * VW);                        \
                for (int i = 0; i < 4; i++)                                                                     \
                    for (int u = 0; u < (U); u++) acc[i][u] = VFMA(VSET1(v[c * 4 + i]), bv[u], acc[i][u]);                            \
            }                                                                                                   \
        }                                                                                                       \
        for (int i = 0; i < 4; i++)                                                                             \
            for (int u = 0; u < (U); u++) VSTORE(C + (br * 4 + i) * ldc + j + u * VW, acc[i][u]);         \
    }

static void VNAME(bsr4_rows)(const sparse_matrix *m, int64_t r0, int64_t r1, const float *B, int64_t ldb,
                             int64_t ncols, float *C, int64_t ldc) {
    const int32_t *ptr = m->ptr, *idx = m->idx;
    const float *val = m->val;
    for (int64_t br = r0 / 4; br < r1 / 4; br++) {
        int32_t k0 = ptr[br], k1 = ptr[br + 1];
        int64_t j = 0;
        BSR_CHUNK(2)
        BSR_CHUNK(1)
        for (; j < ncols; j++) {
            __m128 acc = _mm_setzero_ps();
            for (int32_t k = k0; k < k1; k++) {
                const float *b = B + (int64_t)idx[k] * 4 * ldb + j, *v = val + (int64_t)k * 16;
                for (int c = 0; c < 4; c++) acc = _mm_fmadd_ps(_mm_loadu_ps(v + c * 4), _mm_set1_ps(b[c * ldb]), acc);
            }
            float out4[4];
            _mm_storeu_ps(out4, acc);
            for (int i = 0; i < 4; i++) C[(br * 4 + i) * ldc + j] = out4[i];
        }
    }
}
#undef BSR_CHUNK

static void VNAME(spmm_rows)(const sparse_matrix *m, int64_t r0, int64_t r1, const float *B, int64_t ldb,
                             int64_t ncols, float *C, int64_t ldc) {
    if (m->bh == 4 && m->bw == 4) VNAME(bsr4_rows)(m, r0, r1, B, ldb, ncols, C, ldc);
    else VNAME(csr_rows)(m, r0, r1, B, ldb, ncols, C, ldc);
}

/* The including file defines these parameters once per instantiation. */
#undef VW
#undef VNAME
#undef V
#undef VLOAD
#undef VSTORE
#undef VZERO
#undef VFMA
#undef VADD
#undef VSET1
