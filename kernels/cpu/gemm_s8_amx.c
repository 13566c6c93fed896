/* gemm_s8_amx.c — the AMX-INT8 tile: 32 rows x 32 columns as 2 x 2 16x16 int32 tile accumulators of tdpbusd over
 * 64-byte K blocks (each A and B tile loaded once feeds two products); the packed panels' 128-byte k-quad rows are
 * read as two B tiles (stride 128). */
#include <string.h>
#include "amx_tiles.h"
#include "gemm_s8_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_TARGET512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma,amx-tile,amx-int8")))
#include "gemm_s8_ep512.h"

#define MR 32
#define NR 32
#define KB 64 /* bytes of K per tile row */

/* tmm0..3: C (rows 0-15 / 16-31 x columns 0-15 / 16-31, 16 x 16 int32); tmm4, tmm5: A (rows 0-15, 16-31 x 64 u8);
 * tmm6, tmm7: B (16 k-quads x 16 columns x 4 s8). Loaded once per thread's run of tiles (ldtilecfg costs as much as
 * a small tile's arithmetic). */
static void setup_amx(void) { amx_tiles_configure(8); }

static void release_amx(void) { amx_tiles_release(); }

/* n rows (< 16, or K past its end) of A's 64-byte block at k0 into a zero-filled 16 x 64 buffer. */
static void edge_block(const uint8_t *a, int64_t lda, int n, int64_t k0, int64_t K, uint8_t *edge) {
    int64_t bytes = K - k0 < KB ? K - k0 : KB;
    memset(edge, 0, 16 * KB);
    for (int i = 0; i < n; i++) memcpy(edge + i * KB, a + i * lda + k0, (size_t)bytes);
}

S8_TARGET512 static void tile_amx(int rows, int cols, int64_t K, const void *a_rows, int64_t lda, const void *panel,
                                  const s8_tile_ep *ep, void *c, int64_t ldc) {
    int top = rows < 16 ? rows : 16, bottom = rows - top; /* rows of the two halves */
    const uint8_t *a = a_rows, *a1 = a + 16 * lda;
    const int8_t *b = panel;
    _Alignas(64) uint8_t edge[2][16 * KB];
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int64_t k0 = 0; k0 < K; k0 += KB, b += 16 * NR * 4) {
        int whole = k0 + KB <= K;
        if (top == 16 && whole) {
            _tile_loadd(4, a + k0, lda);
        } else {
            edge_block(a, lda, top, k0, K, edge[0]);
            _tile_loadd(4, edge[0], KB);
        }
        _tile_loadd(6, b, NR * 4);
        _tile_loadd(7, b + 64, NR * 4);
        _tile_dpbusd(0, 4, 6);
        _tile_dpbusd(1, 4, 7);
        if (bottom > 0) {
            if (bottom == 16 && whole) {
                _tile_loadd(5, a1 + k0, lda);
            } else {
                edge_block(a1, lda, bottom, k0, K, edge[1]);
                _tile_loadd(5, edge[1], KB);
            }
            _tile_dpbusd(2, 5, 6);
            _tile_dpbusd(3, 5, 7);
        }
    }
    _Alignas(64) int32_t acc[MR * NR];
    _tile_stored(0, acc, NR * 4);
    _tile_stored(1, acc + 16, NR * 4);
    if (bottom > 0) {
        _tile_stored(2, acc + 16 * NR, NR * 4);
        _tile_stored(3, acc + 16 * NR + 16, NR * 4);
    }
    __mmask16 m0 = s8_cols16(cols, 0), m1 = s8_cols16(cols, 16);
    s8_ep16_rows(acc, NR, rows, 0, m0, ep, c, ldc);
    if (m1) s8_ep16_rows(acc + 16, NR, rows, 16, m1, ep, c, ldc);
}

const s8_arch *s8_arch_amx(void) {
    static const s8_arch arch = { MR, NR, 4, KB, tile_amx, NULL, NULL, setup_amx, release_amx };
    return &arch;
}

#else

const s8_arch *s8_arch_amx(void) { return NULL; }

#endif
