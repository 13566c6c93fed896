/* infer.h — the public C API of the infer inference runtime: load a model, build an engine, run it. */
#ifndef INFER_H
#define INFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INFER_MAX_DIMS 8
#define INFER_VERSION "1.0.0"

/* ---- status ------------------------------------------------------------ */

typedef enum {
    INFER_OK = 0,
    INFER_ERR_ARGUMENT,    /* a bad argument from the caller */
    INFER_ERR_IO,          /* a file that is missing or cannot be read or written */
    INFER_ERR_FORMAT,      /* a corrupt, truncated or tampered model file */
    INFER_ERR_VERSION,     /* a model file of a newer major version */
    INFER_ERR_UNSUPPORTED, /* an op, dtype, encoding or option this build or backend lacks */
    INFER_ERR_SHAPE,       /* an input of the wrong shape */
    INFER_ERR_DTYPE,       /* an input of the wrong dtype */
    INFER_ERR_MEMORY,      /* out of host or device memory */
    INFER_ERR_NO_DEVICE,   /* no usable GPU, driver, CUDA backend plugin or CUDA library version */
    INFER_ERR_DEVICE,      /* a CUDA, cuBLAS or cuDNN call failed */
    INFER_ERR_RUNTIME,     /* a failure while running, e.g. an embedding id out of range */
    INFER_ERR_INTERNAL,    /* a bug in infer */
    INFER_STATUS_COUNT
} infer_status;

/* Every call that can fail fills an infer_error (when given one) with the status and a message
 * naming the problem. The library never prints and never exits. */
typedef struct {
    infer_status status;
    char message[1024];
} infer_error;

const char *infer_status_name(infer_status status);

/* ---- tensors ----------------------------------------------------------- */

typedef enum {
    INFER_F32 = 1,
    INFER_F16 = 2,
    INFER_BF16 = 3,
    INFER_I8 = 4,
    INFER_U8 = 5,
    INFER_I32 = 6,
    INFER_I64 = 7,
    INFER_BOOL = 8,
    INFER_DTYPE_COUNT
} infer_dtype;

const char *infer_dtype_name(infer_dtype dtype); /* "f32", ...; "?" when unknown */
size_t infer_dtype_size(infer_dtype dtype);      /* bytes per element; 0 when unknown */

/* A tensor the caller passes in or gets back: dense, row-major, in host memory. */
typedef struct {
    infer_dtype dtype;
    int ndim;
    int64_t dims[INFER_MAX_DIMS];
    void *data;
} infer_tensor;

/* What a model expects or produces. dims[d] == -1 marks a dynamic dim (dims[0] of a batch, or any named
 * dim): dim_index[d] is then its named dim (infer_model_dim), else -1; an output's dynamic dim that is not
 * exactly one named dim (e.g. seq*heads) has dim_index -1 too. */
typedef struct {
    const char *name;
    infer_dtype dtype;
    int ndim;
    int64_t dims[INFER_MAX_DIMS];
    int dim_index[INFER_MAX_DIMS];
} infer_tensor_info;

/* A named dynamic dim of a model: its range and the size it was converted at. */
typedef struct {
    const char *name;
    int64_t min, max, example;
} infer_dim_info;

int64_t infer_tensor_elements(const infer_tensor *t);

/* ---- models ------------------------------------------------------------ */

typedef struct infer_model infer_model;

/* Maps and validates an .ifg file. Loading never executes code from the file. */
infer_status infer_model_load(const char *path, infer_model **model, infer_error *err);
void infer_model_free(infer_model *model);

int infer_model_input_count(const infer_model *model);
int infer_model_output_count(const infer_model *model);
infer_status infer_model_input(const infer_model *model, int index, infer_tensor_info *info);
infer_status infer_model_output(const infer_model *model, int index, infer_tensor_info *info);

/* Named dynamic dims ("batch", "seq", ...); a model converted before they existed has at most `batch`. */
int infer_model_dim_count(const infer_model *model);
infer_status infer_model_dim(const infer_model *model, int index, infer_dim_info *info);

int infer_model_meta_count(const infer_model *model);
infer_status infer_model_meta(const infer_model *model, int index, const char **key, const char **value);
const char *infer_model_meta_get(const infer_model *model, const char *key); /* NULL when absent */

/* The nodes as stored in the file (before optimization). */
int infer_model_node_count(const infer_model *model);
infer_status infer_model_node(const infer_model *model, int index, const char **op, const char **name);

#define INFER_STORAGE_COUNT 6 /* storage encodings of the file format */

typedef struct {
    uint64_t file_bytes;
    int64_t parameters;                    /* elements of all constant tensors */
    uint64_t bytes_per_dtype[INFER_DTYPE_COUNT]; /* constant data bytes, indexed by infer_dtype */
    /* Constant tensors and their stored bytes by storage encoding (docs/FORMAT.md: 0 dense, 1 int8 per
     * tensor, 2 int8 per channel, 3 CSR, 4 block sparse, 5 2:4); infer_storage_name names them. */
    int tensors_per_storage[INFER_STORAGE_COUNT];
    uint64_t bytes_per_storage[INFER_STORAGE_COUNT];
} infer_model_stats;

const char *infer_storage_name(int storage); /* "dense", "int8 per-channel", ...; "?" when unknown */
infer_status infer_model_stats_get(const infer_model *model, infer_model_stats *stats);

/* ---- engines ----------------------------------------------------------- */

typedef enum { INFER_DEVICE_AUTO = 0, INFER_DEVICE_CPU, INFER_DEVICE_CUDA } infer_device;
typedef enum {
    INFER_PRECISION_FP32 = 0, /* TF32 off: matches the CPU closely */
    INFER_PRECISION_TF32,
    INFER_PRECISION_FP16,
    INFER_PRECISION_BF16      /* CPU with AVX512-BF16 or AMX-BF16: BF16 weights and products, FP32 sums */
} infer_precision;

/* Which kernels a CPU engine at INFER_PRECISION_BF16 uses for its BF16 products. */
typedef enum {
    INFER_CPU_BF16_AUTO = 0, /* AMX-BF16 tiles when the CPU has them, else AVX512-BF16 */
    INFER_CPU_BF16_AVX512,   /* vdpbf16ps on zmm */
    INFER_CPU_BF16_AMX       /* tdpbf16ps tiles */
} infer_cpu_bf16;

/* The instruction set of the CPU kernels (CPU engines and the CPU-fallback nodes of CUDA engines). */
typedef enum {
    INFER_CPU_ISA_AUTO = 0, /* the best this CPU and OS run */
    INFER_CPU_ISA_SCALAR,   /* portable C: the reference path */
    INFER_CPU_ISA_AVX2,     /* AVX2 + FMA */
    INFER_CPU_ISA_AVX512    /* AVX-512 F, DQ, BW, VL */
} infer_cpu_isa;

/* How a CPU engine runs a layer whose weight the file stores sparse (CSR, block-sparse, 2:4). */
typedef enum {
    INFER_SPARSE_AUTO = 0,   /* per layer, the faster of its sparse kernel and the dense kernel on a copy densified
                                once: both timed at engine build at the planned (largest) shapes */
    INFER_SPARSE_SPARSE,     /* the sparse kernel wherever one fits the layer (the rest densified) */
    INFER_SPARSE_DENSE       /* every sparse weight densified once at engine build */
} infer_sparse;

const char *infer_sparse_name(infer_sparse sparse); /* "auto", "sparse", "dense"; "?" when unknown */
const char *infer_device_name(infer_device device);
const char *infer_cpu_isa_name(infer_cpu_isa isa); /* "auto", "scalar", "avx2", "avx512"; "?" when unknown */
const char *infer_precision_name(infer_precision precision);
int infer_cuda_available(void); /* 1 when the CUDA backend plugin loads and a usable GPU is present */

/* u8 NHWC activations between static INT8 convolutions on the CPU (an INT8 model's engine). */
typedef enum {
    INFER_INT8_CHAIN_OFF = 0, /* every layer reads and writes f32 NCHW */
    INFER_INT8_CHAIN_EXACT,   /* conv -> conv edges with one reader: bit for bit the OFF engine's outputs */
    INFER_INT8_CHAIN_FULL     /* also residual blocks' outputs, the residual added from u8 (as QLinearAdd): within
                                 rounding of OFF (the default) */
} infer_int8_chain;

/* Which FP32 3x3 stride-1 convolutions a CPU engine runs by Winograd F(4x4, 3x3) (weights transformed at build). */
typedef enum {
    INFER_WINOGRAD_AUTO = 0, /* where it measured faster than im2col: 16+ channels in and out, 32+ tiles of 4x4
                                outputs over the batch (planned at build; a run at a smaller batch may take im2col) */
    INFER_WINOGRAD_OFF,      /* none: im2col GEMM everywhere */
    INFER_WINOGRAD_ON        /* every one it can run (3x3, stride 1, dilation 1, groups 1), for tests */
} infer_winograd;

/* The largest size an engine runs a named dim at (its memory is planned for all maxima at once). */
typedef struct {
    const char *name;
    int64_t max;
} infer_dim_max;

typedef struct {
    infer_device device;       /* AUTO picks CUDA when a GPU is usable */
    infer_precision precision;
    int max_batch;             /* 0: the model's batch, or 1 when it is dynamic; the maximum of the `batch` dim */
    const infer_dim_max *dim_max; /* n_dim_max maxima by dim name (read during create only); a dim not listed:
                                     `batch` max_batch, any other its example size */
    int n_dim_max;
    int threads;               /* CPU threads; 0: all online cores */
    int optimize;              /* graph passes (BN folding, fusion); default 1 */
    int cuda_graphs;           /* capture CUDA Graphs; default 1 */
    int tune;                  /* time algorithm candidates at build; default 0 */
    const char *tune_cache;    /* tuning cache file, or NULL */
    int profile;               /* time each layer on every run; default 0 */
    infer_cpu_isa cpu_isa;     /* AUTO (default); forcing one this CPU lacks is INFER_ERR_UNSUPPORTED */
    int device_id;             /* CUDA: which GPU (0 = the first); the caller's current device is left as it was */
    int debug_sync;            /* CUDA: synchronize and check after every node (no graphs), so a failing kernel
                                  is named; slow, for debugging; default 0 */
    const char *cuda_plugin;   /* path of libinfer_cuda.so; NULL: beside the program, then the library
                                  search path (docs/CUDA.md) */
    infer_cpu_bf16 cpu_bf16;   /* precision BF16: AUTO (default); forcing one this CPU lacks is
                                  INFER_ERR_UNSUPPORTED */
    infer_sparse sparse;       /* sparse weights: AUTO (default; CPU: timed per layer; CUDA: CSR
                                  linear weights at density <= 0.2 on cuSPARSE), SPARSE or DENSE */
    infer_int8_chain int8_chain; /* CPU: which activations static INT8 convolutions pass to each other as u8 NHWC
                                  (docs/INT8.md); default FULL */
    infer_winograd winograd;   /* CPU, FP32 3x3 convolutions: AUTO (default), OFF or ON */
    int fuse_dw;               /* CPU, f32: a 1x1 convolution and the depthwise one reading its output run together
                                  in strips of rows (docs/ARCHITECTURE.md); default 1 */
    int bf16_chain;            /* CPU, precision BF16: groups-1 convolutions pass activations to each other as BF16
                                  NHWC rows (docs/ARCHITECTURE.md); default 1 */
} infer_engine_options;

typedef struct infer_engine infer_engine;

void infer_engine_options_init(infer_engine_options *options);

/* Builds an engine: optimizes the graph, plans memory and allocates it once. Engines built from
 * one model share its weights; each may be used from its own thread. The model must outlive it. */
infer_status infer_engine_create(const infer_model *model, const infer_engine_options *options,
                                 infer_engine **engine, infer_error *err);
void infer_engine_destroy(infer_engine *engine);

/* The maximum of named dim index (infer_model_dim) this engine runs at; 0 for a bad index. */
int64_t infer_engine_dim_max(const infer_engine *engine, int index);

/* Runs the engine. inputs: one per model input, of the model's dtype and shape (each named dim any size
 * from its minimum to the engine's maximum, the same in every input that has it). outputs: filled with dtype, shape and a pointer to
 * engine-owned host memory that stays valid until the next run or destroy. Allocates nothing on the
 * CPU; on CUDA only the first run at each new set of dim sizes allocates (its launch plans). */
infer_status infer_engine_run(infer_engine *engine, const infer_tensor *inputs, int n_inputs,
                              infer_tensor *outputs, int n_outputs, infer_error *err);

typedef struct {
    infer_device device;
    infer_precision precision;
    int max_batch;
    int threads;
    int nodes;                /* after optimization */
    int fallback_nodes;       /* nodes a CUDA engine runs on the CPU */
    uint64_t weight_bytes;    /* weights after optimization */
    uint64_t arena_bytes;     /* planned activation arena at max_batch */
    uint64_t naive_bytes;     /* sum of all activations at max_batch, without reuse */
    uint64_t workspace_bytes;
    uint64_t device_bytes;    /* device memory held (CUDA), shared_device_bytes included */
    int cuda_graphs;          /* CUDA Graphs captured so far */
    int pinned;               /* host staging is pinned */
    uint64_t shared_device_bytes; /* part of device_bytes held once per model: weights shared with the
                                     model's other engines at the same precision (CUDA) */
    /* The last successful run, in milliseconds (0 before the first). CUDA: GPU time between events on
     * the engine's stream around the input copies (h2d), the forward pass (compute: graph launch or
     * node by node, CPU-fallback nodes included) and the output copies (d2h), and the host time from
     * the start of the run until all of it was enqueued (enqueue). CPU: compute = the run's wall time,
     * the others 0. */
    double last_h2d_ms, last_compute_ms, last_d2h_ms, last_enqueue_ms;
} infer_engine_stats;
infer_status infer_engine_stats_get(const infer_engine *engine, infer_engine_stats *stats);

/* Warnings the engine recorded while it was built or run (CUDA: graph capture fallbacks, a stale or
 * corrupt tuning cache, refused cuDNN choices, nodes on the CPU), one per line; "" when none (always
 * on the CPU backend). Never NULL; valid until the engine is destroyed (a run may append a line). The
 * library never prints them. */
const char *infer_engine_warnings(const infer_engine *engine);

/* Per-layer view of the optimized graph, with times when profiling is on. */
typedef struct {
    const char *name;   /* layer name from the source model */
    const char *op;
    const char *device; /* "cpu" or "cuda" */
    int ndim;           /* of the first output, at the last run's batch */
    int64_t dims[INFER_MAX_DIMS];
    double total_ms;    /* accumulated over profiled runs */
    int64_t runs;
    const char *weights; /* a sparse weight: its storage, density and how it runs ("CSR sparse, density 10.0%,
                          * sparse kernel" or "..., densified"); CPU layers run in strips with the next (fuse_dw)
                          * say so; NULL for other dense weights */
} infer_layer_info;
int infer_engine_layer_count(const infer_engine *engine);
infer_status infer_engine_layer(const infer_engine *engine, int index, infer_layer_info *info);
void infer_engine_profile_reset(infer_engine *engine);

#ifdef __cplusplus
}
#endif
#endif
