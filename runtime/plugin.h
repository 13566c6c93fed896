/* plugin.h — the contract between the core and the CUDA backend plugin (libinfer_cuda.so): one versioned entry symbol. */
#ifndef INFER_PLUGIN_H
#define INFER_PLUGIN_H

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Raised whenever backend_ops, infer_engine or anything they reach changes meaning; the entry symbol's
 * name carries it, so a plugin from another version of infer is not even found. */
#define INFER_PLUGIN_ABI 2 /* 2: backend_ops.keeps_encoded */
#define INFER_CUDA_PLUGIN_FILE "libinfer_cuda.so"
#define INFER_CUDA_PLUGIN_ENTRY "infer_cuda_plugin_v2" /* runtime/cuda/cuda_plugin.c defines it */

/* The layout of what crosses the boundary, as the side that fills it was compiled. A plugin built from
 * other sources than the core (same ABI number, changed structs) refuses to load instead of crashing. */
typedef struct {
    size_t abi, engine, options, tensor, error, stats, graph, node, ir_tensor, plan, model, shared, backend;
} plugin_layout;

#define PLUGIN_LAYOUT_HERE                                                                                         \
    ((plugin_layout){ INFER_PLUGIN_ABI, sizeof(infer_engine), sizeof(infer_engine_options), sizeof(infer_tensor),  \
                      sizeof(infer_error), sizeof(infer_engine_stats), sizeof(ir_graph), sizeof(ir_node),          \
                      sizeof(ir_tensor), sizeof(mem_plan), sizeof(struct infer_model), sizeof(model_shared),       \
                      sizeof(backend_ops) })

/* The entry (INFER_CUDA_PLUGIN_ENTRY): checks core's layout against its own and the CUDA libraries'
 * versions; returns the backend's table (static, constant; the plugin stays loaded), or NULL with the
 * reason in err. Touches no device: whether a GPU is usable is backend_ops.usable's question. */
typedef const backend_ops *(*plugin_entry_fn)(const plugin_layout *core, infer_error *err);

/* INFER_OK when core (the layout the core was compiled with) is the layout of this side; else
 * INFER_ERR_NO_DEVICE saying that the two were built from different sources. The plugin's entry asks it. */
infer_status plugin_layout_check(const plugin_layout *core, infer_error *err);

/* Core side (runtime/plugin.c). Loads the CUDA backend plugin: from path when it is not NULL, else
 * INFER_CUDA_PLUGIN_FILE next to the program or shared library that holds libinfer, else from the
 * dynamic linker's search path. Returns INFER_ERR_NO_DEVICE with what was tried when it is not found. */
infer_status plugin_load_cuda(const char *path, const backend_ops **ops, infer_error *err);

/* 1 when the NVIDIA driver library (libcuda.so.1) can be loaded: the cheap test --device auto makes
 * before it loads the plugin and, with it, cuDNN and cuBLAS. */
int plugin_cuda_driver_present(void);

#ifdef __cplusplus
}
#endif
#endif
