/* gemm_bf16.h — BF16 products with FP32 sums (AVX512-BF16 vdpbf16ps or AMX-BF16 tiles): the packed layouts,
 * the tile kernels and the two GEMM drivers the BF16 linear, matmul and conv2d kernels run on. */
#ifndef INFER_GEMM_BF16_H
#define INFER_GEMM_BF16_H

#include <stdint.h>
#include "cpu_kernels.h"

/* Which kernels compute the BF16 products of a BF16 engine (0: the engine runs FP32). */
enum {
    CPU_BF16_NONE = 0,
    CPU_BF16_AVX512 = 1,   /* vdpbf16ps only */
    CPU_BF16_AMX = 2,      /* AMX tiles only */
    CPU_BF16_AMX_AUTO = 3, /* AMX tiles; vdpbf16ps for blocks of fewer than BF16_AMX_MIN_ROWS rows */
};
#define BF16_AMX_MIN_ROWS 8

/* The CPU_BF16_* an engine option selects on a CPU with instruction set isa (CPU_ISA_*) and extensions
 * features (cpu_features.h); -1 when that CPU cannot run it. */
int cpu_bf16_choose(int isa, int features, infer_cpu_bf16 option);

#define BF16_NR 32 /* columns of a packed panel: two AMX B tiles, two zmm of vdpbf16ps */
#define BF16_KB 32 /* K is padded with zeros to a multiple of this: one AMX tile row of BF16 */
#define BF16_MB 32 /* rows per tile call: two AMX row tiles */
#define BF16_ROWS_PAD 16 /* rows of a BF16 left-hand matrix are padded (zeros) to a multiple of this */

static inline int64_t bf16_round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/* Layouts. A left-hand matrix: bf16 rows, K contiguous, padded with zeros to kp = bf16_round_up(K,
 * BF16_KB) columns and to a multiple of BF16_ROWS_PAD rows. A right-hand matrix: panels of BF16_NR
 * columns, each kp/2 pair rows of BF16_NR (B[k][j], B[k+1][j]) pairs: the VNNI layout both vdpbf16ps
 * and tdpbf16ps read; zero columns past N. */

/* Bytes of op(B) [K, N] packed as panels. */
size_t bf16_panels_size(int64_t K, int64_t N);
/* Packs element (k, j) = b[k * k_step + j * j_step] of a [K, N] matrix into panels (build time). */
void bf16_pack_panels(int64_t K, int64_t N, const float *b, int64_t k_step, int64_t j_step, uint16_t *dst);
/* One panel from an FP32 sliver [K][BF16_NR] (k-major, as gemm_pack_b writes one), rounded to nearest even. */
void bf16_panel_from_sliver(int64_t K, const float *sliver, uint16_t *panel);
/* Rows [0, rows) of a row-major FP32 matrix (ld apart) into bf16 rows of kp (dst_ld apart), zero-padded. */
void bf16_convert_rows(int64_t rows, int64_t K, const float *src, int64_t ld, uint16_t *dst, int64_t dst_ld);

/* tmp[rows][BF16_NR] = a[rows][kp] · panel, rows <= BF16_MB; a's rows up to the next multiple of
 * BF16_ROWS_PAD must be readable. The AMX one needs bf16_amx_configure() in the calling thread first. */
void bf16_tile_avx512(int rows, int64_t kp, const uint16_t *a, int64_t lda, const uint16_t *panel, float *tmp);
void bf16_tile_amx(int rows, int64_t kp, const uint16_t *a, int64_t lda, const uint16_t *panel, float *tmp);
void bf16_amx_configure(void);
void bf16_amx_release(void);

/* Where finished tiles go: C[row][col] of an [M, N] result, laid out as NCHW images when image_cols
 * < N (column q is position q % image_cols of image q / image_cols, image_stride floats apart, rows
 * ldc apart within an image), with ep (bias per row or column, residual laid out as C, activation). */
typedef struct {
    float *c;
    int64_t ldc, image_cols, image_stride;
    const gemm_epilogue *ep;
    int isa; /* CPU_ISA_* for the activation */
} bf16_sink;

/* C rows [row0, row1) x columns [col0, col0 + ncols) of a · panels (a: the whole left-hand matrix; panels:
 * ceil(ncols / BF16_NR) consecutive panels), through tiles, into the sink; mode CPU_BF16_*; the AMX tiles
 * must be configured. */
void bf16_panel_rows(int mode, int64_t row0, int64_t row1, int64_t kp, const uint16_t *a, int64_t lda,
                     const uint16_t *panels, int64_t col0, int ncols, const bf16_sink *sink);

/* C[M, N] = act(A[M, K] · B + epilogue) with A FP32 rows (lda apart), converted into ctx->workspace
 * (bf16_a_workspace bytes), and B packed by bf16_pack_panels; threaded over ctx->pool. */
size_t bf16_a_workspace(int64_t M, int64_t K);
void bf16_gemm_packed_b(cpu_ctx *ctx, int mode, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                        const uint16_t *Bp, float *C, int64_t ldc, const gemm_epilogue *ep);

/* Largest K the column-sourced driver packs into a thread's scratch (an FP32 sliver and its panel). */
#define BF16_SOURCED_MAX_K ((int64_t)((CPU_SCRATCH_BYTES - 4096) / (BF16_NR * 6)) / BF16_KB * BF16_KB)

/* C = act(A · B + epilogue) with A bf16 rows already packed (m rows, kp) and B [K, N] given by a
 * gemm_b_source packer (FP32 slivers, converted per panel in each thread's scratch), into sink;
 * K <= BF16_SOURCED_MAX_K. Threaded over column panels. */
void bf16_gemm_sourced_b(cpu_ctx *ctx, int mode, int64_t M, int64_t N, int64_t K, const uint16_t *A,
                         void (*pack)(const void *src, int isa, int nr, int64_t k0, int64_t kc, int64_t j0,
                                      int64_t nc, float *dst),
                         const void *src, const bf16_sink *sink);

/* The BF16 kernel of node n in a BF16 engine whose products run on mode's kernels (linear, matmul with constant
 * weights, conv2d), or NULL: the node runs its FP32 kernel. */
const cpu_kernel *cpu_bf16_kernel_lookup(const ir_graph *g, const ir_node *n, int mode);

int cpu_bf16_constant_weight(const ir_graph *g, const ir_node *n, int k); /* dense f32 constant */
/* Each BF16 kernel's node rule: its weight is a dense f32 constant of a shape it runs. */
int cpu_linear_bf16_takes(const ir_graph *g, const ir_node *n);
int cpu_matmul_bf16_takes(const ir_graph *g, const ir_node *n);
int cpu_conv2d_bf16_takes(const ir_graph *g, const ir_node *n);
/* Each op's BF16 kernel per mode, indexed by CPU_BF16_* (entry 0 unused). */
extern const cpu_kernel cpu_linear_bf16_kernels[4], cpu_matmul_bf16_kernels[4], cpu_conv2d_bf16_kernels[4];
/* The groups-1 conv2d over BF16 NHWC rows (conv2d_bf16_nhwc.c), for the backend's BF16 chains
 * (runtime/cpu_bf16_chain.h): a tensor passed so has dtype INFER_BF16, [N, H, W, C] with positions
 * cpu_bf16_nhwc_stride(C) values apart and zeros in the padding channels. */
int cpu_conv2d_bf16_nhwc_takes(const ir_graph *g, const ir_node *n);
int64_t cpu_bf16_nhwc_stride(int64_t channels);
extern const cpu_kernel cpu_conv2d_bf16_nhwc_kernels[4];
/* The depthwise conv2d over BF16 NHWC rows in and out (conv2d_depthwise_bf16_nhwc.c; any BF16 mode: f32 products):
 * groups == channels, one weight per channel and tap, no residual, activation none, relu or clip. */
int cpu_conv2d_depthwise_bf16_nhwc_takes(const ir_graph *g, const ir_node *n);
extern const cpu_kernel cpu_conv2d_depthwise_bf16_nhwc_kernel;
/* The kernels of one op and mode: run_mode(ctx, mode, ...) behind one run function per mode. */
#define BF16_RUN_FN(name, mode) \
    static infer_status name##_##mode(cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out, \
                                      infer_error *err) { return name(ctx, mode, n, in, out, err); }
#define BF16_KERNELS(table, run_mode, ...)                                                                    \
    BF16_RUN_FN(run_mode, CPU_BF16_AVX512)                                                                    \
    BF16_RUN_FN(run_mode, CPU_BF16_AMX)                                                                       \
    BF16_RUN_FN(run_mode, CPU_BF16_AMX_AUTO)                                                                  \
    const cpu_kernel table[4] = {                                                                             \
        [CPU_BF16_AVX512] = { .storages = CPU_DENSE, .run = run_mode##_CPU_BF16_AVX512, __VA_ARGS__ },       \
        [CPU_BF16_AMX] = { .storages = CPU_DENSE, .run = run_mode##_CPU_BF16_AMX, __VA_ARGS__ },             \
        [CPU_BF16_AMX_AUTO] = { .storages = CPU_DENSE, .run = run_mode##_CPU_BF16_AMX_AUTO, __VA_ARGS__ },   \
    };

#endif
