/* cuda_plugin.c — the plugin's one exported symbol: checks the core's layout and the CUDA libraries' versions, returns the backend table. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <cuda_runtime_api.h>
#include <cublasLt.h>
#include <cudnn.h>
#include "cuda_plugin.h"
#include "cuda_backend.h"
#include "../plugin.h"
#include "../../base/error.h"

/* The file a library function was loaded from; "?" when the dynamic linker cannot say. */
static const char *file_of(const void *fn) {
    Dl_info info;
    return dladdr(fn, &info) && info.dli_fname ? info.dli_fname : "?";
}

void cuda_lib_versions_get(cuda_lib_versions *v) {
    memset(v, 0, sizeof *v);
    cudaRuntimeGetVersion(&v->runtime); /* reports the library's own version; starts nothing */
    v->cublaslt = cublasLtGetVersion();
    v->cublaslt_runtime = cublasLtGetCudartVersion();
    v->cudnn = cudnnGetVersion();
    v->cudnn_runtime = cudnnGetCudartVersion();
    v->runtime_file = file_of((const void *)cudaRuntimeGetVersion);
    v->cublaslt_file = file_of((const void *)cublasLtGetVersion);
    v->cudnn_file = file_of((const void *)cudnnGetVersion);
}

/* cuDNN numbers its versions 10000 * major + ... from 9 on, 1000 * major + ... before. */
static int cudnn_major(size_t v) { return (int)(v >= 90000 ? v / 10000 : v / 1000); }
static int cudnn_minor(size_t v) { return (int)(v >= 90000 ? v % 10000 / 100 : v % 1000 / 100); }

static int refuse(char *why, size_t n, const char *fmt, ...) INFER_PRINTF(3, 4);
static int refuse(char *why, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (why && n) vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return 0;
}

int cuda_lib_versions_ok(const cuda_lib_versions *v, char *why, size_t n) {
    const int rt_major = v->runtime / 1000, rt_minor = v->runtime % 1000 / 10;
    if (v->runtime < CUDA_MIN_RUNTIME || rt_major != CUDART_VERSION / 1000)
        return refuse(why, n, "the CUDA runtime %s is version %d.%d; infer needs %d.0 or newer, of major version %d "
                      "(the one it was built with)", v->runtime_file, rt_major, rt_minor, CUDA_MIN_RUNTIME / 1000,
                      CUDART_VERSION / 1000);
    const int lt_major = (int)(v->cublaslt / 10000), lt_minor = (int)(v->cublaslt % 10000 / 100);
    if (v->cublaslt < CUDA_MIN_CUBLASLT || lt_major != CUBLAS_VER_MAJOR)
        return refuse(why, n, "cuBLASLt %s is version %d.%d; infer needs %d.0 or newer, of major version %d "
                      "(the one it was built with)", v->cublaslt_file, lt_major, lt_minor, CUDA_MIN_CUBLASLT / 10000,
                      CUBLAS_VER_MAJOR);
    if ((int)(v->cublaslt_runtime / 1000) != rt_major)
        return refuse(why, n, "cuBLASLt %s was built for CUDA %d, but the CUDA runtime %s is %d.%d: install the "
                      "cuBLAS of CUDA %d", v->cublaslt_file, (int)(v->cublaslt_runtime / 1000), v->runtime_file,
                      rt_major, rt_minor, rt_major);
    const int dnn_major = cudnn_major(v->cudnn), dnn_minor = cudnn_minor(v->cudnn);
    if (v->cudnn < CUDA_MIN_CUDNN || dnn_major != CUDNN_MAJOR || dnn_minor < CUDNN_MINOR)
        return refuse(why, n, "cuDNN %s is version %d.%d.%d; infer needs cuDNN %d.%d or newer within major version "
                      "%d (it was built with %d.%d, the minimum is %d.0)", v->cudnn_file, dnn_major, dnn_minor,
                      (int)(v->cudnn % 100), CUDNN_MAJOR, CUDNN_MINOR, CUDNN_MAJOR, CUDNN_MAJOR, CUDNN_MINOR,
                      CUDA_MIN_CUDNN / 10000);
    if ((int)(v->cudnn_runtime / 1000) != rt_major)
        return refuse(why, n, "cuDNN %s was built for CUDA %d, but the CUDA runtime %s is %d.%d: install the cuDNN "
                      "for CUDA %d", v->cudnn_file, (int)(v->cudnn_runtime / 1000), v->runtime_file, rt_major,
                      rt_minor, rt_major);
    return 1;
}

__attribute__((visibility("default"))) const backend_ops *infer_cuda_plugin_v2(const plugin_layout *core,
                                                                               infer_error *err) {
    if (plugin_layout_check(core, err) != INFER_OK) return NULL;
    cuda_lib_versions v;
    char why[900];
    cuda_lib_versions_get(&v);
    if (!cuda_lib_versions_ok(&v, why, sizeof why)) {
        infer_fail(err, INFER_ERR_NO_DEVICE, "%s", why);
        return NULL;
    }
    return cuda_backend_get();
}
