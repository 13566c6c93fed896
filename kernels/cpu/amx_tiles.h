/* amx_tiles.h — the AMX tile configuration (palette 1) that the BF16 and INT8 tile kernels share. */
#ifndef INFER_CPU_AMX_TILES_H
#define INFER_CPU_AMX_TILES_H

/* Configures tiles 0..n_tiles-1 (at most 8) of the calling thread as 16 rows x 64 bytes; the others unused.
 * Only on a CPU with AMX (the kernels' callers check); nothing on other architectures. */
void amx_tiles_configure(int n_tiles);

/* Returns the calling thread's tiles to the init state (tilerelease). */
void amx_tiles_release(void);

#endif
