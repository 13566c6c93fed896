/* amx_tiles.c — ldtilecfg / tilerelease for the AMX tile kernels (gemm_bf16_amx.c, gemm_s8_amx.c). */
#include <stdint.h>
#include <string.h>
#include "amx_tiles.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* ldtilecfg's 64-byte operand (palette 1). */
typedef struct {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

__attribute__((target("amx-tile"))) void amx_tiles_configure(int n_tiles) {
    _Alignas(64) tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < n_tiles && t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    /* GCC 12 does not see ldtilecfg read all 64 bytes and drops the stores above without this */
    __asm__ volatile("" : : "r"(&cfg) : "memory");
    _tile_loadconfig(&cfg);
}

__attribute__((target("amx-tile"))) void amx_tiles_release(void) { _tile_release(); }

#else

void amx_tiles_configure(int n_tiles) { (void)n_tiles; }
void amx_tiles_release(void) {}

#endif
