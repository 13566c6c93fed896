/* cuda_plugin.h — the plugin's checks of the CUDA libraries it was loaded with: minimum and matching versions. */
#ifndef INFER_CUDA_PLUGIN_H
#define INFER_CUDA_PLUGIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The oldest libraries the backend runs with: CUDA 12 brought cudaGraphInstantiate's flags signature and
 * cuBLASLt 12; cuDNN 9 the API the convolutions use. Written in README.md too. */
#define CUDA_MIN_RUNTIME 12000 /* cudaRuntimeGetVersion: 1000 * major + 10 * minor */
#define CUDA_MIN_CUBLASLT 120000 /* cublasLtGetVersion: 10000 * major + 100 * minor + patch */
#define CUDA_MIN_CUDNN 90000 /* cudnnGetVersion (cuDNN 9 on): 10000 * major + 100 * minor + patch */

/* What the process has loaded, as the libraries report it, and where each one lies. */
typedef struct {
    int runtime;                 /* cudaRuntimeGetVersion */
    size_t cublaslt, cublaslt_runtime; /* cublasLtGetVersion, cublasLtGetCudartVersion */
    size_t cudnn, cudnn_runtime; /* cudnnGetVersion, cudnnGetCudartVersion */
    const char *runtime_file, *cublaslt_file, *cudnn_file; /* paths, for the messages */
} cuda_lib_versions;

/* Asks the loaded libraries for their versions. */
void cuda_lib_versions_get(cuda_lib_versions *v);

/* 1 when v satisfies the minimums above and the versions this plugin was compiled against (same major
 * of every library, cuDNN not older than its headers, cuDNN and cuBLASLt built for the runtime's major);
 * else 0 with a message in why (n bytes) naming the library, its file, what it is and what is needed. */
int cuda_lib_versions_ok(const cuda_lib_versions *v, char *why, size_t n);

#ifdef __cplusplus
}
#endif
#endif
