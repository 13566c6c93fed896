/* cuda_ctx.h — what CUDA node execution needs (stream, library handles, workspaces, precision) and the per-node plan API. */
#ifndef INFER_CUDA_CTX_H
#define INFER_CUDA_CTX_H

#include <stddef.h>
#include <stdint.h>
#include <cuda_runtime_api.h>
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cudnn.h>
#include "infer.h"
#include "../../graph/graph.h"
#include "tune_cache.h"
#include "cuda_warn.h"

#define CUDA_LT_WORKSPACE ((size_t)32 << 20) /* cuBLASLt workspace (Hopper wants 32 MiB) */
#define CUDA_CONV_WORKSPACE_CAP ((size_t)512 << 20)
#define CUDA_WARN_BYTES 16384 /* recorded warnings; see cuda_warnings_add for what happens when full */
#define CUDA_WARN_LINE 1024

/* Owned by one engine (or one test): nothing here is shared between threads. */
typedef struct cuda_ctx {
    int device;
    cudaStream_t stream;
    cublasLtHandle_t lt;
    cublasHandle_t blas;           /* cuBLAS, created only when a GEMM falls back to cublasGemmEx */
    cudnnHandle_t dnn;
    void *sparse;                  /* cusparseHandle_t, created only for CSR weights (cuda_ctx_sparse) */
    void *sparselt;                /* cusparseLtHandle_t *, created only for 2:4 weights (spmm_cusparselt.c) */
    infer_precision precision;
    int fp16;                      /* float activations and weights are stored as half */
    void *lt_ws;                   /* cuBLASLt workspace, CUDA_LT_WORKSPACE bytes once allocated */
    size_t lt_ws_bytes;
    void *scratch;                 /* per-node scratch: cuDNN workspace, LSTM buffers */
    size_t scratch_bytes;          /* allocated; while planning before allocation: the most a node may use */
    unsigned long long *err_flag;  /* device [2]: (code, value) of the first run-time error (embedding ids) */
    int tune;                      /* time candidates while planning (needs buffers: see cuda_node_tune) */
    tune_cache cache;              /* algorithm choices, loaded from and saved to opt.tune_cache */
    int cache_used;                /* the cache is consulted */
    char gpu_name[256];
    int cc_major, cc_minor, sm_count;
    char warnings[CUDA_WARN_BYTES]; /* recorded, never printed */
} cuda_ctx;

/* Stream, handles and device facts on the current device; no large allocations. */
infer_status cuda_ctx_init(cuda_ctx *c, infer_precision precision, infer_error *err);
/* The same on GPU `device` (an index below cudaGetDeviceCount), which must be current (cuda_device_enter). */
infer_status cuda_ctx_init_on(cuda_ctx *c, infer_precision precision, int device, infer_error *err);

/* Makes `device` current for the length of one API call and returns the caller's current device, which
 * cuda_device_leave makes current again (every entry point that touches the GPU brackets its work so).
 * Returns -1 (and leaves nothing to restore) when the current device cannot be read. */
int cuda_device_enter(int device);
void cuda_device_leave(int previous);
void cuda_ctx_destroy(cuda_ctx *c);
/* The cuBLAS handle on c->stream, created at the first call (planning time, never inside a capture). */
infer_status cuda_ctx_blas(cuda_ctx *c, infer_error *err);
/* The cuSPARSE handle on c->stream, created at the first call (planning time). */
infer_status cuda_ctx_sparse(cuda_ctx *c, infer_error *err);
/* Appends a line to c->warnings: once only (an identical line is not repeated); when the buffer is
 * full, a last line CUDA_WARN_TRUNCATED says that later warnings were dropped. */
void cuda_ctx_warn(cuda_ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The key that tuning cache entries are valid under: GPU, compute capability, driver and library versions. */
void cuda_ctx_env_key(const cuda_ctx *c, char *key, size_t n);

/* cudaMalloc that reports an out-of-memory as INFER_ERR_MEMORY naming the bytes asked and available. */
infer_status cuda_alloc(void **p, size_t bytes, const char *what, infer_error *err);

/* ---- nodes --------------------------------------------------------------------------------------
 * Tensors passed here are views of device memory: data is a device pointer (NULL for an absent
 * optional input), dtype the device storage dtype (f16 for f32 tensors when fp16), dims the shapes
 * at the batch the plan is for. */
typedef struct cuda_node_plan cuda_node_plan;

/* Host-side planning for these shapes: picks node n's kernel (cuda_kernel_lookup on g; g NULL: the op's
 * first kernel, for dense inputs) and lets it plan (descriptors, algorithm choice); allocates no device
 * memory. */
infer_status cuda_node_prepare(cuda_ctx *c, const ir_graph *g, const ir_node *n, const infer_tensor *in,
                               const infer_tensor *out, cuda_node_plan **plan, infer_error *err);
/* Bytes of c->scratch the node needs when run with this plan. */
size_t cuda_node_scratch(const cuda_node_plan *plan);
/* With c->tune: times algorithm candidates on the given buffers (contents are overwritten). */
infer_status cuda_node_tune(cuda_ctx *c, const ir_node *n, cuda_node_plan *plan, const infer_tensor *in,
                            const infer_tensor *out, infer_error *err);
/* Enqueues the node on c->stream. code identifies the node in c->err_flag (node index + 1). */
infer_status cuda_node_run(cuda_ctx *c, const ir_node *n, cuda_node_plan *plan, const infer_tensor *in,
                           const infer_tensor *out, unsigned long long code, infer_error *err);
void cuda_node_plan_free(cuda_node_plan *plan);
/* Tests: a fused convolution plan refuses its fused call at its next first run; returns 1 when plan is one. */
int cuda_node_refuse_fused(cuda_node_plan *plan);
/* Tests: the plan's GEMMs run through cublasGemmEx, as when cuBLASLt has no algorithm; returns 1 when it has any. */
int cuda_node_force_gemmex(cuda_ctx *c, cuda_node_plan *plan);

#endif
