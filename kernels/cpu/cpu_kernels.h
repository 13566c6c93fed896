/* cpu_kernels.h — the CPU backend's kernels: one function per op, one op per file, and the GEMM. */
#ifndef INFER_CPU_KERNELS_H
#define INFER_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include "infer.h"
#include "../../graph/graph.h"
#include "../../runtime/threadpool.h"

enum { CPU_ISA_SCALAR = 0, CPU_ISA_AVX2 = 1, CPU_ISA_AVX512 = 2 };

/* What a kernel may use; owned by the engine. Kernels allocate nothing. */
typedef struct {
    thread_pool *pool;        /* NULL: run serially */
    int threads;              /* pool_size(pool) */
    int isa;                  /* best instruction set of this CPU, from cpuid */
    void *workspace;          /* per-node scratch, at least cpu_workspace_size() for the node */
    size_t workspace_bytes;
    uint8_t *scratch;         /* per-thread GEMM packing buffers: threads x CPU_SCRATCH_BYTES */
    const void *prepacked;    /* NULL, or this node's cpu_prepack() output, packed for isa (set per node) */
    act_quant out_q;          /* a u8 output's quantization (set per node; scale 0 when none) */
    act_quant res_q;          /* a u8 residual input's quantization (set per node; scale 0 when none) */
    int out_f32_nhwc;         /* 1: the f32 output is stored as NHWC rows [positions, C] (INT8 chains; set per node) */
    int res_f32_nhwc;         /* 1: the f32 residual input (conv2d's input 3) is so */
} cpu_ctx;

/* A tensor the backend chains between two static INT8 convolutions (runtime/cpu_int8_chain.c) reaches their
 * kernels with dtype INFER_U8 and its logical NCHW dims: its bytes are u8 NHWC, positions
 * cpu_conv2d_s8_nhwc_stride(C) bytes apart, quantized with the consumer's in_q (the producer's ctx->out_q). */

#define CPU_SCRATCH_BYTES ((size_t)2 << 20)

int cpu_detect_isa(void);
/* The CPU_ISA_* an engine option asks for (AUTO: cpu_detect_isa()); -1 when this CPU cannot run it or
 * the option is not an instruction set. CPU_ISA_x + 1 == INFER_CPU_ISA_x. */
int cpu_isa_for_option(infer_cpu_isa option);

/* Every kernel: inputs in[0..n->n_in) (an absent optional input has data == NULL), outputs
 * out[0..n->n_out) with dims already set by shape inference and data pointing to their storage.
 * Output may alias input 0 when op_can_run_in_place(). Returns INFER_OK or fills err. */
typedef infer_status (*cpu_kernel_fn)(cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out,
                                      infer_error *err);

/* ---- the kernel table ------------------------------------------------------------------------ */

/* One CPU kernel of an op: the storages its inputs may have, and its functions. Optional per-node
 * preparation at engine build (ops whose constant weights are read repacked: linear's weight as GEMM
 * panels; lstm's w_ih and w_hh): prepack_input(n, k): input k is read only through the packed copy;
 * prepack_size: bytes of the packed copy for these inputs (data set for those inputs) and isa, 0: nothing
 * to prepack; prepack fills dst (64-byte aligned, that many bytes); the kernel finds it in
 * ctx->prepacked, with ctx->isa == isa. Without it (ctx->prepacked NULL) kernels read the weights as given. */
typedef struct {
    unsigned storages; /* IR_STORAGE_BIT of each storage its inputs may have */
    cpu_kernel_fn run;
    /* Bytes of ctx->workspace the node needs for these shapes; NULL: none. */
    size_t (*workspace)(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads);
    int (*prepack_input)(const ir_node *n, int k); /* NULL: nothing prepacked */
    size_t (*prepack_size)(const ir_node *n, const infer_tensor *in, int isa);
    void (*prepack)(const ir_node *n, const infer_tensor *in, int isa, void *dst);
    /* Kernels of sparse weights build their packed block from the graph (the weight's storage side tensors),
     * in place of prepack_size / prepack: its bytes for these shapes (0: cannot), and its fill. */
    size_t (*pack_size)(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads);
    void (*pack)(const ir_graph *g, const ir_node *n, const infer_tensor *in, int isa, int threads, void *dst);
    /* Optional: how the packed block runs the node's weight, for infer_layer_info.weights. */
    void (*describe)(const void *packed, char *buf, size_t size);
    /* Optional: 1 when, with this packed block and isa, no run reads the prepacked inputs' original data
     * (prepack_input's contract lets a kernel fall back to them, e.g. at another batch); the backend may then
     * free originals the graph owns (weights made by BN folding) or drop them (data NULL in the views). */
    int (*packed_only)(const void *packed, int isa);
    /* CPU_FORM_*: one of the forms of a sparse weight's kernel, listed together (sparse first); the backend
     * picks one per node by infer_engine_options.sparse, timing them at build (runtime/cpu_choose.c). */
    int sparse_form;
} cpu_kernel;

enum { CPU_FORM_NONE = 0, CPU_FORM_SPARSE, CPU_FORM_DENSIFIED };

#define CPU_DENSE IR_STORAGE_BIT(IR_STORAGE_DENSE)
#define CPU_SPARSE (IR_STORAGE_BIT(IR_STORAGE_CSR) | IR_STORAGE_BIT(IR_STORAGE_BSR) | IR_STORAGE_BIT(IR_STORAGE_SPARSE_2_4))

/* Each op's kernels, in kernels/cpu/<op>.c, tried in order, ended by one with run == NULL. */
#define X(e, id, code, min_in, max_in, n_out) extern const cpu_kernel cpu_kernels_##id[];
INFER_OPS(X)
#undef X

const cpu_kernel *cpu_kernels_of(int op); /* the op's list; NULL for an unknown op */
/* The first kernel of n's op that takes the storages of n's inputs; NULL with err naming the node, the
 * input and its storage when there is none (INFER_ERR_UNSUPPORTED). */
const cpu_kernel *cpu_kernel_lookup(const ir_graph *g, const ir_node *n, int index, infer_error *err);

/* The op's first (dense) kernel and its functions, for callers without a graph (tests, the CUDA
 * backend's CPU fallback). */
cpu_kernel_fn cpu_kernel_for(op_code op); /* NULL when the CPU has none */
size_t cpu_workspace_size(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads);
int cpu_prepack_input(const ir_node *n, int k);
size_t cpu_prepack_size(const ir_node *n, const infer_tensor *in, int isa);
void cpu_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst);

#define CPU_KERNEL(name) \
    infer_status cpu_##name(cpu_ctx *ctx, const ir_node *n, const infer_tensor *in, infer_tensor *out, infer_error *err)

#define X(e, id, code, min_in, max_in, n_out) CPU_KERNEL(id);
INFER_OPS(X)
#undef X

size_t cpu_conv2d_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads);
size_t cpu_attention_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads);
size_t cpu_linear_prepack_size(const ir_node *n, const infer_tensor *in, int isa);
void cpu_linear_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst);
size_t cpu_lstm_prepack_size(const ir_node *n, const infer_tensor *in, int isa);
void cpu_lstm_prepack(const ir_node *n, const infer_tensor *in, int isa, void *dst);

size_t cpu_lstm_workspace(const ir_node *n, const infer_tensor *in, const infer_tensor *out, int threads);

/* ---- GEMM ------------------------------------------------------------------ */

/* C[M,N] = act(op(A)[M,K] · op(B)[K,N] + bias + residual), row-major with leading dimensions. */
typedef struct {
    const float *bias;        /* NULL, or N values (per column), or M values when bias_per_row */
    int bias_per_row;
    const float *residual;    /* NULL, or [M,N] with leading dimension ld_residual */
    int64_t ld_residual;
    act_params act;
} gemm_epilogue;

/* Parallel over ctx->pool; must not be called from inside a pool task. */
void cpu_sgemm(cpu_ctx *ctx, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, const float *A,
               int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc, const gemm_epilogue *ep);

/* Serial, in the calling thread, with that thread's CPU_SCRATCH_BYTES scratch (may be called from a task). */
void cpu_sgemm_serial(uint8_t *scratch, int isa, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                      const gemm_epilogue *ep);

/* Prepacked right-hand side: op(B) [K, N] (trans_b: B is [N, K]) packed whole into NR-column panels for
 * isa's micro-kernel, cpu_sgemm_packed_b_size(isa, K, N) bytes (SIZE_MAX on overflow). */
size_t cpu_sgemm_packed_b_size(int isa, int64_t K, int64_t N);
void cpu_sgemm_pack_b(int isa, int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst);
int cpu_sgemm_nr(int isa); /* NR: the column panels' width */

/* Prepacked left-hand side: A [M, K] row-major packed whole into the micro-kernel's row slivers for isa,
 * cpu_sgemm_packed_a_size(isa, M, K) bytes (SIZE_MAX on overflow); run by gemm_packed_a (gemm_internal.h). */
size_t cpu_sgemm_packed_a_size(int isa, int64_t M, int64_t K);
void cpu_sgemm_pack_a(int isa, int64_t M, int64_t K, const float *A, int64_t lda, float *dst);

/* C = A · op(B) + epilogue with B from cpu_sgemm_pack_b packed for ctx->isa; A row-major. Parallel like
 * cpu_sgemm. */
void cpu_sgemm_packed(cpu_ctx *ctx, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *Bp,
                      float *C, int64_t ldc, const gemm_epilogue *ep);
/* Serial, columns [j0, j1) of it only (j0 a multiple of cpu_sgemm_nr(isa)); may be called from a task. */
void cpu_sgemm_packed_cols(uint8_t *scratch, int isa, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                           const float *Bp, float *C, int64_t ldc, const gemm_epilogue *ep, int64_t j0, int64_t j1);

/* Applies act (with bias/residual as in gemm_epilogue) to rows x cols of C in place. */
void cpu_apply_epilogue(float *C, int64_t rows, int64_t cols, int64_t ldc, const gemm_epilogue *ep, int64_t row0,
                        int64_t col0);

#endif
