/* gemm_bf16_amx.c — the AMX-BF16 tile: up to 32 rows x 32 columns as 2 x 2 FP32 tile sums of tdpbf16ps over 32-wide K
 * steps; the panels' 128-byte pair rows are read as two B tiles (stride 128). */
#include <string.h>
#include "amx_tiles.h"
#include "gemm_bf16.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("amx-tile,amx-bf16")))

/* tmm0-3: C (16 x 16 f32: rows 0-15 / 16-31 x columns 0-15 / 16-31); tmm4, tmm5: A (16 rows x 32 bf16);
 * tmm6, tmm7: B (16 pair rows x 16 columns x 2 bf16). All 16 rows x 64 bytes. */
void bf16_amx_configure(void) { amx_tiles_configure(8); }

void bf16_amx_release(void) { amx_tiles_release(); }

TARGET void bf16_tile_amx(int rows, int64_t kp, const uint16_t *a, int64_t lda, const uint16_t *panel, float *tmp) {
    int64_t a_stride = lda * 2, pair_rows = BF16_KB / 2;
    if (rows > 16) {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
        for (int64_t k = 0; k < kp; k += BF16_KB, panel += pair_rows * BF16_NR * 2) {
            _tile_loadd(4, a + k, a_stride);
            _tile_loadd(5, a + 16 * lda + k, a_stride);
            _tile_loadd(6, panel, BF16_NR * 4);
            _tile_loadd(7, panel + 32, BF16_NR * 4);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
        _tile_stored(0, tmp, BF16_NR * 4);
        _tile_stored(1, tmp + 16, BF16_NR * 4);
        _tile_stored(2, tmp + 16 * BF16_NR, BF16_NR * 4);
        _tile_stored(3, tmp + 16 * BF16_NR + 16, BF16_NR * 4);
        return;
    }
    _tile_zero(0);
    _tile_zero(1);
    for (int64_t k = 0; k < kp; k += BF16_KB, panel += pair_rows * BF16_NR * 2) {
        _tile_loadd(4, a + k, a_stride);
        _tile_loadd(6, panel, BF16_NR * 4);
        _tile_loadd(7, panel + 32, BF16_NR * 4);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
    }
    _tile_stored(0, tmp, BF16_NR * 4);
    _tile_stored(1, tmp + 16, BF16_NR * 4);
}

#else

void bf16_amx_configure(void) {}
void bf16_amx_release(void) {}
void bf16_tile_amx(int rows, int64_t kp, const uint16_t *a, int64_t lda, const uint16_t *panel, float *tmp) {
    (void)rows, (void)kp, (void)a, (void)lda, (void)panel, (void)tmp;
}

#endif
