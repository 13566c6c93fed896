/* cuda_backend.h — the CUDA backend's entry points for the engine: the backend table and the device probe. */
#ifndef INFER_CUDA_BACKEND_H
#define INFER_CUDA_BACKEND_H

#include <stddef.h>
#include "infer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct backend_ops backend_ops;
struct infer_engine;

/* The CUDA backend (runtime/engine.h's interface). A static, constant table. */
const backend_ops *cuda_backend_get(void);

/* 1 when a CUDA device (compute capability 8.0 or newer) and a driver new enough for this build's
 * runtime are usable; else 0, with the reason in why (n bytes, may be NULL). Touches no engine. */
int cuda_device_usable(char *why, size_t n);

/* Warnings a CUDA engine recorded while it was built or run (a stale or corrupt tuning cache, a
 * CUDA Graph capture that failed, ...), one per line; "" when there are none. The library never
 * prints them: a caller (the CLI, a test) may. Valid until the engine is destroyed. */
const char *cuda_engine_warnings(const struct infer_engine *e);

/* The device block of weights shared by the engines of one model that CUDA engine e uses (NULL when it
 * has none: not a CUDA engine, or no weights from the model's file), and in *refs (may be NULL) how many
 * engines hold it now. Engines of one model at the same precision get the same block. For tests. */
const void *cuda_engine_shared_weights(const struct infer_engine *e, int *refs);

#ifdef __cplusplus
}
#endif
#endif
