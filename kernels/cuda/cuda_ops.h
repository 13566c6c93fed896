/* cuda_ops.h — the CUDA kernel table: what each op's kernels/cuda/<op> file registers, and the helpers they share. */
#ifndef INFER_CUDA_OPS_H
#define INFER_CUDA_OPS_H

#include <stddef.h>
#include <stdint.h>
#include "infer.h"
#include "../../graph/graph.h"
#include "cuda_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cuda_ctx;       /* runtime/cuda/cuda_ctx.h: stream, library handles, scratch */
struct cuda_node_plan; /* per node and batch: see cuda_plan.h (library-backed ops) */

/* What a kernel's run gets from the engine. */
typedef struct {
    struct cuda_ctx *ctx;         /* for library-backed ops (cuBLASLt, cuDNN) and scratch */
    void *stream;                 /* cudaStream_t: everything is enqueued on it */
    unsigned long long *err_flag; /* device [2]: (code, value) of the first run-time error */
    unsigned long long code;      /* this node's code in err_flag (node index + 1) */
} cuda_launch;

/* One CUDA kernel of an op. Tensors are device views: data a device pointer (NULL for an absent optional
 * input), dtype the device storage dtype (f16 for f32 when fp16), dims at the batch being run. */
typedef struct {
    unsigned storages; /* IR_STORAGE_BIT of each storage its inputs may have */
    /* 1 when it runs node n of g (dtypes, attributes, static shapes); else 0 with the reason in why. */
    int (*supports)(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len);
    /* Optional host-side planning for these shapes (descriptors, algorithm choice, scratch); fills p. */
    infer_status (*prepare)(struct cuda_ctx *c, const ir_node *n, const infer_tensor *in, const infer_tensor *out,
                            struct cuda_node_plan *p, infer_error *err);
    /* Optional: times algorithm candidates on the given buffers (contents are overwritten). */
    infer_status (*tune)(struct cuda_ctx *c, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                         const infer_tensor *out, infer_error *err);
    /* Enqueues the node on l->stream; p is NULL unless prepare is set. */
    infer_status (*run)(const cuda_launch *l, const ir_node *n, struct cuda_node_plan *p, const infer_tensor *in,
                        const infer_tensor *out, infer_error *err);
    /* For the FP16 dtype plan (runtime/cuda/cuda_dtypes.c): 1 when it takes f32 and f16 alike (elementwise or
     * moving data), so that an f32 chain that must stay exact may pass through it on the GPU. */
    int mixed_float;
    /* 1 when input k's f32 values must stay exact (integer-valued: ids, masks, compared or cast to an
     * integer); NULL: none must. */
    int (*exact_input)(const ir_graph *g, const ir_node *n, int k);
} cuda_kernel;

#define CUDA_DENSE IR_STORAGE_BIT(IR_STORAGE_DENSE)

/* Each op's kernels, in kernels/cuda/<op>.*, tried in order and ended by one with run == NULL; an op the
 * GPU cannot run registers an empty list and its nodes run on the CPU. */
#define X(e, id, code, min_in, max_in, n_out) extern const cuda_kernel cuda_kernels_##id[];
INFER_OPS(X)
#undef X

const cuda_kernel *cuda_kernels_of(int op); /* the op's list; NULL for an unknown op */
/* The first kernel of n's op that takes its input storages and supports it; NULL with the reason in why. */
const cuda_kernel *cuda_kernel_lookup(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len);

/* How a tensor of the model's dtype is stored on the device: f32 becomes f16 when fp16, the rest stay. */
infer_dtype cuda_dev_dtype(infer_dtype model_dtype, int fp16);

/* ---- for the kernels' supports and run ---------------------------------------------------------- */

/* Writes the reason into why and returns 0. */
int cuda_refuse(char *why, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
const ir_tensor *cuda_node_input(const ir_graph *g, const ir_node *n, int i);  /* NULL when absent */
const ir_tensor *cuda_node_output(const ir_graph *g, const ir_node *n, int i); /* NULL when absent */
int cuda_is_float(infer_dtype d);                                              /* f32 or f16 */
/* Every present input except those in skip_mask, and every output except those in out_skip, is a float
 * tensor of one device dtype. */
int cuda_floats_only(const ir_graph *g, const ir_node *n, int fp16, unsigned skip_mask, unsigned out_skip, char *why,
                     size_t len);
/* Every present input except those in skip_mask has the output's device dtype, of 1, 2, 4 or 8 bytes. */
int cuda_same_elem(const ir_graph *g, const ir_node *n, int fp16, unsigned skip_mask, char *why, size_t len);
int cuda_floats_only_rule(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len);
int cuda_same_elem_rule(const ir_graph *g, const ir_node *n, int fp16, char *why, size_t len);

int64_t cuda_numel(const infer_tensor *t);
int64_t cuda_prod(const int64_t *d, int from, int to); /* d[from] * ... * d[to - 1] */
int cuda_norm_axis(int axis, int ndim);                /* a negative axis counted from the end */
size_t cuda_esize(const infer_tensor *t);              /* bytes per element */
/* Broadcast indexing of n_in inputs against y; 0 when an input does not broadcast. */
int cuda_bcast_of(cuda_bcast *bc, const infer_tensor *y, int n_in, const infer_tensor *const *xs);

#ifdef __cplusplus
}
#endif
#endif
