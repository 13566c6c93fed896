/* engine.h — what an engine is made of, and the interface every backend (CPU, CUDA) implements. */
#ifndef INFER_ENGINE_H
#define INFER_ENGINE_H

#include <pthread.h>
#include "infer.h"
#include "../graph/ir_build.h"
#include "../loaders/ifg.h"

/* What the engines of one model share on a device (the CUDA backend's weights). model.c creates it
 * empty with the lock and, in infer_model_free, calls free_data(data) when a backend has set it; it
 * never looks inside. data and free_data are read and written only with lock held. */
typedef struct {
    pthread_mutex_t lock;
    void *data;                    /* the backend's (CUDA: its list of shared weight blocks) */
    void (*free_data)(void *data); /* set by the backend that filled data */
} model_shared;

struct infer_model {
    ifg_file file;
    char *path;
    model_shared *shared;         /* never NULL once loaded */
};

/* A model validated from a file image in memory (not copied: bytes must outlive the model); name stands for
 * its path in messages. For tools that run models they build (infer quantize's calibration, quant/). */
infer_status model_load_memory(const void *bytes, uint64_t size, const char *name, infer_model **model,
                               infer_error *err);

typedef struct backend_ops backend_ops;

struct infer_engine {
    const infer_model *model;
    infer_engine_options opt;     /* resolved: device is CPU or CUDA, max_batch and threads set */
    ir_graph graph;               /* optimized for this backend; weights point into the model's map */
    mem_plan plan;                /* at max_batch */
    uint64_t *tensor_bytes;       /* per tensor, at max_batch */
    int64_t *dims;                /* per tensor x INFER_MAX_DIMS: shapes at cur_batch */
    int *ndims;
    int64_t cur_batch;            /* batch the shapes above are for; 0 before the first run */
    int batch_dynamic;            /* the model has a named dim `batch` */
    int64_t dim_max[IR_MAX_SYMS]; /* per named dim (graph.syms): the maximum planned for */
    int64_t dim_cur[IR_MAX_SYMS]; /* the values the shapes in dims are for; all 0 before the first run */
    int *input_dims;              /* per graph input x INFER_MAX_DIMS: the named dim it is, or -1 */
    double *layer_ms;             /* per node: accumulated profiled time */
    int64_t *layer_runs;
    int64_t runs;
    double last_run_ms;           /* host wall time of the last successful backend run */
    int cpu_isa;                  /* CPU_ISA_* the CPU kernels use, from opt.cpu_isa */
    int cpu_bf16;                 /* CPU_BF16_* of a CPU engine at precision bf16 (opt.cpu_bf16); else 0 */
    const backend_ops *backend;
    void *state;                  /* the backend's own */
};

struct backend_ops {
    const char *name;
    infer_device device;
    ir_fusion_caps caps;          /* what the backend's epilogues support */
    int sparse_weights;           /* runs CSR, BSR and 2:4 weights; else they are densified at engine build */
    int int8_weights;             /* runs int8 per-channel weights; else int8 constants are dequantized at engine build */
    /* Optional, for a backend with sparse_weights or int8_weights 0: 1 when it runs encoded constant t of g
     * as stored all the same (a kernel of its own takes every node reading it); that one is not decoded. */
    int (*keeps_encoded)(const infer_engine *e, const ir_graph *g, int t);
    /* Allocates everything the engine needs (arena, workspaces, device weights) from e->plan. */
    infer_status (*create)(infer_engine *e, infer_error *err);
    /* Runs at e->dim_cur (cur_batch) with shapes in e->dims; inputs already checked; fills outputs. */
    infer_status (*run)(infer_engine *e, const infer_tensor *inputs, infer_tensor *outputs, infer_error *err);
    void (*destroy)(infer_engine *e);
    /* Optional: device-side facts for infer_engine_stats (may be NULL). Called after the engine filled the
     * common fields, last_compute_ms = last_run_ms and the other last_*_ms = 0; may replace them. */
    void (*stats)(const infer_engine *e, infer_engine_stats *stats);
    /* Optional: where node i runs ("cpu" or "cuda"); NULL means the backend's own device. */
    const char *(*node_device)(const infer_engine *e, int node);
    /* Optional: how node i's sparse weight runs (see infer_layer_info.weights); NULL for dense weights. */
    const char *(*node_weights)(const infer_engine *e, int node);
    /* Optional: the warnings recorded while building and running, one per line; NULL or "" when none. */
    const char *(*warnings)(const infer_engine *e);
    /* Optional: 1 when the device the options ask for (NULL: the default one) is usable here, else 0
     * with the reason in why (n bytes); NULL means always. Asked before create, and by infer_cuda_available. */
    int (*usable)(const infer_engine_options *opt, char *why, size_t n);
};

extern const backend_ops cpu_backend_ops; /* the CUDA backend comes from a plugin: runtime/plugin.h */

/* Shape of tensor t at the engine's current batch, as a view without data. */
infer_tensor engine_tensor_shape(const infer_engine *e, int t);

/* A backend's view of tensor t (engine_tensor_shape plus where its data is); ctx is the backend's. */
typedef infer_tensor (*engine_view_fn)(const infer_engine *e, const void *ctx, int t);
/* Node n's inputs (an absent optional one zeroed) and outputs as view gives them; view NULL: shapes only. */
void engine_node_views(const infer_engine *e, const ir_node *n, engine_view_fn view, const void *ctx,
                       infer_tensor *in, infer_tensor *out);

/* Monotonic clock in milliseconds. */
double engine_now_ms(void);

#endif
