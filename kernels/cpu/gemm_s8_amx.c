/* gemm_s8_amx.c — the AMX-INT8 tile: 16 rows x 32 columns as two 16x16 int32 tile accumulators of tdpbusd
 * over 64-byte K blocks; the packed panels' 128-byte k-quad rows are read as two B tiles (stride 128). */
#include <string.h>
#include "gemm_s8_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_TARGET512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma,amx-tile,amx-int8")))
#include "gemm_s8_ep512.h"

#define MR 16
#define NR 32
#define KB 64 /* bytes of K per tile row */

/* ldtilecfg's 64-byte operand (palette 1). */
typedef struct {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* tmm0, tmm1: C (16 x 16 int32); tmm2: A (16 rows x 64 u8); tmm3, tmm4: B (16 k-quads x 16 columns x 4 s8). Loaded
 * once per thread's run of tiles (ldtilecfg costs as much as a small tile's arithmetic). */
S8_TARGET512 static void setup_amx(void) {
    /* a constant: GCC drops stores into a stack copy that only ldtilecfg reads */
    static const _Alignas(64) tile_config config = { .palette = 1, .colsb = { 64, 64, 64, 64, 64 },
                                                     .rows = { 16, 16, 16, 16, 16 } };
    _tile_loadconfig(&config);
}

S8_TARGET512 static void release_amx(void) { _tile_release(); }

S8_TARGET512 static void tile_amx(int rows, int cols, int64_t K, const void *a_rows, int64_t lda, const void *panel,
                                  const s8_tile_ep *ep, void *c, int64_t ldc) {
    _tile_zero(0);
    _tile_zero(1);
    const uint8_t *a = a_rows;
    const int8_t *b = panel;
    _Alignas(64) uint8_t edge[MR * KB];
    for (int64_t k0 = 0; k0 < K; k0 += KB, b += 16 * NR * 4) {
        if (rows == MR && k0 + KB <= K) {
            _tile_loadd(2, a + k0, lda);
        } else { /* the block past A's last row or K, zero-filled */
            int64_t n = K - k0 < KB ? K - k0 : KB;
            memset(edge, 0, sizeof edge);
            for (int i = 0; i < rows; i++) memcpy(edge + i * KB, a + i * lda + k0, (size_t)n);
            _tile_loadd(2, edge, KB);
        }
        _tile_loadd(3, b, NR * 4);
        _tile_loadd(4, b + 64, NR * 4);
        _tile_dpbusd(0, 2, 3);
        _tile_dpbusd(1, 2, 4);
    }
    _Alignas(64) int32_t acc[MR * NR];
    _tile_stored(0, acc, NR * 4);
    _tile_stored(1, acc + 16, NR * 4);
    __mmask16 m0 = s8_cols16(cols, 0), m1 = s8_cols16(cols, 16);
    for (int i = 0; i < rows; i++) {
        s8_ep16(_mm512_load_si512(acc + i * NR), i, 0, m0, ep, c, ldc);
        if (m1) s8_ep16(_mm512_load_si512(acc + i * NR + 16), i, 16, m1, ep, c, ldc);
    }
}

const s8_arch *s8_arch_amx(void) {
    static const s8_arch arch = { MR, NR, 4, KB, tile_amx, NULL, NULL, setup_amx, release_amx };
    return &arch;
}

#else

const s8_arch *s8_arch_amx(void) { return NULL; }

#endif
